//! The per-address quarantine: a pure state machine ([`step`], [`decay`]) and its SQLite side
//! (applying recorded events inside the ingestion transaction, `maintain`, operator releases,
//! import / export). Every status change is written to `quarantine_history`.
//!
//! Rules (spec "Quarantine"): Hard → Quarantine; Soft → With errors, counter +1, Quarantine at
//! the threshold; Ignored / Undefined / a row with status Ignore → nothing; ARF complaint →
//! Denylisted; a delivered DSN releases With errors; With errors goes back to Valid when the
//! last error is older than the reset period, or the Mailbox-full period for Mailbox full.
//! Quarantine and Denylisted are never released automatically. Times are event times.

use crate::config::QuarantineConfig;
use crate::model::{FailureReason, FailureType, Kind};
use crate::store::{format_time, QualStatus, Result, StoreError, StoredEvent};
use rusqlite::{params, params_from_iter, CachedStatement, Connection, OptionalExtension, Row, ToSql};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;

const DAY: i64 = 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QStatus {
    Valid,
    WithErrors,
    Quarantine,
    Denylisted,
}

impl QStatus {
    pub fn label(self) -> &'static str {
        match self {
            QStatus::Valid => "Valid",
            QStatus::WithErrors => "With errors",
            QStatus::Quarantine => "Quarantine",
            QStatus::Denylisted => "Denylisted",
        }
    }
    /// Accepts the label or a slug ("with-errors", "quarantine", "denylisted"), any case.
    pub fn parse(s: &str) -> Option<QStatus> {
        match s.trim().to_ascii_lowercase().replace(['-', '_'], " ").as_str() {
            "valid" => Some(QStatus::Valid),
            "with errors" | "witherrors" | "errors" => Some(QStatus::WithErrors),
            "quarantine" | "quarantined" => Some(QStatus::Quarantine),
            "denylisted" | "denylist" | "blocklisted" => Some(QStatus::Denylisted),
            _ => None,
        }
    }
}

impl fmt::Display for QStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl Serialize for QStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.label())
    }
}

/// The periods and threshold of the state machine, in seconds.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    pub threshold: i64,
    /// 0 = never.
    pub reset_after: i64,
    /// 0 = never.
    pub mailbox_full_after: i64,
}

impl From<&QuarantineConfig> for Params {
    fn from(c: &QuarantineConfig) -> Self {
        Params {
            threshold: c.threshold.max(1),
            reset_after: c.reset_after_days.max(0) * DAY,
            mailbox_full_after: c.mailbox_full_release_days.max(0) * DAY,
        }
    }
}

impl Default for Params {
    fn default() -> Self {
        Params::from(&QuarantineConfig::default())
    }
}

/// The state of one address as the state machine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub status: QStatus,
    pub error_count: i64,
    pub failure_type: Option<FailureType>,
    pub reason: Option<FailureReason>,
    pub error_text: String,
    pub first_error: Option<i64>,
    pub last_error: Option<i64>,
}

impl Default for State {
    fn default() -> Self {
        State {
            status: QStatus::Valid,
            error_count: 0,
            failure_type: None,
            reason: None,
            error_text: String::new(),
            first_error: None,
            last_error: None,
        }
    }
}

/// What one recorded event means to the quarantine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A feedback-loop complaint.
    Complaint { text: String },
    /// A delivered DSN / SMS delivery report.
    Delivered,
    /// A significant failure (Hard or Soft, row not Ignore).
    Failure { failure_type: FailureType, reason: Option<FailureReason>, text: String },
    /// Ignored, Undefined, or a row with status Ignore.
    Nothing,
}

/// Classify a recorded event.
pub fn input_of(kind: Kind, failure_type: FailureType, reason: Option<FailureReason>, row: Option<QualStatus>, text: &str) -> Input {
    if row == Some(QualStatus::Ignore) {
        return Input::Nothing;
    }
    if kind == Kind::Arf {
        return Input::Complaint { text: text.to_string() };
    }
    match failure_type {
        FailureType::None => Input::Delivered,
        FailureType::Hard | FailureType::Soft => Input::Failure { failure_type, reason, text: text.to_string() },
        FailureType::Ignored | FailureType::Undefined => Input::Nothing,
    }
}

