//! `inmail status`: per watched mailbox, the last poll, the checkpoint, the number of messages
//! processed and the last error, from the database.

use super::{open_store_read_only, Cli, DbArg};
use crate::store::{format_time, imap_state};
use clap::Args;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cli: &Cli, a: &StatusArgs) -> anyhow::Result<ExitCode> {
    let cfg = crate::config::Config::load(cli.config.as_deref())?;
    let store = open_store_read_only(&cfg, &a.db)?;
    let rows = imap_state::list(store.conn())?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        println!("no mailbox has been watched yet (inmail run)");
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    t.set_header(["mailbox", "folder", "last poll", "UIDVALIDITY", "last UID", "processed", "last error"]);
    for r in rows {
        let err = match (&r.last_error, r.last_error_at) {
            (Some(e), Some(t)) => format!("{} ({e})", format_time(t)),
            (Some(e), None) => e.clone(),
            _ => "-".into(),
        };
        t.add_row([
            r.mailbox,
            r.folder,
            r.last_poll.map(format_time).unwrap_or_else(|| "never".into()),
            r.uidvalidity.to_string(),
            r.last_uid.to_string(),
            r.processed.to_string(),
            err,
        ]);
    }
    println!("{t}");
    Ok(ExitCode::SUCCESS)
}
