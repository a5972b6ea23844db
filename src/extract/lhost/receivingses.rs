//! Amazon SES receiving (an SES-hosted domain refusing): X-SES-Outgoing with "This message could not be delivered."

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "receivingses", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    p.has("x-ses-outgoing") && p.body_has("this message could not be delivered")
}
