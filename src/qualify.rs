//! Qualification of one extracted record: its normalized Text, then type and reason from the
//! first matching rule, else the enhanced status code, else "To qualify".

use crate::model::{Bounce, FailureReason, FailureType, Kind, Qualification};
use crate::normalize::normalize;
use crate::rules::{Rule, RuleSet};
use crate::status::{qualify_reply_code, qualify_status};

/// Outcome of qualifying one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub text: String,
    pub qualification: Qualification,
    /// Name of the rule that decided ("" when nothing did: the row is To qualify).
    pub rule: String,
}

impl Verdict {
    pub fn is_qualified(&self) -> bool {
        !self.rule.is_empty()
    }
}

/// The Text a record is filed under in the qualification table.
pub fn text_of(b: &Bounce) -> String {
    if !b.diagnostic.trim().is_empty() {
        normalize(&b.diagnostic)
    } else if !b.status.is_empty() {
        format!("status {}", b.status)
    } else {
        "(no diagnostic)".to_string()
    }
}

pub fn qualify(rules: &RuleSet, kind: Kind, b: &Bounce) -> Verdict {
    let text = text_of(b);
    let (qualification, rule) = decide(rules, kind, b);
    Verdict { text, qualification, rule }
}

/// Sisimai's distinction between "userunknown" and "filtered": a user-unknown text counts as a
/// missing mailbox only when the server said it in reply to RCPT TO, or the status code says
/// so (x.1.x). Said after DATA, or with a status of another class (5.2.0, 5.7.1), it is a
/// filter refusing the message; said after MAIL FROM it is about the sender. Both are Refused.
/// Only the shipped default rules are second-guessed: an operator's rule is taken as written.
fn not_a_missing_mailbox(r: &Rule, b: &Bounce) -> Option<Qualification> {
    if r.qualification.reason != Some(FailureReason::UserUnknown) || !r.file.starts_with("rules/") || r.name != "user-unknown" {
        return None;
    }
    let refused = Some(Qualification::new(FailureType::Soft, FailureReason::Refused));
    let status_class = b.status.split('.').nth(1).unwrap_or("");
    match b.smtp_command.as_str() {
        "RCPT" => return None,
        "MAIL" | "DATA" | "HELO" | "CONN" => return if status_class == "1" && b.status.ends_with(".1.1") { None } else { refused },
        _ => {}
    }
    match status_class {
        // No command and no precise status, but a remote server's 5xx reply: Sisimai counts a
        // user-unknown text as a missing mailbox only at RCPT or with x.1.1, so this is a filter
        // ("filtered"). Except the RCPT-stage form that echoes the address: `<a@b>: User unknown`.
        "" | "0" if b.reply_code.starts_with('5') && !echoes_address(&b.diagnostic) => refused,
        "" | "0" | "1" | "5" => None,
        _ => refused,
    }
}

/// `<address>: User unknown`: the server names the rejected address then says it is unknown,
/// the shape of a reply to RCPT TO.
fn echoes_address(diag: &str) -> bool {
    let b = diag.as_bytes();
    let mut from = 0;
    while let Some(i) = memchr::memmem::find(&b[from..], b">:") {
        let rest = &b[from + i + 2..];
        let skip = rest.iter().take_while(|c| c.is_ascii_whitespace()).count();
        let rest = &rest[skip..];
        if rest.len() >= 12 && rest[..12].eq_ignore_ascii_case(b"user unknown") {
            return true;
        }
        from += i + 2;
    }
    false
}

fn decide(rules: &RuleSet, kind: Kind, b: &Bounce) -> (Qualification, String) {
    match kind {
        Kind::Arf => return (Qualification::new(FailureType::Hard, FailureReason::Refused), "feedback-loop".into()),
        Kind::Autoreply => {
            return (Qualification::new(FailureType::Ignored, FailureReason::Undefined), "auto-reply".into())
        }
        Kind::NotBounce => return (Qualification::UNDEFINED, String::new()),
        Kind::Dsn | Kind::Text => {}
    }
    if matches!(b.action.as_str(), "delivered" | "relayed" | "expanded") || b.status.starts_with("2.") {
        return (Qualification::DELIVERED, format!("action:{}", if b.action.is_empty() { "delivered" } else { &b.action }));
    }
    if let Some(r) = rules.find(&b.diagnostic, &b.status) {
        if let Some(q) = not_a_missing_mailbox(r, b) {
            return (q, format!("{}+{}", r.name, if b.smtp_command == "MAIL" { "rejected" } else { "filtered" }));
        }
        return (r.qualification, r.name.clone());
    }
    if let Some((q, name)) = qualify_status(&b.status) {
        return (q, name);
    }
    // A 2xx reply next to a failure status is no success (a program's exit code, a quoted
    // greeting): only a status-less record may be called delivered by its reply code.
    let failed_status = b.status.starts_with('4') || b.status.starts_with('5');
    if let Some((q, name)) = qualify_reply_code(&b.reply_code).filter(|_| !(failed_status && b.reply_code.starts_with('2'))) {
        return (q, name);
    }
    (Qualification::UNDEFINED, String::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounce(diag: &str, status: &str, reply: &str, cmd: &str) -> Bounce {
        Bounce {
            diagnostic: diag.into(),
            status: status.into(),
            reply_code: reply.into(),
            smtp_command: cmd.into(),
            ..Default::default()
        }
    }

    #[test]
    fn echoed_address_form() {
        assert!(echoes_address("550 <a@example.com>:\n User unknown"));
        assert!(!echoes_address("<a@example.com>: 550 unknown user <a@example.com>"));
        assert!(!echoes_address("550 Unknown user a@example.com"));
    }

    #[test]
    fn user_unknown_without_command_or_status() {
        let rules = RuleSet::load(None).unwrap();
        let q = |b: &Bounce| decide(&rules, Kind::Dsn, b).0.reason;
        assert_eq!(q(&bounce("550 Unknown user a@example.com", "", "550", "")), Some(FailureReason::Refused));
        assert_eq!(q(&bounce("550 <a@example.com>: User unknown", "5.0.0", "550", "")), Some(FailureReason::UserUnknown));
        assert_eq!(q(&bounce("550 5.1.1 <a@example.com>: User unknown", "5.1.1", "550", "")), Some(FailureReason::UserUnknown));
        assert_eq!(q(&bounce("550 Unknown user a@example.com", "", "550", "RCPT")), Some(FailureReason::UserUnknown));
        assert_eq!(q(&bounce("Unknown user: a@example.com", "", "", "")), Some(FailureReason::UserUnknown));
        assert_eq!(q(&bounce("X-Unix; 255", "5.0.0", "", "")), Some(FailureReason::Unreachable));
    }
}
