//! Diagnostic text → `Text` template: the variable parts of an error (addresses, ids, dates,
//! IPs, hosts, numbers) are replaced so that every failure of one kind collapses into one row
//! of the qualification table. Email addresses become `*`, the rest `#xxx#` placeholders.
//! SMTP reply codes (550) and enhanced status codes (5.1.1) are kept: they carry meaning.

use regex::bytes::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use regex_automata::{hybrid, Anchored, Input, MatchKind};
use std::sync::LazyLock;

/// Longest Text kept; a diagnostic is a line or two, anything longer is noise.
pub const MAX_TEXT: usize = 1024;

const MONTH: &str = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*";
const WDAY: &str = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*";

/// Token classes, in priority order: the first that matches at a position wins.
const KINDS: &[&str] = &["email", "url", "date", "time", "ip", "phone", "status", "host", "word"];

fn alternatives() -> Vec<String> {
    let local = r"[A-Za-z0-9._%+\-=!#$&'*/?^`{|}~]+";
    let label = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?";
    let rfc_date = format!(
        r"(?:{WDAY},?\s+)?\d{{1,2}}[\s-]+{MONTH}[\s-]+\d{{2,4}}(?:,?\s+\d{{1,2}}:\d{{2}}(?::\d{{2}})?)?(?:\s*[+-]\d{{4}})?(?:\s*\([A-Za-z]{{2,5}}\))?"
    );
    let us_date = format!(r"(?:{WDAY},?\s+)?{MONTH}\s+\d{{1,2}},?(?:\s+\d{{1,2}}:\d{{2}}(?::\d{{2}})?)?(?:\s+\d{{4}})?");
    let iso = r"\d{4}[-/]\d{2}[-/]\d{2}(?:[T\s]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|\s*[+-]\d{2}:?\d{2})?)?";
    vec![
        format!(r"{local}@{label}(?:\.{label})*"),
        r"(?i:https?|ftp)://[^\s<>'\x22)\]]+".to_string(),
        format!(r"{rfc_date}|{us_date}|{iso}"),
        r"(?-u:\b)\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:\s*[+-]\d{4})?(?-u:\b)".to_string(),
        r"(?-u:\b)\d{1,3}(?:\.\d{1,3}){3}(?-u:\b)|(?i:(?:IPv6:)?(?:[0-9a-f]{1,4}:){5,7}[0-9a-f]{1,4}|(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4})*)?::(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4})*)?)".to_string(),
        r"\+\d[\d\s.\-]{6,}\d".to_string(),
        r"(?-u:\b)[245]\.\d{1,3}\.\d{1,3}(?-u:\b)".to_string(),
        format!(r"(?-u:\b)(?:{label}\.)+[A-Za-z]{{2,63}}(?-u:\b)"),
        r"[A-Za-z0-9_]+".to_string(),
    ]
}

/// All classes as one alternation: the reference definition of the token scan, and its
/// fallback should the automaton below give up on some input.
/// Byte-level with ASCII classes: a small automaton, quick to warm up. Every class ends on an
/// ASCII byte or the end of the text, so matches always fall on character boundaries.
static TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    let alts: Vec<String> = alternatives().into_iter().map(|a| format!("(?:{a})")).collect();
    RegexBuilder::new(&alts.join("|")).unicode(false).build().expect("normalizer pattern")
});

/// Each class anchored on its own: tells which class a token found by `TOKEN` belongs to. The
/// first class matching the whole token is the one the alternation chose (leftmost-first).
static CLASS: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSetBuilder::new(alternatives().iter().map(|a| format!("^(?:{a})$")))
        .unicode(false)
        .build()
        .expect("normalizer classes")
});

/// The classes as one multi-pattern lazy DFA, searched anchored at each position that can start
/// a token: the match gives the token's end and its class (the pattern) at once. Same semantics
/// as `TOKEN` + `CLASS` (leftmost-first, patterns in priority order); a diagnostic is mostly
/// plain words, and an unanchored search per word, then a set match per token, cost more than
/// the whole scan.
struct Scanner {
    dfa: hybrid::dfa::DFA,
    /// Bytes at which some class can start, whatever precedes them.
    starts: [bool; 256],
}

