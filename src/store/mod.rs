//! The SQLite store: messages (deduplicated by fingerprint), bounce events, and the delivery
//! log qualification table. WAL mode, versioned migrations, writes batched in transactions.

pub mod imap_state;
mod migrations;
pub mod qual_history;
pub mod qualification;

pub use qualification::{QualRow, QualStatus};

use crate::extract::ExtractError;
use crate::model::{FailureReason, FailureType, Kind, Qualification};
use crate::pipeline::{Processed, Record};
use rusqlite::{params, CachedStatement, Connection, OptionalExtension, Transaction};
use std::collections::HashMap;
use std::path::Path;

pub type Result<T> = std::result::Result<T, StoreError>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{0}")]
    Invalid(String),
}

/// Where a message came from and its identity, independent of the transport.
#[derive(Debug, Clone)]
pub struct MessageMeta {
    pub source: String,
    pub fingerprint: [u8; 32],
    pub size: u64,
}

/// What recording one message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Seen before (same fingerprint): nothing written.
    Duplicate,
    /// Recorded: events written, qualification rows created.
    Recorded { kind: Kind, events: usize, new_rows: usize, new_to_qualify: usize },
    /// Could not be parsed; recorded with its error so it is never silently lost.
    Failed,
}

/// A recorded event as the quarantine sees it.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub id: i64,
    pub recipient: String,
    pub event_time: i64,
    pub kind: Kind,
    pub qualification_id: Option<i64>,
    pub qualification: Qualification,
    pub row_status: Option<QualStatus>,
    /// `email` or `sms`.
    pub channel: &'static str,
    pub diagnostic: String,
    pub delivery_id: Option<String>,
    pub delivery_log_id: Option<String>,
}

/// Channel → text → qualification row: looked up by borrowed strings, so an event that finds
/// its row builds no key.
type RowCache = HashMap<String, HashMap<String, CachedRow>>;

pub struct Store {
    conn: Connection,
    /// Qualification rows, valid while `data_version` is unchanged.
    cache: RowCache,
    data_version: i64,
    /// Delivery linkage extractors applied to every recorded bounce.
    linker: crate::linkage::Linker,
}

#[derive(Debug, Clone)]
struct CachedRow {
    id: i64,
    qualification: Qualification,
    manual: bool,
    status: QualStatus,
}

pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Unix seconds → RFC 3339 UTC.
pub fn format_time(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// RFC 3339 ("2026-01-02T03:04:05Z"), a date ("2026-01-02", midnight UTC) or unix seconds.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i64>() {
        return Some(n);
    }
    if let Ok(d) = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
        return Some(d.unix_timestamp());
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, &fmt).ok().map(|d| d.midnight().assume_utc().unix_timestamp())
}

pub(crate) fn type_from_db(s: &str) -> FailureType {
    s.parse().unwrap_or(FailureType::Undefined)
}

pub(crate) fn qualification_from_db(t: &str, reason: Option<i64>) -> Qualification {
    Qualification { failure_type: type_from_db(t), reason: reason.and_then(FailureReason::from_code) }
}

