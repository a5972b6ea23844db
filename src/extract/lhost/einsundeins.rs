//! 1&1 / IONOS (einsundeins): Exim-like notices from "Mail Delivery System".

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "einsundeins", detect, refine: None, start: &["this message was created automatically by mail delivery software"] };

fn detect(p: &Probe) -> bool {
    (p.from().starts_with("\"mail delivery system\"") || p.from().starts_with("mail delivery system")) && p.subject() == "mail delivery failed: returning message to sender" && (p.from().contains("kundenserver.de") || p.from().contains("1and1") || p.from().contains("ionos") || p.received("kundenserver.de") || p.received("perfora.net"))
}