/// The time rules as of `now`: With errors → Valid when the last error is older than the reset
/// period, or (Mailbox full) older than the Mailbox-full period. Returns the new state if changed.
pub fn decay(s: &State, now: i64, p: &Params) -> Option<State> {
    if s.status != QStatus::WithErrors {
        return None;
    }
    let last = s.last_error?;
    let age = now - last;
    let reset = p.reset_after > 0 && age > p.reset_after;
    let full = p.mailbox_full_after > 0 && s.reason == Some(FailureReason::MailboxFull) && age > p.mailbox_full_after;
    if reset || full {
        let mut n = s.clone();
        n.status = QStatus::Valid;
        n.error_count = 0;
        Some(n)
    } else {
        None
    }
}

/// Apply one event at `time` to a state (time rules first, lazily, against the previous last
/// error). Returns the new state; equal to the input when nothing changes.
pub fn step(s: &State, input: &Input, time: i64, p: &Params) -> State {
    let mut s = decay(s, time, p).unwrap_or_else(|| s.clone());
    match input {
        Input::Nothing => {}
        Input::Delivered => {
            if s.status == QStatus::WithErrors {
                s.status = QStatus::Valid;
                s.error_count = 0;
            }
        }
        Input::Complaint { text } => {
            if s.status != QStatus::Denylisted {
                s.status = QStatus::Denylisted;
                s.failure_type = Some(FailureType::Hard);
                s.reason = Some(FailureReason::Refused);
                s.error_text = text.clone();
                s.first_error.get_or_insert(time);
                s.last_error = Some(s.last_error.map_or(time, |l| l.max(time)));
            }
        }
        Input::Failure { failure_type, reason, text } => {
            if s.status == QStatus::Denylisted {
                return s;
            }
            if s.status == QStatus::Valid {
                s.first_error = Some(time);
                s.error_count = 0;
            } else {
                s.first_error = Some(s.first_error.map_or(time, |f| f.min(time)));
            }
            s.error_count += 1;
            s.failure_type = Some(*failure_type);
            s.reason = *reason;
            s.error_text = text.clone();
            s.last_error = Some(s.last_error.map_or(time, |l| l.max(time)));
            s.status = match (s.status, failure_type) {
                (QStatus::Quarantine, _) | (_, FailureType::Hard) => QStatus::Quarantine,
                _ if s.error_count >= p.threshold => QStatus::Quarantine,
                _ => QStatus::WithErrors,
            };
        }
    }
    s
}

/// The comparison key of an address.
pub fn key(address: &str, cfg: &QuarantineConfig) -> String {
    let a = address.trim();
    if cfg.case_insensitive {
        a.to_lowercase()
    } else {
        a.to_string()
    }
}

/// One quarantine entry as operators see it.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub address: String,
    pub channel: String,
    pub status: QStatus,
    pub error_count: i64,
    pub failure_type: Option<String>,
    pub failure_reason: Option<String>,
    pub reason_code: Option<i64>,
    pub error_text: String,
    pub first_error: Option<String>,
    pub last_error: Option<String>,
    pub last_modified: String,
    pub qualification_id: Option<i64>,
    pub event_id: Option<i64>,
    pub delivery_id: Option<String>,
    pub delivery_log_id: Option<String>,
}

pub(crate) const COLUMNS: &str = "address, channel, status, error_count, failure_type, failure_reason, error_text, first_error, \
     last_error, last_modified, qualification_id, event_id, delivery_id, delivery_log_id";

pub(crate) fn entry_from_row(r: &Row) -> rusqlite::Result<Entry> {
    let reason: Option<i64> = r.get(5)?;
    Ok(Entry {
        address: r.get(0)?,
        channel: r.get(1)?,
        status: QStatus::parse(&r.get::<_, String>(2)?).unwrap_or(QStatus::Valid),
        error_count: r.get(3)?,
        failure_type: r.get(4)?,
        failure_reason: reason.map(|c| FailureReason::from_code(c).map(|x| x.label()).unwrap_or("Undefined").to_string()),
        reason_code: reason,
        error_text: r.get(6)?,
        first_error: r.get::<_, Option<i64>>(7)?.map(format_time),
        last_error: r.get::<_, Option<i64>>(8)?.map(format_time),
        last_modified: format_time(r.get(9)?),
        qualification_id: r.get(10)?,
        event_id: r.get(11)?,
        delivery_id: r.get(12)?,
        delivery_log_id: r.get(13)?,
    })
}

