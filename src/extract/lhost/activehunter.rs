//! ActiveHunter (a Japanese mail filter appliance): its notices carry X-AHMAILID.

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "activehunter", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    p.has("x-ahmailid")
}
