//! Symantec MessageLabs: X-Msg-Ref, MAILER-DAEMON@messagelabs.com.

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "messagelabs", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    p.from().contains("@messagelabs.com") || p.has("x-msg-ref") && p.subject().starts_with("mail delivery failure")
}
