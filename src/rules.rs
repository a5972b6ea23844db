//! Inbound email rules: ordered rules, data in TOML, each compiled once at load. First match
//! wins. User rules are read before the shipped defaults; when no text rule matches, the
//! enhanced status code decides (see [`crate::status`]).
//!
//! Why the hot path tries the rules in order rather than running one `RegexSet`: measured on the
//! shared corpus with callgrind, one overlapping set over all rules cost 62% of a whole parse
//! (its lazy DFA keeps determinizing new states, since every position can start any rule),
//! while per-rule automata — small, each with a literal prefilter that skips most bytes — decide
//! the same in about half the instructions overall. The set is still built, once and lazily,
//! where its answer is the point: every rule a diagnostic matches (`rules test` shows the rules
//! a first match shadows) and whole-list validation (`rules check`). Before the rules are tried,
//! one Aho-Corasick pass over the diagnostic finds the literals every match of a rule must
//! contain ([`Prefilter`]), and a rule none of whose literals occurs is skipped.

use crate::model::{FailureReason, FailureType, Qualification};
use regex::bytes::{RegexSet, RegexSetBuilder};
use std::sync::OnceLock;
use regex::Regex;
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// The default rules shipped with inmail, embedded so the binary works from anywhere.
pub const DEFAULT_RULES: &[(&str, &str)] = &[("rules/default.toml", include_str!("../rules/default.toml"))];

/// Hard bound on one rule's compiled automaton, so a user rule cannot exhaust memory.
const REGEX_SIZE_LIMIT: usize = 64 << 20;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default, rename = "rule")]
    rules: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    /// Regex over the raw diagnostic (case-insensitive unless the pattern says otherwise).
    #[serde(default, rename = "match")]
    pattern: Option<String>,
    /// Optional regex that the enhanced status code must also match ("^5\\.1\\.").
    #[serde(default)]
    status: Option<String>,
    #[serde(rename = "type")]
    failure_type: String,
    reason: String,
    #[serde(default)]
    description: Option<String>,
    /// Diagnostics the rule is meant to match (accepted; written by `inmail rules suggest`).
    #[serde(default)]
    #[allow(dead_code)]
    examples: Option<Vec<String>>,
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub file: String,
    pub pattern: String,
    /// `pattern` compiled: byte-level, ASCII classes and case folding. When `folded`, it is
    /// compiled for text already in ASCII lower case (see `fold_to_lower`).
    pub matcher: regex_automata::meta::Regex,
    pub folded: bool,
    /// Literals one of which occurs in any text the rule matches (in the text it is matched
    /// against: lower-cased when `folded`), or None when no such short list exists.
    needles: Option<Vec<Vec<u8>>>,
    pub status: Option<Regex>,
    pub qualification: Qualification,
    pub description: Option<String>,
}

impl Rule {
    /// Whether the text pattern matches `diagnostic` (`lower` is it in ASCII lower case, what a
    /// folded matcher reads) and the status filter matches `status`.
    fn matches(&self, diagnostic: &str, lower: &str, status: &str) -> bool {
        let text = if self.folded { lower.as_bytes() } else { diagnostic.as_bytes() };
        self.matcher.is_match(text) && self.status.as_ref().is_none_or(|s| s.is_match(status))
    }
}

