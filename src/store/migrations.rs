//! Versioned schema migrations, applied in order inside one transaction; the version lives in
//! `PRAGMA user_version`. Never edit a released migration: add a new one.

use rusqlite::Connection;

pub const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_core", include_str!("migrations/0001_core.sql")),
    ("0002_quarantine", include_str!("migrations/0002_quarantine.sql")),
    ("0003_imap", include_str!("migrations/0003_imap.sql")),
    ("0004_status_checks", include_str!("migrations/0004_status_checks.sql")),
    ("0005_qualification_evidence", include_str!("migrations/0005_qualification_evidence.sql")),
    ("0006_detail", include_str!("migrations/0006_detail.sql")),
    ("0007_console_indexes", include_str!("migrations/0007_console_indexes.sql")),
];

/// The schema version of `conn` when migrations remain to apply; `None` when it is current, an
/// error when it is newer than this inmail.
fn behind(conn: &Connection) -> rusqlite::Result<Option<usize>> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    match (current as usize).cmp(&MIGRATIONS.len()) {
        std::cmp::Ordering::Less => Ok(Some(current as usize)),
        std::cmp::Ordering::Equal => Ok(None),
        std::cmp::Ordering::Greater => Err(rusqlite::Error::InvalidParameterName(format!(
            "database schema version {current} is newer than this inmail ({}) — upgrade inmail",
            MIGRATIONS.len()
        ))),
    }
}

/// For a read-only connection: the schema must be exactly this inmail's.
pub fn check_current(conn: &Connection) -> super::Result<()> {
    match behind(conn)? {
        None => Ok(()),
        Some(v) => Err(super::StoreError::Invalid(format!(
            "database schema version {v} is older than this inmail's ({}): run a writing command once (e.g. `inmail maintain`) to upgrade it",
            MIGRATIONS.len()
        ))),
    }
}

pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    if behind(conn)?.is_none() {
        return Ok(());
    }
    // A migration may rebuild a table others refer to (drop it, rename its copy): SQLite's
    // procedure for that runs with foreign keys off, which can only be switched outside a
    // transaction. The references are checked before the commit instead: the migrations must
    // not break one (a database that already had broken ones, written with foreign keys off by
    // another tool, still opens).
    let enforced: bool = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
    conn.pragma_update(None, "foreign_keys", false)?;
    let result = (|| {
        // Immediate: the write lock first, then the version, so that two processes opening the
        // same old database migrate it once, one after the other. The second finds it current
        // (or newer, which is refused) and has nothing to do, nor any reference to check.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let Some(current) = behind(&tx)? else { return Ok(()) };
        let broken_before = broken_references(&tx)?;
        for (i, (_name, sql)) in MIGRATIONS.iter().enumerate().skip(current) {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        }
        let broken = broken_references(&tx)?;
        if broken > broken_before {
            return Err(rusqlite::Error::InvalidParameterName(format!(
                "schema migration would break {} foreign key reference(s); nothing was changed",
                broken - broken_before
            )));
        }
        tx.commit()
    })();
    conn.pragma_update(None, "foreign_keys", enforced)?;
    result
}

