//! qmail (netqmail, qmail-ldap…): "failure notice", "Hi. This is the qmail-send program at …" (qmail-send.c).

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "qmail", detect, refine: None, start: &["hi. this is the qmail"] };

fn detect(p: &Probe) -> bool {
    p.body_has("this is the qmail-send program") || p.body_has("hi. this is the qmail") || p.received("invoked for bounce")
}
