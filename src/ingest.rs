//! Batch ingestion shared by `replay` and the daemon: messages are analyzed in parallel (pure
//! CPU work), then recorded by one writer in one transaction. A batch is all-or-nothing.

use crate::extract::ExtractError;
use crate::pipeline::{process, Processed};
use crate::rules::RuleSet;
use crate::source::RawMessage;
use crate::stages::Slot;
use crate::store::{Batch, MessageMeta, Outcome, Store, StoredEvent};
use std::collections::{BTreeMap, HashSet};

/// One more of `key` (a key already counted costs no allocation).
fn count(map: &mut BTreeMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_string(), 1);
        }
    }
}

/// Running totals of an ingestion, for summaries and logs.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Stats {
    pub messages: u64,
    pub duplicates: u64,
    pub recorded: u64,
    pub records: u64,
    pub by_kind: BTreeMap<String, u64>,
    /// "Type / Reason" → count of records.
    pub by_type_reason: BTreeMap<String, u64>,
    pub new_rows: u64,
    pub new_rows_to_qualify: u64,
    /// (source, error) of every message that could not be parsed or read.
    pub failed: Vec<(String, String)>,
    /// (source, error) of every input that could not be read (also in `failed`).
    #[serde(skip)]
    pub unreadable: Vec<(String, String)>,
}

impl Stats {
    fn add(&mut self, msg: &RawMessage, result: Option<&Result<Processed, ExtractError>>, outcome: Outcome) {
        self.messages += 1;
        match outcome {
            Outcome::Duplicate => self.duplicates += 1,
            Outcome::Failed => {
                if let Some(Err(e)) = result {
                    self.failed.push((msg.source.clone(), e.to_string()));
                }
            }
            Outcome::Recorded { kind, events, new_rows, new_to_qualify } => {
                self.recorded += 1;
                self.records += events as u64;
                count(&mut self.by_kind, kind.as_str());
                self.new_rows += new_rows as u64;
                self.new_rows_to_qualify += new_to_qualify as u64;
                if let Some(Ok(p)) = result {
                    let mut key = String::new();
                    for r in p.records.iter().filter(|r| r.kind != crate::model::Kind::NotBounce) {
                        let q = r.qualification();
                        key.clear();
                        key.push_str(q.failure_type.label());
                        key.push_str(" / ");
                        key.push_str(q.reason_label());
                        count(&mut self.by_type_reason, &key);
                    }
                }
            }
        }
    }

    /// A message that could not even be read from its source.
    pub fn add_unreadable(&mut self, source: String, error: String) {
        self.messages += 1;
        self.unreadable.push((source.clone(), error.clone()));
        self.failed.push((source, error));
    }
}

/// The default number of analysis threads: one per core.
pub fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// Analyze messages on up to `threads` threads, keeping their order. The worker threads live
/// as long as the process: threads spawned per batch would each warm up their own regex caches
/// and malloc arenas, and memory would grow with the number of batches.
pub fn analyze_all(rules: &RuleSet, msgs: &[&RawMessage], threads: usize) -> Vec<Result<Processed, ExtractError>> {
    use rayon::prelude::*;
    let threads = threads.max(1);
    if threads == 1 || msgs.len() < 2 {
        return msgs.iter().map(|m| process_guarded(rules, m)).collect();
    }
    pool(threads).install(|| msgs.par_iter().with_min_len(16).map(|m| process_guarded(rules, m)).collect())
}

/// Analyze `msgs` on every analysis thread, each thread once: the regex caches the lazy
/// automata fill are per thread, so a warm-up on one thread leaves the others cold.
pub fn warm_each_thread(rules: &RuleSet, msgs: &[&RawMessage], threads: usize) {
    let warm = || msgs.iter().for_each(|m| drop(process_guarded(rules, m)));
    if threads.max(1) == 1 {
        warm();
    } else {
        pool(threads).broadcast(|_| warm());
    }
}

/// Run the analysis threads at a lower scheduling priority (nice +`by`). The daemon's pipeline
/// has one sequential stage, the database writer, and the fetch on the connection beside the
/// parallel analysis: on a machine with few cores, analysis threads at equal priority
/// preempted the writer, which then set the pace at several times its CPU cost. Analysis now
/// takes the CPU the sequential stages leave. Returns false where the OS refused.
pub fn lower_analysis_priority(threads: usize, by: i32) -> bool {
    let threads = threads.max(1);
    if threads == 1 {
        return true; // analysis runs on the caller's thread
    }
    pool(threads)
        .broadcast(|_| {
            // SAFETY: plain syscalls on the calling thread's own id.
            unsafe {
                let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
                let now = libc::getpriority(libc::PRIO_PROCESS, tid);
                libc::setpriority(libc::PRIO_PROCESS, tid, now + by) == 0
            }
        })
        .into_iter()
        .all(|ok| ok)
}

fn pool(threads: usize) -> &'static rayon::ThreadPool {
    static POOLS: std::sync::Mutex<Vec<(usize, &'static rayon::ThreadPool)>> = std::sync::Mutex::new(Vec::new());
    let mut pools = POOLS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, p)) = pools.iter().find(|(n, _)| *n == threads) {
        return p;
    }
    let p: &'static rayon::ThreadPool = Box::leak(Box::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("inmail-analyze-{i}"))
            .build()
            .expect("analysis thread pool"),
    ));
    pools.push((threads, p));
    p
}

