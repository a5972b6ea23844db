//! `inmail rules suggest`: the rows an operator qualified by hand (status Keep) turned into
//! proposed user rules, a TOML fragment to review and append to the user rules file. Nothing is
//! written: not the database, not the rules (the shipped defaults are never edited).

use crate::model::FailureReason;
use crate::rules::RuleSet;
use crate::store::qualification::{Evidence, QualStatus};
use rusqlite::Connection;
use serde::Serialize;

/// A placeholder of the normalized Text and the regex that stands for it in a rule (which is
/// matched against the raw diagnostic, where the placeholder's value is).
const PLACEHOLDERS: &[(&str, &str)] = &[
    ("#NUM#", r"\d+"),
    ("#ID#", r"\S+"),
    ("#HOST#", r"\S+"),
    ("#IP#", r"\S+"),
    ("#URL#", r"\S+"),
    ("#PHONE#", r"\+[\d\s.\-]+"),
    ("#DATE#", r".+?"),
    ("#TIME#", r"[\d:.]+(?:\s*[+-]\d{4})?"),
    ("#MESSAGE#", r".*"),
];

/// The least literal text (letters and digits) a suggested pattern must hold: a Text made of
/// placeholders alone would give a rule matching nearly everything.
const MIN_LITERAL: usize = 6;

/// A regex for the diagnostics filed under `text`: its literal parts escaped (runs of spaces as
/// `\s+`), its placeholders as wildcards, and `*` (an email address in the Text) as an address
/// when `star_is_address` (else a literal `*`). Returns the pattern and its count of literal
/// letters and digits.
pub fn pattern_for(text: &str, star_is_address: bool) -> (String, usize) {
    let mut out = String::new();
    let mut literal = String::new();
    let mut letters = 0;
    let flush = |literal: &mut String, out: &mut String| {
        let mut first = true;
        for part in literal.split(char::is_whitespace) {
            if !first && !out.ends_with(r"\s+") {
                out.push_str(r"\s+");
            }
            first = false;
            out.push_str(&regex::escape(part));
        }
        literal.clear();
    };
    let mut rest = text.trim();
    'scan: while let Some(c) = rest.chars().next() {
        if c == '#' {
            for (p, re) in PLACEHOLDERS {
                if let Some(after) = rest.strip_prefix(p) {
                    flush(&mut literal, &mut out);
                    out.push_str(re);
                    rest = after;
                    continue 'scan;
                }
            }
        }
        if c == '*' && star_is_address {
            flush(&mut literal, &mut out);
            out.push_str(r"[^\s<>]+@[^\s<>]+");
            rest = &rest[1..];
            continue;
        }
        letters += c.is_alphanumeric() as usize;
        literal.push(c);
        rest = &rest[c.len_utf8()..];
    }
    flush(&mut literal, &mut out);
    (out, letters)
}

/// One proposed rule, in the rules file's own keys.
#[derive(Debug, Clone, Serialize)]
pub struct Suggested {
    pub name: String,
    #[serde(rename = "match")]
    pub pattern: String,
    #[serde(rename = "type")]
    pub failure_type: String,
    pub reason: String,
    pub description: String,
    pub examples: Vec<String>,
}

/// What `suggest` found.
#[derive(Debug, Default)]
pub struct Suggestions {
    pub rules: Vec<Suggested>,
    /// (row id, why no rule is proposed).
    pub skipped: Vec<(i64, String)>,
}

