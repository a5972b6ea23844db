//! Courier MTA: "Courier mail server at <host>", "NOTICE: mail delivery status." subjects, courier.* Message-IDs.

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "courier", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    p.from().contains("courier mail server at ") || p.subject().contains("notice: mail delivery status.") || p.subject().contains("warning: delayed mail.") || p.message_id_has("<courier.")
}
