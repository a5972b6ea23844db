//! `inmail qual …` and `inmail requalify`: the delivery log qualification table.

use super::output::{print, Format, OutputArgs};
use super::{open_store, open_store_read_only, Cli, DbArg};
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
        /// Order: most occurrences first, or most recently seen first.
        #[arg(long, value_enum, default_value_t = SortArg::Occurrences)]
        sort: SortArg,
        /// At most N rows.
        #[arg(long, value_name = "N")]
        limit: Option<u64>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Show one row in full.
    ///
    /// Example: inmail qual show 12
    Show {
        #[command(flatten)]
        db: DbArg,
        /// The row's id (see `qual list`).
        id: i64,
        /// Output format.
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
        /// The row's id (see `qual list`).
        id: i64,
    },
}

#[derive(Args, Debug)]
pub struct SetArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// The row's id (see `qual list`).
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
    /// Who makes the change, for the histories (default: $USER, else $LOGNAME, else the account).
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SortArg {
    /// Most occurrences first.
    Occurrences,
    /// Most recently seen first.
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
        QualCmd::List { db, status, channel, sort, limit, output } => {
            let store = open_store_read_only(&cfg, db)?;
            let f = ListFilter {
                status: *status,
                channel: channel.clone(),
                sort: match sort {
                    SortArg::Occurrences => Sort::Occurrences,
                    SortArg::LastSeen => Sort::LastSeen,
                },
                limit: *limit,
            };
            print(&qualification::list(store.conn(), &f)?, COLUMNS, *output)?;
        }
        QualCmd::Show { db, id, format } => {
            let store = open_store_read_only(&cfg, db)?;
            let row = qualification::get(store.conn(), *id)?;
            let history = qualification::history(store.conn(), *id)?;
            match format {
                Format::Json => {
                    // An array of one row, as `qual list` gives rows, with the row's history.
                    let mut v = serde_json::to_value(&row)?;
                    v["history"] = serde_json::to_value(&history)?;
                    println!("{}", super::output::json(&[v])?);
                }
                Format::Table => {
                    show(&row, Format::Table)?;
                    println!("\nhistory:");
                    print(&history, &["at", "action", "by", "before", "after"], Format::Table)?;
                }
                f => show(&row, *f)?,
            }
        }
        QualCmd::Set(a) => {
            if a.status.is_none() && a.failure_type.is_none() && a.reason.is_none() {
                anyhow::bail!("nothing to change: give --status, --type and/or --reason");
            }
            let store = open_store(&cfg, &a.db)?;
            let change = Change { status: a.status, failure_type: a.failure_type, reason: a.reason };
            let row = qualification::set_by(store.conn(), a.id, &change, &super::quarantine::operator(&a.by))?;
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
                    println!("released {}", super::output::escape(&e.address));
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
        Format::Table => super::output::print_fields(row),
        f => print(std::slice::from_ref(row), COLUMNS, f),
    }
}

#[derive(Args, Debug)]
pub struct RequalifyArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// Print the rows that would change (before → after); change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Who requalifies, for the rows' history (default: $USER, else $LOGNAME, else the uid).
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// A changed row as the table shows it.
#[derive(serde::Serialize)]
struct ChangeLine<'a> {
    id: i64,
    before: String,
    after: String,
    text: &'a str,
}

/// `inmail requalify`: re-run the current rules on every row not set by hand, on the evidence
/// stored with the row (what a fresh replay would read).
pub fn requalify(cli: &Cli, a: &RequalifyArgs) -> anyhow::Result<ExitCode> {
    let (cfg, rules) = super::load_rules(cli)?;
    let mut store = if a.dry_run { super::open_store_read_only(&cfg, &a.db)? } else { open_store(&cfg, &a.db)? };
    let by = super::quarantine::operator(&a.by);
    let report = qualification::requalify(store.conn_mut(), &rules, a.dry_run, &by)?;
    match a.output.format {
        Format::Table => {
            let state = |t: &str, r: &str, s: &str, rule: &str| {
                format!("{t} / {r} / {s}{}", if rule.is_empty() { String::new() } else { format!(" ({rule})") })
            };
            let lines: Vec<ChangeLine> = report
                .changed
                .iter()
                .map(|c| ChangeLine {
                    id: c.id,
                    before: state(&c.old_failure_type, &c.old_failure_reason, &c.old_status, &c.old_rule),
                    after: state(&c.new_failure_type, &c.new_failure_reason, &c.new_status, &c.new_rule),
                    text: &c.text,
                })
                .collect();
            print(&lines, &["id", "before", "after", "text"], a.output)?;
        }
        _ => print(&report.changed, REQUALIFY_COLUMNS, a.output)?,
    }
    eprintln!(
        "{} row(s) examined, {} {}, {} without stored evidence (left unchanged), {} set by hand (never touched)",
        report.examined,
        report.changed.len(),
        if a.dry_run { "would change (dry run: nothing written)" } else { "changed" },
        report.without_evidence,
        report.manual
    );
    Ok(ExitCode::SUCCESS)
}

const REQUALIFY_COLUMNS: &[&str] = &[
    "id",
    "old_failure_type",
    "old_failure_reason",
    "old_status",
    "old_rule",
    "new_failure_type",
    "new_failure_reason",
    "new_status",
    "new_rule",
    "text",
];
