//! Facebook's MTA: "Sorry, your message could not be delivered" from mailer-daemon@mx.facebook.com.

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "facebook", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    p.from().contains("mailer-daemon@mx.facebook.com")
}
