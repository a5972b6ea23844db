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

use crate::model::{Bounce, Detail, FailureReason, FailureType, Qualification};
use regex::bytes::{RegexSet, RegexSetBuilder};
use std::sync::OnceLock;
use regex::Regex;
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// The rules shipped with inmail, embedded so the binary works from anywhere, in the order they
/// are tried: provider code tables (each scoped to its provider or dialect), the generic text
/// rules, then the RFC 3463 / RFC 7372 status table and the reply-code table.
pub const DEFAULT_RULES: &[(&str, &str)] = &[
    ("rules/providers/microsoft.toml", include_str!("../rules/providers/microsoft.toml")),
    ("rules/providers/google.toml", include_str!("../rules/providers/google.toml")),
    ("rules/providers/yahoo.toml", include_str!("../rules/providers/yahoo.toml")),
    ("rules/providers/orange.toml", include_str!("../rules/providers/orange.toml")),
    ("rules/providers/facebook.toml", include_str!("../rules/providers/facebook.toml")),
    ("rules/providers/spectrum.toml", include_str!("../rules/providers/spectrum.toml")),
    ("rules/providers/kddi.toml", include_str!("../rules/providers/kddi.toml")),
    ("rules/providers/others.toml", include_str!("../rules/providers/others.toml")),
    ("rules/dialects/local-delivery.toml", include_str!("../rules/dialects/local-delivery.toml")),
    ("rules/dialects/relays.toml", include_str!("../rules/dialects/relays.toml")),
    ("rules/default.toml", include_str!("../rules/default.toml")),
    ("rules/status.toml", include_str!("../rules/status.toml")),
];

/// Hard bound on one rule's compiled automaton, so a user rule cannot exhaust memory.
const REGEX_SIZE_LIMIT: usize = 64 << 20;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default, rename = "rule")]
    rules: Vec<RawRule>,
}

/// A list of allowed values, written as one string or an array.
#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    /// Regex over the raw diagnostic (case-insensitive unless the pattern says otherwise).
    #[serde(default, rename = "match")]
    pattern: Option<String>,
    /// Regex the diagnostic must *not* match (the rule steps aside when it does).
    #[serde(default)]
    not_match: Option<String>,
    /// Regex that the enhanced status code must match ("^5\\.1\\.").
    #[serde(default)]
    status: Option<String>,
    /// Regex that the enhanced status code must not match.
    #[serde(default)]
    not_status: Option<String>,
    /// Regex over the SMTP reply code ("^55[0-4]$").
    #[serde(default)]
    reply_code: Option<String>,
    /// SMTP commands the failure must have answered (RCPT, MAIL, DATA, HELO, CONN; `none`
    /// when the bounce does not tell).
    #[serde(default)]
    command: Option<OneOrMany>,
    /// DSN actions (failed, delayed…; `none` for a bounce without one).
    #[serde(default)]
    action: Option<OneOrMany>,
    /// MTA dialects that wrote the bounce (`postfix`, `kddi`…).
    #[serde(default)]
    dialect: Option<OneOrMany>,
    /// Receiving providers the failure came from (`microsoft`, `google`…).
    #[serde(default)]
    provider: Option<OneOrMany>,
    /// Regex over the recipient's domain.
    #[serde(default)]
    domain: Option<String>,
    /// Regex over the remote MTA's name.
    #[serde(default)]
    remote_mta: Option<String>,
    /// Fine-grained reason (Sisimai's vocabulary); type and reason follow from it unless given.
    #[serde(default)]
    detail: Option<String>,
    #[serde(default, rename = "type")]
    failure_type: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    description: Option<String>,
    /// Diagnostics this very rule must decide (`rules check`).
    #[serde(default)]
    examples: Vec<RawExample>,
    /// Diagnostics this rule must not match.
    #[serde(default)]
    not_examples: Vec<RawExample>,
}

/// An example: a diagnostic alone (its status, reply code and command are read from it, the
/// rule's own scope fills dialect and provider), or a table naming the evidence.
#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
enum RawExample {
    Text(String),
    Full(ExampleFields),
}

#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
struct ExampleFields {
    text: String,
    status: Option<String>,
    reply_code: Option<String>,
    command: Option<String>,
    action: Option<String>,
    dialect: Option<String>,
    provider: Option<String>,
    domain: Option<String>,
    remote_mta: Option<String>,
}

