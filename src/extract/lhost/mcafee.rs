//! McAfee Email Gateway: X-NAI-Header "Modified by McAfee", "Delivery Status" subject.

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "mcafee", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    p.header_has("x-nai-header", "modified by mcafee")
}
