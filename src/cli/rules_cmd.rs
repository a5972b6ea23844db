//! `inmail rules check|test|list`.

use super::output::{escape, print, OutputArgs};
use super::Cli;
use crate::model::FailureReason;
use crate::qualify::qualify;
use crate::rules::RuleSet;
use crate::model::{Bounce, Kind};
use crate::status::{find_reply_code, find_status};
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand, Debug)]
pub enum RulesCmd {
    /// Validate rules files (default: the configured user file and the shipped defaults).
    /// Exit 2 when a rule is invalid; each problem names the file, the rule and the position.
    ///
    /// Example: inmail rules check my-rules.toml
    #[command(after_help = format!("Reason labels (or their values) a rule may use:\n{}", reason_labels()))]
    Check {
        /// Rules files to check (default: the configured rules_file and the shipped defaults).
        #[arg(value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Show how a diagnostic would be qualified: its Text, the rule that matched, type, reason.
    ///
    /// Example: inmail rules test "550 5.1.1 <a@b.c>: user unknown"
    Test {
        /// The diagnostic text, as a bounce gives it.
        diagnostic: String,
        /// Enhanced status code to test with, e.g. 5.1.1 (default: the first one found in the
        /// diagnostic).
        #[arg(long, value_parser = parse_status_code)]
        status: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List the rules in the order they are tried.
    ///
    /// Example: inmail rules list --format csv
    List {
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Propose user rules from the rows qualified Keep by hand: a TOML fragment on standard
    /// output (one rule per row, its pattern made from the row's Text, its first diagnostic as
    /// example), to review and append to your rules file. Writes nothing; the shipped rules are
    /// never edited.
    ///
    /// Example: inmail rules suggest --db inmail.db > suggested.toml && inmail rules check suggested.toml
    Suggest {
        #[command(flatten)]
        db: super::DbArg,
    },
}

/// `--status` of `rules test`: an enhanced status code (RFC 3463), class 2, 4 or 5.
fn parse_status_code(s: &str) -> Result<String, String> {
    let parts: Vec<&str> = s.trim().split('.').collect();
    let ok = parts.len() == 3
        && matches!(parts[0], "2" | "4" | "5")
        && parts[1..].iter().all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    if ok {
        Ok(s.trim().to_string())
    } else {
        Err(format!("{s:?} is not an enhanced status code: use CLASS.SUBJECT.DETAIL with class 2, 4 or 5 (e.g. 5.1.1)"))
    }
}

/// The reason labels a rule may use, with their values, one per line.
pub fn reason_labels() -> String {
    FailureReason::all().map(|r| format!("  {:>3}  {}", r.code(), r.label())).collect::<Vec<_>>().join("\n")
}

/// Rule names given twice (a name identifies a rule in `qual list`, the logs and the history).
fn duplicate_names(rs: &RuleSet) -> Vec<String> {
    let mut seen = std::collections::HashMap::new();
    let mut out = Vec::new();
    for r in rs.rules() {
        if let Some(first) = seen.insert(r.name.as_str(), r.file.as_str()) {
            out.push(format!("{}: rule {:?}: the name is already used in {first}", r.file, r.name));
        }
    }
    out
}

pub fn run(cli: &Cli, c: &RulesCmd) -> anyhow::Result<ExitCode> {
    match c {
        RulesCmd::Check { files } => {
            let result = if files.is_empty() {
                let cfg = crate::config::Config::load(cli.config.as_deref())?;
                RuleSet::load(cfg.rules_file.as_deref())
            } else {
                RuleSet::check_files(files)
            };
            let result = result.and_then(|rs| rs.validate_as_set().map(|_| rs).map_err(|e| vec![e])).map_err(|errs| {
                errs.iter().map(|e| e.to_string()).collect::<Vec<_>>()
            });
            let result = result.and_then(|rs| match duplicate_names(&rs) {
                d if d.is_empty() => Ok(rs),
                d => Err(d),
            });
            // Every rule's examples must be decided by that very rule (see `RuleSet::check`).
            let result = result.and_then(|rs| {
                let report = rs.check();
                for w in &report.warnings {
                    eprintln!("warning: {}", escape(&w.to_string()));
                }
                if report.errors.is_empty() {
                    Ok((rs, report))
                } else {
                    Err(report.errors.iter().map(|e| e.to_string()).collect())
                }
            });
            match result {
                Ok((rs, report)) => {
                    println!("ok: {} rules, {} examples decided by their own rule, {} warning(s)", rs.rules().len(), report.examples, report.warnings.len());
                    Ok(ExitCode::SUCCESS)
                }
                Err(errs) => {
                    for e in &errs {
                        eprintln!("{}", escape(e));
                    }
                    if errs.iter().any(|e| e.contains("reason")) {
                        eprintln!("valid reasons (label or value):\n{}", reason_labels());
                    }
                    Ok(ExitCode::from(2))
                }
            }
        }
        RulesCmd::Test { diagnostic, status, json } => {
            let (_, rules) = super::load_rules(cli)?;
            let b = Bounce {
                status: status.clone().or_else(|| find_status(diagnostic).map(str::to_string)).unwrap_or_default(),
                reply_code: find_reply_code(diagnostic).unwrap_or("").to_string(),
                diagnostic: diagnostic.clone(),
                ..Default::default()
            };
            let v = qualify(&rules, Kind::Text, &b);
            let q = v.qualification;
            // Rules that also match but come later: shadowed by the first match.
            let shadowed: Vec<&str> =
                rules.all_matches(&crate::rules::Evidence::of(&b)).into_iter().map(|r| r.name.as_str()).filter(|n| *n != v.rule).collect();
            if *json {
                let v = serde_json::json!({"text": v.text, "rule": v.rule, "also_matching": shadowed, "status": b.status, "failure_type": q.failure_type.label(), "failure_reason": q.reason_label(), "reason_code": q.reason.map(|r| r.code())});
                println!("{}", super::output::json(&v)?);
            } else {
                println!("Text:    {}", escape(&v.text));
                println!("Rule:    {}", if v.rule.is_empty() { "(none: To qualify)" } else { &v.rule });
                println!("Type:    {}", q.failure_type);
                println!("Reason:  {} ({})", q.reason_label(), q.reason.map(|r| r.code().to_string()).unwrap_or_else(|| "-".into()));
                if !shadowed.is_empty() {
                    println!("Also matching (later, so not used): {}", shadowed.join(", "));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        RulesCmd::List { output } => {
            let (_, rules) = super::load_rules(cli)?;
            let rows: Vec<RuleLine> = rules
                .rules()
                .iter()
                .enumerate()
                .map(|(i, r)| RuleLine {
                    order: i + 1,
                    name: &r.name,
                    failure_type: r.qualification.failure_type.label(),
                    failure_reason: r.qualification.reason_label(),
                    file: &r.file,
                    pattern: &r.pattern,
                })
                .collect();
            print(&rows, &["order", "name", "failure_type", "failure_reason", "file", "pattern"], *output)?;
            Ok(ExitCode::SUCCESS)
        }
        RulesCmd::Suggest { db } => {
            let (cfg, rules) = super::load_rules(cli)?;
            let store = super::open_store_read_only(&cfg, db)?;
            let s = super::rules_suggest::suggest(store.conn(), &rules)?;
            print!("{}", super::rules_suggest::to_toml(&s)?);
            for (id, why) in &s.skipped {
                eprintln!("inmail: row {id}: no rule proposed: {}", escape(why));
            }
            eprintln!("{} rule(s) proposed, {} row(s) skipped", s.rules.len(), s.skipped.len());
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[derive(serde::Serialize)]
struct RuleLine<'a> {
    order: usize,
    name: &'a str,
    failure_type: &'static str,
    failure_reason: &'static str,
    file: &'a str,
    pattern: &'a str,
}