impl Store {
    /// Open (creating if needed) and migrate the database.
    pub fn open(path: &Path) -> Result<Store> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Checkpoint the WAL every 64 MiB rather than every 4 MiB: an automatic checkpoint runs
        // inside the commit that crosses the bound, and at the default it stalled the
        // daemon's writer every few batches. The daemon also checkpoints before moving
        // messages and at each maintenance; a replay's WAL is checkpointed when it closes.
        conn.pragma_update(None, "wal_autocheckpoint", 16384)?;
        migrations::migrate(&mut conn)?;
        Ok(Store { conn, cache: HashMap::new(), data_version: -1, linker: Default::default() })
    }

    /// Use these delivery linkage extractors for the messages recorded from now on.
    pub fn set_linker(&mut self, linker: crate::linkage::Linker) {
        self.linker = linker;
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Start a write batch. The row cache is dropped if another process changed the database
    /// (an operator's `qual set` must win at once, also in a running daemon).
    pub fn batch(&mut self) -> Result<Batch<'_>> {
        let dv: i64 = self.conn.query_row("PRAGMA data_version", [], |r| r.get(0))?;
        if dv != self.data_version {
            self.cache.clear();
            self.data_version = dv;
        }
        // `&mut self` is held for the batch's life, so no other transaction can start on this
        // connection: the unchecked constructor lets the batch keep its statements prepared
        // beside the transaction, both borrowing the connection.
        let conn = &self.conn;
        let tx = Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
        Ok(Batch {
            tx: Some(tx),
            insert_message: conn.prepare_cached(INSERT_MESSAGE)?,
            insert_event: conn.prepare_cached(INSERT_EVENT)?,
            cache: &mut self.cache,
            pending: Vec::new(),
            events: Vec::new(),
            counts: HashMap::new(),
            linker: &self.linker,
        })
    }

    pub fn is_known(&self, fingerprint: &[u8; 32]) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM message WHERE fingerprint = ?1")?
            .query_row([&fingerprint[..]], |_| Ok(()))
            .optional()?
            .is_some())
    }
}

const INSERT_MESSAGE: &str = "INSERT INTO message (fingerprint, source, message_id, kind, size, bounce_date, processed_at, error)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (fingerprint) DO NOTHING";

const INSERT_EVENT: &str = "INSERT INTO bounce_event (message_ref, idx, event_time, source, kind, channel, recipient, status,
        reply_code, action, diagnostic, qualification_id, failure_type, failure_reason, rule, bounce_message_id,
        delivery_id, delivery_log_id)
     VALUES (?1, ?2, ?3, ?4, ?5, 'email', ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)";

/// One write transaction. Nothing is visible to others, and nothing counts, until `commit`.
pub struct Batch<'a> {
    /// Always `Some` until `commit` takes it.
    tx: Option<Transaction<'a>>,
    /// The two inserts every message makes, prepared once per batch: looking a statement up in
    /// the connection's cache hashes its SQL text, twice per use.
    insert_message: CachedStatement<'a>,
    insert_event: CachedStatement<'a>,
    cache: &'a mut RowCache,
    /// Cache entries created inside this transaction: dropped on rollback.
    pending: Vec<(String, String)>,
    events: Vec<StoredEvent>,
    /// Occurrences of existing qualification rows seen in this batch: row id → (count, first
    /// and last event time). Written once per row at commit, not once per event.
    counts: HashMap<i64, (i64, i64, i64)>,
    linker: &'a crate::linkage::Linker,
}

