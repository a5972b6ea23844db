//! Exim: "Mail Delivery System" senders, "Mail delivery failed" subjects, X-Failed-Recipients, "This message was created automatically by mail delivery software."

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "exim", detect, refine: None, start: &["this message was created automatically by mail delivery software"] };

fn detect(p: &Probe) -> bool {
    p.body_has("this message was created automatically by mail delivery software")
        || p.subject().starts_with("mail delivery failed: returning message to sender")
        || p.subject().starts_with("warning: message ") && p.subject().contains("delayed")
        || (p.has("x-failed-recipients") && p.from().contains("mail delivery system"))
}
