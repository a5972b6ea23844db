//! `inmail quarantine …`, `inmail maintain` and `inmail report`.

use super::output::{self, print, Format, OutputArgs};
use super::{open_store, open_store_read_only, Cli, DbArg};
use crate::quarantine::{self, Audit, Filter, QStatus};
use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand, Debug)]
pub enum QuarantineCmd {
    /// List quarantine entries (addresses and phone numbers), most recently modified first.
    ///
    /// Example: inmail quarantine list --status quarantine --status with-errors --domain example.com --format json
    List {
        #[command(flatten)]
        db: DbArg,
        /// Only this status (repeatable): valid, with-errors, quarantine, denylisted.
        #[arg(long, value_parser = parse_qstatus)]
        status: Vec<QStatus>,
        /// Only addresses of this domain (repeatable; any of them).
        #[arg(long, value_name = "DOMAIN")]
        domain: Vec<String>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Show one entry, its status history and its bounces.
    ///
    /// Example: inmail quarantine show jane@example.com
    Show {
        #[command(flatten)]
        db: DbArg,
        /// The email address or phone number.
        address: String,
        /// Output format (json: the entry, what set its status, its history and bounces).
        #[arg(long, value_enum, default_value_t = ShowFormat::Table)]
        format: ShowFormat,
    },
    /// Release addresses (status → Valid, counter reset), by name or in bulk. Every release is
    /// recorded in the history with who, when and why.
    ///
    /// Example: inmail quarantine release jane@example.com --reason "confirmed by phone"
    ///
    /// Example (ISP outage): inmail quarantine release --text-contains "421 4.7.0" --domain example.com
    ///   --domain example.net --modified-after 2026-03-01T08:00:00Z --modified-before 2026-03-01T14:00:00Z --dry-run
    Release(ReleaseArgs),
    /// Add addresses as Denylisted from a list: one per line, or CSV (`,` `;` or tab) with a
    /// header line naming the column (address, email, phone…) or the address in the first
    /// column; blank lines and `#` comments are skipped. Every value must be an email address
    /// or an E.164 phone number (+ and 8 to 15 digits): a bad line stops the import, naming the
    /// file and the line, and nothing is written.
    ///
    /// Example: inmail quarantine import complaints.csv --reason "legacy denylist"
    Import {
        #[command(flatten)]
        db: DbArg,
        /// The list file, or `-` for standard input.
        file: PathBuf,
        /// Who imports (default: $USER, else $LOGNAME, else the account).
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
        /// Why (kept in the history).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Write every non-Valid entry on standard output (CSV unless --format says otherwise).
    ///
    /// Example: inmail quarantine export > quarantine.csv
    Export {
        #[command(flatten)]
        db: DbArg,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Csv)]
        format: Format,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ShowFormat {
    /// Sections of text and tables for people.
    Table,
    /// One JSON object.
    Json,
}

#[derive(Args, Debug)]
pub struct ReleaseArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// Addresses to release. Without addresses, the filters below select the entries.
    #[arg(value_name = "ADDRESS")]
    pub addresses: Vec<String>,
    /// Only entries whose error text contains this (case-insensitive).
    #[arg(long, value_name = "TEXT")]
    pub text_contains: Option<String>,
    /// Only addresses of this domain (repeatable; any of them).
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Vec<String>,
    /// Only entries last modified at or after this time (RFC 3339, YYYY-MM-DD or unix seconds).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub modified_after: Option<i64>,
    /// Only entries last modified at or before this time.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub modified_before: Option<i64>,
    /// Only entries with this status (repeatable; default: every non-Valid status).
    #[arg(long, value_parser = parse_qstatus)]
    pub status: Vec<QStatus>,
    /// Show what would be released; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Who releases (default: $USER, else $LOGNAME, else the account).
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,
    /// Why (kept in the history).
    #[arg(long, default_value = "")]
    pub reason: String,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug)]
pub struct MaintainArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// Apply the time rules as of this time instead of now (RFC 3339, YYYY-MM-DD or unix seconds).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub now: Option<i64>,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// Only bounces with an event time at or after this time.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub since: Option<i64>,
    /// Rows in the domain and "to qualify" sections.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub top: usize,
    /// Output format (csv: one line per figure, `section,label,count`).
    #[command(flatten)]
    pub output: OutputArgs,
}

pub(crate) fn parse_qstatus(s: &str) -> Result<QStatus, String> {
    QStatus::parse(s).ok_or_else(|| format!("unknown status {s:?}: use valid, with-errors, quarantine or denylisted"))
}

pub(crate) fn parse_time(s: &str) -> Result<i64, String> {
    crate::store::parse_time(s).ok_or_else(|| format!("bad time {s:?}: use RFC 3339 (2026-01-02T03:04:05Z), YYYY-MM-DD or unix seconds"))
}

