//! Versioned schema migrations, applied in order inside one transaction; the version lives in
//! `PRAGMA user_version`. Never edit a released migration: add a new one.

use rusqlite::Connection;

pub const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_core", include_str!("migrations/0001_core.sql")),
    ("0002_quarantine", include_str!("migrations/0002_quarantine.sql")),
    ("0003_imap", include_str!("migrations/0003_imap.sql")),
];

pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current as usize > MIGRATIONS.len() {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "database schema version {current} is newer than this inmail ({}) — upgrade inmail",
            MIGRATIONS.len()
        )));
    }
    let tx = conn.transaction()?;
    for (i, (_name, sql)) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
    }
    tx.commit()
}
