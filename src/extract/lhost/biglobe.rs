//! BIGLOBE (Japan): postmaster@biglobe.ne.jp and its partner ISPs, "Returned mail:" subjects.

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "biglobe", detect, refine: None, start: &["----- the following addresses had delivery problems -----"] };

fn detect(p: &Probe) -> bool {
    ["@biglobe.ne.jp", "@inacatv.ne.jp", "@tmtv.ne.jp", "@ttv.ne.jp"].iter().any(|d| p.from().contains(d)) && p.subject().starts_with("returned mail:")
}
