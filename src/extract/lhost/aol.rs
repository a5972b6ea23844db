//! AOL's own MTA (before Yahoo's): its bounces carry X-AOL-IP.

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "aol", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    p.has("x-aol-ip")
}