fn state_from_row(r: &Row) -> rusqlite::Result<State> {
    Ok(State {
        status: QStatus::parse(&r.get::<_, String>(0)?).unwrap_or(QStatus::Valid),
        error_count: r.get(1)?,
        failure_type: r.get::<_, Option<String>>(2)?.and_then(|t| t.parse().ok()),
        reason: r.get::<_, Option<i64>>(3)?.and_then(FailureReason::from_code),
        error_text: r.get(4)?,
        first_error: r.get(5)?,
        last_error: r.get(6)?,
    })
}

const LOAD_STATE: &str = "SELECT status, error_count, failure_type, failure_reason, error_text, first_error, last_error, id
     FROM quarantine WHERE address = ?1";

const INSERT_HISTORY: &str = "INSERT INTO quarantine_history (address, at, old_status, new_status, action, by, reason, event_id)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

fn load_state(conn: &Connection, key: &str) -> Result<Option<State>> {
    Ok(conn.prepare_cached(LOAD_STATE)?.query_row([key], state_from_row).optional()?)
}

#[allow(clippy::too_many_arguments)]
fn history(conn: &Connection, address: &str, at: i64, old: Option<QStatus>, new: QStatus, action: &str, by: &str, why: &str, event: Option<i64>) -> Result<()> {
    history_with(&mut conn.prepare_cached(INSERT_HISTORY)?, address, at, old, new, action, by, why, event)
}

#[allow(clippy::too_many_arguments)]
fn history_with(st: &mut CachedStatement<'_>, address: &str, at: i64, old: Option<QStatus>, new: QStatus, action: &str, by: &str, why: &str, event: Option<i64>) -> Result<()> {
    st.execute(params![address, at, old.map(|s| s.label()), new.label(), action, by, why, event])?;
    Ok(())
}

/// One address's entry while a batch of events is applied: read once, written once.
struct Pending<'e> {
    /// As stored before this batch (`None`: no entry), and its row id.
    stored: Option<(State, i64)>,
    current: Option<State>,
    /// The event whose change was the last one, and the last significant event (its error is
    /// the one the entry shows), if any in this batch.
    last: Option<&'e StoredEvent>,
    significant: Option<&'e StoredEvent>,
}

