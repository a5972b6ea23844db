//! Diagnostic text → `Text` template: the variable parts of an error (addresses, ids, dates,
//! IPs, hosts, numbers) are replaced so that every failure of one kind collapses into one row
//! of the qualification table. Email addresses become `*`, the rest `#xxx#` placeholders.
//! SMTP reply codes (550) and enhanced status codes (5.1.1) are kept: they carry meaning.

use regex::{Captures, Regex};
use std::sync::LazyLock;

/// Longest Text kept; a diagnostic is a line or two, anything longer is noise.
pub const MAX_TEXT: usize = 1024;

const MONTH: &str = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*";
const WDAY: &str = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*";

static TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    let local = r"[A-Za-z0-9._%+\-=!#$&'*/?^`{|}~]+";
    let label = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?";
    let rfc_date = format!(
        r"(?:{WDAY},?\s+)?\d{{1,2}}[\s-]+{MONTH}[\s-]+\d{{2,4}}(?:,?\s+\d{{1,2}}:\d{{2}}(?::\d{{2}})?)?(?:\s*[+-]\d{{4}})?(?:\s*\([A-Za-z]{{2,5}}\))?"
    );
    let us_date = format!(r"(?:{WDAY},?\s+)?{MONTH}\s+\d{{1,2}},?(?:\s+\d{{1,2}}:\d{{2}}(?::\d{{2}})?)?(?:\s+\d{{4}})?");
    let iso = r"\d{4}[-/]\d{2}[-/]\d{2}(?:[T\s]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|\s*[+-]\d{2}:?\d{2})?)?";
    let pattern = format!(
        r"(?P<email>{local}@{label}(?:\.{label})*)|(?P<url>(?i:https?|ftp)://[^\s<>'\x22)\]]+)|(?P<date>{rfc_date}|{us_date}|{iso})|(?P<time>(?-u:\b)\d{{1,2}}:\d{{2}}(?::\d{{2}})?(?:\.\d+)?(?:\s*[+-]\d{{4}})?(?-u:\b))|(?P<ip>(?-u:\b)\d{{1,3}}(?:\.\d{{1,3}}){{3}}(?-u:\b)|(?i:(?:IPv6:)?(?:[0-9a-f]{{1,4}}:){{5,7}}[0-9a-f]{{1,4}}|(?:[0-9a-f]{{1,4}}(?::[0-9a-f]{{1,4}})*)?::(?:[0-9a-f]{{1,4}}(?::[0-9a-f]{{1,4}})*)?))|(?P<phone>\+\d[\d\s.\-]{{6,}}\d)|(?P<status>(?-u:\b)[245]\.\d{{1,3}}\.\d{{1,3}}(?-u:\b))|(?P<host>(?-u:\b)(?:{label}\.)+[A-Za-z]{{2,63}}(?-u:\b))|(?P<word>[A-Za-z0-9_]+)"
    );
    Regex::new(&pattern).expect("normalizer pattern")
});

/// Normalize a raw diagnostic into its Text template.
pub fn normalize(raw: &str) -> String {
    let replaced = TOKEN.replace_all(raw, |c: &Captures| -> String {
        if c.name("email").is_some() {
            "*".into()
        } else if c.name("url").is_some() {
            "#URL#".into()
        } else if c.name("date").is_some() {
            "#DATE#".into()
        } else if c.name("ip").is_some() {
            "#IP#".into()
        } else if c.name("time").is_some() {
            "#TIME#".into()
        } else if c.name("phone").is_some() {
            "#PHONE#".into()
        } else if c.name("status").is_some() {
            c[0].to_string()
        } else if c.name("host").is_some() {
            "#HOST#".into()
        } else {
            word(&c[0])
        }
    });
    collapse(&replaced)
}

fn word(w: &str) -> String {
    let digits = w.bytes().filter(u8::is_ascii_digit).count();
    if digits == 0 {
        return w.into();
    }
    if digits == w.len() {
        // A reply code keeps its meaning; any other number varies.
        let b = w.as_bytes();
        return if w.len() == 3 && matches!(b[0], b'2' | b'4' | b'5') { w.into() } else { "#NUM#".into() };
    }
    if is_fixed_code(w) {
        return w.into();
    }
    "#ID#".into()
}

/// Short codes that name a fixed thing rather than an instance: RFC5322, ATTR36, ipv6, Exim4.
fn is_fixed_code(w: &str) -> bool {
    let letters = w.bytes().take_while(u8::is_ascii_alphabetic).count();
    let rest = &w[letters..];
    letters >= 2 && !rest.is_empty() && rest.len() <= 4 && rest.bytes().all(|b| b.is_ascii_digit())
}

/// Collapse whitespace runs, trim, and bound the length (on a char boundary).
fn collapse(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(MAX_TEXT));
    for part in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(part);
        if out.len() >= MAX_TEXT {
            let mut end = MAX_TEXT;
            while !out.is_char_boundary(end) {
                end -= 1;
            }
            out.truncate(end);
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn addresses_become_star() {
        assert_eq!(normalize("550 5.1.1 <a.b+c@Example.COM>: user unknown"), "550 5.1.1 <*>: user unknown");
    }

    #[test]
    fn keeps_reply_and_status_codes() {
        assert_eq!(normalize("550-5.1.1 The email account does not exist"), "550-5.1.1 The email account does not exist");
        assert_eq!(normalize("(#5.5.0)"), "(#5.5.0)");
    }

    #[test]
    fn ips_hosts_and_ids() {
        let t = normalize("host mx.example.jp [192.0.2.20]: 550 rejected, queue id o91AFNQX000234");
        assert_eq!(t, "host #HOST# [#IP#]: 550 rejected, queue id #ID#");
        assert_eq!(normalize("from [2001:db8::1] refused"), "from [#IP#] refused");
    }

    #[test]
    fn dates_and_times() {
        assert_eq!(normalize("at Thu, 24 Apr 2013 00:00:00 +0900 (JST) failed"), "at #DATE# failed");
        assert_eq!(normalize("queued since 2024-01-02T10:11:12Z"), "queued since #DATE#");
        assert_eq!(normalize("retry at 10:11:12"), "retry at #TIME#");
    }

    #[test]
    fn numbers_vary_but_codes_stay() {
        assert_eq!(normalize("size 12345 exceeds 10240"), "size #NUM# exceeds #NUM#");
        assert_eq!(normalize("see RFC5322 section 3"), "see RFC5322 section #NUM#");
        assert_eq!(normalize("call +33 6 12 34 56 78 now"), "call #PHONE# now");
        assert_eq!(normalize("see https://support.example.com/x?id=123 please"), "see #URL# please");
    }

    #[test]
    fn stable_across_variable_parts() {
        let a = normalize("550 5.1.1 <kijitora@example.jp>... User unknown (mx1.example.jp [192.0.2.1], id 1P1ceB-000FL1-4q) Mon, 1 Oct 2010 19:15:23 +0900");
        let b = normalize("550 5.1.1 <sironeko@other.example.org>... User unknown (relay9.isp.net [203.0.113.77], id 1Q9xyz-00ABCD-9z) Fri, 21 Jun 2024 01:02:03 -0700");
        assert_eq!(a, b);
    }

    #[test]
    fn whitespace_and_length() {
        assert_eq!(normalize("  a \n\t b  "), "a b");
        let long = "x ".repeat(5000);
        assert!(normalize(&long).len() <= super::MAX_TEXT);
        assert_eq!(normalize("é ü 日本語 550"), "é ü 日本語 550");
    }
}
