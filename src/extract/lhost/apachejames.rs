//! Apache James: subject "[BOUNCE]", JavaMail Message-IDs, "JAMES SMTP Server" in Received.

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "apachejames", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    p.subject() == "[bounce]" || p.message_id_has(".javamail.") || p.received("james smtp server")
}
