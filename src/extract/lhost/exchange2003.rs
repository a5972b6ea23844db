//! Microsoft Exchange Server 2000/2003: X-MS-Embedded-Report, X-MimeOLE "Produced By Microsoft Exchange", "Your message did not reach some or all of the intended recipients."

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "exchange2003", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    p.has("x-ms-embedded-report") || p.header_has("x-mimeole", "produced by microsoft exchange") || p.header_has("x-mailer", "internet mail service") || p.body_has("did not reach some or all of the intended recipients") || p.body_has("msexch:")
}
