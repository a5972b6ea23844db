//! Receiving providers ("rhost" in Sisimai's terms: the host that refused the message). A
//! provider is known from the remote MTA's name, from its signature in the reply text, or from
//! the recipient's domain; its code tables are rules scoped to it (`rules/providers/*.toml`).
//! Adding a provider is one entry here, its rules file and its fixtures.

use crate::model::Bounce;

/// One receiving provider and how to recognise it.
struct Provider {
    name: &'static str,
    /// Suffixes of its MX / remote MTA host names.
    hosts: &'static [&'static str],
    /// Literals its replies carry (lower case): a host name in brackets, a signature.
    signatures: &'static [&'static str],
    /// Suffixes of the mailbox domains it hosts.
    domains: &'static [&'static str],
}

const PROVIDERS: &[Provider] = &[
    Provider {
        name: "microsoft",
        hosts: &[".protection.outlook.com", ".prod.outlook.com", ".outlook.com", ".hotmail.com"],
        signatures: &["protection.outlook.com", "prod.outlook.com", "resolver.adr.", "resolver.rst."],
        domains: &["outlook.com", "hotmail.com", "live.com", "msn.com", "hotmail.co.uk", "hotmail.fr", "live.fr", "outlook.fr", "hotmail.de", "hotmail.it", "hotmail.es", "live.co.uk", "live.nl", "outlook.jp", "hotmail.co.jp"],
    },
    Provider {
        name: "google",
        hosts: &[".google.com", ".googlemail.com"],
        signatures: &[" - gsmtp", "support.google.com/mail/?p=", "support.google.com/mail/answer/81126"],
        domains: &["gmail.com", "googlemail.com"],
    },
    Provider {
        name: "yahoo",
        hosts: &[".yahoodns.net", ".yahoo.com", ".yahoo.net"],
        signatures: &["[tss0", "[ts0", "postmaster.yahooinc.com", "help.yahoo.com", "yahoo.com account", "delivery error: dd "],
        domains: &["yahoo.com", "ymail.com", "rocketmail.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de", "yahoo.it", "yahoo.es", "yahoo.ca", "yahoo.com.au", "yahoo.com.br", "yahoo.co.in"],
    },
    Provider { name: "aol", hosts: &[".aol.com", "mx-aol.mail.gm0.yahoodns.net"], signatures: &[], domains: &["aol.com", "aim.com", "aol.co.uk", "aol.fr", "aol.de"] },
    Provider { name: "apple", hosts: &[".icloud.com", ".me.com", ".mac.com"], signatures: &["support.apple.com"], domains: &["icloud.com", "me.com", "mac.com"] },
    Provider { name: "gmx", hosts: &[".gmx.net", ".gmx.com", ".web.de"], signatures: &[], domains: &["gmx.net", "gmx.de", "gmx.com", "gmx.at", "gmx.ch", "gmx.fr", "web.de"] },
    Provider {
        name: "orange",
        hosts: &[".orange.fr", ".wanadoo.fr", ".laposte.net"],
        signatures: &["ofr_", "lpn0", "lpn1", "ofr0"],
        domains: &["orange.fr", "wanadoo.fr", "laposte.net", "voila.fr"],
    },
    Provider { name: "mailru", hosts: &[".mail.ru"], signatures: &[], domains: &["mail.ru", "inbox.ru", "list.ru", "bk.ru", "internet.ru"] },
    Provider { name: "yandex", hosts: &[".yandex.ru", ".yandex.net"], signatures: &[], domains: &["yandex.ru", "yandex.com", "ya.ru", "yandex.ua", "yandex.kz", "yandex.by"] },
    Provider { name: "zoho", hosts: &[".zoho.com", ".zohomail.com", ".zoho.eu"], signatures: &[], domains: &["zoho.com", "zohomail.com", "zoho.eu"] },
    Provider { name: "facebook", hosts: &[".facebook.com"], signatures: &["postmaster.facebook.com"], domains: &["facebook.com"] },
    Provider { name: "cox", hosts: &[".cox.net"], signatures: &["cox.net"], domains: &["cox.net"] },
    Provider { name: "spectrum", hosts: &[".charter.net", ".rr.com", ".spectrum.net"], signatures: &["aup#"], domains: &["charter.net", "spectrum.net", "rr.com"] },
    Provider { name: "godaddy", hosts: &[".secureserver.net"], signatures: &[], domains: &[] },
    Provider { name: "kddi", hosts: &[".ezweb.ne.jp", ".au.com"], signatures: &[], domains: &["ezweb.ne.jp", "au.com"] },
    Provider { name: "nttdocomo", hosts: &[".docomo.ne.jp"], signatures: &[], domains: &["docomo.ne.jp"] },
    Provider { name: "tencent", hosts: &[".qq.com"], signatures: &[], domains: &["qq.com", "foxmail.com"] },
    Provider { name: "mimecast", hosts: &[".mimecast.com"], signatures: &["mimecast.com"], domains: &[] },
    Provider { name: "iua", hosts: &[".email.ua", ".i.ua"], signatures: &["mail.i.ua/err"], domains: &["i.ua"] },
];

/// `host` is `suffix` or ends with it (`suffix` starts with a dot, or names a whole host).
fn host_in(host: &str, suffix: &str) -> bool {
    host.ends_with(suffix) || suffix.strip_prefix('.').is_some_and(|s| host == s)
}

/// The provider that refused this record: its remote MTA's name first, then a signature in its
/// reply, then the recipient's domain.
pub fn identify(b: &Bounce) -> Option<&'static str> {
    let host = b.remote_mta.trim().trim_end_matches('.').to_ascii_lowercase();
    let host = host.rsplit(|c: char| c == ';' || c.is_whitespace()).next().unwrap_or("");
    if !host.is_empty() {
        if let Some(p) = PROVIDERS.iter().find(|p| p.hosts.iter().any(|h| host_in(host, h))) {
            return Some(p.name);
        }
    }
    let diag = b.diagnostic.to_ascii_lowercase();
    if let Some(p) = PROVIDERS.iter().find(|p| p.signatures.iter().any(|s| diag.contains(s))) {
        return Some(p.name);
    }
    let domain = b.recipient.rsplit_once('@').map_or("", |(_, d)| d);
    PROVIDERS.iter().find(|p| p.domains.iter().any(|d| domain == *d)).map(|p| p.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(rcpt: &str, mta: &str, diag: &str) -> Bounce {
        Bounce { recipient: rcpt.into(), remote_mta: mta.into(), diagnostic: diag.into(), ..Default::default() }
    }

    #[test]
    fn by_host_signature_and_domain() {
        assert_eq!(identify(&b("a@example.com", "dns; example-com.mail.protection.outlook.com", "")), Some("microsoft"));
        assert_eq!(identify(&b("a@example.com", "", "550-5.1.1 The email account that you tried to reach does not exist. x12si - gsmtp")), Some("google"));
        assert_eq!(identify(&b("a@ezweb.ne.jp", "", "550 : User unknown")), Some("kddi"));
        assert_eq!(identify(&b("a@example.com", "mx.example.com", "550 User unknown")), None);
        assert_eq!(identify(&b("a@notoutlook.com", "", "")), None);
    }
}