fn broken_references(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Apply the first `n` migrations to `conn` the way a release of that version left it.
    fn migrate_to(conn: &Connection, n: usize) {
        for (_, sql) in &MIGRATIONS[..n] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", n as i64).unwrap();
    }

    fn at_version(n: usize) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        migrate_to(&conn, n);
        conn
    }

    /// Opcodes of a statement's program.
    fn opcodes(conn: &Connection, sql: &str) -> Vec<String> {
        let mut st = conn.prepare(&format!("EXPLAIN {sql}")).unwrap();
        let unbound = std::iter::repeat_n(rusqlite::types::Value::Null, st.parameter_count());
        st.query_map(rusqlite::params_from_iter(unbound), |r| r.get::<_, String>(1)).unwrap().map(|r| r.unwrap()).collect()
    }

    const WRITES: [&str; 4] = [
        "UPDATE quarantine SET status = ?2, error_count = ?3, last_modified = ?4 WHERE id = ?1",
        "INSERT INTO quarantine (address, status, last_modified) VALUES (?1, ?2, ?3)",
        "UPDATE qualification SET status = ?2, occurrences = ?3 WHERE id = ?1",
        "INSERT INTO qualification (text, first_text, failure_type, failure_reason, status, first_seen, last_seen, updated_at)
         VALUES (?1, ?1, 'Hard', 1, ?2, 0, 0, 0)",
    ];

    #[test]
    fn status_checks_build_no_temporary_table() {
        let old = at_version(3);
        assert!(
            WRITES.iter().any(|w| opcodes(&old, w).iter().any(|o| o == "OpenEphemeral")),
            "the IN-list CHECKs of version 3 build a temporary b-tree (this test checks something)"
        );
        let mut conn = at_version(3);
        migrate(&mut conn).unwrap();
        for w in WRITES {
            assert!(!opcodes(&conn, w).iter().any(|o| o == "OpenEphemeral"), "{w}");
        }
    }

    #[test]
    fn a_newer_schema_is_refused_untouched() {
        let mut conn = at_version(MIGRATIONS.len());
        conn.pragma_update(None, "user_version", MIGRATIONS.len() as i64 + 1).unwrap();
        let err = migrate(&mut conn).unwrap_err().to_string();
        assert!(err.contains("newer than this inmail"), "{err}");
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version as usize, MIGRATIONS.len() + 1);
    }

    /// Two connections opening one old database at once: it is migrated once, both succeed.
    #[test]
    fn concurrent_openers_migrate_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        migrate_to(&Connection::open(&path).unwrap(), 3);
        let openers: Vec<_> = (0..2)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let mut conn = Connection::open(&path).unwrap();
                    conn.busy_timeout(std::time::Duration::from_secs(30)).unwrap();
                    migrate(&mut conn)
                })
            })
            .collect();
        for o in openers {
            o.join().unwrap().unwrap();
        }
        let conn = Connection::open(&path).unwrap();
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version as usize, MIGRATIONS.len());
    }

    #[test]
    fn rebuilding_keeps_rows_ids_indexes_and_constraints() {
        let mut conn = at_version(3);
        conn.execute_batch(
            "INSERT INTO message (id, fingerprint, source, kind, size, processed_at) VALUES (7, x'01', 's', 'dsn', 1, 0);
             INSERT INTO qualification (id, text, first_text, failure_type, failure_reason, status, occurrences, first_seen, last_seen, rule, manual, updated_at)
                 VALUES (41, 'user unknown', 'User unknown', 'Hard', 1, 'Keep', 3, 10, 20, 'r', 1, 30);
             INSERT INTO bounce_event (id, message_ref, idx, event_time, source, kind, recipient, status, reply_code, action, diagnostic,
                                       qualification_id, failure_type, failure_reason, rule, bounce_message_id)
                 VALUES (5, 7, 1, 10, 's', 'dsn', 'a@x', '5.1.1', '550', 'failed', 'd', 41, 'Hard', 1, 'r', '');
             INSERT INTO quarantine (id, address, status, error_count, error_text, failure_type, failure_reason, first_error, last_error,
                                     last_modified, qualification_id, event_id, delivery_id)
                 VALUES (9, 'a@x', 'Quarantine', 1, 'd', 'Hard', 1, 10, 10, 10, 41, 5, 'D1');",
        )
        .unwrap();
        // The columns of version 3: later migrations may add columns (NULL for old rows).
        let columns = |c: &Connection, t: &str| -> String {
            let mut st = c.prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid").unwrap();
            st.query_map([t], |r| r.get::<_, String>(0)).unwrap().map(|r| r.unwrap()).collect::<Vec<_>>().join(", ")
        };
        let cols = [columns(&conn, "qualification"), columns(&conn, "quarantine")];
        let dump = |c: &Connection| -> Vec<String> {
            let mut out = Vec::new();
            for (t, cols) in ["qualification", "quarantine"].iter().zip(&cols) {
                let mut st = c.prepare(&format!("SELECT {cols} FROM {t} ORDER BY id")).unwrap();
                let n = st.column_count();
                let rows = st
                    .query_map([], |r| (0..n).map(|i| r.get::<_, rusqlite::types::Value>(i).map(|v| format!("{v:?}"))).collect::<Result<Vec<_>, _>>())
                    .unwrap();
                out.extend(rows.map(|r| format!("{t}: {}", r.unwrap().join(", "))));
            }
            let mut st = c.prepare("SELECT name, tbl_name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL
                 AND tbl_name IN ('message', 'qualification', 'bounce_event', 'quarantine', 'quarantine_history') ORDER BY name").unwrap();
            out.extend(st.query_map([], |r| Ok(format!("index {} on {}", r.get::<_, String>(0)?, r.get::<_, String>(1)?))).unwrap().map(|r| r.unwrap()));
            out
        };
        let before = dump(&conn);
        migrate(&mut conn).unwrap();
        // Indexes that migrations after the rebuild (0004) add are not the rebuild's business.
        let later: String = MIGRATIONS[4..].iter().map(|m| m.1).collect();
        let added_later = |l: &String| {
            l.strip_prefix("index ").and_then(|r| r.split(' ').next()).is_some_and(|n| later.contains(&format!("CREATE INDEX {n} ")))
        };
        assert_eq!(dump(&conn).into_iter().filter(|l| !added_later(l)).collect::<Vec<_>>(), before);
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version as usize, MIGRATIONS.len());
        let fk: bool = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
        assert!(fk, "foreign keys are enforced again after the migration");
        // The constraints still hold.
        assert!(conn.execute("UPDATE quarantine SET status = 'Gone' WHERE id = 9", []).is_err());
        assert!(conn.execute("UPDATE qualification SET status = 'Maybe' WHERE id = 41", []).is_err());
        assert!(conn.execute("UPDATE quarantine SET event_id = 999 WHERE id = 9", []).is_err(), "foreign key");
        assert!(conn.execute("DELETE FROM qualification WHERE id = 41", []).is_err(), "still referenced by the event and the entry");
        assert!(conn.execute("INSERT INTO quarantine (address, status, last_modified) VALUES ('A@X', 'Valid', 0)", []).is_ok());
        assert!(conn.execute("INSERT INTO quarantine (address, status, last_modified) VALUES ('a@x', 'Valid', 0)", []).is_err(), "unique address");
        // Opening it again changes nothing.
        migrate(&mut conn).unwrap();
    }
}
