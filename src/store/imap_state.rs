//! Checkpoints of the IMAP daemon (table `imap_state`), one row per mailbox and folder.

use super::{now, Result};
use rusqlite::{params, Connection, OptionalExtension};

#[derive(Debug, Clone, serde::Serialize)]
pub struct ImapState {
    pub mailbox: String,
    pub folder: String,
    pub uidvalidity: u32,
    pub last_uid: u32,
    pub last_poll: Option<i64>,
    pub processed: u64,
    pub last_error: Option<String>,
    pub last_error_at: Option<i64>,
}

/// Start of a session on a folder: returns the last UID recorded under this UIDVALIDITY.
/// A changed UIDVALIDITY resets the checkpoint (fingerprints still prevent double counts).
pub fn begin(conn: &Connection, mailbox: &str, folder: &str, uidvalidity: u32) -> Result<(u32, bool)> {
    let row: Option<(i64, i64)> = conn
        .query_row(
            "SELECT uidvalidity, last_uid FROM imap_state WHERE mailbox = ?1 AND folder = ?2",
            params![mailbox, folder],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match row {
        Some((v, last)) if v == uidvalidity as i64 => Ok((last as u32, false)),
        Some(_) => {
            conn.execute(
                "UPDATE imap_state SET uidvalidity = ?3, last_uid = 0, updated_at = ?4 WHERE mailbox = ?1 AND folder = ?2",
                params![mailbox, folder, uidvalidity as i64, now()],
            )?;
            Ok((0, true))
        }
        None => {
            conn.execute(
                "INSERT INTO imap_state (mailbox, folder, uidvalidity, last_uid, updated_at) VALUES (?1, ?2, ?3, 0, ?4)",
                params![mailbox, folder, uidvalidity as i64, now()],
            )?;
            Ok((0, false))
        }
    }
}

/// Advance the checkpoint (inside the batch's transaction).
pub fn advance(conn: &Connection, mailbox: &str, folder: &str, uidvalidity: u32, uid: u32) -> Result<()> {
    conn.execute(
        "UPDATE imap_state SET last_uid = MAX(last_uid, ?4), updated_at = ?5
         WHERE mailbox = ?1 AND folder = ?2 AND uidvalidity = ?3",
        params![mailbox, folder, uidvalidity as i64, uid as i64, now()],
    )?;
    Ok(())
}

/// A successful poll: clears the last error, adds the number of new messages.
pub fn polled(conn: &Connection, mailbox: &str, folder: &str, new_messages: u64) -> Result<()> {
    let t = now();
    conn.execute(
        "UPDATE imap_state SET last_poll = ?3, processed = processed + ?4, last_error = NULL, updated_at = ?3
         WHERE mailbox = ?1 AND folder = ?2",
        params![mailbox, folder, t, new_messages as i64],
    )?;
    Ok(())
}

/// Remember the last error of a mailbox (the row is created when it never connected).
pub fn error(conn: &Connection, mailbox: &str, folder: &str, error: &str) -> Result<()> {
    let t = now();
    conn.execute(
        "INSERT INTO imap_state (mailbox, folder, last_error, last_error_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)
         ON CONFLICT (mailbox, folder) DO UPDATE SET last_error = ?3, last_error_at = ?4, updated_at = ?4",
        params![mailbox, folder, error, t],
    )?;
    Ok(())
}

pub fn list(conn: &Connection) -> Result<Vec<ImapState>> {
    let mut st = conn.prepare(
        "SELECT mailbox, folder, uidvalidity, last_uid, last_poll, processed, last_error, last_error_at
         FROM imap_state ORDER BY mailbox, folder",
    )?;
    let rows = st.query_map([], |r| {
        Ok(ImapState {
            mailbox: r.get(0)?,
            folder: r.get(1)?,
            uidvalidity: r.get::<_, i64>(2)? as u32,
            last_uid: r.get::<_, i64>(3)? as u32,
            last_poll: r.get(4)?,
            processed: r.get::<_, i64>(5)? as u64,
            last_error: r.get(6)?,
            last_error_at: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Kind of an already recorded message ("dsn", "not-bounce", "error"…), by fingerprint.
pub fn known_kind(conn: &Connection, fingerprint: &[u8; 32]) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT kind FROM message WHERE fingerprint = ?1", [&fingerprint[..]], |r| r.get(0))
        .optional()?)
}
