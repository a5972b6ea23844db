//! Ipswitch IMail Server: "Undeliverable Mail" subjects, X-Mailer <SMTP32 v…>.

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "imailserver", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    p.subject().trim_end() == "undeliverable mail" || p.header_has("x-mailer", "<smtp32 v")
}
