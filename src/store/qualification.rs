//! The delivery log qualification table: listing, operator corrections, re-running the rules.

use super::{format_time, qualification_from_db, Result, StoreError};
use crate::model::{Bounce, FailureReason, FailureType, Kind};
use crate::normalize::normalize;
use crate::qualify::qualify;
use crate::rules::RuleSet;
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
    /// The fine-grained reason (Sisimai's vocabulary) the rule gave; "" for old rows.
    pub detail: String,
}

pub(crate) const COLUMNS: &str =
    "id, channel, text, first_text, failure_type, failure_reason, status, occurrences, first_seen, last_seen, rule, manual, detail";

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
        detail: r.get(12)?,
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
    set_by(conn, id, c, "operator")
}

/// [`set`], recording who made the change in the row's history.
pub fn set_by(conn: &Connection, id: i64, c: &Change, by: &str) -> Result<QualRow> {
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
    let after = get(conn, id)?;
    let change = RowChange {
        id,
        text: row.text.clone(),
        old_failure_type: row.failure_type,
        old_failure_reason: row.failure_reason,
        old_status: row.status.label().into(),
        old_rule: row.rule,
        new_failure_type: after.failure_type.clone(),
        new_failure_reason: after.failure_reason.clone(),
        new_status: after.status.label().into(),
        new_rule: after.rule.clone(),
    };
    record_history(conn, "set", by, super::now(), &change)?;
    Ok(after)
}

pub fn reset_count(conn: &Connection, id: i64) -> Result<QualRow> {
    get(conn, id)?;
    conn.execute("UPDATE qualification SET occurrences = 0, updated_at = ?2 WHERE id = ?1", params![id, super::now()])?;
    get(conn, id)
}

/// What the rules read when a row was created, as stored in `qualification.evidence`. The
/// bounce is serialized whole (unknown fields are ignored and missing ones default when read
/// back), so evidence written by one version of inmail is read by the next.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Evidence {
    pub kind: String,
    pub bounce: Bounce,
}

impl Evidence {
    pub fn kind(&self) -> Option<Kind> {
        [Kind::Dsn, Kind::Arf, Kind::Autoreply, Kind::Text, Kind::NotBounce].into_iter().find(|k| k.as_str() == self.kind)
    }
}

/// The `evidence` column of a row created by this record.
pub fn evidence_json(kind: Kind, b: &Bounce) -> String {
    #[derive(Serialize)]
    struct Ref<'a> {
        kind: &'a str,
        bounce: &'a Bounce,
    }
    serde_json::to_string(&Ref { kind: kind.as_str(), bounce: b }).unwrap_or_default()
}

/// One row's qualification before and after a change, for `requalify` and the row history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowChange {
    pub id: i64,
    pub text: String,
    pub old_failure_type: String,
    pub old_failure_reason: String,
    pub old_status: String,
    pub old_rule: String,
    pub new_failure_type: String,
    pub new_failure_reason: String,
    pub new_status: String,
    pub new_rule: String,
}

/// What `requalify` did (or would do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct RequalifyReport {
    /// Rows the rules decide (email, not set by hand).
    pub examined: usize,
    pub changed: Vec<RowChange>,
    /// Rows created before evidence was stored (or whose evidence cannot be read): unchanged.
    pub without_evidence: usize,
    /// Rows set by hand: never touched.
    pub manual: usize,
}

/// Re-run the rules on every email row not set by hand, on the evidence of the record that
/// created it, exactly as a fresh replay would (`qualify::qualify`): with unchanged rules nothing
/// changes. Rows without stored evidence are left as they are. With `dry_run` nothing is
/// written; otherwise each change is written with a line in the row's history, in one
/// transaction.
pub fn requalify(conn: &mut Connection, rules: &RuleSet, dry_run: bool, by: &str) -> Result<RequalifyReport> {
    let tx = conn.transaction()?;
    let mut report = RequalifyReport::default();
    {
        report.manual = tx.query_row("SELECT count(*) FROM qualification WHERE manual != 0 AND channel = 'email'", [], |r| {
            r.get::<_, i64>(0)
        })? as usize;
        let mut st = tx.prepare(
            "SELECT id, text, failure_type, failure_reason, status, rule, evidence FROM qualification
             WHERE manual = 0 AND channel = 'email' ORDER BY id",
        )?;
        type Row = (i64, String, String, i64, String, String, Option<String>);
        let rows: Vec<Row> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let now = super::now();
        for (id, text, t, reason, status, rule, evidence) in rows {
            report.examined += 1;
            let Some((kind, bounce)) = evidence
                .as_deref()
                .and_then(|e| serde_json::from_str::<Evidence>(e).ok())
                .and_then(|e| Some((e.kind()?, e.bounce)))
            else {
                report.without_evidence += 1;
                continue;
            };
            let v = qualify(rules, kind, &bounce);
            // A success files no row: a replay would not have created this one either way.
            if v.qualification.failure_type == FailureType::None {
                continue;
            }
            let new_status = match QualStatus::parse(&status) {
                Some(QualStatus::Ignore) => QualStatus::Ignore,
                _ if v.is_qualified() => QualStatus::Keep,
                _ => QualStatus::ToQualify,
            };
            let old = qualification_from_db(&t, Some(reason));
            let new_reason = v.qualification.reason.unwrap_or(FailureReason::Undefined);
            if old == v.qualification && v.rule == rule && new_status.label() == status {
                continue;
            }
            let change = RowChange {
                id,
                text,
                old_failure_type: old.failure_type.label().into(),
                old_failure_reason: reason_label(reason).into(),
                old_status: status,
                old_rule: rule,
                new_failure_type: v.qualification.failure_type.label().into(),
                new_failure_reason: new_reason.label().into(),
                new_status: new_status.label().into(),
                new_rule: v.rule,
            };
            if !dry_run {
                tx.execute(
                    "UPDATE qualification SET failure_type = ?2, failure_reason = ?3, status = ?4, rule = ?5, updated_at = ?6,
                        detail = ?7
                     WHERE id = ?1",
                    params![id, change.new_failure_type, new_reason.code(), change.new_status, change.new_rule, now, v.detail.label()],
                )?;
                record_history(&tx, "requalify", by, now, &change)?;
            }
            report.changed.push(change);
        }
    }
    if dry_run {
        tx.rollback()?;
    } else {
        tx.commit()?;
    }
    Ok(report)
}

fn reason_label(code: i64) -> &'static str {
    FailureReason::from_code(code).map(|r| r.label()).unwrap_or("Undefined")
}

fn record_history(conn: &Connection, action: &str, by: &str, at: i64, c: &RowChange) -> Result<()> {
    let code = |label: &str| FailureReason::parse(label).unwrap_or(FailureReason::Undefined).code();
    conn.execute(
        "INSERT INTO qualification_history (qualification_id, at, action, by, old_failure_type, old_failure_reason, old_status,
            old_rule, new_failure_type, new_failure_reason, new_status, new_rule)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            c.id,
            at,
            action,
            by,
            c.old_failure_type,
            code(&c.old_failure_reason),
            c.old_status,
            c.old_rule,
            c.new_failure_type,
            code(&c.new_failure_reason),
            c.new_status,
            c.new_rule
        ],
    )?;
    Ok(())
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

/// The Text a diagnostic is filed under (exposed for tools and tests).
pub fn text_for(diagnostic: &str) -> String {
    normalize(diagnostic)
}
