//! Barracuda Spam Firewall: "... our bulk email filter" subjects.

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "barracuda", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    p.subject().contains("our bulk email filter")
}
