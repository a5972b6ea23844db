//! The database thread: owns the SQLite store and records analyzed batches for every mailbox
//! task, one at a time (SQLite has one writer anyway). Tasks talk to it through a channel and
//! await the answer, so no connection is ever held across an `.await`. Analysis runs on the
//! analysis threads, outside this thread, so that one batch is analyzed while the previous one
//! is written.

use crate::config::Config;
use crate::extract::ExtractError;
use crate::ingest::{analyze_all, record_batch, Stats};
use crate::model::Kind;
use crate::pipeline::Processed;
use crate::rules::RuleSet;
use crate::source::RawMessage;
use crate::store::{imap_state, Outcome, Store};
use std::sync::{mpsc, Arc, RwLock};
use std::time::Duration;
use tokio::sync::oneshot;

/// Where a recorded message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dest {
    /// A bounce (DSN, ARF, auto-reply, plain-text bounce).
    Processed,
    /// Recorded as not a bounce.
    Other,
    /// Could not be parsed (recorded with its error).
    Error,
}

impl Dest {
    fn of_kind(kind: &str) -> Dest {
        match kind {
            "not-bounce" => Dest::Other,
            "error" => Dest::Error,
            _ => Dest::Processed,
        }
    }
}

/// The result of one batch.
#[derive(Debug, Default)]
pub struct BatchResult {
    /// (uid, destination, fingerprint) of every message of the batch, in order.
    pub dests: Vec<(u32, Dest, [u8; 32])>,
    pub recorded: u64,
    pub duplicates: u64,
    pub failed: u64,
    pub not_bounce: u64,
    pub records: u64,
}

/// Marks an error of the database (not of a mailbox): a failed transaction, a database that
/// cannot be written, a stopped database thread. The daemon retries such an error for a bounded
/// time only (`[daemon] database_retry`), then exits with a failure status.
#[derive(Debug, Clone, Copy)]
pub struct DatabaseError;

impl std::fmt::Display for DatabaseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("database error")
    }
}

/// Is this (a context of) a database error?
pub fn is_database_error(e: &anyhow::Error) -> bool {
    e.downcast_ref::<DatabaseError>().is_some()
}

type Reply<T> = oneshot::Sender<anyhow::Result<T>>;

enum Request {
    Begin { mailbox: String, folder: String, uidvalidity: u32, reply: Reply<(u32, bool)> },
    Record { mailbox: String, folder: String, uidvalidity: u32, batch: Analyzed, reply: Reply<BatchResult> },
    Sync { reply: Reply<()> },
    Polled { mailbox: String, folder: String, new_messages: u64 },
    Error { mailbox: String, folder: String, error: String },
}

/// A fetched batch and its analysis, in the same order.
pub struct Analyzed {
    msgs: Vec<(u32, RawMessage)>,
    results: Vec<Result<Processed, ExtractError>>,
}

impl Analyzed {
    pub fn len(&self) -> usize {
        self.msgs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.msgs.is_empty()
    }
}

/// Handle to the database thread and the analysis threads; cheap to clone.
#[derive(Clone)]
pub struct Db {
    tx: mpsc::Sender<Request>,
    /// The rules in force; replaced as a whole on reload (a batch keeps the set it started with).
    rules: Arc<RwLock<Arc<RuleSet>>>,
    threads: usize,
    /// Since when every transaction has failed (None: the last one succeeded).
    failing_since: Arc<std::sync::Mutex<Option<std::time::Instant>>>,
}

impl Db {
    /// Start the thread. It ends when every handle is dropped.
    pub fn start(store: Store, rules: RuleSet, cfg: Config) -> anyhow::Result<(Db, std::thread::JoinHandle<()>)> {
        let threads = match cfg.daemon.threads {
            0 => crate::ingest::cores(),
            n => n,
        };
        let (tx, rx) = mpsc::channel();
        let h = std::thread::Builder::new().name("inmail-db".into()).spawn(move || db_thread(store, cfg, rx))?;
        let failing_since = Arc::new(std::sync::Mutex::new(None));
        Ok((Db { tx, rules: Arc::new(RwLock::new(Arc::new(rules))), threads, failing_since }, h))
    }