static SCANNER: LazyLock<Scanner> = LazyLock::new(|| {
    let dfa = hybrid::dfa::DFA::builder()
        .configure(hybrid::dfa::DFA::config().match_kind(MatchKind::LeftmostFirst))
        .syntax(regex_automata::util::syntax::Config::new().unicode(false).utf8(false))
        .build_many(&alternatives())
        .expect("normalizer automaton");
    let mut starts = [false; 256];
    let mut cache = dfa.create_cache();
    for b in 0..=255u8 {
        // Preceded by nothing, by a word byte, by a non-word byte: the \b contexts.
        starts[b as usize] = [&[b][..], &[b'a', b], &[b' ', b]].iter().any(|hay| {
            let input = Input::new(*hay).range(hay.len() - 1..).anchored(Anchored::Yes);
            match dfa.start_state_forward(&mut cache, &input) {
                Ok(sid) => dfa.next_state(&mut cache, sid, b).map_or(true, |next| !next.is_dead()),
                Err(_) => true,
            }
        });
    }
    Scanner { dfa, starts }
});

thread_local! {
    static CACHE: std::cell::RefCell<Option<hybrid::dfa::Cache>> = const { std::cell::RefCell::new(None) };
}

/// Calls `f(start, end, class)` for every token of `hay`, left to right, until it returns false.
fn scan(hay: &[u8], mut f: impl FnMut(usize, usize, usize) -> bool) {
    let sc = &*SCANNER;
    CACHE.with(|c| {
        let mut slot = c.borrow_mut();
        let cache = slot.get_or_insert_with(|| sc.dfa.create_cache());
        let mut i = 0;
        while i < hay.len() {
            if !sc.starts[hay[i] as usize] {
                i += 1;
                continue;
            }
            match token_at(&sc.dfa, cache, hay, i) {
                Ok(Some((end, class))) if end > i => {
                    if !f(i, end, class) {
                        return;
                    }
                    i = end;
                }
                Ok(_) => i += 1,
                Err(_) => {
                    // The lazy DFA gave up (cache thrashing on hostile input): the rest with
                    // the reference regexes.
                    while let Some(m) = TOKEN.find_at(hay, i) {
                        let class = CLASS.matches(m.as_bytes()).iter().next().unwrap_or(KINDS.len() - 1);
                        if !f(m.start(), m.end(), class) {
                            return;
                        }
                        i = m.end();
                    }
                    return;
                }
            }
        }
    });
}

/// The token starting at `i`: (end, class), as an anchored leftmost-first search of `dfa` from
/// `i` to the end of `hay` finds it. The search loop of regex-automata's lazy DFA, driven by
/// hand: a diagnostic is mostly short words, each a search of its own, and the library's
/// search costs more to set up than to run over a word. Err when the automaton gives up.
fn token_at(dfa: &hybrid::dfa::DFA, cache: &mut hybrid::dfa::Cache, hay: &[u8], i: usize) -> Result<Option<(usize, usize)>, ()> {
    let input = Input::new(hay).range(i..).anchored(Anchored::Yes);
    let mut sid = dfa.start_state_forward(cache, &input).map_err(drop)?;
    let mut found = None;
    for (at, &b) in hay.iter().enumerate().skip(i) {
        sid = dfa.next_state(cache, sid, b).map_err(drop)?;
        if sid.is_tagged() {
            if sid.is_match() {
                // Matches show one byte late: this one ended before `at`.
                found = Some((at, dfa.match_pattern(cache, sid, 0).as_usize()));
            } else if sid.is_dead() {
                return Ok(found);
            } else if sid.is_quit() {
                return Err(());
            }
        }
    }
    sid = dfa.next_eoi_state(cache, sid).map_err(drop)?;
    if sid.is_match() {
        found = Some((hay.len(), dfa.match_pattern(cache, sid, 0).as_usize()));
    }
    Ok(found)
}

