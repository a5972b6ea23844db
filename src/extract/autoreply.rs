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

/// The author is a system mailbox (postmaster, MAILER-DAEMON, root), not a person: its
/// "automatic reply" is a server notice, and that address is not one we sent to.
pub fn from_system(v: &MailView) -> bool {
    let local = v.from.rsplit_once('@').map_or(v.from.as_str(), |(l, _)| l);
    ["postmaster", "mailer-daemon", "mailer_daemon", "mailerdaemon", "root"].iter().any(|s| local.eq_ignore_ascii_case(s))
}

/// The person who is away is the message's author; a system mailbox is nobody's vacation.
pub fn extract(v: &MailView) -> Option<Vec<Bounce>> {
    if !is_autoreply(v) || from_system(v) {
        return None;
    }
    let diagnostic = if v.subject.is_empty() { "automatic reply".to_string() } else { v.subject.clone() };
    Some(vec![Bounce { recipient: v.from.clone(), diagnostic, time: v.date, ..Default::default() }])
}

#[cfg(test)]
mod tests {
    use super::{extract, from_system};
    use crate::extract::view::view;

    fn message(from: &str, subject: &str) -> Vec<u8> {
        format!("From: {from}\r\nTo: b@example.org\r\nSubject: {subject}\r\nAuto-Submitted: auto-replied\r\n\r\nAway.\r\n").into_bytes()
    }

    #[test]
    fn the_author_is_the_person_away() {
        let v = view(&message("Peggy <Peggy@Example.com>", "Out of office")).unwrap();
        let b = extract(&v).expect("an auto-reply");
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].recipient, "peggy@example.com");
        assert_eq!(b[0].diagnostic, "Out of office");
    }

    #[test]
    fn a_system_mailbox_is_nobodys_vacation() {
        for from in ["postmaster@example.de", "MAILER-DAEMON@mx.example.net", "root@host.example"] {
            let v = view(&message(from, "Out of office")).unwrap();
            assert!(from_system(&v), "{from}");
            assert!(extract(&v).is_none(), "{from}");
        }
        let v = view(&message("postmaster.team@example.de", "Out of office")).unwrap();
        assert!(!from_system(&v));
    }
}
