//! Test-only fault injection, driven by the environment variable `INMAIL_FAULT` (never set it in
//! production). Values:
//! - `after-commit:N`: the process exits (code 86, no LOGOUT, nothing cleaned up) right after the
//!   N-th batch is committed to the database, before its messages are moved: a crash between
//!   commit and move.
//! - `disconnect-after-commit:N`: after the N-th commit the IMAP connection is dropped without
//!   LOGOUT and the worker reconnects, as after a network cut between commit and move.
//! - `read-only-after-commit:N`: after the N-th commit the daemon's database connection turns
//!   read-only (`PRAGMA query_only`): every later write fails with SQLite's "attempt to write a
//!   readonly database", as it would on a database made read-only, and stays failing.
//! - `cut-move:N`: the N-th move command is cut short as by a server dying in the middle of
//!   its MOVE (a copy then an expunge): the messages are copied to the destination, not
//!   expunged, and the connection is dropped.
//! - `delay:MS`: wait MS milliseconds between fetching a batch and recording it, so that tests
//!   can stop the server or kill the daemon while a batch is in flight.
//!
//! Several faults may be given, separated by commas (`delay:100,after-commit:3`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    ExitAfterCommit(u64),
    DisconnectAfterCommit(u64),
}

static FAULT: OnceLock<Option<Fault>> = OnceLock::new();
static DELAY: OnceLock<Option<u64>> = OnceLock::new();
static COMMITS: AtomicU64 = AtomicU64::new(0);

fn fault() -> Option<Fault> {
    *FAULT.get_or_init(|| {
        let f = setting("after-commit")
            .map(Fault::ExitAfterCommit)
            .or_else(|| setting("disconnect-after-commit").map(Fault::DisconnectAfterCommit))?;
        tracing::warn!(fault = ?f, "INMAIL_FAULT is set: test-only fault injection active");
        Some(f)
    })
}

fn setting(name: &str) -> Option<u64> {
    let v = std::env::var("INMAIL_FAULT").ok()?;
    v.split(',').filter_map(|p| p.split_once(':')).find(|(k, _)| k.trim() == name).and_then(|(_, n)| n.trim().parse().ok())
}

static MOVES: AtomicU64 = AtomicU64::new(0);

/// Called before each move command. Returns true when this one must be cut short.
pub fn cut_move() -> bool {
    static AT: OnceLock<Option<u64>> = OnceLock::new();
    let Some(at) = *AT.get_or_init(|| setting("cut-move")) else { return false };
    let n = MOVES.fetch_add(1, Ordering::SeqCst) + 1;
    if n == at {
        tracing::warn!(move_command = n, "INMAIL_FAULT: this move is cut short after its copy");
    }
    n == at
}

static DB_COMMITS: AtomicU64 = AtomicU64::new(0);

/// Called by the database thread after each committed batch. Returns true when the database
/// connection must turn read-only now.
pub fn read_only_now() -> bool {
    static AT: OnceLock<Option<u64>> = OnceLock::new();
    let Some(at) = *AT.get_or_init(|| setting("read-only-after-commit")) else { return false };
    let n = DB_COMMITS.fetch_add(1, Ordering::SeqCst) + 1;
    if n == at {
        tracing::warn!(commit = n, "INMAIL_FAULT: the database connection turns read-only");
    }
    n == at
}

/// The test-only delay between fetching and recording a batch.
pub fn delay() -> Option<std::time::Duration> {
    DELAY.get_or_init(|| setting("delay")).map(std::time::Duration::from_millis)
}

/// Called after each committed batch. Returns true when the connection must be dropped now.
pub fn after_commit() -> bool {
    let n = COMMITS.fetch_add(1, Ordering::SeqCst) + 1;
    match fault() {
        Some(Fault::ExitAfterCommit(k)) if n == k => {
            tracing::warn!(commit = n, "INMAIL_FAULT: exiting right after a commit, before the move");
            std::process::exit(86);
        }
        Some(Fault::DisconnectAfterCommit(k)) if n == k => {
            tracing::warn!(commit = n, "INMAIL_FAULT: dropping the connection right after a commit");
            true
        }
        _ => false,
    }
}
