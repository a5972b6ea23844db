//! SurfControl E-mail Filter: X-SEF-Processed with X-Mailer "SurfControl E-mail Filter".

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "surfcontrol", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    p.has("x-sef-processed") || p.header_has("x-mailer", "surfcontrol")
}
