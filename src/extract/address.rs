//! Finding email addresses in prose, and telling recipients from the bounce's own parties.

use regex::Regex;
use std::sync::LazyLock;

static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:"[^"\r\n@]{1,64}"|[A-Za-z0-9][A-Za-z0-9._%+\-=!#$&'*/?^`{|}~]*)@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)+"#).unwrap()
});

/// Every address-looking token in `text`, with its byte offset, lowercased.
pub fn find_all(text: &str) -> impl Iterator<Item = (usize, String)> + '_ {
    ADDRESS.find_iter(text).map(|m| {
        let a = m.as_str().trim_end_matches('.');
        let prefixed = super::fields::strip_route_prefix(a);
        (m.start() + (a.len() - prefixed.len()), prefixed.to_ascii_lowercase())
    })
}

/// Is this a role address of a mail system rather than a person's mailbox?
pub fn is_system(addr: &str) -> bool {
    let local = addr.split('@').next().unwrap_or("");
    matches!(
        local,
        "mailer-daemon" | "postmaster" | "mail-daemon" | "maildaemon" | "mailerdaemon" | "daemon" | "root" | "nobody" | "noreply" | "no-reply" | "abuse"
    ) || local.starts_with("mailer-daemon")
        || local.starts_with("postmaster")
        || local.starts_with("owner-")
        // A mailing list's role addresses (Mailman, Majordomo, fml, ezmlm): its requests,
        // owners and control go there, never a subscriber's mail.
        || ["-request", "-owner", "-admin", "-ctl", "-bounces", "-confirm", "-join", "-leave", "-subscribe", "-unsubscribe"].iter().any(|x| local.ends_with(x))
}

/// Clean a recipient value: strip brackets, quotes, a `rfc822;` prefix; lowercase.
pub fn clean(s: &str) -> String {
    super::fields::address_value(s)
}

pub fn is_address(s: &str) -> bool {
    let mut parts = s.splitn(2, '@');
    let local = parts.next().unwrap_or("");
    let domain = parts.next().unwrap_or("");
    !local.is_empty() && !domain.is_empty() && !domain.contains('@') && !s.contains(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_classifies() {
        let v: Vec<_> = find_all("<Kijitora@Example.JP>: said 550 to postmaster@example.org.").map(|(_, a)| a).collect();
        assert_eq!(v, vec!["kijitora@example.jp", "postmaster@example.org"]);
        assert!(is_system("mailer-daemon@x.org"));
        assert!(!is_system("neko@x.org"));
        assert!(is_system("team-request@lists.example.org") && is_system("owner-team@lists.example.org") && is_system("team-ctl@ml.example.jp"));
        assert!(is_address("a@b.c"));
        assert!(!is_address("a b@c"));
        let v: Vec<_> = find_all("to <\"john.doe\"@example.com> and smtp=lena@example.com").map(|(_, a)| a).collect();
        assert_eq!(v, vec!["\"john.doe\"@example.com", "lena@example.com"]);
    }
}
