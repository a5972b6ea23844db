//! Sendmail: "Returned mail: see transcript for details", "----- Transcript of session follows -----", "Warning: could not send message for past …".

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "sendmail", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    p.subject().ends_with("see transcript for details") || p.subject().starts_with("warning: ") || p.body_has("----- transcript of session follows -----") || p.body_has("the original message was received at")
}
