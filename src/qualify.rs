//! Qualification of one extracted record: its normalized Text, then type, reason and detail
//! from the first rule whose text pattern and evidence conditions hold (the rule files end with
//! the RFC 3463 status table and the reply-code table, as data), else "To qualify".
//!
//! Nothing here decides by a rule's name: how text and evidence weigh against each other is
//! written in the rule files, in their order and conditions (see `rules/default.toml`).

use crate::model::{Bounce, Detail, FailureReason, FailureType, Kind, Qualification};
use crate::normalize::normalize;
use crate::rules::{Evidence, RuleSet};

/// Outcome of qualifying one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub text: String,
    pub qualification: Qualification,
    /// The fine-grained reason (Sisimai's vocabulary).
    pub detail: Detail,
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
    let (qualification, detail, rule) = decide(rules, kind, b);
    Verdict { text, qualification, detail, rule }
}

fn decide(rules: &RuleSet, kind: Kind, b: &Bounce) -> (Qualification, Detail, String) {
    match kind {
        // RFC 5965: a person reported the message as spam.
        Kind::Arf => return (Qualification::new(FailureType::Hard, FailureReason::Refused), Detail::Feedback, "feedback-loop".into()),
        // RFC 3834: an automatic reply is no failure.
        Kind::Autoreply => {
            return (Qualification::new(FailureType::Ignored, FailureReason::Undefined), Detail::Vacation, "auto-reply".into())
        }
        Kind::NotBounce => return (Qualification::UNDEFINED, Detail::Undefined, String::new()),
        Kind::Dsn | Kind::Text => {}
    }
    // RFC 3464 §2.3.3: these actions report a success.
    if matches!(b.action.as_str(), "delivered" | "relayed" | "expanded") || b.status.starts_with("2.") {
        let action = if b.action.is_empty() { "delivered" } else { &b.action };
        return (Qualification::DELIVERED, Detail::Delivered, format!("action:{action}"));
    }
    match rules.find(&Evidence::of(b)) {
        Some(r) => (r.qualification, r.detail, r.name.clone()),
        None => (Qualification::UNDEFINED, Detail::Undefined, String::new()),
    }
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

    /// A user-unknown text is a missing mailbox at RCPT or with a mailbox status; after DATA it
    /// is a filter speaking, after MAIL FROM a refusal of the sender (Sisimai's distinction).
    #[test]
    fn the_smtp_stage_weighs_on_a_user_unknown_text() {
        let rules = RuleSet::load(None).unwrap();
        let q = |b: &Bounce| decide(&rules, Kind::Dsn, b);
        assert_eq!(q(&bounce("550 Unknown user a@example.com", "", "550", "RCPT")).1, Detail::UserUnknown);
        assert_eq!(q(&bounce("550 5.1.1 <a@example.com>: User unknown", "5.1.1", "550", "")).1, Detail::UserUnknown);
        assert_eq!(q(&bounce("550 User unknown", "", "550", "DATA")).1, Detail::Filtered);
        assert_eq!(q(&bounce("550 5.1.1 User unknown", "5.1.1", "550", "DATA")).1, Detail::UserUnknown);
        assert_eq!(q(&bounce("550 User unknown", "", "550", "MAIL")).1, Detail::Rejected);
        assert_eq!(q(&bounce("X-Unix; 255", "5.0.0", "", "")).1, Detail::MailerError);
        let (qual, _, _) = q(&bounce("550 5.1.1 <a@example.com>: User unknown", "5.1.1", "550", "RCPT"));
        assert_eq!(qual, Qualification::new(FailureType::Hard, FailureReason::UserUnknown));
    }

    /// A mailbox status with a generic refusal word is a missing mailbox; the same word with a
    /// policy status, or a text that names a policy, is a refusal.
    #[test]
    fn a_mailbox_status_outweighs_a_generic_word() {
        let rules = RuleSet::load(None).unwrap();
        let q = |b: &Bounce| decide(&rules, Kind::Dsn, b).1;
        assert_eq!(q(&bounce("550 5.1.1 Recipient rejected", "5.1.1", "550", "RCPT")), Detail::UserUnknown);
        assert_eq!(q(&bounce("550 5.1.1 Recipient not found", "5.1.1", "550", "")), Detail::UserUnknown);
        assert_eq!(q(&bounce("550 5.7.1 Recipient rejected", "5.7.1", "550", "RCPT")), Detail::Blocked);
        assert_eq!(q(&bounce("550 5.1.1 Rejected by spam filter", "5.1.1", "550", "RCPT")), Detail::SpamDetected);
    }

    #[test]
    fn successes_and_nothing() {
        let rules = RuleSet::load(None).unwrap();
        let q = |b: &Bounce| decide(&rules, Kind::Dsn, b);
        assert_eq!(q(&bounce("250 ok", "2.0.0", "250", "")).0, Qualification::DELIVERED);
        assert_eq!(q(&bounce("the weather is nice", "", "", "")).2, "");
    }
}