/// What the rules read of one record: the diagnostic and the evidence around it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Evidence<'a> {
    pub diagnostic: &'a str,
    pub status: &'a str,
    pub reply_code: &'a str,
    /// RCPT, MAIL, DATA, HELO, CONN or "".
    pub command: &'a str,
    pub action: &'a str,
    pub dialect: &'a str,
    pub provider: &'a str,
    /// The recipient's domain, lower case.
    pub domain: &'a str,
    pub remote_mta: &'a str,
}

impl<'a> Evidence<'a> {
    pub fn of(b: &'a Bounce) -> Evidence<'a> {
        Evidence {
            diagnostic: &b.diagnostic,
            status: &b.status,
            reply_code: &b.reply_code,
            command: &b.smtp_command,
            action: &b.action,
            dialect: &b.dialect,
            provider: &b.provider,
            domain: b.recipient.rsplit_once('@').map_or("", |(_, d)| d),
            remote_mta: &b.remote_mta,
        }
    }
}

/// An example owned, with its evidence filled in.
#[derive(Debug, Clone, Default)]
pub struct Example {
    pub text: String,
    pub status: String,
    pub reply_code: String,
    pub command: String,
    pub action: String,
    pub dialect: String,
    pub provider: String,
    pub domain: String,
    pub remote_mta: String,
}

impl Example {
    pub fn evidence(&self) -> Evidence<'_> {
        Evidence {
            diagnostic: &self.text,
            status: &self.status,
            reply_code: &self.reply_code,
            command: &self.command,
            action: &self.action,
            dialect: &self.dialect,
            provider: &self.provider,
            domain: &self.domain,
            remote_mta: &self.remote_mta,
        }
    }
}

/// The evidence conditions of a rule besides its text pattern. Each is optional; all given
/// must hold.
#[derive(Debug, Clone, Default)]
pub struct Conditions {
    pub not_match: Option<regex_automata::meta::Regex>,
    pub status: Option<Regex>,
    pub not_status: Option<Regex>,
    pub reply_code: Option<Regex>,
    pub command: Option<Vec<String>>,
    pub action: Option<Vec<String>>,
    pub dialect: Option<Vec<String>>,
    pub provider: Option<Vec<String>>,
    pub domain: Option<Regex>,
    pub remote_mta: Option<Regex>,
}

/// `none` in a list stands for an empty value (the bounce did not tell).
fn listed(list: &Option<Vec<String>>, value: &str) -> bool {
    list.as_ref().is_none_or(|l| l.iter().any(|x| x.eq_ignore_ascii_case(value) || (value.is_empty() && x == "none")))
}

impl Conditions {
    fn hold(&self, e: &Evidence, lower: &str) -> bool {
        listed(&self.command, e.command)
            && listed(&self.action, e.action)
            && listed(&self.dialect, e.dialect)
            && listed(&self.provider, e.provider)
            && self.status.as_ref().is_none_or(|r| r.is_match(e.status))
            && self.not_status.as_ref().is_none_or(|r| !r.is_match(e.status))
            && self.reply_code.as_ref().is_none_or(|r| r.is_match(e.reply_code))
            && self.domain.as_ref().is_none_or(|r| r.is_match(e.domain))
            && self.remote_mta.as_ref().is_none_or(|r| r.is_match(e.remote_mta))
            && self.not_match.as_ref().is_none_or(|r| !r.is_match(lower.as_bytes()))
    }
    /// Scoped to a provider, a dialect or a recipient domain: a provider file's rules must be.
    fn scoped(&self) -> bool {
        self.provider.is_some() || self.dialect.is_some() || self.domain.is_some() || self.remote_mta.is_some()
    }
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
    pub conditions: Conditions,
    pub qualification: Qualification,
    pub detail: Detail,
    pub description: Option<String>,
    pub examples: Vec<Example>,
    pub not_examples: Vec<Example>,
    /// The top-level alternatives of the user's `match` pattern, as written.
    pub alternatives: Vec<String>,
}

