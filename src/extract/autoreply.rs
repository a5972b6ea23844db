//! RFC 3834 automatic replies (vacation, out of office): Ignored records, never failures.

use super::view::MailView;
use crate::model::Bounce;
use regex::Regex;
use std::sync::LazyLock;

static SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:out of (?:the )?office|auto(?:matic|mated)?[ -]?(?:reply|response|antwort|answer)|autoreply|vacation|away from|on leave|abwesen|absence|absent|r[ée]ponse automatique|automatisch antwoord|respuesta autom[áa]tica|fuera de la oficina|risposta automatica|resposta autom[áa]tica|frånvaro|afwezig|auto:)|^\s*(?:away|auto)\b|不在|自動応答|自动回复",
    )
    .unwrap()
});

/// The message says, in its header, that it is an automatic response (RFC 3834).
pub fn declared(v: &MailView) -> bool {
    v.header("auto-submitted").unwrap_or("").trim_start().to_ascii_lowercase().starts_with("auto-replied")
}

pub fn is_autoreply(v: &MailView) -> bool {
    if declared(v) {
        return true;
    }
    if v.header("x-autoreply").is_some() || v.header("x-autorespond").is_some() || v.header("x-autoresponder").is_some() {
        return true;
    }
    let precedence = v.header("precedence").unwrap_or("").to_ascii_lowercase();
    if precedence.contains("auto_reply") || precedence.contains("auto-reply") {
        return true;
    }
    SUBJECT.is_match(&v.subject)
}

/// The person who is away is the message's author.
pub fn extract(v: &MailView) -> Option<Vec<Bounce>> {
    if !is_autoreply(v) {
        return None;
    }
    let diagnostic = if v.subject.is_empty() { "automatic reply".to_string() } else { v.subject.clone() };
    Some(vec![Bounce { recipient: v.from.clone(), diagnostic, time: v.date, ..Default::default() }])
}