/// Apply recorded events to the quarantine, in event-time order. Runs inside the ingestion
/// transaction (the `conn` is the batch's transaction). Returns the number of changes (an
/// address stepped by several events counts each).
pub fn apply_events(conn: &Connection, cfg: &QuarantineConfig, events: &[StoredEvent]) -> Result<usize> {
    let p = Params::from(cfg);
    // A delay notice says the MTA still tries: it moves nobody toward quarantine unless the
    // configuration counts delays.
    let mut order: Vec<&StoredEvent> =
        events.iter().filter(|e| !e.recipient.trim().is_empty() && (!e.delayed || cfg.count_delays)).collect();
    order.sort_by_key(|e| (e.event_time, e.id));
    // A batch often carries many events for one address (or a few addresses): each entry is
    // read once, stepped through its events in order, and written once at the end.
    // Entries in order of their first event, so new entries get their row ids in event order
    // (the same database whatever the thread count), with an index by key.
    let mut pending: Vec<(String, Pending<'_>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut changed = 0;
    // Prepared once for the whole batch (a cache lookup per use hashes the SQL text).
    let (mut load, mut hist) = (conn.prepare_cached(LOAD_STATE)?, conn.prepare_cached(INSERT_HISTORY)?);
    for e in order {
        let input = input_of(e.kind, e.qualification.failure_type, e.qualification.reason, e.row_status, &e.diagnostic);
        let k = key(&e.recipient, cfg);
        let at = match index.get(&k) {
            Some(&i) => i,
            None => {
                let stored = load.query_row([&k], |r| Ok((state_from_row(r)?, r.get::<_, i64>(7)?))).optional()?;
                pending.push((k.clone(), Pending { current: stored.as_ref().map(|s| s.0.clone()), stored, last: None, significant: None }));
                index.insert(k.clone(), pending.len() - 1);
                pending.len() - 1
            }
        };
        let entry = &mut pending[at].1;
        if entry.current.is_none() && !matches!(input, Input::Failure { .. } | Input::Complaint { .. }) {
            continue; // a success or an ignored error for an unknown address: nothing to keep
        }
        let base = entry.current.clone().unwrap_or_default();
        let new = step(&base, &input, e.event_time, &p);
        if entry.current.as_ref() == Some(&new) {
            continue;
        }
        if matches!(input, Input::Failure { .. } | Input::Complaint { .. }) && new.last_error == Some(e.event_time) {
            entry.significant = Some(e);
        }
        let old_status = entry.current.as_ref().map(|o| o.status);
        if old_status != Some(new.status) {
            history_with(&mut hist, &k, e.event_time, old_status, new.status, "event", "inmail", "", Some(e.id))?;
        }
        entry.current = Some(new);
        entry.last = Some(e);
        changed += 1;
    }
    // The load above told whether each entry exists: a new one is inserted, an existing one is
    // updated by its row id, setting the event's columns only when a significant event moved it
    // (an UPSERT first tries the insert, finds the address taken, then updates: 45% more
    // instructions). Parameters: the entry's state ?1-?8, the significant event's columns
    // ?9-?12, then the key.
    let mut insert = conn.prepare_cached(
        "INSERT INTO quarantine (status, error_count, error_text, failure_type, failure_reason, first_error, last_error,
            last_modified, qualification_id, event_id, delivery_id, delivery_log_id, address, channel)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?;
    let mut update_state = conn.prepare_cached(
        "UPDATE quarantine SET status = ?1, error_count = ?2, error_text = ?3, failure_type = ?4, failure_reason = ?5,
            first_error = ?6, last_error = ?7, last_modified = ?8 WHERE id = ?9",
    )?;
    let mut update_with_event = conn.prepare_cached(
        "UPDATE quarantine SET status = ?1, error_count = ?2, error_text = ?3, failure_type = ?4, failure_reason = ?5,
            first_error = ?6, last_error = ?7, last_modified = ?8, qualification_id = ?9, event_id = ?10,
            delivery_id = ?11, delivery_log_id = ?12 WHERE id = ?13",
    )?;
    for (address, entry) in &pending {
        let (Some(new), Some(last)) = (&entry.current, entry.last) else { continue };
        let sig = entry.significant;
        let (status, kind, reason) = (new.status.label(), new.failure_type.map(|t| t.label()), new.reason.map(|r| r.code()));
        let state: [&dyn ToSql; 8] =
            [&status, &new.error_count, &new.error_text, &kind, &reason, &new.first_error, &new.last_error, &last.event_time];
        let (qualification, event) = (sig.and_then(|e| e.qualification_id), sig.map(|e| e.id));
        let (delivery, delivery_log) = (sig.and_then(|e| e.delivery_id.as_deref()), sig.and_then(|e| e.delivery_log_id.as_deref()));
        let event_columns: [&dyn ToSql; 4] = [&qualification, &event, &delivery, &delivery_log];
        let channel = sig.unwrap_or(last).channel;
        match (&entry.stored, sig) {
            (Some((stored, _)), _) if stored == new => 0,
            (Some((_, id)), None) => update_state.execute(params_from_iter(state.into_iter().chain([id as &dyn ToSql])))?,
            (Some((_, id)), Some(_)) => {
                update_with_event.execute(params_from_iter(state.into_iter().chain(event_columns).chain([id as &dyn ToSql])))?
            }
            (None, _) => insert.execute(params_from_iter(state.into_iter().chain(event_columns).chain([address as &dyn ToSql, &channel])))?,
        };
    }
    Ok(changed)
}

/// Apply the time rules as of `now` to every entry With errors. Returns the addresses released.
pub fn maintain(conn: &mut Connection, cfg: &QuarantineConfig, now: i64) -> Result<Vec<String>> {
    let p = Params::from(cfg);
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut released = Vec::new();
    {
        let mut st = tx.prepare(
            "SELECT status, error_count, failure_type, failure_reason, error_text, first_error, last_error, address
             FROM quarantine WHERE status = 'With errors'",
        )?;
        let rows: Vec<(State, String)> =
            st.query_map([], |r| Ok((state_from_row(r)?, r.get(7)?)))?.collect::<rusqlite::Result<_>>()?;
        for (s, address) in rows {
            if let Some(n) = decay(&s, now, &p) {
                // The change happened when the period ran out, not when maintain noticed it.
                let at = s.last_error.map(|l| {
                    let period = if n.reason == Some(FailureReason::MailboxFull) && p.mailbox_full_after > 0 && (p.reset_after == 0 || p.mailbox_full_after < p.reset_after) {
                        p.mailbox_full_after
                    } else {
                        p.reset_after
                    };
                    (l + period).min(now)
                }).unwrap_or(now);
                tx.execute(
                    "UPDATE quarantine SET status = ?2, error_count = ?3, last_modified = ?4 WHERE address = ?1",
                    params![address, n.status.label(), n.error_count, at],
                )?;
                history(&tx, &address, at, Some(s.status), n.status, "maintain", "inmail", "time rule", None)?;
                released.push(address);
            }
        }
    }
    tx.commit()?;
    Ok(released)
}

/// Filters of `quarantine list` and of bulk release. All given filters must match; several
/// domains are alternatives.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub statuses: Vec<QStatus>,
    pub domains: Vec<String>,
    pub text_contains: Option<String>,
    pub modified_after: Option<i64>,
    pub modified_before: Option<i64>,
    pub addresses: Vec<String>,
    pub qualification_id: Option<i64>,
}

