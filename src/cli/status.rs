//! `inmail status`: per watched mailbox, the last poll, the checkpoint, the number of messages
//! processed and the last error, from the database.

use super::output::{print, Format, OutputArgs};
use super::{open_store_read_only, Cli, DbArg};
use crate::store::{format_time, imap_state};
use clap::Args;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    pub db: DbArg,
    #[command(flatten)]
    pub output: OutputArgs,
    /// The same as --format json.
    #[arg(long, hide = true)]
    pub json: bool,
}

/// One watched folder as printed: times in RFC 3339 UTC, like every other command.
#[derive(serde::Serialize)]
struct Line {
    mailbox: String,
    folder: String,
    last_poll: Option<String>,
    uidvalidity: u32,
    last_uid: u32,
    processed: u64,
    last_error: Option<String>,
    last_error_at: Option<String>,
}

pub fn run(cli: &Cli, a: &StatusArgs) -> anyhow::Result<ExitCode> {
    let cfg = crate::config::Config::load(cli.config.as_deref())?;
    let store = open_store_read_only(&cfg, &a.db)?;
    let rows: Vec<Line> = imap_state::list(store.conn())?
        .into_iter()
        .map(|r| Line {
            mailbox: r.mailbox,
            folder: r.folder,
            last_poll: r.last_poll.map(format_time),
            uidvalidity: r.uidvalidity,
            last_uid: r.last_uid,
            processed: r.processed,
            last_error: r.last_error,
            last_error_at: r.last_error_at.map(format_time),
        })
        .collect();
    let mut output = a.output;
    if a.json {
        output.format = Format::Json;
    }
    if rows.is_empty() && output.format == Format::Table {
        println!("no mailbox has been watched yet (inmail run)");
        return Ok(ExitCode::SUCCESS);
    }
    let columns = ["mailbox", "folder", "last_poll", "uidvalidity", "last_uid", "processed", "last_error_at", "last_error"];
    print(&rows, &columns, output)?;
    Ok(ExitCode::SUCCESS)
}