/// A parser bug must not abort a batch: a panic becomes a recorded per-message error.
pub(crate) fn process_guarded(rules: &RuleSet, m: &RawMessage) -> Result<Processed, ExtractError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| process(rules, &m.raw))) {
        Ok(r) => r,
        Err(_) => {
            tracing::error!(source = %m.source, "internal error while analyzing message; recorded as failed");
            Err(ExtractError::Internal)
        }
    }
}

/// How a replay runs.
#[derive(Debug, Clone, Copy)]
pub struct ReplayOptions {
    /// Analysis threads (1: everything on the calling thread, in turn).
    pub threads: usize,
    /// Messages per transaction. The boundaries fall on the same messages whatever the number
    /// of threads, so the quarantine (applied per transaction, in event-time order) is the same.
    pub batch: usize,
}

/// Replay messages into the store: read, analyze on `threads` workers and record in input
/// order by the calling thread, the three stages at once (see `stages`), one transaction per
/// `batch` messages with `hook` (the quarantine) run inside each. Messages already recorded, or
/// repeated within a transaction's span, are not analyzed. `progress` is called after each
/// commit. The database ends the same as with one thread.
pub fn replay(
    store: &mut Store,
    rules: &RuleSet,
    items: impl Iterator<Item = crate::source::Item> + Send,
    opts: ReplayOptions,
    mut hook: Option<EventHook<'_>>,
    progress: &mut dyn FnMut(u64, &Stats),
) -> crate::store::Result<Stats> {
    let batch_size = opts.batch.max(1);
    let known = store.known_fingerprints()?;
    let mut seen = HashSet::with_capacity(batch_size);
    let skip = move |m: &RawMessage| {
        if seen.len() >= batch_size {
            seen.clear();
        }
        // A lookup error only costs an analysis: the writer still records exactly once.
        !seen.insert(m.fingerprint) || known.as_ref().is_some_and(|k| k.contains(&m.fingerprint).unwrap_or(false))
    };
    let work = |m: &RawMessage| process_guarded(rules, m);
    crate::stages::run(items, opts.threads, skip, work, |slots| {
        let mut stats = Stats::default();
        let mut slots = slots.peekable();
        let mut done = 0u64;
        while slots.peek().is_some() {
            let mut batch = store.batch()?;
            let mut n = 0;
            while n < batch_size {
                let Some(slot) = slots.next() else { break };
                match slot {
                    Slot::Unreadable(e) => {
                        tracing::warn!(source = %e.source, error = %e.error, "cannot read");
                        stats.add_unreadable(e.source, e.error.to_string());
                    }
                    Slot::Message(m, r) => {
                        let outcome = match &r {
                            Some(r) => {
                                let meta = MessageMeta { source: m.source.clone(), fingerprint: m.fingerprint, size: m.size };
                                batch.record(&meta, r)?
                            }
                            None => Outcome::Duplicate,
                        };
                        stats.add(&m, r.as_ref(), outcome);
                        n += 1;
                    }
                }
            }
            if let Some(h) = hook.as_mut() {
                h(&batch, batch.events())?;
            }
            batch.commit()?;
            done += n as u64;
            progress(done, &stats);
        }
        Ok(stats)
    })
}

/// Hook run inside the batch's transaction after its events are written (the quarantine).
pub type EventHook<'h> = &'h mut dyn FnMut(&Batch<'_>, &[StoredEvent]) -> crate::store::Result<()>;

/// Analyze and record a batch in one transaction; returns each message's outcome, in order.
/// Messages already in the database (or repeated within the batch) are not analyzed again:
/// their fingerprint answers for them.
pub fn ingest_batch(
    store: &mut Store,
    rules: &RuleSet,
    msgs: &[RawMessage],
    threads: usize,
    stats: &mut Stats,
    hook: Option<EventHook<'_>>,
) -> crate::store::Result<Vec<Outcome>> {
    let mut seen = HashSet::with_capacity(msgs.len());
    let mut fresh = Vec::with_capacity(msgs.len());
    for m in msgs {
        fresh.push(seen.insert(m.fingerprint) && !store.is_known(&m.fingerprint)?);
    }
    let todo: Vec<&RawMessage> = msgs.iter().zip(&fresh).filter(|(_, f)| **f).map(|(m, _)| m).collect();
    let mut analyzed = analyze_all(rules, &todo, threads).into_iter();
    let results: Vec<Option<Result<Processed, ExtractError>>> =
        fresh.iter().map(|f| if *f { analyzed.next() } else { None }).collect();
    record_batch(store, msgs, &results, stats, hook)
}

/// Record analyzed messages in one transaction (`None`: known, not analyzed); returns each
/// message's outcome, in order. A message whose fingerprint is already stored (also one analyzed
/// anyway) is a `Duplicate`.
pub fn record_batch(
    store: &mut Store,
    msgs: &[RawMessage],
    results: &[Option<Result<Processed, ExtractError>>],
    stats: &mut Stats,
    hook: Option<EventHook<'_>>,
) -> crate::store::Result<Vec<Outcome>> {
    let mut batch = store.batch()?;
    let mut outcomes = Vec::with_capacity(msgs.len());
    for (m, r) in msgs.iter().zip(results) {
        outcomes.push(match r {
            Some(r) => {
                let meta = MessageMeta { source: m.source.clone(), fingerprint: m.fingerprint, size: m.size };
                batch.record(&meta, r)?
            }
            None => Outcome::Duplicate,
        });
    }
    if let Some(h) = hook {
        h(&batch, batch.events())?;
    }
    batch.commit()?;
    for ((m, r), o) in msgs.iter().zip(results).zip(&outcomes) {
        stats.add(m, r.as_ref(), *o);
    }
    Ok(outcomes)
}
