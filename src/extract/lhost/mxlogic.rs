//! McAfee SaaS (MX Logic): X-MX-Bounce, X-MXL-Hash.

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "mxlogic", detect, refine: None, start: &["this message was created automatically by mail delivery software"] };

fn detect(p: &Probe) -> bool {
    p.has("x-mx-bounce") || p.has("x-mxl-hash") || p.has("x-mxl-notehash")
}