impl Batch<'_> {
    pub fn tx(&self) -> &Transaction<'_> {
        self.tx.as_ref().expect("batch used after commit")
    }

    /// Events recorded so far in this batch (for the quarantine and reports).
    pub fn events(&self) -> &[StoredEvent] {
        &self.events
    }

    /// Record one message and its records. Idempotent: a known fingerprint is a `Duplicate`.
    pub fn record(&mut self, meta: &MessageMeta, result: &std::result::Result<Processed, ExtractError>) -> Result<Outcome> {
        let now = now();
        let (kind, message_id, date, error) = match result {
            Ok(p) => (p.analysis.kind.as_str(), p.analysis.message_id.as_str(), p.analysis.date, None),
            Err(e) => ("error", "", None, Some(e.to_string())),
        };
        let inserted =
            self.insert_message.execute(params![&meta.fingerprint[..], meta.source, message_id, kind, meta.size as i64, date, now, error])?;
        if inserted == 0 {
            return Ok(Outcome::Duplicate);
        }
        let message_ref = self.tx().last_insert_rowid();
        let Ok(p) = result else { return Ok(Outcome::Failed) };
        let mut events = 0;
        let mut new_rows = 0;
        let mut new_to_qualify = 0;
        for r in p.records.iter().filter(|r| r.kind != Kind::NotBounce) {
            let event_time = r.bounce.time.or(p.analysis.date).unwrap_or(now);
            let (qid, q, row_status, created) = self.qualification_for(r, "email", event_time, now)?;
            let link = self.linker.link(&p.analysis.original_headers, &r.bounce.diagnostic);
            new_rows += created as usize;
            new_to_qualify += (created && row_status == Some(QualStatus::ToQualify)) as usize;
            self.insert_event.execute(params![
                    message_ref,
                    r.index as i64,
                    event_time,
                    meta.source,
                    r.kind.as_str(),
                    r.bounce.recipient,
                    r.bounce.status,
                    r.bounce.reply_code,
                    r.bounce.action,
                    r.bounce.diagnostic,
                    qid,
                    q.failure_type.label(),
                    q.reason.map(|x| x.code()),
                    r.verdict.rule,
                    p.analysis.message_id,
                    link.delivery_id,
                    link.delivery_log_id,
                ])?;
            self.events.push(StoredEvent {
                id: self.tx().last_insert_rowid(),
                recipient: r.bounce.recipient.clone(),
                event_time,
                kind: r.kind,
                qualification_id: qid,
                qualification: q,
                row_status,
                channel: "email",
                diagnostic: r.bounce.diagnostic.clone(),
                delivery_id: link.delivery_id,
                delivery_log_id: link.delivery_log_id,
            });
            events += 1;
        }
        Ok(Outcome::Recorded { kind: p.analysis.kind, events, new_rows, new_to_qualify })
    }

    /// Record one SMS status report (channel `sms`). Idempotent like `record`: the same report
    /// line (same fingerprint) is a `Duplicate`.
    pub fn record_sms(&mut self, meta: &MessageMeta, sr: &crate::sms::StatusReport) -> Result<Outcome> {
        let now = now();
        let inserted = self
            .tx()
            .prepare_cached(
                "INSERT INTO message (fingerprint, source, message_id, kind, size, bounce_date, processed_at, error)
                 VALUES (?1, ?2, '', 'sr', ?3, ?4, ?5, NULL) ON CONFLICT (fingerprint) DO NOTHING",
            )?
            .execute(params![&meta.fingerprint[..], meta.source, meta.size as i64, sr.time, now])?;
        if inserted == 0 {
            return Ok(Outcome::Duplicate);
        }
        let message_ref = self.tx().last_insert_rowid();
        let event_time = sr.time.unwrap_or(now);
        let r = sr.record();
        let (qid, q, row_status, created) = self.qualification_for(&r, "sms", event_time, now)?;
        self.tx()
            .prepare_cached(
                "INSERT INTO bounce_event (message_ref, idx, event_time, source, kind, channel, recipient, status,
                    reply_code, action, diagnostic, qualification_id, failure_type, failure_reason, rule, bounce_message_id)
                 VALUES (?1, 1, ?2, ?3, 'sr', 'sms', ?4, ?5, ?6, '', ?7, ?8, ?9, ?10, ?11, '')",
            )?
            .execute(params![
                message_ref,
                event_time,
                meta.source,
                sr.phone,
                sr.stat,
                sr.err,
                r.bounce.diagnostic,
                qid,
                q.failure_type.label(),
                q.reason.map(|x| x.code()),
                r.verdict.rule,
            ])?;
        self.events.push(StoredEvent {
            id: self.tx().last_insert_rowid(),
            recipient: sr.phone.clone(),
            event_time,
            kind: r.kind,
            qualification_id: qid,
            qualification: q,
            row_status,
            channel: "sms",
            diagnostic: r.bounce.diagnostic.clone(),
            delivery_id: None,
            delivery_log_id: None,
        });
        Ok(Outcome::Recorded {
            kind: r.kind,
            events: 1,
            new_rows: created as usize,
            new_to_qualify: (created && row_status == Some(QualStatus::ToQualify)) as usize,
        })
    }

    /// Find or create the qualification row of a record and count the occurrence. Returns the
    /// row id, the qualification that applies (a manual row wins over the rules), the row's
    /// status and whether the row is new. Successes get no row.
    fn qualification_for(
        &mut self,
        r: &Record,
        channel: &str,
        event_time: i64,
        now: i64,
    ) -> Result<(Option<i64>, Qualification, Option<QualStatus>, bool)> {
        let verdict_q = r.verdict.qualification;
        if verdict_q.failure_type == FailureType::None {
            return Ok((None, verdict_q, None, false));
        }
        let cached = match self.cache.get(channel).and_then(|rows| rows.get(&r.verdict.text)) {
            Some(c) => Some(c.clone()),
            None => {
                let row = self
                    .tx()
                    .prepare_cached(
                        "SELECT id, failure_type, failure_reason, manual, status FROM qualification WHERE channel = ?1 AND text = ?2",
                    )?
                    .query_row(params![channel, r.verdict.text], |row| {
                        Ok(CachedRow {
                            id: row.get(0)?,
                            qualification: qualification_from_db(&row.get::<_, String>(1)?, row.get(2)?),
                            manual: row.get::<_, i64>(3)? != 0,
                            status: QualStatus::parse(&row.get::<_, String>(4)?).unwrap_or(QualStatus::ToQualify),
                        })
                    })
                    .optional()?;
                if let Some(c) = &row {
                    self.cache.entry(channel.to_string()).or_default().insert(r.verdict.text.clone(), c.clone());
                }
                row
            }
        };
        if let Some(c) = cached {
            let e = self.counts.entry(c.id).or_insert((0, event_time, event_time));
            e.0 += 1;
            e.1 = e.1.min(event_time);
            e.2 = e.2.max(event_time);
            let q = if c.manual { c.qualification } else { verdict_q };
            return Ok((Some(c.id), q, Some(c.status), false));
        }
        let status = if r.verdict.is_qualified() { QualStatus::Keep } else { QualStatus::ToQualify };
        let reason = verdict_q.reason.unwrap_or(FailureReason::Undefined);
        self.tx()
            .prepare_cached(
                "INSERT INTO qualification (channel, text, first_text, failure_type, failure_reason, status, occurrences,
                    first_seen, last_seen, rule, manual, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?7, ?8, 0, ?9)",
            )?
            .execute(params![
                channel,
                r.verdict.text,
                r.bounce.diagnostic,
                verdict_q.failure_type.label(),
                reason.code(),
                status.label(),
                event_time,
                r.verdict.rule,
                now
            ])?;
        let id = self.tx().last_insert_rowid();
        self.cache.entry(channel.to_string()).or_default().insert(r.verdict.text.clone(), CachedRow { id, qualification: verdict_q, manual: false, status });
        self.pending.push((channel.to_string(), r.verdict.text.clone()));
        Ok((Some(id), verdict_q, Some(status), true))
    }

    pub fn commit(mut self) -> Result<Vec<StoredEvent>> {
        for (id, (n, first, last)) in std::mem::take(&mut self.counts) {
            self.tx()
                .prepare_cached(
                    "UPDATE qualification SET occurrences = MIN(occurrences + ?2, 100000),
                        first_seen = MIN(first_seen, ?3), last_seen = MAX(last_seen, ?4) WHERE id = ?1",
                )?
                .execute(params![id, n, first, last])?;
        }
        let events = std::mem::take(&mut self.events);
        self.tx.take().expect("batch committed twice").commit()?;
        self.pending.clear();
        Ok(events)
    }
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        // Rolled back (not committed): rows created in this transaction do not exist.
        for (channel, text) in self.pending.drain(..) {
            if let Some(rows) = self.cache.get_mut(&channel) {
                rows.remove(&text);
            }
        }
    }
}

/// Counts for summaries and `inmail status`.
pub fn count(conn: &Connection, sql: &str) -> Result<i64> {
    Ok(conn.query_row(sql, [], |r| r.get(0))?)
}
