//! The SQLite store: messages (deduplicated by fingerprint), bounce events, and the delivery
//! log qualification table. WAL mode, versioned migrations, writes batched in transactions.

pub mod imap_state;
mod migrations;
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
    /// A delay notice (RFC 3464 `Action: delayed`): the MTA still tries, nothing failed yet.
    pub delayed: bool,
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

/// Create the database file, when it does not exist, readable by its owner only (0600), or by
/// its owner and `group` too (0640, group set): it holds recipient addresses. SQLite then
/// creates the WAL and shared-memory files with the database file's mode (and owner), so they
/// are private too, whatever the umask. An existing file keeps its mode and owner.
fn create_private(path: &Path, group: Option<&str>) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let gid = match group {
        Some(g) => Some(group_id(g)?),
        None => None,
    };
    let mode = if gid.is_some() { 0o640 } else { 0o600 };
    let f = match std::fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        // Let SQLite report a path it cannot create, with its own message.
        Err(_) => return Ok(()),
    };
    let fail = |what: &str, e: std::io::Error| StoreError::Invalid(format!("{}: {what}: {e}", path.display()));
    if let Some(gid) = gid {
        std::os::unix::fs::fchown(&f, None, Some(gid)).map_err(|e| fail("cannot set the group", e))?;
    }
    // The mode given to open() is masked by the umask: set it exactly.
    f.set_permissions(std::fs::Permissions::from_mode(mode)).map_err(|e| fail("cannot set the mode", e))?;
    Ok(())
}

/// A group name (or number) to its id.
fn group_id(name: &str) -> Result<u32> {
    if let Ok(n) = name.parse::<u32>() {
        return Ok(n);
    }
    let c = std::ffi::CString::new(name).map_err(|_| StoreError::Invalid(format!("db_group {name:?}: not a group name")))?;
    let mut grp: libc::group = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut out: *mut libc::group = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call; the result is only read when `out` is set.
    let r = unsafe { libc::getgrnam_r(c.as_ptr(), &mut grp, buf.as_mut_ptr(), buf.len(), &mut out) };
    if r != 0 || out.is_null() {
        return Err(StoreError::Invalid(format!("db_group {name:?}: no such group")));
    }
    Ok(grp.gr_gid)
}

impl Store {
    /// Open (creating if needed, mode 0600) and migrate the database.
    pub fn open(path: &Path) -> Result<Store> {
        Store::open_as(path, None)
    }

    /// Open (creating if needed: mode 0600, or 0640 with `group` as its group) and migrate the
    /// database.
    pub fn open_as(path: &Path, group: Option<&str>) -> Result<Store> {
        create_private(path, group)?;
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
        // An 8 MiB page cache rather than SQLite's 2 MiB: the fingerprint and recipient indexes
        // take inserts at random places, and with the default cache a batch's dirty pages
        // spilled to the WAL before the commit and were read back (measured on a replay of
        // 73,000 distinct messages: system time halved). A fixed bound: memory stays flat.
        conn.pragma_update(None, "cache_size", -8192)?;
        migrations::migrate(&mut conn)?;
        Ok(Store { conn, cache: HashMap::new(), data_version: -1, linker: Default::default() })
    }

    /// Open an existing database read-only (`SQLITE_OPEN_READ_ONLY`): nothing is created,
    /// migrated or written, so a read-only file or mount, or another user's database, can be
    /// inspected. A database whose schema is older than this inmail is refused (a writing
    /// command upgrades it).
    ///
    /// A WAL database is read through its `-shm` index, which a reader must be able to create
    /// when it is missing: in a directory the user cannot write (another user's database, a
    /// read-only mount), with no `-wal` file (no writer has it open), the file is opened
    /// `immutable`, which needs no index.
    pub fn open_read_only(path: &Path) -> Result<Store> {
        use rusqlite::OpenFlags;
        std::fs::metadata(path).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let open = |uri: &str| -> Result<Connection> {
            let conn = Connection::open_with_flags(uri, flags)?;
            conn.busy_timeout(std::time::Duration::from_secs(30))?;
            migrations::check_current(&conn)?;
            Ok(conn)
        };
        let uri = file_uri(path);
        let conn = match open(&uri) {
            Err(StoreError::Sqlite(e))
                if matches!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::CannotOpen))
                    && !wal_file(path).exists() =>
            {
                open(&format!("{uri}?immutable=1"))?
            }
            other => other?,
        };
        Ok(Store { conn, cache: HashMap::new(), data_version: -1, linker: Default::default() })
    }

    /// Put every committed transaction on disk, whatever other connections do: fsync of the WAL,
    /// the database file and their folder. With `synchronous = NORMAL` a commit is in the WAL
    /// but synced only by a checkpoint, and a reader's snapshot (an operator's `qual list`)
    /// stops a checkpoint from copying, and so from syncing, anything; `PRAGMA
    /// wal_checkpoint(PASSIVE)` then returned without a single fsync. fsync on a descriptor of
    /// our own flushes the file's data written through SQLite's. The daemon calls this before it
    /// moves messages: one sync per move, where `synchronous = FULL` (a sync per commit) cut the
    /// IMAP ingest rate by a third on this project's machine.
    pub fn sync(&self) -> Result<()> {
        let Some(db) = self.conn.path().filter(|p| !p.is_empty()).map(std::path::PathBuf::from) else {
            return Ok(()); // in memory
        };
        let wal = std::path::PathBuf::from(format!("{}-wal", db.display()));
        let folder = db.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
        for p in [&wal, &db, &folder] {
            match std::fs::File::open(p) {
                Ok(f) => f.sync_all().map_err(|e| StoreError::Invalid(format!("fsync {}: {e}", p.display())))?,
                // No WAL: everything is in the database file, synced by the checkpoint that
                // removed the WAL.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && p == &wal => {}
                Err(e) => return Err(StoreError::Invalid(format!("cannot open {} to sync it: {e}", p.display()))),
            }
        }
        Ok(())
    }

    /// Fail now when the database cannot be written: SQLite opens a file it may not write
    /// read-only, and only the first write would fail. Writes nothing.
    pub fn check_writable(&self) -> Result<()> {
        if self.conn.is_readonly(rusqlite::DatabaseName::Main)? {
            return Err(StoreError::Invalid("the database file is read-only to this user (attempt to write a readonly database)".into()));
        }
        Ok(())
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

    /// A second, read-only connection to the same file, for the replay's reading stage to
    /// tell messages already recorded (committed) before they are analyzed. `None` for a
    /// database without a file, and for one that holds no message yet: it can only come to know
    /// the messages of this run, which the writer's unique fingerprint tells anyway (a repeat
    /// far enough from its first copy is then analyzed for nothing, and recorded as a duplicate).
    pub fn known_fingerprints(&self) -> Result<Option<KnownFingerprints>> {
        let Some(path) = self.conn.path().filter(|p| !p.is_empty()) else { return Ok(None) };
        if self.conn.query_row("SELECT NOT EXISTS (SELECT 1 FROM message)", [], |r| r.get::<_, bool>(0))? {
            return Ok(None);
        }
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        Ok(Some(KnownFingerprints { conn }))
    }

    pub fn is_known(&self, fingerprint: &[u8; 32]) -> Result<bool> {
        fingerprint_recorded(&self.conn, fingerprint)
    }
}

