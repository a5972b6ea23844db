//! One task per mailbox: connect, SELECT, record what is in the folder in batches, move it, then
//! IDLE (or sleep) until something new arrives; on any error, reconnect with exponential backoff.

use super::client::{connect, tls_connector, Caps, ImapSession};
use super::db::{Db, Dest};
use super::Shutdown;
use crate::config::{After, MailboxConfig};
use crate::source::{Collector, RawMessage};
use anyhow::Context;
use futures::TryStreamExt;
use std::time::{Duration, Instant};

/// Run one mailbox until shutdown. Never returns on a mailbox's errors (they are retried with
/// backoff); returns the error when the database has failed every transaction for
/// `database_retry`: the daemon then stops with a failure status (systemd restarts it, and
/// alerting sees it), rather than fetching the same messages forever without recording them.
pub async fn run(m: MailboxConfig, db: Db, mut shutdown: Shutdown, database_retry: Duration) -> anyhow::Result<()> {
    let tls = match tls_connector(&m) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(mailbox = %m.name, error = %format!("{e:#}"), "mailbox disabled: bad TLS settings");
            db.error(&m.name, &m.folder, format!("{e:#}"));
            return Ok(());
        }
    };
    let mut attempt: u32 = 0;
    let mut outage_since: Option<Instant> = None;
    let mut db_failing = false;
    let cut_moves = std::sync::Mutex::new(Vec::new());
    while !shutdown.requested() {
        let mut connected = false;
        let r = session(&m, tls.as_ref(), &db, &mut shutdown, &mut connected, &mut outage_since, attempt, &cut_moves).await;
        match r {
            Ok(()) => break,
            Err(e) if super::db::is_database_error(&e) => {
                let (msg, failing) = (format!("{e:#}"), db.failing_for());
                if failing >= database_retry {
                    tracing::error!(
                        mailbox = %m.name,
                        error = %msg,
                        failing_s = failing.as_secs(),
                        "database error persists: stopping the daemon"
                    );
                    return Err(e);
                }
                if !db_failing {
                    tracing::error!(mailbox = %m.name, error = %msg, retry_s = database_retry.as_secs(), "database error; retrying, then stopping if it persists");
                } else {
                    tracing::debug!(mailbox = %m.name, error = %msg, attempt, "database still failing");
                }
                db_failing = true;
                attempt = attempt.saturating_add(1);
                let delay = backoff(attempt, m.reconnect_max).min(database_retry.saturating_sub(failing).max(Duration::from_millis(200)));
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = shutdown.wait() => break,
                }
            }
            Err(e) => {
                let msg = format!("{e:#}");
                db.error(&m.name, &m.folder, msg.clone());
                if db_failing && db.failing_for().is_zero() {
                    db_failing = false;
                    tracing::info!(mailbox = %m.name, "database writable again");
                }
                if connected {
                    attempt = 0;
                }
                if outage_since.is_none() {
                    outage_since = Some(Instant::now());
                    tracing::error!(mailbox = %m.name, host = %m.host, error = %msg, "mailbox unreachable; retrying with backoff");
                } else {
                    tracing::debug!(mailbox = %m.name, error = %msg, attempt, "still unreachable");
                }
                attempt = attempt.saturating_add(1);
                let delay = backoff(attempt, m.reconnect_max);
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = shutdown.wait() => break,
                }
            }
        }
    }
    tracing::info!(mailbox = %m.name, "mailbox stopped");
    Ok(())
}

/// 1 s, 2 s, 4 s… up to `max` seconds, with ±25 % jitter.
fn backoff(attempt: u32, max: u64) -> Duration {
    let base = 1u64.checked_shl(attempt.saturating_sub(1).min(20)).unwrap_or(u64::MAX).min(max.max(1)) as f64;
    let jitter: f64 = rand::random_range(0.75..1.25);
    Duration::from_secs_f64((base * jitter).max(0.2))
}

fn limit(m: &MailboxConfig) -> Duration {
    Duration::from_secs(m.timeout.max(1))
}

async fn timed<T, E: Into<anyhow::Error>>(m: &MailboxConfig, what: &str, f: impl std::future::Future<Output = Result<T, E>>) -> anyhow::Result<T> {
    match tokio::time::timeout(limit(m), f).await {
        Ok(r) => r.map_err(|e| e.into().context(what.to_string())),
        Err(_) => anyhow::bail!("{what}: timed out after {} s", m.timeout),
    }
}

