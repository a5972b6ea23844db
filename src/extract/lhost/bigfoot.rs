//! Bigfoot (bigfoot.com forwarding).

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "bigfoot", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    p.from().contains("@bigfoot.com") || p.received(".bigfoot.com ")
}
