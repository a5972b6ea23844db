//! `inmail replay`: read mbox / Maildir / files into the database, then print a summary.

use super::{open_store, Cli, DbArg};
use crate::ingest::{replay, ReplayOptions, Stats};
use crate::source::messages;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// Messages per transaction (the quarantine is applied to each in event-time order). Messages
    /// are not held in memory for a transaction: larger ones write fewer index pages in all.
    #[arg(long, default_value_t = 5000, value_name = "N")]
    pub batch: usize,
    /// Analysis threads (default: the number of cores; also INMAIL_THREADS). With more than one,
    /// reading, analysis and the database writer run at once; the database ends the same.
    #[arg(long, env = "INMAIL_THREADS", value_name = "N")]
    pub threads: Option<usize>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Never show a progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// SMS status-report file (repeatable), one report per line:
    /// PHONE<TAB>[SMSC-NAME<TAB>]REPORT or TIME<TAB>PHONE<TAB>SMSC-NAME<TAB>REPORT.
    /// Example: inmail replay --sr reports.tsv
    #[arg(long, value_name = "FILE")]
    pub sr: Vec<PathBuf>,
    /// mbox files, Maildir folders, folders of message files, single files, or `-` for stdin.
    #[arg(required_unless_present = "sr", value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

pub fn run(cli: &Cli, a: &ReplayArgs) -> anyhow::Result<ExitCode> {
    let (cfg, rules) = super::load_rules(cli)?;
    // Inputs that do not exist or cannot be read are errors, named; the others are replayed,
    // then the command fails. With nothing readable, no database is created.
    let (paths, bad_paths) = super::readable_inputs(&a.paths);
    let (sr_files, bad_sr) = super::readable_inputs(&a.sr);
    let bad_inputs = bad_paths + bad_sr;
    if paths.is_empty() && sr_files.is_empty() {
        anyhow::bail!("no readable input: nothing replayed");
    }
    let mut store = open_store(&cfg, &a.db)?;
    if !sr_files.is_empty() {
        let parser = crate::sms::SrParser::new(&cfg.sms)?;
        for f in &sr_files {
            let text = std::fs::read_to_string(f).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", f.display()))?;
            let name = f.display().to_string();
            let st = crate::sms::ingest(&mut store, &parser, &cfg.quarantine, &name, &text)?;
            for (src, err) in &st.errors {
                eprintln!("inmail: {}: {}", super::output::escape(src), super::output::escape(err));
            }
            if a.json {
                println!("{}", super::output::json(&serde_json::json!({"sr_file": name, "summary": st}))?);
            } else {
                println!("{name}: {} report(s) read, {} recorded ({} delivered, {} failed), {} already known, {} unreadable, {} new qualification row(s), {} quarantine change(s)",
                    st.lines, st.recorded, st.delivered, st.failed_reports, st.duplicates, st.errors.len(), st.new_rows, st.quarantine_changes);
            }
        }
        if paths.is_empty() {
            return Ok(if bad_inputs > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS });
        }
    }
    let threads = a.threads.unwrap_or_else(crate::ingest::cores);
    let batch_size = a.batch.max(1);
    let progress = if !a.no_progress && std::io::stderr().is_terminal() {
        let pb = ProgressBar::new_spinner();
        pb.set_style(ProgressStyle::with_template("{spinner} {pos} messages  {per_sec}  {elapsed}  {msg}").unwrap());
        pb.enable_steady_tick(std::time::Duration::from_millis(200));
        Some(pb)
    } else {
        None
    };
    let mut hook = super::quarantine_hook(&cfg);
    let opts = ReplayOptions { threads, batch: batch_size };
    let mut on_commit = |done: u64, stats: &Stats| {
        if let Some(pb) = &progress {
            pb.set_position(done);
            pb.set_message(format!("{} records, {} failed", stats.records, stats.failed.len()));
        }
    };
    let stats = replay(&mut store, &rules, messages(&paths), opts, hook.as_mut().map(|h| h as _), &mut on_commit)?;
    for (source, error) in &stats.unreadable {
        eprintln!("inmail: error: cannot read {}: {error}", super::output::escape(source));
    }
    let unreadable = stats.unreadable.len();
    if let Some(pb) = &progress {
        pb.finish_and_clear();
    }
    for (src, err) in &stats.failed {
        tracing::warn!(source = %src, error = %err, "message failed to parse; recorded as failed");
    }
    print_summary(&stats, a.json)?;
    if bad_inputs + unreadable > 0 {
        eprintln!("inmail: error: {} input(s) could not be read (named above)", bad_inputs + unreadable);
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_summary(s: &Stats, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", super::output::json(s)?);
        return Ok(());
    }
    println!("messages read        {}", s.messages);
    println!("  recorded           {}", s.recorded);
    println!("  already known      {}", s.duplicates);
    println!("  failed to parse    {}", s.failed.len());
    println!("records (recipients) {}", s.records);
    if !s.by_kind.is_empty() {
        println!("by kind:");
        for (k, n) in &s.by_kind {
            println!("  {k:<20} {n}");
        }
    }
    if !s.by_type_reason.is_empty() {
        println!("by type / reason:");
        let mut v: Vec<_> = s.by_type_reason.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (k, n) in v {
            println!("  {:<32} {n}", super::output::escape(k));
        }
    }
    println!("new qualification rows {} ({} to qualify)", s.new_rows, s.new_rows_to_qualify);
    if !s.failed.is_empty() {
        println!("messages that failed to parse (kept in the database with their error):");
        for (src, err) in s.failed.iter().take(50) {
            println!("  {}: {}", super::output::escape(src), super::output::escape(err));
        }
        if s.failed.len() > 50 {
            println!("  … and {} more (see the log)", s.failed.len() - 50);
        }
    }
    Ok(())
}