/// A rules-file problem, named by file, rule and position so an operator can fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub file: String,
    pub rule: Option<String>,
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.rule {
            Some(r) => write!(f, "{}: rule {:?}: {}", self.file, r, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for RuleError {}

/// The compiled rule list.
#[derive(Debug, Clone)]
pub struct RuleSet {
    rules: Vec<Rule>,
    prefilter: Prefilter,
    /// Every rule in one set, built on first use (see the module comment).
    set: OnceLock<RegexSet>,
}

/// Where a qualification came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleMatch<'a> {
    pub name: &'a str,
    pub qualification: Qualification,
}

impl RuleSet {
    /// Compile the defaults, preceded by the user's rules file when given.
    pub fn load(user_file: Option<&Path>) -> Result<RuleSet, Vec<RuleError>> {
        let mut sources: Vec<(String, String)> = Vec::new();
        if let Some(p) = user_file {
            match std::fs::read_to_string(p) {
                Ok(s) => sources.push((p.display().to_string(), s)),
                Err(e) => {
                    return Err(vec![RuleError { file: p.display().to_string(), rule: None, message: format!("cannot read: {e}") }])
                }
            }
        }
        sources.extend(DEFAULT_RULES.iter().map(|(n, s)| (n.to_string(), s.to_string())));
        Self::compile(&sources)
    }

    /// Compile rule files given as (name, TOML text), in order. Every error is collected.
    pub fn compile(sources: &[(String, String)]) -> Result<RuleSet, Vec<RuleError>> {
        let mut errors = Vec::new();
        let mut rules = Vec::new();
        for (file, text) in sources {
            match parse_file(file, text) {
                Ok(mut r) => rules.append(&mut r),
                Err(mut e) => errors.append(&mut e),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let prefilter = Prefilter::new(&rules);
        Ok(RuleSet { rules, prefilter, set: OnceLock::new() })
    }

    /// Read rule files from disk and compile them (for `inmail rules check`).
    pub fn check_files(paths: &[PathBuf]) -> Result<RuleSet, Vec<RuleError>> {
        let mut sources = Vec::new();
        let mut errors = Vec::new();
        for p in paths {
            match std::fs::read_to_string(p) {
                Ok(s) => sources.push((p.display().to_string(), s)),
                Err(e) => errors.push(RuleError { file: p.display().to_string(), rule: None, message: format!("cannot read: {e}") }),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Self::compile(&sources)
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// First rule whose text pattern and status filter both match.
    pub fn find(&self, diagnostic: &str, status: &str) -> Option<&Rule> {
        let lower = diagnostic.to_ascii_lowercase();
        let candidates = self.prefilter.candidates(diagnostic.as_bytes(), lower.as_bytes());
        self.rules.iter().zip(candidates).find_map(|(r, candidate)| (candidate && r.matches(diagnostic, &lower, status)).then_some(r))
    }

    /// `find` without the prefilter: every rule tried in order (the reference for tests).
    #[cfg(test)]
    fn find_slow(&self, diagnostic: &str, status: &str) -> Option<&Rule> {
        let lower = diagnostic.to_ascii_lowercase();
        self.rules.iter().find(|r| r.matches(diagnostic, &lower, status))
    }

    /// Every rule whose text pattern and status filter match, in order (one pass of the set
    /// over the text).
    pub fn all_matches(&self, diagnostic: &str, status: &str) -> Vec<&Rule> {
        let set = self.set.get_or_init(|| {
            set_builder(self.rules.iter().map(|r| r.pattern.as_str())).build().expect("rules compiled one by one compile as a set")
        });
        set.matches(diagnostic.as_bytes())
            .iter()
            .map(|i| &self.rules[i])
            .filter(|r| r.status.as_ref().is_none_or(|s| s.is_match(status)))
            .collect()
    }

    /// Build the whole set now: proves the list compiles as one within the size limits.
    pub fn validate_as_set(&self) -> Result<(), RuleError> {
        set_builder(self.rules.iter().map(|r| r.pattern.as_str()))
            .build()
            .map(|set| {
                let _ = self.set.set(set);
            })
            .map_err(|e| RuleError { file: "(all rules)".into(), rule: None, message: e.to_string() })
    }
}

fn parse_file(file: &str, text: &str) -> Result<Vec<Rule>, Vec<RuleError>> {
    let parsed: RuleFile = toml::from_str(text)
        .map_err(|e| vec![RuleError { file: file.into(), rule: None, message: e.to_string().trim_end().to_string() }])?;
    let mut errors = Vec::new();
    let mut rules = Vec::new();
    let mut checked = Vec::new();
    for raw in parsed.rules {
        let err = |message: String| RuleError { file: file.into(), rule: Some(raw.name.clone()), message };
        let failure_type = match raw.failure_type.parse::<FailureType>() {
            Ok(t) => t,
            Err(e) => {
                errors.push(err(e));
                continue;
            }
        };
        let reason = if failure_type == FailureType::None {
            None
        } else {
            match FailureReason::parse(&raw.reason) {
                Some(r) => Some(r),
                None => {
                    errors.push(err(format!("unknown reason {:?}", raw.reason)));
                    continue;
                }
            }
        };
        // Rules read like prose from mail servers: match case-insensitively by default.
        let pattern = format!("(?i){}", raw.pattern.as_deref().unwrap_or(""));
        checked.push((raw, pattern, Qualification { failure_type, reason }));
    }
    // Building the automata is most of the start-up time of every command: the rules are
    // built on all cores, and kept (with their errors) in file order.
    use rayon::prelude::*;
    let built: Vec<Result<Rule, RuleError>> = checked
        .into_par_iter()
        .map(|(raw, pattern, qualification)| {
            let err = |message: String| RuleError { file: file.into(), rule: Some(raw.name.clone()), message };
            // A syntax error names its position in the operator's pattern; the build then catches
            // size limits.
            let (matcher, folded, needles) = compile_matcher(&pattern).map_err(|e| {
                err(format!(
                    "bad `match` regex: {}",
                    match e {
                        MatcherError::Syntax(e) => position_hint(&e, 4),
                        MatcherError::Build(e) => e,
                    }
                ))
            })?;
            let status = raw
                .status
                .as_deref()
                .map(Regex::new)
                .transpose()
                .map_err(|e| err(format!("bad `status` regex: {}", position_hint(&e, 0))))?;
            Ok(Rule { matcher, folded, needles, name: raw.name, file: file.into(), pattern, status, qualification, description: raw.description })
        })
        .collect();
    for r in built {
        match r {
            Ok(rule) => rules.push(rule),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(rules)
    } else {
        Err(errors)
    }
}

/// A compiled rule text: the matcher, whether it reads lower-cased text, its needles.
type Matcher = (regex_automata::meta::Regex, bool, Option<Vec<Vec<u8>>>);

/// Compile a rule for matching. A case-insensitive pattern is rewritten for text in ASCII
/// lower case: its case-folded classes (`[Uu][Ss][Ee][Rr]`) become plain literals (`user`), so
/// the regex engine finds literal prefixes to search for (memchr, Teddy) instead of running
/// every rule's automaton over the whole diagnostic. `find` lower-cases the diagnostic once.
/// Patterns that are case-sensitive somewhere (`(?-i)`, `[A-Z]`) are compiled as written.
fn compile_matcher(pattern: &str) -> Result<Matcher, MatcherError> {
    let hir = regex_syntax::ParserBuilder::new().unicode(false).utf8(false).build().parse(pattern).map_err(|e| MatcherError::Syntax(Box::new(e)))?;
    let (hir, folded) = match fold_to_lower(&hir) {
        Some(h) => (h, true),
        None => (hir, false),
    };
    let config = regex_automata::meta::Config::new()
        .nfa_size_limit(Some(REGEX_SIZE_LIMIT))
        .which_captures(regex_automata::nfa::thompson::WhichCaptures::None)
        .utf8_empty(false);
    let re = regex_automata::meta::Builder::new().configure(config).build_from_hir(&hir).map_err(|e| MatcherError::Build(e.to_string()))?;
    Ok((re, folded, needles(&hir)))
}

/// Literals one of which occurs in every match of `hir`, or None. For a concatenation, the
/// prefix literals of the first suffix that has a short list: every match of the whole holds a
/// match of that suffix, which begins with one of them. This skips the word-boundary classes
/// (`(?:^|[^a-z0-9_])`) the rules start with, whose prefixes are no short list.
fn needles(hir: &regex_syntax::hir::Hir) -> Option<Vec<Vec<u8>>> {
    use regex_syntax::hir::{literal, Hir, HirKind};
    fn prefixes(h: &Hir) -> Option<Vec<Vec<u8>>> {
        let seq = literal::Extractor::new().kind(literal::ExtractKind::Prefix).extract(h);
        let lits = seq.literals()?;
        // Short literals would make every text a candidate; an empty list (a rule that can
        // never match) is left to the rule itself.
        if lits.is_empty() || lits.len() > 64 || lits.iter().any(|l| l.as_bytes().len() < 3) {
            return None;
        }
        let mut out: Vec<Vec<u8>> = lits.iter().map(|l| l.as_bytes().to_vec()).collect();
        out.sort();
        out.dedup();
        Some(out)
    }
    match hir.kind() {
        HirKind::Capture(c) => needles(&c.sub),
        HirKind::Alternation(alts) => {
            let mut all = Vec::new();
            for a in alts {
                all.extend(needles(a)?);
            }
            Some(all)
        }
        HirKind::Concat(items) => (0..items.len()).find_map(|k| prefixes(&Hir::concat(items[k..].to_vec()))),
        _ => prefixes(hir),
    }
}

/// One pass over a diagnostic finds every rule that could match it: an Aho-Corasick automaton
/// over all rules' needles (one for lower-cased text, one for the text as written). Rules
/// without needles are always tried. Measured on the corpus's 431 diagnostics: `find` went
/// from 6.1-7.2 µs to 1.6-2.4 µs a diagnostic; each rule's own search costs ~250 ns even when
/// its literals are absent, and most rules are now not searched at all. (Needles cut to four
/// bytes, tried first, matched nearly everywhere and gained nothing.)
#[derive(Debug, Clone)]
struct Prefilter {
    folded: Option<(aho_corasick::AhoCorasick, Vec<usize>)>,
    raw: Option<(aho_corasick::AhoCorasick, Vec<usize>)>,
    always: Vec<bool>,
}

impl Prefilter {
    fn new(rules: &[Rule]) -> Prefilter {
        let build = |folded: bool| {
            let (mut lits, mut owners) = (Vec::new(), Vec::new());
            for (i, r) in rules.iter().enumerate().filter(|(_, r)| r.folded == folded) {
                for n in r.needles.iter().flatten() {
                    lits.push(n.clone());
                    owners.push(i);
                }
            }
            if lits.is_empty() {
                return None;
            }
            aho_corasick::AhoCorasick::builder()
                .match_kind(aho_corasick::MatchKind::Standard)
                .build(&lits)
                .ok()
                .map(|ac| (ac, owners))
        };
        let (folded, raw) = (build(true), build(false));
        // A rule whose automaton could not be built is always tried.
        let always = rules
            .iter()
            .map(|r| r.needles.is_none() || if r.folded { folded.is_none() } else { raw.is_none() })
            .collect();
        Prefilter { folded, raw, always }
    }

    /// Which rules could match (`lower` is `text` in ASCII lower case).
    fn candidates(&self, text: &[u8], lower: &[u8]) -> Vec<bool> {
        let mut c = self.always.clone();
        for (hay, ac) in [(lower, &self.folded), (text, &self.raw)] {
            if let Some((ac, owners)) = ac {
                for m in ac.find_overlapping_iter(hay) {
                    c[owners[m.pattern().as_usize()]] = true;
                }
            }
        }
        c
    }
}

#[derive(Debug)]
enum MatcherError {
    Syntax(Box<regex_syntax::Error>),
    Build(String),
}

/// The same expression for a haystack with no ASCII upper-case letter, or None when there is no
/// such rewrite: a byte class must hold a letter in both cases or in neither (then the upper
/// case can go), and a literal must hold no letter at all (a letter outside a class is
/// case-sensitive).
fn fold_to_lower(hir: &regex_syntax::hir::Hir) -> Option<regex_syntax::hir::Hir> {
    use regex_syntax::hir::{Capture, Class, ClassBytes, ClassBytesRange, ClassUnicode, ClassUnicodeRange, Hir, HirKind, Repetition};
    Some(match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => hir.clone(),
        HirKind::Literal(lit) => {
            if lit.0.iter().any(u8::is_ascii_alphabetic) {
                return None;
            }
            hir.clone()
        }
        HirKind::Class(Class::Bytes(c)) => {
            let has = |b: u8| c.ranges().iter().any(|r| r.start() <= b && b <= r.end());
            if (b'a'..=b'z').any(|l| has(l) != has(l.to_ascii_uppercase())) {
                return None;
            }
            let mut c = c.clone();
            c.difference(&ClassBytes::new([ClassBytesRange::new(b'A', b'Z')]));
            Hir::class(Class::Bytes(c))
        }
        HirKind::Class(Class::Unicode(c)) => {
            let has = |ch: char| c.ranges().iter().any(|r| r.start() <= ch && ch <= r.end());
            if ('a'..='z').any(|l| has(l) != has(l.to_ascii_uppercase())) {
                return None;
            }
            let mut c = c.clone();
            c.difference(&ClassUnicode::new([ClassUnicodeRange::new('A', 'Z')]));
            Hir::class(Class::Unicode(c))
        }
        HirKind::Repetition(r) => {
            Hir::repetition(Repetition { min: r.min, max: r.max, greedy: r.greedy, sub: Box::new(fold_to_lower(&r.sub)?) })
        }
        HirKind::Capture(c) => Hir::capture(Capture { index: c.index, name: c.name.clone(), sub: Box::new(fold_to_lower(&c.sub)?) }),
        HirKind::Concat(subs) => Hir::concat(subs.iter().map(fold_to_lower).collect::<Option<Vec<_>>>()?),
        HirKind::Alternation(subs) => Hir::alternation(subs.iter().map(fold_to_lower).collect::<Option<Vec<_>>>()?),
    })
}

fn set_builder<'a>(patterns: impl Iterator<Item = &'a str>) -> RegexSetBuilder {
    let mut b = RegexSetBuilder::new(patterns);
    b.unicode(false).size_limit(REGEX_SIZE_LIMIT * 4).dfa_size_limit(16 << 20);
    b
}


/// The regex crate's message shows the pattern with a caret; `shift` undoes our `(?i)` prefix
/// in the column it reports, so the position is the one in the user's file.
fn position_hint(e: &dyn std::fmt::Display, shift: usize) -> String {
    let msg = e.to_string();
    if shift == 0 {
        return msg;
    }
    msg.lines()
        .map(|l| {
            if let Some(rest) = l.strip_prefix("    ") {
                // pattern and caret lines: drop the prefix we added
                let cut = rest.char_indices().nth(shift).map(|(i, _)| i).unwrap_or(rest.len());
                format!("    {}", &rest[cut..])
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

/// ASCII-only classes and case folding (`unicode(false)`) keep each rule a plain byte automaton
/// the lazy DFA can run: Unicode word boundaries would force the slow NFA on every non-ASCII
/// diagnostic. Non-ASCII literals in patterns still match, as their UTF-8 bytes.
fn matcher_builder(pattern: &str) -> regex::bytes::RegexBuilder {
    let mut b = regex::bytes::RegexBuilder::new(pattern);
    b.unicode(false).size_limit(REGEX_SIZE_LIMIT);
    b
}

    #[test]
    fn folded_matchers_agree_with_case_insensitive_ones() {
        let rs = RuleSet::load(None).unwrap();
        assert!(rs.rules().iter().all(|r| r.folded), "every default rule is case-insensitive throughout");
        let samples = [
            "550 5.1.1 <Alice@Example.COM>: Recipient address rejected: User unknown in virtual mailbox table",
            "552 5.2.2 MAILBOX FULL / Quota Exceeded",
            "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
            "421 4.4.2 Connection Timed Out; Host Not Found",
            "The Email Account That You Tried To Reach Is Disabled. Ñandú ÉTÉ",
            "Mailbox unavailable, account has been DISABLED; SPF Fail; message too LARGE",
            "",
        ];
        for r in rs.rules() {
            let reference = matcher_builder(&r.pattern).build().unwrap();
            for s in samples {
                let lower = s.to_ascii_lowercase();
                assert_eq!(r.matcher.is_match(lower.as_bytes()), reference.is_match(s.as_bytes()), "rule {} on {s:?}", r.name);
            }
        }
    }

    #[test]
    fn prefilter_never_hides_a_match() {
        let rs = RuleSet::load(None).unwrap();
        assert!(rs.rules().iter().filter(|r| r.needles.is_some()).count() * 2 > rs.rules().len(), "most rules have needles");
        // Every line and paragraph of every fixture, then each rule's own needles in context.
        let mut samples: Vec<String> = Vec::new();
        for p in crate::test_support::fixture_files() {
            let text = String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
            samples.extend(text.lines().map(str::to_string));
            samples.extend(text.split("\n\n").map(str::to_string));
        }
        for r in rs.rules() {
            for n in r.needles.iter().flatten() {
                let n = String::from_utf8_lossy(n);
                samples.push(format!("550 5.1.1 {n} x"));
                samples.push(format!("{} 550", n.to_uppercase()));
            }
        }
        let mut hits = 0;
        for s in &samples {
            for status in ["", "5.1.1", "4.2.2"] {
                let (fast, slow) = (rs.find(s, status), rs.find_slow(s, status));
                assert_eq!(fast.map(|r| &r.name), slow.map(|r| &r.name), "on {s:?} / {status}");
                hits += slow.is_some() as usize;
            }
        }
        assert!(hits > 100, "the samples exercise the rules ({hits} matches)");
    }

    #[test]
    fn concatenation_needles_skip_the_boundary_class() {
        let (_, folded, needles) = compile_matcher("(?i)(?:^|[^a-z0-9_])(?:ofr|lpn)[0-9]*_416").unwrap();
        assert!(folded);
        let n = needles.unwrap();
        assert!(n.iter().all(|n| n.starts_with(b"lpn") || n.starts_with(b"ofr")), "{n:?}");
        assert!(compile_matcher("(?i)[0-9]+ x").unwrap().2.is_none());
    }

    #[test]
    fn case_sensitive_patterns_are_not_folded() {
        for (pattern, folds) in [("(?i)user unknown", true), ("(?i)[a-z]+ unknown", true), ("(?i)(?-i)USER", false), ("(?i)x(?-i:[A-Z])", false), ("(?i)5\\.1\\.1", true)] {
            let (re, folded, _) = compile_matcher(pattern).unwrap();
            assert_eq!(folded, folds, "{pattern}");
            if folded {
                assert!(re.is_match(b"xx user unknown 5.1.1 abc unknown"), "{pattern}");
            }
        }
        let rs = set(r#"
[[rule]]
name = "upper"
match = '(?-i)USER'
type = "Hard"
reason = "User unknown"
"#)
        .unwrap();
        assert!(rs.find("550 USER gone", "").is_some());
        assert!(rs.find("550 user gone", "").is_none());
    }

    fn set(toml: &str) -> Result<RuleSet, Vec<RuleError>> {
        RuleSet::compile(&[("t.toml".into(), toml.into())])
    }

    #[test]
    fn first_match_wins_and_status_filters() {
        let rs = set(r#"
[[rule]]
name = "full"
match = 'mailbox (is )?full'
type = "Soft"
reason = "Mailbox full"
[[rule]]
name = "unknown-511"
match = 'unknown'
status = '^5\.1\.1$'
type = "Hard"
reason = "User unknown"
[[rule]]
name = "anything-unknown"
match = 'unknown|full'
type = "Soft"
reason = "Refused"
"#)
        .unwrap();
        assert_eq!(rs.find("552 Mailbox is FULL, user unknown", "5.1.1").unwrap().name, "full");
        assert_eq!(rs.find("550 user unknown", "5.1.1").unwrap().name, "unknown-511");
        assert_eq!(rs.find("550 user unknown", "5.7.1").unwrap().name, "anything-unknown");
        assert!(rs.find("all good", "").is_none());
        let all: Vec<&str> = rs.all_matches("552 Mailbox is FULL, user unknown", "5.1.1").iter().map(|r| r.name.as_str()).collect();
        assert_eq!(all, vec!["full", "unknown-511", "anything-unknown"]);
        let all: Vec<&str> = rs.all_matches("550 user unknown", "5.7.1").iter().map(|r| r.name.as_str()).collect();
        assert_eq!(all, vec!["anything-unknown"]);
    }

    #[test]
    fn bad_regex_names_file_rule_and_position() {
        let errs = set("[[rule]]\nname = \"broken\"\nmatch = 'user (unknown'\ntype = \"Hard\"\nreason = \"User unknown\"\n").unwrap_err();
        let s = errs[0].to_string();
        assert!(s.starts_with("t.toml: rule \"broken\": bad `match` regex"), "{s}");
        assert!(s.contains("user (unknown"), "{s}");
        assert!(!s.contains("(?i)"), "{s}");
    }

    #[test]
    fn bad_type_reason_and_toml_reported() {
        let errs = set("[[rule]]\nname = \"x\"\nmatch = 'a'\ntype = \"Sorta\"\nreason = \"Refused\"\n[[rule]]\nname = \"y\"\nmatch = 'a'\ntype = \"Hard\"\nreason = \"Nope\"\n").unwrap_err();
        assert_eq!(errs.len(), 2);
        let errs = set("[[rule]\nname=").unwrap_err();
        assert!(errs[0].to_string().contains("line"), "{}", errs[0]);
    }

    #[test]
    fn defaults_compile() {
        let rs = RuleSet::load(None).expect("default rules compile");
        assert!(rs.rules().len() > 10);
    }
}

#[cfg(test)]
mod unicode_tests {
    use super::*;

    #[test]
    fn non_ascii_literals_and_haystacks() {
        let rs = RuleSet::compile(&[(
            "t.toml".into(),
            "[[rule]]\nname = \"fr\"\nmatch = 'boîte pleine|\\bfull\\b'\ntype = \"Soft\"\nreason = \"Mailbox full\"\n".into(),
        )])
        .unwrap();
        assert!(rs.find("550 Boîte pleine", "").is_some());
        assert!(rs.find("日本語 mailbox full です", "").is_some());
        assert!(rs.find("mailbox fullness", "").is_none());
    }
}
