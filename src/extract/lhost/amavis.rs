//! amavisd-new, the content filter: its notices come from "Content-filter at <host>".

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "amavis", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    p.from().starts_with("\"content-filter at ") || p.from().starts_with("content-filter at ")
}