/// Who runs a command, for the histories: `--by`, else `$USER`, else `$LOGNAME`, else the
/// account name of the process's uid, else `uid N`.
pub(crate) fn operator(by: &Option<String>) -> String {
    let env = |k: &str| std::env::var(k).ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    by.clone()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| env("USER"))
        .or_else(|| env("LOGNAME"))
        .unwrap_or_else(|| {
            // SAFETY: getuid cannot fail; getpwuid's result is copied out at once, before any
            // other call that could reuse its static buffer (the CLI is single-threaded here).
            let uid = unsafe { libc::getuid() };
            let pw = unsafe { libc::getpwuid(uid) };
            if !pw.is_null() {
                let name = unsafe { std::ffi::CStr::from_ptr((*pw).pw_name) }.to_string_lossy().into_owned();
                if !name.is_empty() {
                    return name;
                }
            }
            format!("uid {uid}")
        })
}

const LIST_COLUMNS: &[&str] =
    &["address", "status", "error_count", "failure_type", "failure_reason", "last_error", "last_modified", "error_text"];

pub fn run(cli: &Cli, c: &QuarantineCmd) -> anyhow::Result<ExitCode> {
    let cfg = crate::config::Config::load(cli.config.as_deref())?;
    let qcfg = &cfg.quarantine;
    match c {
        QuarantineCmd::List { db, status, domain, output } => {
            let store = open_store_read_only(&cfg, db)?;
            let f = Filter { statuses: status.clone(), domains: domain.clone(), ..Default::default() };
            print(&quarantine::list(store.conn(), &f)?, LIST_COLUMNS, *output)?;
        }
        QuarantineCmd::Show { db, address, format } => {
            let store = open_store_read_only(&cfg, db)?;
            let Some(entry) = quarantine::get(store.conn(), address, qcfg)? else {
                anyhow::bail!("{address} is not in the quarantine table (never bounced)");
            };
            let history = quarantine::history_of(store.conn(), address, qcfg)?;
            let bounces = quarantine::bounces(store.conn(), address, qcfg)?;
            let cause = quarantine::status_cause(store.conn(), address, qcfg)?;
            match format {
                ShowFormat::Json => {
                    let v = serde_json::json!({"entry": entry, "status_set_by": cause, "history": history, "bounces": bounces});
                    println!("{}", super::output::json(&v)?);
                }
                ShowFormat::Table => {
                    output::print_fields(&entry)?;
                    println!("\nstatus set by:");
                    match &cause {
                        Some(c) => {
                            println!(
                                "  {} {} → {} ({}{}{})",
                                c.change.at,
                                c.change.old_status.as_deref().unwrap_or("(new)"),
                                c.change.new_status,
                                c.change.action,
                                if c.change.by.is_empty() { String::new() } else { format!(" by {}", output::escape(&c.change.by)) },
                                if c.change.reason.is_empty() { String::new() } else { format!(": {}", output::escape(&c.change.reason)) },
                            );
                            if let Some(b) = &c.bounce {
                                print(
                                    std::slice::from_ref(b),
                                    &["event_time", "kind", "failure_type", "failure_reason", "qualification_id", "source", "diagnostic"],
                                    Format::Table,
                                )?;
                            }
                        }
                        None => println!("  (no recorded change)"),
                    }
                    println!("\nhistory:");
                    print(&history, &["at", "old_status", "new_status", "action", "by", "reason"], Format::Table)?;
                    println!("\nbounces:");
                    print(&bounces, &["event_time", "kind", "failure_type", "failure_reason", "qualification_id", "delivery_id", "diagnostic"], Format::Table)?;
                }
            }
        }
        QuarantineCmd::Release(a) => {
            let no_filter = a.text_contains.is_none() && a.domain.is_empty() && a.modified_after.is_none() && a.modified_before.is_none();
            if a.addresses.is_empty() && no_filter {
                anyhow::bail!("nothing selected: give addresses, or --text-contains / --domain / --modified-after / --modified-before");
            }
            let mut store = if a.dry_run { open_store_read_only(&cfg, &a.db)? } else { open_store(&cfg, &a.db)? };
            let addresses: Vec<String> = a.addresses.iter().map(|x| quarantine::key(x, qcfg)).collect();
            // A bulk release never lifts a complaint's denylisting unless asked with --status.
            let statuses = if a.status.is_empty() && a.addresses.is_empty() {
                vec![QStatus::WithErrors, QStatus::Quarantine]
            } else if a.status.is_empty() {
                vec![QStatus::WithErrors, QStatus::Quarantine, QStatus::Denylisted]
            } else {
                a.status.clone()
            };
            let f = Filter {
                statuses,
                domains: a.domain.clone(),
                text_contains: a.text_contains.clone(),
                modified_after: a.modified_after,
                modified_before: a.modified_before,
                addresses: addresses.clone(),
                qualification_id: None,
            };
            let audit = Audit { by: operator(&a.by), reason: a.reason.clone(), now: crate::store::now() };
            let released = quarantine::release(store.conn_mut(), &f, &audit, a.dry_run)?;
            let mut unknown = 0;
            for (given, x) in a.addresses.iter().zip(&addresses) {
                if released.iter().any(|e| &e.address == x) {
                    continue;
                }
                match quarantine::get(store.conn(), x, qcfg)? {
                    None => {
                        eprintln!("inmail: error: {}: not in the quarantine table (never bounced)", output::escape(given));
                        unknown += 1;
                    }
                    Some(e) => eprintln!("inmail: {}: not released ({}, or outside the filters)", output::escape(given), e.status.label()),
                }
            }
            // The entries as they are after the release (as they are now, for a dry run).
            print(&released, LIST_COLUMNS, a.output)?;
            let verb = if a.dry_run { "would be released (dry run: nothing changed)" } else { "released" };
            eprintln!("{} address(es) {verb}", released.len());
            if unknown > 0 {
                anyhow::bail!("{unknown} unknown address(es)");
            }
        }
        QuarantineCmd::Import { db, file, by, reason } => {
            let text = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())?
            } else {
                std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?
            };
            let list = quarantine::read_address_list(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let mut store = open_store(&cfg, db)?;
            let why = if reason.is_empty() { format!("import {}", file.display()) } else { reason.clone() };
            let audit = Audit { by: operator(by), reason: why, now: crate::store::now() };
            let (added, same) = quarantine::import_denylist(store.conn_mut(), qcfg, &list, &audit)?;
            println!("{added} address(es) denylisted, {same} already denylisted");
        }
        QuarantineCmd::Export { db, format } => {
            let store = open_store_read_only(&cfg, db)?;
            let f = Filter { statuses: vec![QStatus::WithErrors, QStatus::Quarantine, QStatus::Denylisted], ..Default::default() };
            print(&quarantine::list(store.conn(), &f)?, LIST_COLUMNS, *format)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `inmail maintain`: the quarantine's time rules as of now (or `--now`).
pub fn maintain(cli: &Cli, a: &MaintainArgs) -> anyhow::Result<ExitCode> {
    let cfg = crate::config::Config::load(cli.config.as_deref())?;
    let mut store = open_store(&cfg, &a.db)?;
    let now = a.now.unwrap_or_else(crate::store::now);
    let released = quarantine::maintain(store.conn_mut(), &cfg.quarantine, now)?;
    for x in &released {
        println!("{}", output::escape(x));
    }
    eprintln!("{} address(es) back to Valid as of {}", released.len(), crate::store::format_time(now));
    Ok(ExitCode::SUCCESS)
}

/// `inmail report`.
pub fn report(cli: &Cli, a: &ReportArgs) -> anyhow::Result<ExitCode> {
    let cfg = crate::config::Config::load(cli.config.as_deref())?;
    let store = open_store_read_only(&cfg, &a.db)?;
    let r = crate::report::build(store.conn(), a.since, a.top.max(1))?;
    let o = a.output;
    match o.format {
        Format::Json => println!("{}", super::output::json(&r)?),
        Format::Csv => {
            #[derive(serde::Serialize)]
            struct Figure {
                section: &'static str,
                label: String,
                count: i64,
            }
            let mut rows = Vec::new();
            rows.extend(r.bounces.iter().map(|b| Figure { section: "bounces", label: format!("{} / {}", b.failure_type, b.failure_reason), count: b.count }));
            rows.extend(r.details.iter().map(|d| Figure { section: "detail", label: d.detail.clone(), count: d.count }));
            rows.extend(r.quarantine.iter().map(|q| Figure { section: "quarantine", label: q.status.clone(), count: q.count }));
            for d in &r.domains {
                rows.push(Figure { section: "domain-hard", label: d.domain.clone(), count: d.hard });
                rows.push(Figure { section: "domain-soft", label: d.domain.clone(), count: d.soft });
            }
            rows.extend(r.to_qualify.iter().map(|t| Figure { section: "to-qualify", label: t.text.clone(), count: t.occurrences }));
            print(&rows, &["section", "label", "count"], o)?;
        }
        Format::Table => {
            if let Some(s) = &r.since {
                println!("since {s}\n");
            }
            println!("bounces by type and reason:");
            print(&r.bounces, &["failure_type", "failure_reason", "count"], o)?;
            println!("\nbounces by detailed reason:");
            print(&r.details, &["detail", "count"], o)?;
            println!("\nquarantine by status:");
            print(&r.quarantine, &["status", "count"], o)?;
            println!("\nfailures by recipient domain:");
            print(&r.domains, &["domain", "hard", "soft", "total"], o)?;
            println!("\ntop rows to qualify:");
            print(&r.to_qualify, &["id", "channel", "occurrences", "text"], o)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
