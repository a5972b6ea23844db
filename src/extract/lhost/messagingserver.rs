//! Oracle (Sun, iPlanet) Communications Messaging Server: "Delivery Notification:" subjects, Boundary_(ID_…) MIME boundaries.

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "messagingserver", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    p.subject().starts_with("delivery notification: ") || p.body_has("this report relates to a message you sent with the following header fields")
}