    /// Start the analysis threads (at a lower priority, see `lower_analysis_priority`) and build
    /// the extractors' lazily compiled automata now, while the mailboxes connect and log in,
    /// rather than inside the first batch: every analysis thread analyzes the samples once, since
    /// each keeps its own automata caches. The samples are bundled fixtures, one per kind of
    /// message.
    pub fn warm_up(&self) {
        const SAMPLES: [&[u8]; 6] = [
            include_bytes!("../../fixtures/imap/dsn-user-unknown.eml"),
            include_bytes!("../../fixtures/imap/dsn-mailbox-full.eml"),
            include_bytes!("../../fixtures/imap/text-bounce.eml"),
            include_bytes!("../../fixtures/imap/not-bounce.eml"),
            include_bytes!("../../fixtures/cases/unsubscribe.eml"),
            include_bytes!("../../fixtures/cases/vacation.eml"),
        ];
        let (rules, threads) = (self.rules(), self.threads);
        if !crate::ingest::lower_analysis_priority(threads, 10) {
            tracing::debug!("cannot lower the analysis threads' priority");
        }
        std::thread::spawn(move || {
            let msgs: Vec<RawMessage> = SAMPLES
                .iter()
                .map(|raw| crate::source::Collector::whole(raw, "warm-up".into()))
                .collect();
            let refs: Vec<&RawMessage> = msgs.iter().collect();
            crate::ingest::warm_each_thread(&rules, &refs, threads);
        });
    }

