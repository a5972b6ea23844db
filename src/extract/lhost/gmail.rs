//! Gmail (mailer-daemon@googlemail.com): "Delivery Status Notification" with "Delivery to the following recipient failed".

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "gmail", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    p.from().contains("mailer-daemon@googlemail.com") || p.from().contains("mailer-daemon@google.com")
}
