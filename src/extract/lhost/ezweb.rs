//! EZweb (au by KDDI) mail servers' own notices.

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "ezweb", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    p.from().contains("postmaster@ezweb.ne.jp") || p.from().contains("postmaster@au.com") || p.subject() == "mail system error - returned mail" || p.received("ezweb.ne.jp (ezweb mail) with") || p.message_id_has(".ezweb.ne.jp>")
}
