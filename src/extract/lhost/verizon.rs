//! Verizon Wireless (vtext.com) notices.

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "verizon", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    p.from().contains("post_master@vtext.com") || p.received(".vtext.com (") || p.from().contains("vzwpix.com")
}
