//! `inmail rules check|test|list`.

use super::Cli;
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
    Check {
        #[arg(value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Show how a diagnostic would be qualified: its Text, the rule that matched, type, reason.
    ///
    /// Example: inmail rules test "550 5.1.1 <a@b.c>: user unknown"
    Test {
        diagnostic: String,
        /// Enhanced status code to test with (default: the first one found in the diagnostic).
        #[arg(long)]
        status: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List the rules in the order they are tried.
    List,
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
            match result.and_then(|rs| rs.validate_as_set().map(|_| rs).map_err(|e| vec![e])) {
                Ok(rs) => {
                    println!("ok: {} rules", rs.rules().len());
                    Ok(ExitCode::SUCCESS)
                }
                Err(errs) => {
                    for e in errs {
                        eprintln!("{e}");
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
                println!(
                    "{}",
                    serde_json::json!({"text": v.text, "rule": v.rule, "also_matching": shadowed, "status": b.status, "failure_type": q.failure_type.label(), "failure_reason": q.reason_label(), "reason_code": q.reason.map(|r| r.code())})
                );
            } else {
                println!("Text:    {}", v.text);
                println!("Rule:    {}", if v.rule.is_empty() { "(none: To qualify)" } else { &v.rule });
                println!("Type:    {}", q.failure_type);
                println!("Reason:  {} ({})", q.reason_label(), q.reason.map(|r| r.code().to_string()).unwrap_or_else(|| "-".into()));
                if !shadowed.is_empty() {
                    println!("Also matching (later, so not used): {}", shadowed.join(", "));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        RulesCmd::List => {
            let (_, rules) = super::load_rules(cli)?;
            for (i, r) in rules.rules().iter().enumerate() {
                println!("{:3}  {:<28} {:<8} {:<18} {}", i + 1, r.name, r.qualification.failure_type, r.qualification.reason_label(), r.file);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