/// A rule for every Keep row set by hand that the current rules do not already decide the same
/// way. Each pattern is checked to match the row's first diagnostic; rows whose Text is too
/// generic or cannot be turned into a matching pattern are skipped, with the reason.
pub fn suggest(conn: &Connection, rules: &RuleSet) -> anyhow::Result<Suggestions> {
    let mut st = conn.prepare(
        "SELECT id, text, first_text, failure_type, failure_reason, evidence FROM qualification
         WHERE manual != 0 AND status = ?1 AND channel = 'email' ORDER BY occurrences DESC, id",
    )?;
    type Row = (i64, String, String, String, i64, Option<String>);
    let rows: Vec<Row> = st
        .query_map([QualStatus::Keep.label()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = Suggestions::default();
    for (id, text, first_text, failure_type, reason, evidence) in rows {
        let reason = FailureReason::from_code(reason).unwrap_or(FailureReason::Undefined);
        let evidence: Option<Evidence> = evidence.as_deref().and_then(|e| serde_json::from_str(e).ok());
        // Already decided the same way by the rules (or the status code): no rule needed.
        let current = match evidence.as_ref().and_then(|e| Some((e.kind()?, &e.bounce))) {
            Some((kind, b)) => Some(crate::qualify::qualify(rules, kind, b).qualification),
            None => rules.find(&crate::rules::Evidence { diagnostic: &first_text, ..Default::default() }).map(|r| r.qualification),
        };
        if current.is_some_and(|q| q.failure_type.label() == failure_type && q.reason == Some(reason)) {
            out.skipped.push((id, "the current rules already qualify it this way".into()));
            continue;
        }
        // What the rules engine reads: the stored evidence, else the first diagnostic alone.
        let read = match &evidence {
            Some(e) => crate::rules::Evidence::of(&e.bounce),
            None => crate::rules::Evidence { diagnostic: &first_text, ..Default::default() },
        };
        let candidate = [true, false].into_iter().find_map(|star| {
            let (pattern, letters) = pattern_for(&text, star);
            let one = Suggested {
                name: format!("suggested-row-{id}"),
                pattern,
                failure_type: failure_type.clone(),
                reason: reason.label().to_string(),
                description: format!("from qualification row {id}, set by hand: {text}"),
                examples: vec![first_text.clone()],
            };
            // Compiled by the rules engine itself, and it must match the row's own diagnostic.
            let toml = toml::to_string(&File { rule: vec![one.clone()] }).ok()?;
            let rs = RuleSet::compile(&[("suggestion".into(), toml)]).ok()?;
            rs.find(&read).is_some().then_some((one, letters))
        });
        match candidate {
            Some((_, letters)) if letters < MIN_LITERAL => {
                out.skipped.push((id, format!("its Text {text:?} is too generic for a rule (placeholders only)")))
            }
            Some((rule, _)) => out.rules.push(rule),
            None => out.skipped.push((id, "no pattern made from its Text matches its first diagnostic".into())),
        }
    }
    Ok(out)
}

#[derive(Serialize)]
struct File {
    rule: Vec<Suggested>,
}

/// The TOML fragment: a comment on how to use it, then one `[[rule]]` per suggestion.
pub fn to_toml(s: &Suggestions) -> anyhow::Result<String> {
    let mut out = String::from(
        "# Rules proposed by `inmail rules suggest` from rows qualified Keep by hand.\n\
         # Review them, then append them to your rules file (the config's `rules_file`),\n\
         # check with `inmail rules check FILE` and apply with `inmail requalify`.\n",
    );
    if !s.rules.is_empty() {
        out.push('\n');
        out.push_str(&toml::to_string(&File { rule: s.rules.clone() })?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_escape_and_wildcard() {
        let (p, _) = pattern_for("550 5.1.1 <*>: user (unknown) at #HOST# [#IP#] id #ID#", true);
        assert_eq!(p, r"550\s+5\.1\.1\s+<[^\s<>]+@[^\s<>]+>:\s+user\s+\(unknown\)\s+at\s+\S+\s+\[\S+\]\s+id\s+\S+");
        let re = regex::RegexBuilder::new(&p).case_insensitive(true).build().unwrap();
        assert!(re.is_match("550 5.1.1 <jane@example.com>: User (Unknown) at mx1.example.com [192.0.2.1] id 4ZxY.12"));
        let (p, _) = pattern_for("* SMTP error: quota", false);
        assert_eq!(p, r"\*\s+SMTP\s+error:\s+quota");
        assert!(pattern_for("#HOST# #NUM#", true).1 < MIN_LITERAL);
    }
}
