//! The delivery log qualification table: listing, operator corrections, re-running the rules.

use super::{format_time, qualification_from_db, Result, StoreError};
use crate::model::{FailureReason, FailureType, Qualification};
use crate::normalize::normalize;
use crate::rules::RuleSet;
use crate::status::{find_status, qualify_status};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QualStatus {
    ToQualify,
    Keep,
    Ignore,
}

impl QualStatus {
    pub fn label(self) -> &'static str {
        match self {
            QualStatus::ToQualify => "To qualify",
            QualStatus::Keep => "Keep",
            QualStatus::Ignore => "Ignore",
        }
    }
    /// Accepts "To qualify", "to-qualify", "keep", "ignore" (any case).
    pub fn parse(s: &str) -> Option<QualStatus> {
        match s.trim().to_ascii_lowercase().replace(['-', '_'], " ").as_str() {
            "to qualify" | "toqualify" => Some(QualStatus::ToQualify),
            "keep" => Some(QualStatus::Keep),
            "ignore" => Some(QualStatus::Ignore),
            _ => None,
        }
    }
}

impl Serialize for QualStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.label())
    }
}

/// One row of the qualification table, as operators see it.
#[derive(Debug, Clone, Serialize)]
pub struct QualRow {
    pub id: i64,
    pub channel: String,
    pub text: String,
    pub first_text: String,
    pub failure_type: String,
    pub failure_reason: String,
    pub reason_code: i64,
    pub status: QualStatus,
    pub occurrences: i64,
    pub first_seen: String,
    pub last_seen: String,
    pub rule: String,
    pub manual: bool,
}

pub(crate) const COLUMNS: &str =
    "id, channel, text, first_text, failure_type, failure_reason, status, occurrences, first_seen, last_seen, rule, manual";

pub(crate) fn from_row(r: &Row) -> rusqlite::Result<QualRow> {
    let reason: i64 = r.get(5)?;
    Ok(QualRow {
        id: r.get(0)?,
        channel: r.get(1)?,
        text: r.get(2)?,
        first_text: r.get(3)?,
        failure_type: r.get(4)?,
        failure_reason: FailureReason::from_code(reason).map(|x| x.label()).unwrap_or("Undefined").to_string(),
        reason_code: reason,
        status: QualStatus::parse(&r.get::<_, String>(6)?).unwrap_or(QualStatus::ToQualify),
        occurrences: r.get(7)?,
        first_seen: format_time(r.get(8)?),
        last_seen: format_time(r.get(9)?),
        rule: r.get(10)?,
        manual: r.get::<_, i64>(11)? != 0,
    })
}

#[derive(Debug, Clone, Copy, Default)]
pub enum Sort {
    #[default]
    Occurrences,
    LastSeen,
}

#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub status: Option<QualStatus>,
    pub channel: Option<String>,
    pub sort: Sort,
    pub limit: Option<u64>,
}

pub fn list(conn: &Connection, f: &ListFilter) -> Result<Vec<QualRow>> {
    let order = match f.sort {
        Sort::Occurrences => "occurrences DESC, last_seen DESC, id",
        Sort::LastSeen => "last_seen DESC, occurrences DESC, id",
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM qualification WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR channel = ?2)
         ORDER BY {order} LIMIT ?3"
    );
    let limit = f.limit.map(|l| l as i64).unwrap_or(-1);
    let mut st = conn.prepare(&sql)?;
    let rows = st
        .query_map(params![f.status.map(|s| s.label()), f.channel, limit], from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn get(conn: &Connection, id: i64) -> Result<QualRow> {
    conn.query_row(&format!("SELECT {COLUMNS} FROM qualification WHERE id = ?1"), [id], from_row)
        .optional()?
        .ok_or_else(|| StoreError::Invalid(format!("no qualification row with id {id}")))
}

/// An operator's correction. Fields left `None` are kept.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub status: Option<QualStatus>,
    pub failure_type: Option<FailureType>,
    pub reason: Option<FailureReason>,
}

/// Apply an operator's correction: the row becomes manual and wins over the rules from now on.
pub fn set(conn: &Connection, id: i64, c: &Change) -> Result<QualRow> {
    let row = get(conn, id)?;
    if c.failure_type == Some(FailureType::None) {
        return Err(StoreError::Invalid("a qualification row describes a failure: type None is not allowed".into()));
    }
    let mut status = c.status.unwrap_or(row.status);
    // Qualifying a row by type or reason takes it out of "To qualify" unless asked otherwise.
    if c.status.is_none() && status == QualStatus::ToQualify && (c.failure_type.is_some() || c.reason.is_some()) {
        status = QualStatus::Keep;
    }
    conn.execute(
        "UPDATE qualification SET status = ?2, failure_type = COALESCE(?3, failure_type),
            failure_reason = COALESCE(?4, failure_reason), manual = 1, rule = 'manual', updated_at = ?5 WHERE id = ?1",
        params![id, status.label(), c.failure_type.map(|t| t.label()), c.reason.map(|r| r.code()), super::now()],
    )?;
    get(conn, id)
}

pub fn reset_count(conn: &Connection, id: i64) -> Result<QualRow> {
    get(conn, id)?;
    conn.execute("UPDATE qualification SET occurrences = 0, updated_at = ?2 WHERE id = ?1", params![id, super::now()])?;
    get(conn, id)
}

/// Re-run the rules over every row not set by hand. Returns (rows examined, rows changed).
pub fn requalify(conn: &mut Connection, rules: &RuleSet) -> Result<(usize, usize)> {
    let tx = conn.transaction()?;
    let mut examined = 0;
    let mut changed = 0;
    {
        let mut st = tx.prepare(
            "SELECT id, first_text, failure_type, failure_reason, status, rule FROM qualification WHERE manual = 0 AND channel = 'email'",
        )?;
        let rows: Vec<(i64, String, String, i64, String, String)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut up = tx.prepare(
            "UPDATE qualification SET failure_type = ?2, failure_reason = ?3, status = ?4, rule = ?5, updated_at = ?6 WHERE id = ?1",
        )?;
        for (id, first_text, t, reason, status, rule) in rows {
            examined += 1;
            let status_code = find_status(&first_text).unwrap_or("");
            let (q, new_rule) = match rules.find(&first_text, status_code) {
                Some(r) => (r.qualification, r.name.clone()),
                None => match qualify_status(status_code) {
                    Some((q, name)) => (q, name),
                    None => (Qualification::UNDEFINED, String::new()),
                },
            };
            if q.failure_type == FailureType::None {
                continue;
            }
            // Keep the kind-level decisions (feedback loop, auto-reply) made at extraction time.
            if rule == "feedback-loop" || rule == "auto-reply" {
                continue;
            }
            let new_status = match QualStatus::parse(&status) {
                Some(QualStatus::Ignore) => QualStatus::Ignore,
                _ if new_rule.is_empty() => QualStatus::ToQualify,
                _ => QualStatus::Keep,
            };
            let old = qualification_from_db(&t, Some(reason));
            if old != q || new_rule != rule || new_status.label() != status {
                up.execute(params![
                    id,
                    q.failure_type.label(),
                    q.reason.unwrap_or(FailureReason::Undefined).code(),
                    new_status.label(),
                    new_rule,
                    super::now()
                ])?;
                changed += 1;
            }
        }
    }
    tx.commit()?;
    Ok((examined, changed))
}

/// The Text a diagnostic is filed under (exposed for tools and tests).
pub fn text_for(diagnostic: &str) -> String {
    normalize(diagnostic)
}