    /// The rules in force now (a reload replaces them; whoever holds these keeps them).
    fn rules(&self) -> Arc<RuleSet> {
        self.rules.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Analyze a fetched batch on the analysis threads (CPU work, off the async runtime).
    pub async fn analyze(&self, msgs: Vec<(u32, RawMessage)>) -> anyhow::Result<Analyzed> {
        let (rules, threads) = (self.rules(), self.threads);
        tokio::task::spawn_blocking(move || {
            let refs: Vec<&RawMessage> = msgs.iter().map(|(_, m)| m).collect();
            let results = analyze_all(&rules, &refs, threads);
            Analyzed { msgs, results }
        })
        .await
        .map_err(|e| anyhow::anyhow!("analysis task failed: {e}"))
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Request) -> anyhow::Result<T> {
        let (reply, rx) = oneshot::channel();
        let stopped = || anyhow::anyhow!("database thread stopped").context(DatabaseError);
        self.tx.send(make(reply)).map_err(|_| stopped())?;
        let r = rx.await.map_err(|_| stopped()).and_then(|r| r);
        if let Err(e) = &r {
            self.failed(e);
        }
        r
    }

    /// Note a failed request: the database's failure starts now, unless it had already.
    fn failed(&self, e: &anyhow::Error) {
        if is_database_error(e) {
            self.failing_since.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert_with(std::time::Instant::now);
        }
    }

    /// How long the database has failed every transaction (zero when the last one succeeded).
    pub fn failing_for(&self) -> Duration {
        self.failing_since.lock().unwrap_or_else(|e| e.into_inner()).map(|t| t.elapsed()).unwrap_or_default()
    }

    /// Load (or reset, when UIDVALIDITY changed) the checkpoint: (last UID, was reset).
    pub async fn begin(&self, mailbox: &str, folder: &str, uidvalidity: u32) -> anyhow::Result<(u32, bool)> {
        self.ask(|reply| Request::Begin { mailbox: mailbox.into(), folder: folder.into(), uidvalidity, reply }).await
    }

    /// Record an analyzed batch in one transaction (checkpoint included); returns once committed.
    pub async fn record(&self, mailbox: &str, folder: &str, uidvalidity: u32, batch: Analyzed) -> anyhow::Result<BatchResult> {
        let r = self.ask(|reply| Request::Record { mailbox: mailbox.into(), folder: folder.into(), uidvalidity, batch, reply }).await;
        match &r {
            // A committed batch: the database works (a read alone would not tell).
            Ok(_) => *self.failing_since.lock().unwrap_or_else(|e| e.into_inner()) = None,
            Err(e) => self.failed(e),
        }
        r
    }

    /// Make every committed batch durable before its messages leave the mailbox (a commit with
    /// `synchronous = NORMAL` survives a crash of the process, not a power cut): see
    /// `Store::sync`.
    pub async fn sync(&self) -> anyhow::Result<()> {
        self.ask(|reply| Request::Sync { reply }).await
    }

    pub fn polled(&self, mailbox: &str, folder: &str, new_messages: u64) {
        let _ = self.tx.send(Request::Polled { mailbox: mailbox.into(), folder: folder.into(), new_messages });
    }

    pub fn error(&self, mailbox: &str, folder: &str, error: String) {
        let _ = self.tx.send(Request::Error { mailbox: mailbox.into(), folder: folder.into(), error });
    }

    pub fn set_rules(&self, rules: RuleSet) {
        *self.rules.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(rules);
        tracing::info!("rules reloaded");
    }
}

fn db_thread(mut store: Store, cfg: Config, rx: mpsc::Receiver<Request>) {
    let maintain = Duration::from_secs(cfg.daemon.maintain_interval.max(60));
    let mut next_maintenance = std::time::Instant::now() + maintain;
    loop {
        let wait = next_maintenance.saturating_duration_since(std::time::Instant::now());
        let req = match rx.recv_timeout(wait) {
            Ok(r) => r,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                maintenance(&mut store, &cfg);
                next_maintenance = std::time::Instant::now() + maintain;
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        match req {
            Request::Begin { mailbox, folder, uidvalidity, reply } => {
                let r = imap_state::begin(store.conn(), &mailbox, &folder, uidvalidity)
                    .map_err(|e| anyhow::Error::from(e).context(DatabaseError));
                let _ = reply.send(r);
            }
            Request::Record { mailbox, folder, uidvalidity, batch, reply } => {
                let started = std::time::Instant::now();
                let r = record(&mut store, &cfg, &mailbox, &folder, uidvalidity, batch).map_err(|e| e.context(DatabaseError));
                if r.is_ok() {
                    crate::metrics::global().commit_seconds(started.elapsed().as_secs_f64());
                }
                if r.is_ok() && super::fault::read_only_now() {
                    let _ = store.conn().execute_batch("PRAGMA query_only = ON;");
                }
                let _ = reply.send(r);
            }
            Request::Sync { reply } => {
                let _ = reply.send(store.sync().map_err(|e| anyhow::Error::from(e).context(DatabaseError)));
            }
            Request::Polled { mailbox, folder, new_messages } => {
                if let Err(e) = imap_state::polled(store.conn(), &mailbox, &folder, new_messages) {
                    tracing::warn!(mailbox = %mailbox, error = %e, "cannot update the poll status");
                }
            }
            Request::Error { mailbox, folder, error } => {
                if let Err(e) = imap_state::error(store.conn(), &mailbox, &folder, &error) {
                    tracing::warn!(mailbox = %mailbox, error = %e, "cannot record the last error");
                }
            }
        }
    }
    tracing::debug!("database thread stopped");
}

/// Periodic upkeep: the quarantine's time rules as of now (counter reset after the quiet
/// period, Mailbox full release), then a WAL checkpoint.
fn maintenance(store: &mut Store, cfg: &Config) {
    match crate::quarantine::maintain(store.conn_mut(), &cfg.quarantine, crate::store::now()) {
        Ok(released) if !released.is_empty() => {
            tracing::info!(released = released.len(), "quarantine time rules applied")
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "quarantine maintenance failed"),
    }
    let r = store.conn().execute_batch("PRAGMA wal_checkpoint(PASSIVE); PRAGMA optimize;");
    match r {
        Ok(()) => tracing::debug!("database maintenance done"),
        Err(e) => tracing::warn!(error = %e, "database maintenance failed"),
    }
}

fn record(store: &mut Store, cfg: &Config, mailbox: &str, folder: &str, uidvalidity: u32, batch: Analyzed) -> anyhow::Result<BatchResult> {
    let (uids, raws): (Vec<u32>, Vec<RawMessage>) = batch.msgs.into_iter().unzip();
    let results: Vec<Option<Result<Processed, ExtractError>>> = batch.results.into_iter().map(Some).collect();
    let max_uid = uids.iter().copied().max().unwrap_or(0);
    let mut stats = Stats::default();
    let mut quarantine = crate::cli::quarantine_hook(cfg);
    let mut hook = |b: &crate::store::Batch<'_>, ev: &[crate::store::StoredEvent]| -> crate::store::Result<()> {
        if let Some(q) = quarantine.as_mut() {
            q(b, ev)?;
        }
        imap_state::advance(b.tx(), mailbox, folder, uidvalidity, max_uid)
    };
    let outcomes = record_batch(store, &raws, &results, &mut stats, Some(&mut hook))?;
    let mut res = BatchResult { records: stats.records, ..Default::default() };
    for ((uid, raw), o) in uids.iter().zip(&raws).zip(&outcomes) {
        let dest = match o {
            Outcome::Recorded { kind, .. } => {
                res.recorded += 1;
                if *kind == Kind::NotBounce {
                    res.not_bounce += 1;
                    Dest::Other
                } else {
                    Dest::Processed
                }
            }
            Outcome::Failed => {
                res.failed += 1;
                Dest::Error
            }
            Outcome::Duplicate => {
                res.duplicates += 1;
                // Recorded by an earlier run (crash between commit and move): send it where
                // that run would have.
                match imap_state::known_kind(store.conn(), &raw.fingerprint)? {
                    Some(k) => Dest::of_kind(&k),
                    None => Dest::Processed,
                }
            }
        };
        res.dests.push((*uid, dest, raw.fingerprint));
    }
    imap_state::polled(store.conn(), mailbox, folder, res.recorded + res.failed)?;
    Ok(res)
}
