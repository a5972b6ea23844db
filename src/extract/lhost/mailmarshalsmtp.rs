//! Trustwave (Marshal) MailMarshal SMTP: "Undeliverable Mail: \"…\"" subjects.

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "mailmarshalsmtp", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    p.subject().starts_with("undeliverable mail: \"")
}
