//! `inmail qual …` and `inmail requalify`: the delivery log qualification table.

use super::output::{print, Format};
use super::{open_store, Cli, DbArg};
use crate::model::{FailureReason, FailureType};
use crate::store::qualification::{self, Change, ListFilter, QualStatus, Sort};
use clap::{Args, Subcommand, ValueEnum};
use std::process::ExitCode;

#[derive(Subcommand, Debug)]
pub enum QualCmd {
    /// List qualification rows.
    ///
    /// Example: inmail qual list --status to-qualify --sort occurrences --limit 20
    List {
        #[command(flatten)]
        db: DbArg,
        /// Only rows with this status: to-qualify, keep, ignore.
        #[arg(long, value_parser = parse_status)]
        status: Option<QualStatus>,
        /// Only rows of this channel (email, sms).
        #[arg(long)]
        channel: Option<String>,
        #[arg(long, value_enum, default_value_t = SortArg::Occurrences)]
        sort: SortArg,
        #[arg(long, value_name = "N")]
        limit: Option<u64>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Show one row in full.
    ///
    /// Example: inmail qual show 12
    Show {
        #[command(flatten)]
        db: DbArg,
        id: i64,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Correct a row by hand; a manual qualification wins over the rules for every later bounce.
    ///
    /// Example: inmail qual set 12 --status keep --type hard --reason "user unknown"
    Set(SetArgs),
    /// Reset a row's occurrence counter to 0.
    ///
    /// Example: inmail qual reset-count 12
    ResetCount {
        #[command(flatten)]
        db: DbArg,
        id: i64,
    },
}

#[derive(Args, Debug)]
pub struct SetArgs {
    #[command(flatten)]
    pub db: DbArg,
    pub id: i64,
    /// keep, ignore or to-qualify.
    #[arg(long, value_parser = parse_status)]
    pub status: Option<QualStatus>,
    /// Hard, Soft, Ignored or Undefined.
    #[arg(long = "type", value_parser = parse_type)]
    pub failure_type: Option<FailureType>,
    /// A reason label ("User unknown", "mailbox-full") or its numeric value.
    #[arg(long, value_parser = parse_reason)]
    pub reason: Option<FailureReason>,
    /// Also release (→ Valid) the addresses this row put in Quarantine or With errors, e.g.
    /// after an ISP outage: inmail qual set 12 --status ignore --release-affected
    #[arg(long)]
    pub release_affected: bool,
    /// Who releases, for the quarantine history (default: $USER).
    #[arg(long)]
    pub by: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SortArg {
    Occurrences,
    LastSeen,
}

fn parse_status(s: &str) -> Result<QualStatus, String> {
    QualStatus::parse(s).ok_or_else(|| format!("unknown status {s:?}: use to-qualify, keep or ignore"))
}
fn parse_type(s: &str) -> Result<FailureType, String> {
    s.parse()
}
fn parse_reason(s: &str) -> Result<FailureReason, String> {
    FailureReason::parse(s).ok_or_else(|| {
        format!("unknown reason {s:?}; one of: {}", FailureReason::all().map(|r| r.label()).collect::<Vec<_>>().join(", "))
    })
}

const COLUMNS: &[&str] = &["id", "status", "failure_type", "failure_reason", "occurrences", "last_seen", "rule", "text"];

pub fn run(cli: &Cli, c: &QualCmd) -> anyhow::Result<ExitCode> {
    let cfg = crate::config::Config::load(cli.config.as_deref())?;
    match c {
        QualCmd::List { db, status, channel, sort, limit, format } => {
            let store = open_store(&cfg, db)?;
            let f = ListFilter {
                status: *status,
                channel: channel.clone(),
                sort: match sort {
                    SortArg::Occurrences => Sort::Occurrences,
                    SortArg::LastSeen => Sort::LastSeen,
                },
                limit: *limit,
            };
            print(&qualification::list(store.conn(), &f)?, COLUMNS, *format)?;
        }
        QualCmd::Show { db, id, format } => {
            let store = open_store(&cfg, db)?;
            let row = qualification::get(store.conn(), *id)?;
            show(&row, *format)?;
        }
        QualCmd::Set(a) => {
            if a.status.is_none() && a.failure_type.is_none() && a.reason.is_none() {
                anyhow::bail!("nothing to change: give --status, --type and/or --reason");
            }
            let store = open_store(&cfg, &a.db)?;
            let change = Change { status: a.status, failure_type: a.failure_type, reason: a.reason };
            let row = qualification::set(store.conn(), a.id, &change)?;
            show(&row, Format::Table)?;
            if a.release_affected {
                let mut store = store;
                let f = crate::quarantine::Filter {
                    statuses: vec![crate::quarantine::QStatus::WithErrors, crate::quarantine::QStatus::Quarantine],
                    qualification_id: Some(a.id),
                    ..Default::default()
                };
                let audit = crate::quarantine::Audit {
                    by: super::quarantine::operator(&a.by),
                    reason: format!("qualification row {} set to {}", a.id, row.status.label()),
                    now: crate::store::now(),
                };
                let released = crate::quarantine::release(store.conn_mut(), &f, &audit, false)?;
                for e in &released {
                    println!("released {}", e.address);
                }
                println!("{} address(es) released", released.len());
            }
        }
        QualCmd::ResetCount { db, id } => {
            let store = open_store(&cfg, db)?;
            let row = qualification::reset_count(store.conn(), *id)?;
            show(&row, Format::Table)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn show(row: &qualification::QualRow, format: Format) -> anyhow::Result<()> {
    match format {
        Format::Table => {
            let v = serde_json::to_value(row)?;
            if let serde_json::Value::Object(m) = v {
                for (k, v) in m {
                    let s = match v {
                        serde_json::Value::String(s) => s,
                        o => o.to_string(),
                    };
                    println!("{k:<15} {s}");
                }
            }
            Ok(())
        }
        f => print(std::slice::from_ref(row), COLUMNS, f),
    }
}

#[derive(Args, Debug)]
pub struct RequalifyArgs {
    #[command(flatten)]
    pub db: DbArg,
}

/// `inmail requalify`: re-run the current rules on every row not set by hand.
pub fn requalify(cli: &Cli, a: &RequalifyArgs) -> anyhow::Result<ExitCode> {
    let (cfg, rules) = super::load_rules(cli)?;
    let mut store = open_store(&cfg, &a.db)?;
    let (examined, changed) = qualification::requalify(store.conn_mut(), &rules)?;
    println!("{examined} row(s) examined, {changed} changed (rows set by hand are never touched)");
    Ok(ExitCode::SUCCESS)
}
