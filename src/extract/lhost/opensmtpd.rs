//! OpenSMTPD: "Delivery status notification" from "Mailer Daemon <…>", "This is the MAILER-DAEMON, please DO NOT REPLY".

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "opensmtpd", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    p.body_has("this is the mailer-daemon, please do not reply") || (p.subject().contains("delivery status notification") && p.from().starts_with("mailer daemon <"))
}
