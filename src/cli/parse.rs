//! `inmail parse`: records as JSON Lines, no database.

use super::Cli;
use crate::pipeline::{process, Record};
use crate::source::{messages, RawMessage};
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
    /// Files, folders (Maildir or a folder of .eml files), mbox files, or `-` for stdin.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

pub fn run(cli: &Cli, a: &ParseArgs) -> anyhow::Result<ExitCode> {
    let (_cfg, rules) = super::load_rules(cli)?;
    let out = std::io::stdout();
    let mut out = BufWriter::new(out.lock());
    let mut failed = 0usize;
    for item in messages(&a.paths) {
        let msg = match item {
            Ok(m) => m,
            Err(e) => {
                eprintln!("inmail: {e}");
                failed += 1;
                continue;
            }
        };
        match process(&rules, &msg.raw) {
            Ok(p) => {
                for r in &p.records {
                    writeln!(out, "{}", record_json(&msg, r, &p.analysis.message_id))?;
                }
            }
            Err(e) => {
                failed += 1;
                tracing::warn!(source = %msg.source, error = %e, "message could not be parsed");
                writeln!(out, "{}", json!({"source": msg.source, "index": 0, "kind": "error", "error": e.to_string()}))?;
            }
        }
    }
    out.flush()?;
    if failed > 0 {
        eprintln!("inmail: {failed} message(s) could not be parsed");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn record_json(msg: &RawMessage, r: &Record, message_id: &str) -> serde_json::Value {
    let q = r.qualification();
    json!({
        "source": msg.source,
        "index": r.index,
        "kind": r.kind.as_str(),
        "recipient": r.bounce.recipient,
        "status": r.bounce.status,
        "reply_code": r.bounce.reply_code,
        "action": r.bounce.action,
        "diagnostic": r.bounce.diagnostic,
        "text": r.verdict.text,
        "failure_type": q.failure_type.label(),
        "failure_reason": q.reason_label(),
        "reason_code": q.reason.map(|r| r.code()),
        "rule": r.verdict.rule,
        "event_time": r.bounce.time.map(crate::store::format_time),
        "message_id": message_id,
    })
}
