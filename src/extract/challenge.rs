//! Challenge/response and sender-verification requests (Boxbe, TMDA, SpamArrest, Mailblocks,
//! ChoiceMail, "please confirm you are a real person"): the recipient's filter holds the
//! message until the sender proves it is a person. Nobody failed and nothing should be
//! quarantined, though such requests often come from a null sender with the message attached.

use super::view::MailView;
use regex::Regex;
use std::sync::LazyLock;

/// The phrases of the known systems and of the request itself.
static REQUEST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)boxbe|spamarrest|spam arrest|mailblocks|choicemail|sanebox|tmda|verify (?:that )?you are (?:a )?(?:real )?(?:person|human)|confirm (?:that )?you are (?:a )?(?:real )?(?:person|human|not a (?:robot|spammer))|(?:approved|allowed|safe) senders? list|whitelist|guest list|sender verification (?:request|required)|verify your (?:e-?mail )?address to (?:deliver|get your message)|awaiting (?:your )?(?:verification|confirmation)|held (?:pending|until) (?:your )?(?:verification|confirmation)|please (?:click|follow) the link (?:below )?to (?:verify|confirm|deliver)",
    )
    .unwrap()
});

/// Words that say a delivery failed: a bounce mentioning a whitelist is still a bounce.
static FAILURE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|[^0-9])[45][0-9][0-9][ -]|(?:^|[^0-9])[45]\.[0-9]{1,3}\.[0-9]{1,3}|user unknown|no such user|mailbox (?:full|unavailable)|could not be delivered|delivery (?:has )?failed|undeliverable|permanent(?:ly)? (?:error|failure)").unwrap()
});

/// Whether the message is a challenge/response or verification request, not a bounce.
pub fn is_challenge(v: &MailView, human: &str) -> bool {
    if v.header("x-boxbe-status").is_some() || v.header("x-delivery-agent").is_some_and(|a| a.to_ascii_lowercase().contains("tmda")) || v.header("x-tmda").is_some() {
        return true;
    }
    (REQUEST.is_match(&v.subject) || REQUEST.is_match(human)) && !FAILURE.is_match(human)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(raw: &str) -> MailView {
        super::super::view::view(raw.as_bytes()).unwrap()
    }

    #[test]
    fn requests_and_bounces() {
        let m = v("From: notify@screen.example.net\nSubject: Please verify your email\n\nHi, I use a challenge system. Please click the link below to verify you are a real person.\n");
        assert!(is_challenge(&m, m.human()));
        let m = v("From: MAILER-DAEMON@example.org\nSubject: Undelivered Mail\n\n<a@example.com>: 550 5.1.1 User unknown. Add us to your whitelist.\n");
        assert!(!is_challenge(&m, m.human()));
        let m = v("From: a@example.org\nSubject: lunch\n\nsee you at noon\n");
        assert!(!is_challenge(&m, m.human()));
    }
}
