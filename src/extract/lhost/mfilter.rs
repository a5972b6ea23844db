//! m-FILTER (Digital Arts): "failure notice" notices from MAILER-DAEMON with "-------server message" blocks.

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "mfilter", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    p.body_has("-------server message") || p.body_has("-------original message")
}
