//! `inmail parse`: records as JSON Lines, no database.

use super::Cli;
use crate::pipeline::Record;
use crate::stages::Slot;
use crate::source::messages;
use clap::Args;
use serde_json::json;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct ParseArgs {
    /// Print JSON Lines (the only format; kept for clarity in scripts).
    #[arg(long)]
    pub json: bool,
    /// SMS status-report file (repeatable); see `inmail replay --help` for the line format.
    /// Example: inmail parse --sr reports.tsv
    #[arg(long, value_name = "FILE")]
    pub sr: Vec<PathBuf>,
    /// Analysis threads (default: the number of cores; also INMAIL_THREADS). The output is the
    /// same, in the same order, whatever the number.
    #[arg(long, env = "INMAIL_THREADS", value_name = "N")]
    pub threads: Option<usize>,
    /// Files, folders (Maildir or a folder of .eml files), mbox files, or `-` for stdin.
    #[arg(required_unless_present = "sr", value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

pub fn run(cli: &Cli, a: &ParseArgs) -> anyhow::Result<ExitCode> {
    let (cfg, rules) = super::load_rules(cli)?;
    let linker = crate::linkage::Linker::new(&cfg.linkage)?;
    let out = std::io::stdout();
    let mut out = BufWriter::new(out.lock());
    let mut failed = 0usize;
    // Inputs that do not exist or cannot be read are errors, named; the others are parsed,
    // then the command fails.
    let (paths, bad_paths) = super::readable_inputs(&a.paths);
    let (sr_files, bad_sr) = super::readable_inputs(&a.sr);
    let mut unreadable = bad_paths + bad_sr;
    if !sr_files.is_empty() {
        failed += sr_lines(&cfg, &sr_files, &mut out)?;
    }
    let threads = a.threads.unwrap_or_else(crate::ingest::cores);
    // The JSON of each message is made on the analysis threads; this thread only writes it, in
    // input order.
    // (JSON lines, the error when the message could not be parsed)
    let work = |msg: &crate::source::RawMessage| -> (String, Option<String>) {
        let mut lines = String::new();
        match crate::ingest::process_guarded(&rules, msg) {
            Ok(p) => {
                for r in &p.records {
                    let mut v = record_json(&msg.source, r, &p.analysis.message_id);
                    let link = linker.link(&p.analysis.original_headers, &r.bounce.diagnostic);
                    v["delivery_id"] = json!(link.delivery_id);
                    v["delivery_log_id"] = json!(link.delivery_log_id);
                    lines.push_str(&v.to_string());
                    lines.push('\n');
                }
                (lines, None)
            }
            Err(e) => {
                lines.push_str(&json!({"source": msg.source, "index": 0, "kind": "error", "error": e.to_string()}).to_string());
                lines.push('\n');
                (lines, Some(e.to_string()))
            }
        }
    };
    let (bad, lost) = crate::stages::run(messages(&paths), threads, |_| false, work, |slots| -> anyhow::Result<(usize, usize)> {
        let (mut failed, mut unreadable) = (0, 0);
        for slot in slots {
            match slot {
                Slot::Unreadable(e) => {
                    eprintln!("inmail: error: {}", super::output::escape(&e.to_string()));
                    unreadable += 1;
                }
                Slot::Message(msg, Some((lines, error))) => {
                    if let Some(e) = error {
                        failed += 1;
                        tracing::warn!(source = %msg.source, error = %e, "message could not be parsed");
                    }
                    out.write_all(lines.as_bytes())?;
                }
                Slot::Message(_, None) => {}
            }
        }
        Ok((failed, unreadable))
    })?;
    failed += bad;
    unreadable += lost;
    out.flush()?;
    if failed > 0 {
        eprintln!("inmail: {failed} message(s) could not be parsed");
    }
    if unreadable > 0 {
        eprintln!("inmail: error: {unreadable} input(s) could not be read (named above)");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn record_json(source: &str, r: &Record, message_id: &str) -> serde_json::Value {
    let q = r.qualification();
    json!({
        "source": source,
        "index": r.index,
        "kind": r.kind.as_str(),
        "recipient": r.bounce.recipient,
        "original_recipient": r.bounce.original_recipient,
        "status": r.bounce.status,
        "reply_code": r.bounce.reply_code,
        "action": r.bounce.action,
        "smtp_command": r.bounce.smtp_command,
        "remote_mta": r.bounce.remote_mta,
        "dialect": r.bounce.dialect,
        "provider": r.bounce.provider,
        "diagnostic": r.bounce.diagnostic,
        "text": r.verdict.text,
        "failure_type": q.failure_type.label(),
        "failure_reason": q.reason_label(),
        "reason_code": q.reason.map(|r| r.code()),
        "detail": r.verdict.detail,
        "rule": r.verdict.rule,
        "event_time": r.bounce.time.map(crate::store::format_time),
        "message_id": message_id,
    })
}

/// `parse --sr`: one JSON object per status-report line. Returns the number of bad lines.
fn sr_lines(cfg: &crate::config::Config, files: &[PathBuf], out: &mut impl Write) -> anyhow::Result<usize> {
    let parser = crate::sms::SrParser::new(&cfg.sms)?;
    let mut failed = 0;
    for f in files {
        let text = std::fs::read_to_string(f).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", f.display()))?;
        for (i, line) in text.lines().enumerate() {
            let source = format!("{}:{}", f.display(), i + 1);
            match parser.parse_line(line) {
                Ok(None) => {}
                Err(e) => {
                    failed += 1;
                    writeln!(out, "{}", json!({"source": source, "index": 0, "kind": "error", "error": e}))?;
                }
                Ok(Some(sr)) => {
                    let mut v = record_json(&source, &sr.record(), "");
                    v["kind"] = json!("sr");
                    v["channel"] = json!("sms");
                    v["smsc"] = json!(sr.smsc);
                    v["status"] = json!(sr.stat);
                    v["reply_code"] = json!(sr.err);
                    v["event_time"] = json!(sr.time.map(crate::store::format_time));
                    v["delivery_id"] = serde_json::Value::Null;
                    v["delivery_log_id"] = serde_json::Value::Null;
                    writeln!(out, "{v}")?;
                }
            }
        }
    }
    Ok(failed)
}
