//! Novell / Micro Focus GroupWise: "Message status - undeliverable" with "The attached file had the following undeliverable recipient(s)".

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "groupwise", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    p.subject().starts_with("message status - undeliverable") || p.body_has("had the following undeliverable recipient") || p.header_has("x-mailer", "groupwise")
}
