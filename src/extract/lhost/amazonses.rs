//! Amazon SES as the sending MTA: its delivery reports come from MAILER-DAEMON@amazonses.com
//! (the JSON notifications of SES are read by `extract::amazonses`).

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "amazonses", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    p.from().contains("@amazonses.com") || p.has("x-aws-outgoing")
}
