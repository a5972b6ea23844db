//! Lotus Notes (the client's own notice): "Undeliverable message" subjects with "------- Failure Reasons".

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "notes", detect, refine: None, start: &["------- failure reasons"] };

fn detect(p: &Probe) -> bool {
    p.body_has("------- failure reasons")
}