impl Rule {
    /// Whether the text pattern matches the diagnostic (`lower` is it in ASCII lower case, what
    /// a folded matcher reads) and every evidence condition holds.
    fn matches(&self, e: &Evidence, lower: &str) -> bool {
        let text = if self.folded { lower.as_bytes() } else { e.diagnostic.as_bytes() };
        self.conditions.hold(e, lower) && self.matcher.is_match(text)
    }
    /// The status filter, for callers that show it.
    pub fn status_filter(&self) -> Option<&Regex> {
        self.conditions.status.as_ref()
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

/// What `rules check` finds beyond compile errors.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// Examples not decided by their own rule, not-examples matched, duplicate names.
    pub errors: Vec<RuleError>,
    /// Rules without examples, alternatives no example exercises.
    pub warnings: Vec<RuleError>,
    pub examples: usize,
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

    /// First rule whose text pattern and conditions all hold.
    pub fn find(&self, e: &Evidence) -> Option<&Rule> {
        let lower = e.diagnostic.to_ascii_lowercase();
        let candidates = self.prefilter.candidates(e.diagnostic.as_bytes(), lower.as_bytes());
        self.rules.iter().zip(candidates).find_map(|(r, candidate)| (candidate && r.matches(e, &lower)).then_some(r))
    }

    /// `find` without the prefilter: every rule tried in order (the reference for tests).
    #[cfg(test)]
    fn find_slow(&self, e: &Evidence) -> Option<&Rule> {
        let lower = e.diagnostic.to_ascii_lowercase();
        self.rules.iter().find(|r| r.matches(e, &lower))
    }

    /// Every rule whose text pattern and conditions hold, in order (one pass of the set over
    /// the text).
    pub fn all_matches(&self, e: &Evidence) -> Vec<&Rule> {
        let set = self.set.get_or_init(|| {
            set_builder(self.rules.iter().map(|r| r.pattern.as_str())).build().expect("rules compiled one by one compile as a set")
        });
        let lower = e.diagnostic.to_ascii_lowercase();
        set.matches(e.diagnostic.as_bytes()).iter().map(|i| &self.rules[i]).filter(|r| r.conditions.hold(e, &lower)).collect()
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

    /// Every example must be decided by its own rule, no not-example may match its rule, names
    /// are unique within a file; rules without examples and alternatives that no example of
    /// the rule exercises are listed as warnings (an alternative nothing exercises is either
    /// dead or shadowed by an earlier rule).
    pub fn check(&self) -> CheckReport {
        let mut report = CheckReport::default();
        let mut seen: std::collections::HashMap<(&str, &str), usize> = std::collections::HashMap::new();
        for r in &self.rules {
            let err = |message: String| RuleError { file: r.file.clone(), rule: Some(r.name.clone()), message };
            if seen.insert((r.file.as_str(), r.name.as_str()), 1).is_some() {
                report.errors.push(err("duplicate rule name in this file".into()));
            }
            for ex in &r.examples {
                report.examples += 1;
                match self.find(&ex.evidence()) {
                    Some(d) if std::ptr::eq(d, r) => {}
                    Some(d) => report.errors.push(err(format!("example {:?} is decided by earlier rule {:?} ({})", ex.text, d.name, d.file))),
                    None => report.errors.push(err(format!("example {:?} does not match this rule", ex.text))),
                }
            }
            for ex in &r.not_examples {
                let e = ex.evidence();
                if r.matches(&e, &e.diagnostic.to_ascii_lowercase()) {
                    report.errors.push(err(format!("not-example {:?} matches this rule", ex.text)));
                }
            }
            if r.examples.is_empty() {
                report.warnings.push(err("no examples".into()));
                continue;
            }
            if r.alternatives.len() > 1 {
                for alt in &r.alternatives {
                    let Ok((m, _, _)) = compile_matcher(&format!("(?i){alt}")) else { continue };
                    let hit = r.examples.iter().any(|ex| m.is_match(ex.text.to_ascii_lowercase().as_bytes()) || m.is_match(ex.text.as_bytes()));
                    if !hit {
                        report.warnings.push(err(format!("alternative {alt:?}: no example exercises it (dead, or shadowed by an earlier rule)")));
                    }
                }
            }
        }
        report
    }
}

/// The top-level alternatives of a pattern, as written (split at `|` outside groups and
/// classes).
fn top_alternatives(p: &str) -> Vec<String> {
    let (mut out, mut depth, mut class, mut esc, mut start) = (Vec::new(), 0i32, false, false, 0);
    for (i, c) in p.char_indices() {
        if esc {
            esc = false;
            continue;
        }
        match c {
            '\\' => esc = true,
            '[' if !class => class = true,
            ']' if class => class = false,
            '(' if !class => depth += 1,
            ')' if !class => depth -= 1,
            '|' if !class && depth == 0 => {
                out.push(p[start..i].to_string());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(p[start..].to_string());
    out
}

fn parse_file(file: &str, text: &str) -> Result<Vec<Rule>, Vec<RuleError>> {
    let parsed: RuleFile = toml::from_str(text)
        .map_err(|e| vec![RuleError { file: file.into(), rule: None, message: e.to_string().trim_end().to_string() }])?;
    let mut errors = Vec::new();
    let mut checked = Vec::new();
    for raw in parsed.rules {
        let err = |message: String| RuleError { file: file.into(), rule: Some(raw.name.clone()), message };
        match qualification_of(&raw) {
            Ok((q, d)) => {
                // Rules read like prose from mail servers: match case-insensitively by default.
                let pattern = format!("(?i){}", raw.pattern.as_deref().unwrap_or(""));
                checked.push((raw, pattern, q, d));
            }
            Err(e) => errors.push(err(e)),
        }
    }
    // Building the automata is most of the start-up time of every command: the rules are
    // built on all cores, and kept (with their errors) in file order.
    use rayon::prelude::*;
    let built: Vec<Result<Rule, RuleError>> = checked
        .into_par_iter()
        .map(|(raw, pattern, qualification, detail)| build_rule(file, raw, pattern, qualification, detail))
        .collect();
    let mut rules = Vec::new();
    for r in built {
        match r {
            Ok(rule) => rules.push(rule),
            Err(e) => errors.push(e),
        }
    }
    // A provider's table lives in its own file and must not leak onto every bounce.
    if file.contains("providers/") || file.contains("dialects/") {
        for r in rules.iter().filter(|r| !r.conditions.scoped()) {
            errors.push(RuleError {
                file: file.into(),
                rule: Some(r.name.clone()),
                message: "a provider or dialect rule must be scoped (provider, dialect, domain or remote_mta)".into(),
            });
        }
    }
    if errors.is_empty() {
        Ok(rules)
    } else {
        Err(errors)
    }
}

/// Type, reason and detail of a rule: the detail's Campaign mapping, overridden by an explicit
/// type and reason; or type and reason alone (detail undefined).
fn qualification_of(raw: &RawRule) -> Result<(Qualification, Detail), String> {
    let detail = match raw.detail.as_deref() {
        Some(d) => Some(Detail::parse(d).ok_or_else(|| {
            format!("unknown detail {d:?} (expected one of: {})", Detail::all().map(|d| d.label()).collect::<Vec<_>>().join(", "))
        })?),
        None => None,
    };
    let failure_type = raw.failure_type.as_deref().map(str::parse::<FailureType>).transpose()?;
    let reason = match raw.reason.as_deref() {
        Some(r) => Some(FailureReason::parse(r).ok_or_else(|| {
            format!("unknown reason {r:?} (expected one of: {})", FailureReason::all().map(|r| r.label()).collect::<Vec<_>>().join(", "))
        })?),
        None => None,
    };
    let base = detail.map(Detail::campaign);
    let q = match (failure_type, reason, base) {
        (Some(FailureType::None), _, _) => Qualification::DELIVERED,
        (Some(t), Some(r), _) => Qualification::new(t, r),
        (Some(t), None, Some(b)) => Qualification { failure_type: t, reason: b.reason },
        (None, Some(r), Some(b)) => Qualification { failure_type: b.failure_type, reason: Some(r) },
        (None, None, Some(b)) => b,
        _ => return Err("give `detail`, or both `type` and `reason`".into()),
    };
    Ok((q, detail.unwrap_or(Detail::Undefined)))
}

fn build_rule(file: &str, raw: RawRule, pattern: String, qualification: Qualification, detail: Detail) -> Result<Rule, RuleError> {
    let err = |message: String| RuleError { file: file.into(), rule: Some(raw.name.clone()), message };
    // A syntax error names its position in the operator's pattern; the build then catches
    // size limits.
    let bad = |what: &str, e: MatcherError| {
        err(format!(
            "bad `{what}` regex: {}",
            match e {
                MatcherError::Syntax(e) => position_hint(&e, 4),
                MatcherError::Build(e) => e,
            }
        ))
    };
    let (matcher, folded, needles) = compile_matcher(&pattern).map_err(|e| bad("match", e))?;
    let plain = |what: &str, p: &Option<String>| {
        p.as_deref().map(Regex::new).transpose().map_err(|e| err(format!("bad `{what}` regex: {}", position_hint(&e, 0))))
    };
    let upper = |l: Option<OneOrMany>| l.map(|l| l.into_vec().into_iter().map(|x| if x == "none" { x } else { x.to_ascii_uppercase() }).collect());
    let lower = |l: Option<OneOrMany>| l.map(|l| l.into_vec().into_iter().map(|x| x.to_ascii_lowercase()).collect::<Vec<_>>());
    let not_match = match &raw.not_match {
        Some(p) => Some(compile_folded(p).map_err(|e| bad("not_match", e))?),
        None => None,
    };
    let conditions = Conditions {
        not_match,
        status: plain("status", &raw.status)?,
        not_status: plain("not_status", &raw.not_status)?,
        reply_code: plain("reply_code", &raw.reply_code)?,
        command: upper(raw.command.clone()),
        action: lower(raw.action.clone()),
        dialect: lower(raw.dialect.clone()),
        provider: lower(raw.provider.clone()),
        domain: plain("domain", &raw.domain.as_ref().map(|d| format!("(?i){d}")))?,
        remote_mta: plain("remote_mta", &raw.remote_mta.as_ref().map(|d| format!("(?i){d}")))?,
    };
    let examples = raw.examples.iter().map(|x| example(x, &conditions)).collect();
    let not_examples = raw.not_examples.iter().map(|x| example(x, &conditions)).collect();
    let alternatives = top_alternatives(raw.pattern.as_deref().unwrap_or(""));
    Ok(Rule {
        matcher,
        folded,
        needles,
        name: raw.name,
        file: file.into(),
        pattern,
        conditions,
        qualification,
        detail,
        description: raw.description,
        examples,
        not_examples,
        alternatives,
    })
}

/// An example's evidence: what it names, else what its text shows (status, reply code, SMTP
/// command), else the first value of the rule's own scope (dialect, provider, command…).
fn example(x: &RawExample, c: &Conditions) -> Example {
    let f = match x {
        RawExample::Text(t) => ExampleFields { text: t.clone(), ..Default::default() },
        RawExample::Full(f) => f.clone(),
    };
    let first = |l: &Option<Vec<String>>| l.as_ref().and_then(|l| l.first()).filter(|x| *x != "none").cloned().unwrap_or_default();
    let text = f.text;
    Example {
        status: f.status.unwrap_or_else(|| crate::status::find_status(&text).unwrap_or("").to_string()),
        reply_code: f.reply_code.unwrap_or_else(|| crate::status::find_reply_code(&text).unwrap_or("").to_string()),
        command: f.command.map(|c| c.to_ascii_uppercase()).unwrap_or_else(|| {
            let found = crate::extract::smtp::command(&text);
            if found.is_empty() { first(&c.command) } else { found.to_string() }
        }),
        action: f.action.unwrap_or_else(|| first(&c.action)),
        dialect: f.dialect.unwrap_or_else(|| first(&c.dialect)),
        provider: f.provider.unwrap_or_else(|| first(&c.provider)),
        domain: f.domain.unwrap_or_default(),
        remote_mta: f.remote_mta.unwrap_or_default(),
        text,
    }
}

/// A case-insensitive pattern compiled for lower-cased text (as `match` is).
fn compile_folded(p: &str) -> Result<regex_automata::meta::Regex, MatcherError> {
    let (re, folded, _) = compile_matcher(&format!("(?i){p}"))?;
    if !folded {
        return Err(MatcherError::Build("`not_match` must be case-insensitive throughout".into()));
    }
    Ok(re)
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
                let (fast, slow) = (rs.find(&ev(s, status)), rs.find_slow(&ev(s, status)));
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
        assert!(rs.find(&ev("550 USER gone", "")).is_some());
        assert!(rs.find(&ev("550 user gone", "")).is_none());
    }

    pub(super) fn ev<'a>(diagnostic: &'a str, status: &'a str) -> Evidence<'a> {
        Evidence { diagnostic, status, ..Default::default() }
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
        assert_eq!(rs.find(&ev("552 Mailbox is FULL, user unknown", "5.1.1")).unwrap().name, "full");
        assert_eq!(rs.find(&ev("550 user unknown", "5.1.1")).unwrap().name, "unknown-511");
        assert_eq!(rs.find(&ev("550 user unknown", "5.7.1")).unwrap().name, "anything-unknown");
        assert!(rs.find(&ev("all good", "")).is_none());
        let all: Vec<&str> = rs.all_matches(&ev("552 Mailbox is FULL, user unknown", "5.1.1")).iter().map(|r| r.name.as_str()).collect();
        assert_eq!(all, vec!["full", "unknown-511", "anything-unknown"]);
        let all: Vec<&str> = rs.all_matches(&ev("550 user unknown", "5.7.1")).iter().map(|r| r.name.as_str()).collect();
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
    use super::tests::ev;
    use super::*;

    #[test]
    fn non_ascii_literals_and_haystacks() {
        let rs = RuleSet::compile(&[(
            "t.toml".into(),
            "[[rule]]\nname = \"fr\"\nmatch = 'boîte pleine|\\bfull\\b'\ntype = \"Soft\"\nreason = \"Mailbox full\"\n".into(),
        )])
        .unwrap();
        assert!(rs.find(&ev("550 Boîte pleine", "")).is_some());
        assert!(rs.find(&ev("日本語 mailbox full です", "")).is_some());
        assert!(rs.find(&ev("mailbox fullness", "")).is_none());
    }
}

#[cfg(test)]
mod shipped_rules_tests {
    use super::*;

    /// Every shipped example is decided by its own rule and no not-example matches its rule.
    #[test]
    fn shipped_rules_pass_their_own_examples() {
        let rs = RuleSet::load(None).unwrap();
        let report = rs.check();
        assert!(report.errors.is_empty(), "{} errors:\n{}", report.errors.len(), report.errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"));
        assert!(report.examples > 300, "{} examples", report.examples);
    }

    #[test]
    fn check_reports_an_example_decided_elsewhere() {
        let rs = RuleSet::compile(&[(
            "t.toml".into(),
            "[[rule]]\nname = \"a\"\nmatch = 'unknown'\ndetail = \"userunknown\"\n[[rule]]\nname = \"b\"\nmatch = 'user unknown|gone'\ndetail = \"filtered\"\nexamples = [\"550 user unknown\"]\nnot_examples = [\"550 gone away\"]\n".into(),
        )])
        .unwrap();
        let r = rs.check();
        let errs: Vec<String> = r.errors.iter().map(|e| e.to_string()).collect();
        assert!(errs.iter().any(|e| e.contains("decided by earlier rule \"a\"")), "{errs:?}");
        assert!(errs.iter().any(|e| e.contains("not-example \"550 gone away\" matches")), "{errs:?}");
        assert!(r.warnings.iter().any(|w| w.message.contains("\"gone\"")), "{:?}", r.warnings);
    }

    #[test]
    fn evidence_conditions_scope_a_rule() {
        let rs = RuleSet::compile(&[(
            "t.toml".into(),
            "[[rule]]\nname = \"p\"\nmatch = 'access denied'\nstatus = '^5\\.4\\.1$'\nprovider = \"microsoft\"\ndetail = \"userunknown\"\n[[rule]]\nname = \"d\"\nmatch = 'user unknown'\ncommand = [\"DATA\", \"none\"]\ndetail = \"filtered\"\n".into(),
        )])
        .unwrap();
        let e = |d, s, c, p| Evidence { diagnostic: d, status: s, command: c, provider: p, ..Default::default() };
        assert_eq!(rs.find(&e("550 5.4.1 Access denied", "5.4.1", "", "microsoft")).map(|r| r.name.as_str()), Some("p"));
        assert!(rs.find(&e("550 5.4.1 Access denied", "5.4.1", "", "google")).is_none());
        assert_eq!(rs.find(&e("550 user unknown", "", "", "")).map(|r| r.name.as_str()), Some("d"));
        assert!(rs.find(&e("550 user unknown", "", "RCPT", "")).is_none());
    }

    #[test]
    fn provider_files_must_be_scoped() {
        let errs = RuleSet::compile(&[("rules/providers/x.toml".into(), "[[rule]]\nname = \"x\"\nmatch = 'a'\ndetail = \"blocked\"\n".into())]).unwrap_err();
        assert!(errs[0].message.contains("must be scoped"), "{errs:?}");
    }
}