/// Normalize a raw diagnostic into its Text template.
pub fn normalize(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len().min(MAX_TEXT) + 16);
    let mut last = 0;
    scan(raw.as_bytes(), |start, end, class| {
        let (Some(before), Some(tok)) = (raw.get(last..start), raw.get(start..end)) else {
            return true; // not on character boundaries (cannot happen with ASCII-bounded classes)
        };
        out.push_str(before);
        last = end;
        push_token(&mut out, KINDS[class], tok);
        out.len() <= 4 * MAX_TEXT
    });
    if last < raw.len() && out.len() <= 4 * MAX_TEXT {
        out.push_str(&raw[last..]);
    }
    collapse(&out)
}

/// A token's place in the Text: its placeholder, or the token itself when it carries meaning.
fn push_token(out: &mut String, kind: &str, tok: &str) {
    match kind {
        "email" => out.push('*'),
        "url" => out.push_str("#URL#"),
        "date" => out.push_str("#DATE#"),
        "time" => out.push_str("#TIME#"),
        "ip" => out.push_str("#IP#"),
        "phone" => out.push_str("#PHONE#"),
        "status" => out.push_str(tok),
        "host" => out.push_str("#HOST#"),
        _ => push_word(out, tok),
    }
}

fn push_word(out: &mut String, w: &str) {
    out.push_str(word(w));
}

fn word(w: &str) -> &str {
    let digits = w.bytes().filter(u8::is_ascii_digit).count();
    if digits == 0 {
        return w;
    }
    if digits == w.len() {
        // A reply code keeps its meaning; any other number varies.
        let b = w.as_bytes();
        return if w.len() == 3 && matches!(b[0], b'2' | b'4' | b'5') { w } else { "#NUM#" };
    }
    if is_fixed_code(w) {
        return w;
    }
    "#ID#"
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
            crate::bounds::truncate(&mut out, MAX_TEXT);
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::normalize;

    /// The token scan as it was first written (one unanchored search per token, then the class
    /// set): the automaton scan must give the same Text.
    fn reference(raw: &str) -> String {
        use super::{collapse, push_token, CLASS, KINDS, MAX_TEXT, TOKEN};
        let mut out = String::new();
        let mut last = 0;
        for m in TOKEN.find_iter(raw.as_bytes()) {
            let (Some(before), Some(tok)) = (raw.get(last..m.start()), raw.get(m.start()..m.end())) else { continue };
            out.push_str(before);
            last = m.end();
            let class = if tok.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                "word"
            } else {
                CLASS.matches(tok.as_bytes()).iter().next().map(|i| KINDS[i]).unwrap_or("word")
            };
            push_token(&mut out, class, tok);
            if out.len() > 4 * MAX_TEXT {
                break;
            }
        }
        if last < raw.len() && out.len() <= 4 * MAX_TEXT {
            out.push_str(&raw[last..]);
        }
        collapse(&out)
    }

    #[test]
    fn automaton_scan_agrees_with_the_reference() {
        // Every line of every fixture: real diagnostics, headers, addresses, dates.
        let mut samples: Vec<String> = Vec::new();
        for p in crate::test_support::fixture_files() {
            samples.extend(String::from_utf8_lossy(&std::fs::read(p).unwrap()).lines().map(str::to_string));
        }
        assert!(samples.len() > 1000);
        // And random strings over the bytes the classes care about.
        let alphabet: Vec<String> = "aZx09 5.1.1:-+@/_<>[]()'#=?,;\t\néhtpsf:JanMon".chars().map(String::from).collect();
        let mut rng = crate::test_support::Rng::new(0x9E37_79B9_7F4A_7C15);
        for _ in 0..20_000 {
            samples.push(String::from_utf8(rng.string(&alphabet, 39)).unwrap());
        }
        for s in &samples {
            assert_eq!(normalize(s), reference(s), "for {s:?}");
        }
    }

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
