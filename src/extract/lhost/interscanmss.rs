//! Trend Micro InterScan Messaging Security Suite.

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "interscanmss", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    p.from().contains("\"interscan mss\"") || p.from().contains("\"interscan notification\"") || p.subject() == "mail could not be delivered" || p.subject() == "メール配信に失敗しました"
}
