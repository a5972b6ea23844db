//! Amazon WorkMail: X-Mailer "Amazon WorkMail" on an SES-sent notice.

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "amazonworkmail", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    p.header_has("x-mailer", "amazon workmail") || p.header_has("x-original-mailer", "amazon workmail")
}
