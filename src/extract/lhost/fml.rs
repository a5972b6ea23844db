//! fml, the Japanese mailing list manager: X-MLServer, *-admin@ senders, FML Message-IDs.

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "fml", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    p.has("x-mlserver") && p.from().contains("-admin@")
}
