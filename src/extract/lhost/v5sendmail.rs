//! Sendmail version 5 and its kin: "Returned mail: <Reason>" with the transcript and no delivery report.

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "v5sendmail", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    // Version 5 named the reason in the subject, capitalised ("Returned mail: Host unknown"),
    // and sent no delivery report; version 8 says "see transcript for details".
    p.v.subject.strip_prefix("Returned mail: ").is_some_and(|r| r.starts_with(|c: char| c.is_ascii_uppercase()))
        && p.v.reports.is_empty()
        && p.body_has("----- transcript of session follows -----")
}
