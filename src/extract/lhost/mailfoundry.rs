//! MailFoundry gateway: "Message delivery has failed" with (MAILFOUNDRY) in Received.

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "mailfoundry", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    p.subject() == "message delivery has failed" && p.received("(mailfoundry) id")
}
