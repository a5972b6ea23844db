//! KDDI (au one net) notices.

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "kddi", detect, refine: None, start: &["your mail sent on", "could not be delivered to"] };

fn detect(p: &Probe) -> bool {
    p.from().contains(".dion.ne.jp") || p.received("ezweb.ne.jp (") || p.received(".au.com (")
}