/// Whether a message with this fingerprint is in the database (as `conn` sees it).
fn fingerprint_recorded(conn: &Connection, fingerprint: &[u8; 32]) -> Result<bool> {
    Ok(conn.prepare_cached("SELECT 1 FROM message WHERE fingerprint = ?1")?.query_row([&fingerprint[..]], |_| Ok(())).optional()?.is_some())
}

/// Fingerprints already recorded, read on a connection of its own (see
/// `Store::known_fingerprints`). It sees committed transactions only: a message recorded but
/// not yet committed is still analyzed, and the writer then finds it a duplicate.
pub struct KnownFingerprints {
    conn: Connection,
}

impl KnownFingerprints {
    pub fn contains(&self, fingerprint: &[u8; 32]) -> Result<bool> {
        fingerprint_recorded(&self.conn, fingerprint)
    }
}

const INSERT_MESSAGE: &str = "INSERT INTO message (fingerprint, source, message_id, kind, size, bounce_date, processed_at, error)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (fingerprint) DO NOTHING";

const INSERT_EVENT: &str = "INSERT INTO bounce_event (message_ref, idx, event_time, source, kind, channel, recipient, status,
        reply_code, action, diagnostic, qualification_id, failure_type, failure_reason, rule, bounce_message_id,
        delivery_id, delivery_log_id, detail)
     VALUES (?1, ?2, ?3, ?4, ?5, 'email', ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)";

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
                    r.verdict.detail.label(),
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
                delayed: r.bounce.action == "delayed",
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
            delayed: false,
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
                    first_seen, last_seen, rule, manual, updated_at, evidence, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?7, ?8, 0, ?9, ?10, ?11)",
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
                now,
                (channel == "email").then(|| qualification::evidence_json(r.kind, &r.bounce)),
                r.verdict.detail.label(),
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

/// `file:` URI of a path, every byte but unreserved ones and `/` percent-encoded.
fn file_uri(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut uri = String::from("file:");
    for &b in abs.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri
}

fn wal_file(path: &Path) -> std::path::PathBuf {
    let mut p = path.as_os_str().to_os_string();
    p.push("-wal");
    p.into()
}

/// Counts for summaries and `inmail status`.
pub fn count(conn: &Connection, sql: &str) -> Result<i64> {
    Ok(conn.query_row(sql, [], |r| r.get(0))?)
}

#[cfg(test)]
mod file_mode_tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn modes(db: &Path) -> Vec<(String, u32, u32)> {
        ["", "-wal", "-shm"]
            .iter()
            .map(|s| {
                let p = PathBuf::from(format!("{}{s}", db.display()));
                let m = std::fs::metadata(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                (s.to_string(), m.mode() & 0o777, m.gid())
            })
            .collect()
    }

    use std::path::PathBuf;

    /// The database, its WAL and its shared memory are private whatever the umask (the test
    /// process runs with the usual 022, under which SQLite alone creates them 0644).
    #[test]
    fn database_and_wal_are_created_private() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("q.db");
        let store = Store::open(&db).unwrap();
        store.conn().execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);").unwrap();
        for (suffix, mode, _) in modes(&db) {
            assert_eq!(mode, 0o600, "inmail.db{suffix} is {mode:o}");
        }
    }

    #[test]
    fn with_a_group_the_database_is_group_readable() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("q.db");
        // SAFETY: getegid cannot fail.
        let gid = unsafe { libc::getegid() };
        let store = Store::open_as(&db, Some(&gid.to_string())).unwrap();
        store.conn().execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);").unwrap();
        for (suffix, mode, g) in modes(&db) {
            assert_eq!((mode, g), (0o640, gid), "inmail.db{suffix}");
        }
        assert!(Store::open_as(&dir.path().join("r.db"), Some("no-such-group-inmail")).is_err());
    }

    /// An existing database keeps the mode its owner gave it.
    #[test]
    fn an_existing_database_keeps_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("q.db");
        drop(Store::open(&db).unwrap());
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(Store::open(&db).unwrap());
        assert_eq!(std::fs::metadata(&db).unwrap().mode() & 0o777, 0o644);
    }
}
