//! HCL (IBM, Lotus) Domino: "DELIVERY FAILURE:" subjects.

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "domino", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    p.subject().starts_with("delivery failure:") || p.subject().starts_with("delivery_failure:") || p.body_has("not listed in domino directory")
}
