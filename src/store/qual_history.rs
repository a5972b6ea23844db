//! The history of a qualification row: who changed its type, reason or status, when, from what
//! to what. The same functions and table as `qualification::set_by` / `qualification::history`
//! of the requalify work (issue 21); when both are merged this module gives way to those.

use super::qualification::{self, Change, QualRow};
use super::{format_time, Result};
use crate::model::FailureReason;
use rusqlite::{params, Connection};
use serde::Serialize;

/// [`qualification::set`], recording who made the change in the row's history. Run it in a
/// transaction to have both or neither.
pub fn set_by(conn: &Connection, id: i64, c: &Change, by: &str) -> Result<QualRow> {
    let before = qualification::get(conn, id)?;
    let after = qualification::set(conn, id, c)?;
    conn.execute(
        "INSERT INTO qualification_history (qualification_id, at, action, by, old_failure_type, old_failure_reason, old_status,
            old_rule, new_failure_type, new_failure_reason, new_status, new_rule)
         VALUES (?1, ?2, 'set', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            id,
            super::now(),
            by,
            before.failure_type,
            before.reason_code,
            before.status.label(),
            before.rule,
            after.failure_type,
            after.reason_code,
            after.status.label(),
            after.rule
        ],
    )?;
    Ok(after)
}

/// One line of a row's history.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryLine {
    pub at: String,
    pub action: String,
    pub by: String,
    pub before: String,
    pub after: String,
}

fn reason_label(code: i64) -> &'static str {
    FailureReason::from_code(code).map(|r| r.label()).unwrap_or("Undefined")
}

/// A row's history, oldest first.
pub fn history(conn: &Connection, id: i64) -> Result<Vec<HistoryLine>> {
    let mut st = conn.prepare(
        "SELECT at, action, by, old_failure_type, old_failure_reason, old_status, old_rule,
                new_failure_type, new_failure_reason, new_status, new_rule
         FROM qualification_history WHERE qualification_id = ?1 ORDER BY at, id",
    )?;
    let state = |t: String, r: i64, s: String, rule: String| {
        format!("{t} / {} / {s}{}", reason_label(r), if rule.is_empty() { String::new() } else { format!(" ({rule})") })
    };
    let rows = st
        .query_map([id], |r| {
            Ok(HistoryLine {
                at: format_time(r.get(0)?),
                action: r.get(1)?,
                by: r.get(2)?,
                before: state(r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?),
                after: state(r.get(7)?, r.get(8)?, r.get(9)?, r.get(10)?),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{QualStatus, Store};

    #[test]
    fn set_by_records_who_and_what() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let c = store.conn_mut();
        c.execute(
            "INSERT INTO qualification (id, channel, text, first_text, failure_type, failure_reason, status, occurrences,
                first_seen, last_seen, updated_at) VALUES (1, 'email', 't', 'f', 'Undefined', 0, 'To qualify', 3, 1, 2, 2)",
            [],
        )
        .unwrap();
        let ch = Change { status: None, failure_type: Some(crate::model::FailureType::Hard), reason: Some(FailureReason::UserUnknown) };
        let row = set_by(c, 1, &ch, "alice").unwrap();
        assert_eq!(row.status, QualStatus::Keep);
        let h = history(c, 1).unwrap();
        assert_eq!(h.len(), 1);
        assert_eq!((h[0].by.as_str(), h[0].action.as_str()), ("alice", "set"));
        assert_eq!(h[0].before, "Undefined / Undefined / To qualify");
        assert_eq!(h[0].after, "Hard / User unknown / Keep (manual)");
        assert!(set_by(c, 99, &ch, "alice").is_err());
        assert_eq!(history(c, 1).unwrap().len(), 1, "a failed change records nothing");
    }
}