/// One connection, from login to logout or error.
#[allow(clippy::too_many_arguments)]
async fn session(
    m: &MailboxConfig,
    tls: Option<&tokio_rustls::TlsConnector>,
    db: &Db,
    shutdown: &mut Shutdown,
    connected: &mut bool,
    outage_since: &mut Option<Instant>,
    attempts: u32,
    cut_moves: &std::sync::Mutex<Vec<CutMove>>,
) -> anyhow::Result<()> {
    let password = m.password()?;
    let (mut s, caps) = connect(m, tls, &password).await?;
    drop(password);
    *connected = true;
    match outage_since.take() {
        Some(t) => tracing::info!(mailbox = %m.name, after_s = t.elapsed().as_secs(), attempts, "mailbox reachable again"),
        None => tracing::info!(mailbox = %m.name, host = %m.host, idle = caps.idle, r#move = caps.moves, "connected"),
    }
    ensure_folders(m, &mut s).await?;
    let mut pending = std::mem::take(&mut *cut_moves.lock().unwrap_or_else(|e| e.into_inner()));
    while !pending.is_empty() {
        if let Err(e) = repair_cut_move(m, &mut s, caps, &pending[0]).await {
            cut_moves.lock().unwrap_or_else(|e| e.into_inner()).extend(pending);
            return Err(e);
        }
        pending.remove(0);
    }
    let mb = timed(m, "SELECT", s.select(&m.folder)).await?;
    let uidvalidity = mb.uid_validity.unwrap_or(0);
    let (mut last_uid, reset) = db.begin(&m.name, &m.folder, uidvalidity).await?;
    if reset {
        tracing::warn!(mailbox = %m.name, uidvalidity, "UIDVALIDITY changed: checkpoint reset, messages are deduplicated by content");
    }
    loop {
        let cut = Cut { moves: cut_moves, uidvalidity };
        if !process_pending(m, &mut s, caps, db, shutdown, uidvalidity, &mut last_uid, &cut).await? {
            // Fault injection asked for a dropped connection.
            anyhow::bail!("connection dropped (INMAIL_FAULT)");
        }
        if shutdown.requested() {
            let _ = tokio::time::timeout(Duration::from_secs(2), s.logout()).await;
            return Ok(());
        }
        s = wait_for_news(m, s, caps, shutdown).await?;
        if shutdown.requested() {
            let _ = tokio::time::timeout(Duration::from_secs(2), s.logout()).await;
            return Ok(());
        }
    }
}

/// Create the destination folders that do not exist.
async fn ensure_folders(m: &MailboxConfig, s: &mut ImapSession) -> anyhow::Result<()> {
    let wanted: Vec<&String> = match m.after {
        After::Move => vec![&m.processed_folder, &m.other_folder, &m.error_folder],
        After::Delete => vec![&m.other_folder, &m.error_folder],
        After::Seen => vec![],
    };
    if wanted.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = timed(m, "LIST", async {
        let st = s.list(Some(""), Some("*")).await?;
        st.map_ok(|n| n.name().to_string()).try_collect::<Vec<String>>().await
    })
    .await?;
    for f in wanted {
        if !names.iter().any(|n| n == f) {
            timed(m, "CREATE", s.create(f)).await.with_context(|| format!("creating folder {f}"))?;
            tracing::info!(mailbox = %m.name, folder = %f, "folder created");
        }
    }
    Ok(())
}

/// UIDs to process now. move/delete: everything in the folder (what is left after a crash is
/// fetched again and found to be a duplicate). seen: new UIDs plus anything still unseen.
async fn pending_uids(m: &MailboxConfig, s: &mut ImapSession, last_uid: u32) -> anyhow::Result<Vec<u32>> {
    let mut uids: Vec<u32> = match m.after {
        After::Move | After::Delete => timed(m, "UID SEARCH", s.uid_search("ALL")).await?.into_iter().collect(),
        After::Seen => {
            let mut v: Vec<u32> = timed(m, "UID SEARCH", s.uid_search("UNSEEN")).await?.into_iter().collect();
            let q = format!("UID {}:*", last_uid.saturating_add(1));
            v.extend(timed(m, "UID SEARCH", s.uid_search(q)).await?.into_iter().filter(|u| *u > last_uid));
            v
        }
    };
    uids.sort_unstable();
    uids.dedup();
    Ok(uids)
}

/// Compress sorted UIDs into an IMAP sequence set ("1:5,8,10:12").
pub fn uid_set(uids: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end + 1 {
            i += 1;
            end = uids[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

/// Messages are taken in rounds of at most this many (one UID SEARCH each). Committed messages
/// are moved (flagged, deleted) during the round, between two FETCH commands, once
/// `move_every` of them wait, and the rest at the round's end. A command that changes a folder
/// costs the server far more than fetching (Dovecot's Maildir MOVE: ~50 ms per command plus
/// ~60 µs of CPU per message), so moves go in bulk, one command per destination; `move_every`
/// bounds what a crash leaves to fetch again (found by fingerprint, only moved).
const ACT_EVERY: usize = 20_000;

/// How many messages the next batch holds (a batch is analyzed together and committed in one
/// transaction): `batch_size`, unless the messages seen so far are so large that the batch
/// would exceed `batch_bytes`. The first batch is small, to learn, and the next ones double up
/// to the full size: while the analysis threads work on one batch the next, twice as large,
/// arrives in about the same time, so the pipeline fills without the threads waiting on a
/// first full-size batch (measured: the first full batch of a pass took twice as long as the
/// others). The last batches of a pass shrink by halves: after the last message arrives the
/// pipeline still has to analyze and commit the last batch alone, so a small last batch keeps
/// that tail short.
struct BatchSizer {
    max: usize,
    bytes: usize,
    batches: usize,
    seen: usize,
    seen_bytes: usize,
}

impl BatchSizer {
    fn new(max: usize, bytes: usize) -> Self {
        BatchSizer { max: max.max(1), bytes: bytes.max(1), batches: 0, seen: 0, seen_bytes: 0 }
    }

    /// The size of the next batch, when `remaining` messages are still to fetch.
    fn next(&self, remaining: usize) -> usize {
        let first = self.max.min(100);
        if self.seen == 0 {
            return first.min(remaining);
        }
        let avg = (self.seen_bytes / self.seen).max(1);
        let ramp = first.saturating_mul(1 << self.batches.min(16));
        let full = (self.bytes / avg).clamp(1, self.max).min(ramp);
        let size = if remaining < 2 * full { (remaining / 2).max(first).min(full) } else { full };
        size.min(remaining)
    }

    fn observe(&mut self, messages: usize, bytes: usize) {
        self.batches += 1;
        self.seen += messages;
        self.seen_bytes += bytes;
    }
}

/// Messages one FETCH command asks for, in batches of `batch_size`: the batches of a command
/// are handed on as its messages stream in, so the analysis of the first starts before the
/// server has sent the last (and before its work at the end of the command, ~10 ms on the
/// first FETCH of a Maildir folder); fewer commands also mean fewer round trips. The bound
/// keeps what a shutdown or a failed later stage has to read and drop small.
const BATCHES_PER_FETCH: usize = 4;

/// Fetch `span` with one command, converting each message as it streams in and handing the
/// messages on in batches sized by `sizer` (`after`: messages of the round after this span).
/// Returns false once the next stage has stopped: the rest of the command is then read and
/// dropped, so that the session stays usable for the move of what was committed. The server
/// must answer within `timeout` each time, however long the whole command takes.
async fn fetch_span(
    m: &MailboxConfig,
    s: &mut ImapSession,
    span: &[u32],
    after: usize,
    uidvalidity: u32,
    sizer: &mut BatchSizer,
    out: &tokio::sync::mpsc::Sender<Vec<(u32, RawMessage)>>,
) -> anyhow::Result<bool> {
    let set = uid_set(span);
    let mut st = timed(m, "UID FETCH", s.uid_fetch(&set, FETCH_QUERY.as_str())).await?;
    let (mut open, mut seen) = (true, 0usize);
    // Messages cut at `WHOLE` (uid, name): fetched again in pieces once this command is over.
    // Only their UIDs wait, so that many large messages in one command take no more memory
    // than one.
    let mut long: Vec<(u32, String)> = Vec::new();
    // Each message's source name is this prefix and its UID.
    let prefix = format!("imap://{}/{};UIDVALIDITY={};UID=", m.name, m.folder, uidvalidity);
    let mut size = sizer.next(span.len() + after);
    let (mut batch, mut bytes) = (Vec::with_capacity(size), 0usize);
    while let Some(f) = timed(m, "UID FETCH", st.try_next()).await? {
        let (Some(uid), Some(body)) = (f.uid, f.body()) else { continue };
        if !open || span.binary_search(&uid).is_err() {
            continue; // dropped, or an unsolicited FETCH (flag change) of another message
        }
        let mut name = String::with_capacity(prefix.len() + 10);
        name.push_str(&prefix);
        let _ = std::fmt::Write::write_fmt(&mut name, format_args!("{uid}"));
        if body.len() >= WHOLE {
            long.push((uid, name));
            continue;
        }
        let msg = Collector::whole(body, name);
        bytes += msg.raw.len();
        batch.push((uid, msg));
        crate::metrics::global().fetched(&m.name, 1);
        seen += 1;
        if batch.len() >= size {
            sizer.observe(batch.len(), bytes);
            open = out.send(std::mem::take(&mut batch)).await.is_ok();
            size = sizer.next(span.len().saturating_sub(seen) + after);
            (batch, bytes) = (Vec::with_capacity(size), 0);
        }
    }
    drop(st);
    for (uid, name) in long {
        if !open {
            break;
        }
        if let Some(msg) = fetch_in_pieces(m, s, uid, name).await? {
            bytes += msg.raw.len();
            batch.push((uid, msg));
        }
        seen += 1;
        if batch.len() >= size {
            sizer.observe(batch.len(), bytes);
            open = out.send(std::mem::take(&mut batch)).await.is_ok();
            size = sizer.next(span.len().saturating_sub(seen) + after);
            (batch, bytes) = (Vec::with_capacity(size), 0);
        }
    }
    if open && !batch.is_empty() {
        sizer.observe(batch.len(), bytes);
        open = out.send(batch).await.is_ok();
    }
    Ok(open)
}

/// A message is fetched whole up to this many bytes (the bytes kept in memory, as for a replay);
/// a longer one is fetched again in `CHUNK`s, each hashed and counted, and dropped past the
/// bound: a 200 MB message never sits whole in memory (nor in the IMAP library's read buffer).
const WHOLE: usize = crate::source::MAX_MESSAGE;
const CHUNK: usize = 4 * 1024 * 1024;

static FETCH_QUERY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| format!("(UID BODY.PEEK[]<0.{WHOLE}>)"));

/// A message longer than `WHOLE`, chunk by chunk: the same bytes kept, fingerprint and size as
/// a replay of it. None when the server no longer has it (expunged meanwhile): it is not
/// recorded from a part.
async fn fetch_in_pieces(m: &MailboxConfig, s: &mut ImapSession, uid: u32, name: String) -> anyhow::Result<Option<RawMessage>> {
    let (mut c, mut offset) = (Collector::new(), 0usize);
    loop {
        let query = format!("(UID BODY.PEEK[]<{offset}.{CHUNK}>)");
        let mut st = timed(m, "UID FETCH", s.uid_fetch(uid.to_string(), &query)).await?;
        let mut got: Option<usize> = None;
        while let Some(f) = timed(m, "UID FETCH", st.try_next()).await? {
            if f.uid != Some(uid) {
                continue;
            }
            let body = f.body().unwrap_or_default();
            c.push(body);
            got = Some(got.unwrap_or(0) + body.len());
        }
        match got {
            None => {
                tracing::warn!(mailbox = %m.name, uid, "message gone while its rest was fetched: left for the next pass");
                return Ok(None);
            }
            Some(n) if n < CHUNK => return Ok(Some(c.finish(name))),
            Some(n) => offset += n,
        }
    }
}

/// Record and move everything pending, in rounds of at most `ACT_EVERY` messages. Within a
/// round three stages run at once, each at its own pace, handing batches on through channels
/// (that hold one fetched batch, two analyzed ones): this connection fetches, the analysis
/// threads analyze, the database thread commits. The committed messages are moved in bulk,
/// after the database is synced to disk, once `move_every` of them wait (between two FETCH
/// commands) and at the end of the round. Returns false when fault injection asks to drop the
/// connection.
#[allow(clippy::too_many_arguments)]
async fn process_pending(
    m: &MailboxConfig,
    s: &mut ImapSession,
    caps: Caps,
    db: &Db,
    shutdown: &Shutdown,
    uidvalidity: u32,
    last_uid: &mut u32,
    cut: &Cut<'_>,
) -> anyhow::Result<bool> {
    let started = Instant::now();
    let mut handled = 0usize;
    let mut last_commit = started;
    loop {
        let uids = pending_uids(m, s, *last_uid).await?;
        if uids.is_empty() {
            db.polled(&m.name, &m.folder, 0);
            if handled > 0 {
                // Everything that was in the folder is recorded and acted on.
                tracing::info!(
                    mailbox = %m.name,
                    folder = %m.folder,
                    messages = handled,
                    ms = started.elapsed().as_millis() as u64,
                    recorded_ms = last_commit.duration_since(started).as_millis() as u64,
                    "folder drained"
                );
            }
            return Ok(true);
        }
        let round = &uids[..uids.len().min(ACT_EVERY)];
        handled += round.len();
        // Committed, not yet acted on: (uid, destination). Filled by the commit stage, taken
        // by the fetch stage (which holds the connection) between two FETCH commands.
        let committed: std::sync::Mutex<Vec<Committed>> = std::sync::Mutex::new(Vec::new());
        let pending = &committed;
        let (to_analyze, mut fetched) = tokio::sync::mpsc::channel::<Vec<(u32, RawMessage)>>(1);
        // Two analyzed batches may wait for the database: a commit that takes longer than an
        // analysis (commits vary with what the batch touches) then does not stop the analysis
        // threads (measured: the CPUs idled 3.5-3.8% of an IMAP ingest with one, 1.0-2.4% with two).
        let (to_record, mut analyzed) = tokio::sync::mpsc::channel::<super::db::Analyzed>(2);
        let session: &mut ImapSession = s;
        let fetch = async move {
            let mut sizer = BatchSizer::new(m.batch_size, m.batch_bytes);
            let mut pos = 0;
            while pos < round.len() && !shutdown.requested() {
                let ready = {
                    let mut c = pending.lock().unwrap_or_else(|e| e.into_inner());
                    if c.len() >= m.move_every.max(1) { std::mem::take(&mut *c) } else { Vec::new() }
                };
                act(m, session, caps, db, &ready, cut).await?;
                let span = &round[pos..round.len().min(pos + m.batch_size.max(1) * BATCHES_PER_FETCH)];
                pos += span.len();
                if !fetch_span(m, session, span, round.len() - pos, uidvalidity, &mut sizer, &to_analyze).await? {
                    break; // a later stage stopped
                }
            }
            anyhow::Ok(())
        };
        let analyze = async move {
            while let Some(msgs) = fetched.recv().await {
                if shutdown.requested() {
                    break; // what is fetched but not committed stays in the folder
                }
                if to_record.send(db.analyze(msgs).await?).await.is_err() {
                    break;
                }
            }
            anyhow::Ok(())
        };
        let (done, last_commit_at, highest) = (pending, &mut last_commit, &mut *last_uid);
        let record = async move {
            while let Some(batch) = analyzed.recv().await {
                if shutdown.requested() {
                    break; // what is analyzed but not committed stays in the folder
                }
                if batch.is_empty() {
                    continue; // expunged meanwhile by someone else
                }
                if let Some(d) = super::fault::delay() {
                    tokio::time::sleep(d).await;
                }
                let (n, t) = (batch.len(), Instant::now());
                // The commit: once this returns, every message of the batch is in the database.
                let res = db.record(&m.name, &m.folder, uidvalidity, batch).await?;
                *last_commit_at = Instant::now();
                if let Some(max) = res.dests.iter().map(|d| d.0).max() {
                    *highest = (*highest).max(max);
                }
                if super::fault::after_commit() {
                    return anyhow::Ok(false);
                }
                done.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(&res.dests);
                tracing::info!(
                    mailbox = %m.name,
                    messages = n,
                    recorded = res.recorded,
                    duplicates = res.duplicates,
                    not_bounce = res.not_bounce,
                    failed = res.failed,
                    records = res.records,
                    ms = t.elapsed().as_millis() as u64,
                    "batch"
                );
            }
            anyhow::Ok(true)
        };
        let (fetch_result, analysis, recorded) = tokio::join!(fetch, analyze, record);
        if matches!(recorded, Ok(false)) {
            return Ok(false); // fault injection: the connection is dropped before any move
        }
        // Whatever was committed is acted on even when a stage failed (a commit that failed
        // included: the batches committed before it are on disk).
        let rest = committed.into_inner().unwrap_or_else(|e| e.into_inner());
        let acted = act(m, s, caps, db, &rest, cut).await;
        recorded?;
        fetch_result?;
        analysis?;
        acted?;
        if shutdown.requested() {
            return Ok(true);
        }
    }
}

/// Act on the mailbox for committed messages, once the database has them on disk.
async fn act(m: &MailboxConfig, s: &mut ImapSession, caps: Caps, db: &Db, dests: &[Committed], cut: &Cut<'_>) -> anyhow::Result<()> {
    if dests.is_empty() {
        return Ok(());
    }
    // The commits are durable before any message leaves the mailbox (see `Store::sync`).
    db.sync().await?;
    let pick = |d: Dest| -> Vec<(u32, [u8; 32])> {
        let mut v: Vec<(u32, [u8; 32])> = dests.iter().filter(|x| x.1 == d).map(|x| (x.0, x.2)).collect();
        v.sort_unstable_by_key(|x| x.0);
        v
    };
    let (bounces, other, errors) = (pick(Dest::Processed), pick(Dest::Other), pick(Dest::Error));
    match m.after {
        After::Seen => {
            let mut all: Vec<u32> = dests.iter().map(|d| d.0).collect();
            all.sort_unstable();
            store_flags(m, s, &all, "+FLAGS.SILENT (\\Seen)").await?;
        }
        After::Move => {
            move_to(m, s, caps, &bounces, &m.processed_folder, cut).await?;
            move_to(m, s, caps, &other, &m.other_folder, cut).await?;
            move_to(m, s, caps, &errors, &m.error_folder, cut).await?;
        }
        After::Delete => {
            move_to(m, s, caps, &other, &m.other_folder, cut).await?;
            move_to(m, s, caps, &errors, &m.error_folder, cut).await?;
            if !bounces.is_empty() {
                let uids: Vec<u32> = bounces.iter().map(|b| b.0).collect();
                store_flags(m, s, &uids, "+FLAGS.SILENT (\\Deleted)").await?;
                expunge(m, s, caps, &uids).await?;
            }
        }
    }
    crate::metrics::global().moved(&m.name, dests.len() as u64);
    Ok(())
}

/// A committed message: UID, destination, fingerprint.
pub type Committed = (u32, Dest, [u8; 32]);

/// A move cut short (the connection failed during it): the destination may hold copies of
/// messages still in the watched folder (a server's MOVE is a copy then an expunge).
pub struct CutMove {
    dest: String,
    /// The destination's UIDNEXT before the move: any copy has a UID from there on.
    uidnext: u32,
    uidvalidity: u32,
    msgs: Vec<(u32, [u8; 32])>,
}

/// The moves cut short, kept across reconnections, and the watched folder's UIDVALIDITY.
pub struct Cut<'a> {
    moves: &'a std::sync::Mutex<Vec<CutMove>>,
    uidvalidity: u32,
}

/// After a move cut short: the messages still in the watched folder whose copy already reached
/// the destination (same fingerprint, UID from the destination's UIDNEXT before the move on)
/// would be moved again, leaving two copies. The copy is expunged from the destination (the
/// original is then moved as usual). Needs UIDPLUS (a plain EXPUNGE could remove messages
/// someone else flagged \Deleted there); at most a bounded number of new destination messages
/// is read.
async fn repair_cut_move(m: &MailboxConfig, s: &mut ImapSession, caps: Caps, c: &CutMove) -> anyhow::Result<()> {
    if !caps.uidplus {
        tracing::warn!(mailbox = %m.name, folder = %c.dest, "a move was cut short and the server has no UIDPLUS: copies it left in the destination are not looked for");
        return Ok(());
    }
    let mb = timed(m, "SELECT", s.select(&m.folder)).await?;
    if mb.uid_validity != Some(c.uidvalidity) {
        return Ok(());
    }
    let uids: Vec<u32> = c.msgs.iter().map(|x| x.0).collect();
    let still: std::collections::HashSet<u32> = timed(m, "UID SEARCH", s.uid_search(format!("UID {}", uid_set(&uids)))).await?;
    let wanted: std::collections::HashSet<[u8; 32]> = c.msgs.iter().filter(|x| still.contains(&x.0)).map(|x| x.1).collect();
    if wanted.is_empty() {
        return Ok(()); // the move went through (only its answer was lost)
    }
    let dmb = timed(m, "SELECT", s.select(&c.dest)).await?;
    let mut arrived: Vec<u32> =
        timed(m, "UID SEARCH", s.uid_search(format!("UID {}:*", c.uidnext))).await?.into_iter().filter(|u| *u >= c.uidnext).collect();
    arrived.sort_unstable();
    let bound = 2 * c.msgs.len() + 100;
    if arrived.len() > bound {
        tracing::warn!(mailbox = %m.name, folder = %c.dest, arrived = arrived.len(), "a move was cut short; too many new messages in the destination to look for copies");
        return Ok(());
    }
    let (tx, mut rx) = tokio::sync::mpsc::channel(arrived.len() + 1);
    let mut sizer = BatchSizer::new(m.batch_size, m.batch_bytes);
    fetch_span(m, s, &arrived, 0, dmb.uid_validity.unwrap_or(0), &mut sizer, &tx).await?;
    drop(tx);
    let mut copies = Vec::new();
    while let Some(batch) = rx.recv().await {
        copies.extend(batch.into_iter().filter(|(_, msg)| wanted.contains(&msg.fingerprint)).map(|(uid, _)| uid));
    }
    copies.sort_unstable();
    if !copies.is_empty() {
        store_flags(m, s, &copies, "+FLAGS.SILENT (\\Deleted)").await?;
        expunge(m, s, caps, &copies).await?;
        tracing::info!(mailbox = %m.name, folder = %c.dest, copies = copies.len(), "copies left by a move cut short expunged (their originals are moved again)");
    }
    Ok(())
}

async fn store_flags(m: &MailboxConfig, s: &mut ImapSession, uids: &[u32], what: &str) -> anyhow::Result<()> {
    if uids.is_empty() {
        return Ok(());
    }
    let set = uid_set(uids);
    timed(m, "UID STORE", async {
        let st = s.uid_store(&set, what).await?;
        st.try_collect::<Vec<_>>().await
    })
    .await?;
    Ok(())
}

async fn expunge(m: &MailboxConfig, s: &mut ImapSession, caps: Caps, uids: &[u32]) -> anyhow::Result<()> {
    if caps.uidplus {
        let set = uid_set(uids);
        timed(m, "UID EXPUNGE", async {
            let st = s.uid_expunge(&set).await?;
            st.try_collect::<Vec<_>>().await
        })
        .await?;
    } else {
        timed(m, "EXPUNGE", async {
            let st = s.expunge().await?;
            st.try_collect::<Vec<_>>().await
        })
        .await?;
    }
    Ok(())
}

/// UID MOVE when advertised, else UID COPY + \Deleted + (UID) EXPUNGE. The destination's
/// UIDNEXT is read first: should the move be cut short, the copies it may have left are found
/// from there on the next connection (`repair_cut_move`).
async fn move_to(m: &MailboxConfig, s: &mut ImapSession, caps: Caps, msgs: &[(u32, [u8; 32])], folder: &str, cut: &Cut<'_>) -> anyhow::Result<()> {
    if msgs.is_empty() {
        return Ok(());
    }
    let uids: Vec<u32> = msgs.iter().map(|x| x.0).collect();
    let set = uid_set(&uids);
    let uidnext = timed(m, "STATUS", s.status(folder, "(UIDNEXT)")).await?.uid_next;
    let r: anyhow::Result<()> = async {
        if super::fault::cut_move() {
            timed(m, "UID COPY", s.uid_copy(&set, folder)).await?;
            anyhow::bail!("connection dropped (INMAIL_FAULT: move cut short)");
        }
        if caps.moves {
            timed(m, "UID MOVE", s.uid_mv(&set, folder)).await.with_context(|| format!("moving to {folder}"))?;
        } else {
            timed(m, "UID COPY", s.uid_copy(&set, folder)).await.with_context(|| format!("copying to {folder}"))?;
            store_flags(m, s, &uids, "+FLAGS.SILENT (\\Deleted)").await?;
            expunge(m, s, caps, &uids).await?;
        }
        Ok(())
    }
    .await;
    if r.is_err() {
        if let Some(uidnext) = uidnext {
            let c = CutMove { dest: folder.to_string(), uidnext, uidvalidity: cut.uidvalidity, msgs: msgs.to_vec() };
            cut.moves.lock().unwrap_or_else(|e| e.into_inner()).push(c);
        }
    }
    r
}

/// IDLE until the server reports a change, the IDLE timeout, or shutdown; without IDLE, sleep
/// `poll_interval` (a NOOP first keeps the connection checked).
async fn wait_for_news(m: &MailboxConfig, mut s: ImapSession, caps: Caps, shutdown: &mut Shutdown) -> anyhow::Result<ImapSession> {
    while s.unsolicited_responses.try_recv().is_ok() {}
    if !(m.idle && caps.idle) {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(m.poll_interval)) => {}
            _ = shutdown.wait() => return Ok(s),
        }
        timed(m, "NOOP", s.noop()).await?;
        return Ok(s);
    }
    let mut h = s.idle();
    timed(m, "IDLE", h.init()).await?;
    {
        let (fut, stop) = h.wait_with_timeout(Duration::from_secs(m.idle_timeout));
        tokio::pin!(fut);
        let r = tokio::select! {
            r = &mut fut => r,
            _ = shutdown.wait() => {
                drop(stop);
                fut.await
            }
        };
        let r = r.context("IDLE")?;
        if r == async_imap::extensions::idle::IdleResponse::ManualInterrupt && !shutdown.requested() {
            // The response stream ended: the server closed the connection.
            anyhow::bail!("connection closed by the server during IDLE");
        }
    }
    let s = timed(m, "DONE", h.done()).await?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn sets() {
        assert_eq!(uid_set(&[1, 2, 3, 5, 7, 8]), "1:3,5,7:8");
        assert_eq!(uid_set(&[4]), "4");
        assert_eq!(uid_set(&[]), "");
    }
    #[test]
    fn batches_shrink_for_large_messages() {
        let mut b = BatchSizer::new(1000, 16 << 20);
        assert_eq!(b.next(50_000), 100, "the first batch learns the sizes");
        b.observe(100, 100 * 2_000);
        assert_eq!(b.next(50_000), 200, "then batches double");
        for n in [200, 400, 800] {
            b.observe(n, n * 2_000);
        }
        assert_eq!(b.next(50_000), 1000, "small bounces: full batches");
        b.observe(100, 100 * 40_000_000);
        assert!(b.next(50_000) < 10, "megabyte messages: a few per batch, got {}", b.next(50_000));
        let mut huge = BatchSizer::new(1000, 16 << 20);
        huge.observe(1, 50 << 20);
        assert_eq!(huge.next(50_000), 1, "never zero");
        assert_eq!(BatchSizer::new(1000, 16 << 20).next(7), 7, "never more than what is left");
    }

    #[test]
    fn the_last_batches_shrink() {
        let mut b = BatchSizer::new(1000, 16 << 20);
        let (mut left, mut sizes) = (5_900, Vec::new());
        while left > 0 {
            let n = b.next(left);
            assert!(n >= 1 && n <= left);
            b.observe(n, n * 2_000);
            sizes.push(n);
            left -= n;
        }
        assert_eq!(sizes, [100, 200, 400, 800, 1000, 1000, 1000, 700, 350, 175, 100, 75]);
    }
    #[test]
    fn backoff_grows_and_caps() {
        assert!(backoff(1, 300) <= Duration::from_secs_f64(1.25));
        assert!(backoff(30, 10) <= Duration::from_secs_f64(12.5));
        assert!(backoff(30, 10) >= Duration::from_secs_f64(7.5));
    }
}