/// Entries matching a filter, most recently modified first.
pub fn list(conn: &Connection, f: &Filter) -> Result<Vec<Entry>> {
    // Named addresses and a qualification row are looked up by their index, not by reading the
    // whole table (a release of a few addresses out of a million entries).
    let mut rows = if !f.addresses.is_empty() {
        let mut st = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM quarantine WHERE address = ?1"))?;
        let mut v = Vec::new();
        for a in &f.addresses {
            v.extend(st.query_row([a], entry_from_row).optional()?);
        }
        v.sort_by(|a, b| b.last_modified.cmp(&a.last_modified).then_with(|| a.address.cmp(&b.address)));
        v.dedup_by(|a, b| a.address == b.address);
        v
    } else if let Some(q) = f.qualification_id {
        let mut st = conn.prepare(&format!("SELECT {COLUMNS} FROM quarantine WHERE qualification_id = ?1 ORDER BY last_modified DESC, address"))?;
        let v = st.query_map([q], entry_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        v
    } else {
        let mut st = conn.prepare(&format!("SELECT {COLUMNS} FROM quarantine ORDER BY last_modified DESC, address"))?;
        let v = st.query_map([], entry_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        v
    };
    rows.retain(|e| matches(e, f));
    Ok(rows)
}

fn domain_of(address: &str) -> &str {
    address.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
}

fn matches(e: &Entry, f: &Filter) -> bool {
    if !f.statuses.is_empty() && !f.statuses.contains(&e.status) {
        return false;
    }
    if !f.domains.is_empty() {
        let d = domain_of(&e.address).to_ascii_lowercase();
        if !f.domains.iter().any(|w| w.trim().trim_start_matches('@').eq_ignore_ascii_case(&d)) {
            return false;
        }
    }
    if let Some(t) = &f.text_contains {
        if !e.error_text.to_lowercase().contains(&t.to_lowercase()) {
            return false;
        }
    }
    let modified = crate::store::parse_time(&e.last_modified).unwrap_or(0);
    if f.modified_after.is_some_and(|a| modified < a) || f.modified_before.is_some_and(|b| modified > b) {
        return false;
    }
    if !f.addresses.is_empty() && !f.addresses.iter().any(|a| a == &e.address) {
        return false;
    }
    if f.qualification_id.is_some() && f.qualification_id != e.qualification_id {
        return false;
    }
    true
}

pub fn get(conn: &Connection, address: &str, cfg: &QuarantineConfig) -> Result<Option<Entry>> {
    Ok(conn
        .query_row(&format!("SELECT {COLUMNS} FROM quarantine WHERE address = ?1"), [key(address, cfg)], entry_from_row)
        .optional()?)
}

/// One bounce of an address, for `quarantine show`.
#[derive(Debug, Clone, Serialize)]
pub struct BounceLine {
    pub event_id: i64,
    pub event_time: String,
    pub kind: String,
    pub failure_type: String,
    pub failure_reason: Option<String>,
    pub qualification_id: Option<i64>,
    pub diagnostic: String,
    pub delivery_id: Option<String>,
    pub source: String,
}

pub fn bounces(conn: &Connection, address: &str, cfg: &QuarantineConfig) -> Result<Vec<BounceLine>> {
    let sql = if cfg.case_insensitive {
        "SELECT id, event_time, kind, failure_type, failure_reason, qualification_id, diagnostic, delivery_id, source
         FROM bounce_event WHERE lower(recipient) = ?1 ORDER BY event_time, id"
    } else {
        "SELECT id, event_time, kind, failure_type, failure_reason, qualification_id, diagnostic, delivery_id, source
         FROM bounce_event WHERE recipient = ?1 ORDER BY event_time, id"
    };
    let mut st = conn.prepare(sql)?;
    let rows = st
        .query_map([key(address, cfg)], |r| {
            Ok(BounceLine {
                event_id: r.get(0)?,
                event_time: format_time(r.get(1)?),
                kind: r.get(2)?,
                failure_type: r.get(3)?,
                failure_reason: r.get::<_, Option<i64>>(4)?.and_then(FailureReason::from_code).map(|x| x.label().to_string()),
                qualification_id: r.get(5)?,
                diagnostic: r.get(6)?,
                delivery_id: r.get(7)?,
                source: r.get(8)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// One line of an entry's status history.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryLine {
    pub at: String,
    pub old_status: Option<String>,
    pub new_status: String,
    pub action: String,
    pub by: String,
    pub reason: String,
}

/// A history line from the columns at, old_status, new_status, action, by, reason (in order).
fn history_line(r: &rusqlite::Row) -> rusqlite::Result<HistoryLine> {
    Ok(HistoryLine { at: format_time(r.get(0)?), old_status: r.get(1)?, new_status: r.get(2)?, action: r.get(3)?, by: r.get(4)?, reason: r.get(5)? })
}

pub fn history_of(conn: &Connection, address: &str, cfg: &QuarantineConfig) -> Result<Vec<HistoryLine>> {
    let mut st = conn.prepare(
        "SELECT at, old_status, new_status, action, by, reason FROM quarantine_history WHERE address = ?1 ORDER BY at, id",
    )?;
    let rows = st
        .query_map([key(address, cfg)], history_line)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Who and why, for the audit trail.
#[derive(Debug, Clone)]
pub struct Audit {
    pub by: String,
    pub reason: String,
    pub now: i64,
}

/// Release (status → Valid, counter 0) every non-Valid entry matching the filter. With
/// `dry_run` nothing is written. Returns the entries that are (or would be) released.
/// `dry_run` reads only (it works on a read-only database) and returns the entries as they are;
/// a real release returns them as they are after it.
pub fn release(conn: &mut Connection, f: &Filter, audit: &Audit, dry_run: bool) -> Result<Vec<Entry>> {
    if dry_run {
        let tx = conn.transaction()?;
        let targets: Vec<Entry> = list(&tx, f)?.into_iter().filter(|e| e.status != QStatus::Valid).collect();
        tx.rollback()?;
        return Ok(targets);
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let targets: Vec<Entry> = list(&tx, f)?.into_iter().filter(|e| e.status != QStatus::Valid).collect();
    let mut after = Vec::with_capacity(targets.len());
    for e in &targets {
        tx.execute(
            "UPDATE quarantine SET status = 'Valid', error_count = 0, last_modified = ?2 WHERE address = ?1",
            params![e.address, audit.now],
        )?;
        history(&tx, &e.address, audit.now, Some(e.status), QStatus::Valid, "release", &audit.by, &audit.reason, None)?;
        after.push(tx.query_row(&format!("SELECT {COLUMNS} FROM quarantine WHERE address = ?1"), [&e.address], entry_from_row)?);
    }
    tx.commit()?;
    Ok(after)
}

/// What set an entry's current status: the last change into it (an event, a release, an
/// import, a time rule), and the bounce when an event did it.
#[derive(Debug, Clone, Serialize)]
pub struct StatusCause {
    pub change: HistoryLine,
    pub bounce: Option<BounceLine>,
}

pub fn status_cause(conn: &Connection, address: &str, cfg: &QuarantineConfig) -> Result<Option<StatusCause>> {
    let k = key(address, cfg);
    let row = conn
        .query_row(
            "SELECT h.at, h.old_status, h.new_status, h.action, h.by, h.reason, h.event_id FROM quarantine_history h
             JOIN quarantine q ON q.address = h.address AND q.status = h.new_status
             WHERE h.address = ?1 ORDER BY h.at DESC, h.id DESC LIMIT 1",
            [&k],
            |r| {
                Ok((
                    history_line(r)?,
                    r.get::<_, Option<i64>>(6)?,
                ))
            },
        )
        .optional()?;
    let Some((change, event)) = row else { return Ok(None) };
    let bounce = match event {
        Some(id) => bounces(conn, address, cfg)?.into_iter().find(|b| b.event_id == id),
        None => None,
    };
    Ok(Some(StatusCause { change, bounce }))
}

/// Add addresses as Denylisted (import from a list). Returns (added or changed, already denylisted).
pub fn import_denylist(conn: &mut Connection, cfg: &QuarantineConfig, addresses: &[String], audit: &Audit) -> Result<(usize, usize)> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut changed = 0;
    let mut same = 0;
    for a in addresses {
        let k = key(a, cfg);
        if k.is_empty() {
            continue;
        }
        let old = load_state(&tx, &k)?;
        if old.as_ref().map(|o| o.status) == Some(QStatus::Denylisted) {
            same += 1;
            continue;
        }
        let channel = if k.contains('@') { "email" } else { "sms" };
        tx.execute(
            "INSERT INTO quarantine (address, channel, status, error_count, error_text, failure_type, failure_reason, last_modified)
             VALUES (?1, ?2, 'Denylisted', 0, ?3, 'Hard', ?4, ?5)
             ON CONFLICT (address) DO UPDATE SET status = 'Denylisted', error_text = ?3, failure_type = 'Hard',
                failure_reason = ?4, last_modified = ?5",
            params![k, channel, format!("imported: {}", audit.reason), FailureReason::AddressOnDenylist.code(), audit.now],
        )?;
        history(&tx, &k, audit.now, old.map(|o| o.status), QStatus::Denylisted, "import", &audit.by, &audit.reason, None)?;
        changed += 1;
    }
    tx.commit()?;
    Ok((changed, same))
}

/// An email address (`local@domain.tld`) or an E.164 phone number (`+` and 8 to 15 digits).
pub fn is_address_or_phone(s: &str) -> bool {
    if let Some(digits) = s.strip_prefix('+') {
        return (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0');
    }
    let Some((local, domain)) = s.rsplit_once('@') else { return false };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '@' | '"'));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty() && l.len() <= 63 && !l.starts_with('-') && !l.ends_with('-') && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels.last().is_some_and(|tld| tld.chars().all(char::is_alphabetic) || tld.starts_with("xn--"));
    local_ok && domain_ok
}

/// Column names that hold the address in a list with a header line.
const ADDRESS_COLUMNS: &[&str] = &["address", "email", "e-mail", "mail", "email_address", "phone", "mobile", "recipient"];

/// Read an address list: one address per line, or CSV (`,`, `;` or tab). Blank lines and `#`
/// comments are skipped. The first line is a header when it names a column `address`,
/// `email`, `phone`… and holds no address: that column is read (else the first).
/// Every value must be an email address or an E.164 phone number: the first that is not is an
/// error naming its line, and nothing is returned.
pub fn read_address_list(text: &str) -> std::result::Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    let mut column: Option<usize> = None;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim().trim_start_matches('\u{feff}');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cells: Vec<&str> = line.split([',', ';', '\t']).map(|c| c.trim().trim_matches('"').trim()).collect();
        let col = match column {
            Some(c) => c,
            None => {
                let named = cells.iter().position(|c| ADDRESS_COLUMNS.contains(&c.to_ascii_lowercase().as_str()));
                let header = named.filter(|_| !cells.iter().any(|c| is_address_or_phone(c)));
                column = Some(header.unwrap_or(0));
                if header.is_some() {
                    continue;
                }
                0
            }
        };
        let value = cells.get(col).copied().unwrap_or("");
        if !is_address_or_phone(value) {
            return Err(StoreError::Invalid(format!(
                "line {}: not an email address or E.164 phone number (+ and 8 to 15 digits): {value:?}",
                i + 1
            )));
        }
        out.push(value.to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_767_225_600; // 2026-01-01
    fn soft(reason: FailureReason) -> Input {
        Input::Failure { failure_type: FailureType::Soft, reason: Some(reason), text: "x".into() }
    }
    fn hard() -> Input {
        Input::Failure { failure_type: FailureType::Hard, reason: Some(FailureReason::UserUnknown), text: "unknown".into() }
    }

    #[test]
    fn five_soft_bounces_quarantine() {
        let p = Params::default();
        let mut s = State::default();
        for i in 0..4 {
            s = step(&s, &soft(FailureReason::Unreachable), T0 + i * 15 * 3600, &p);
            assert_eq!(s.status, QStatus::WithErrors);
            assert_eq!(s.error_count, i + 1);
        }
        s = step(&s, &soft(FailureReason::Unreachable), T0 + 3 * DAY, &p);
        assert_eq!(s.status, QStatus::Quarantine);
        assert_eq!(s.error_count, 5);
        assert_eq!(s.first_error, Some(T0));
    }

    #[test]
    fn hard_is_immediate_and_not_released_by_success_or_time() {
        let p = Params::default();
        let s = step(&State::default(), &hard(), T0, &p);
        assert_eq!(s.status, QStatus::Quarantine);
        let s = step(&s, &Input::Delivered, T0 + DAY, &p);
        assert_eq!(s.status, QStatus::Quarantine);
        assert!(decay(&s, T0 + 400 * DAY, &p).is_none());
    }

    #[test]
    fn delivered_releases_with_errors() {
        let p = Params::default();
        let s = step(&State::default(), &soft(FailureReason::Unreachable), T0, &p);
        let s = step(&s, &Input::Delivered, T0 + 60, &p);
        assert_eq!((s.status, s.error_count), (QStatus::Valid, 0));
    }

    #[test]
    fn reset_after_ten_days_lazily_and_by_decay() {
        let p = Params::default();
        let mut s = State::default();
        for i in 0..4 {
            s = step(&s, &soft(FailureReason::Unreachable), T0 + i * 3600, &p);
        }
        assert!(decay(&s, T0 + 3 * 3600 + 10 * DAY, &p).is_none(), "exactly 10 days is not more than 10");
        assert_eq!(decay(&s, T0 + 11 * DAY, &p).unwrap().status, QStatus::Valid);
        // Lazily: a fifth soft bounce 11 days later starts a new count instead of quarantining.
        let s2 = step(&s, &soft(FailureReason::Unreachable), T0 + 11 * DAY, &p);
        assert_eq!((s2.status, s2.error_count), (QStatus::WithErrors, 1));
    }

    #[test]
    fn mailbox_full_released_after_thirty_days() {
        let p = Params { threshold: 5, reset_after: 0, mailbox_full_after: 30 * DAY };
        let s = step(&State::default(), &soft(FailureReason::MailboxFull), T0, &p);
        assert!(decay(&s, T0 + 20 * DAY, &p).is_none());
        assert_eq!(decay(&s, T0 + 31 * DAY, &p).unwrap().status, QStatus::Valid);
        let s = step(&State::default(), &soft(FailureReason::Unreachable), T0, &p);
        assert!(decay(&s, T0 + 31 * DAY, &p).is_none(), "only Mailbox full has the 30-day rule");
    }

    #[test]
    fn complaint_denylists_for_good() {
        let p = Params::default();
        let s = step(&State::default(), &Input::Complaint { text: "abuse".into() }, T0, &p);
        assert_eq!(s.status, QStatus::Denylisted);
        let s = step(&s, &Input::Delivered, T0 + DAY, &p);
        let s = step(&s, &hard(), T0 + 2 * DAY, &p);
        assert_eq!(s.status, QStatus::Denylisted);
        assert!(decay(&s, T0 + 100 * DAY, &p).is_none());
    }

    #[test]
    fn ignored_rows_and_types_do_nothing() {
        assert_eq!(input_of(Kind::Dsn, FailureType::Hard, None, Some(QualStatus::Ignore), "x"), Input::Nothing);
        assert_eq!(input_of(Kind::Arf, FailureType::Hard, None, Some(QualStatus::Ignore), "x"), Input::Nothing);
        assert_eq!(input_of(Kind::Autoreply, FailureType::Ignored, None, Some(QualStatus::Keep), "x"), Input::Nothing);
        assert_eq!(input_of(Kind::Dsn, FailureType::Undefined, None, Some(QualStatus::ToQualify), "x"), Input::Nothing);
        let s = step(&State::default(), &Input::Nothing, T0, &Params::default());
        assert_eq!(s, State::default());
    }

    #[test]
    fn address_lists() {
        let l = read_address_list("# c\naddress,name\n\nA@Example.com,x\n\"b@example.com\";y\n+33612345678\n").unwrap();
        assert_eq!(l, vec!["A@Example.com", "b@example.com", "+33612345678"]);
        assert!(read_address_list("not an address\n").is_err());
        // A header naming the column; the values of other columns are never taken.
        let l = read_address_list("id,email,date\n1,a@example.com,2026-01-01\n2,+33612345678,x\n").unwrap();
        assert_eq!(l, vec!["a@example.com", "+33612345678"]);
        for junk in ["1\n", "id\n", "word\n", "a@b\n", "+12\n", "a@example.com\nx@y\n", "x@exa mple.com\n"] {
            assert!(read_address_list(junk).is_err(), "{junk:?}");
        }
        let e = read_address_list("address\nok@example.com\n2\n").unwrap_err().to_string();
        assert!(e.contains("line 3"), "{e}");
        assert_eq!(key(" A@Example.COM ", &QuarantineConfig::default()), "a@example.com");
    }
}
