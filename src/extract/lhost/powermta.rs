//! PowerMTA: "Delivery report" subjects, "Hello, this is the mail server on …".

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "powermta", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    p.body_has("hello, this is the mail server on ")
}
