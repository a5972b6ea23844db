//! Ordered parallel stages for `replay` and `parse`: one thread reads and splits the input
//! into chunks, a pool of workers analyzes them, and the caller's thread consumes the results in
//! input order (the database writer, or the JSON printer). The three run at once, each at its
//! own pace, so the sequential stages (reading, writing) overlap the analysis.
//!
//! Memory stays flat whatever the size of the input: between the reader and the consumer
//! (queued, analyzed, or waiting for an earlier chunk to be done) are at most
//! [`IN_FLIGHT_PER_THREAD`] chunks per worker, holding at most that many times [`CREDIT_BYTES`]
//! bytes of messages (a larger chunk takes all the credits alone); a chunk holds at most
//! [`CHUNK_MESSAGES`] messages or about [`CHUNK_BYTES`] bytes (a single larger message, up to
//! `source::MAX_MESSAGE`, is a chunk of its own). The budget is large enough for the analysis to
//! go on while the consumer commits a transaction: with 4 chunks per worker it stalled there. With one thread nothing is spawned: each message is read, analyzed and consumed in turn,
//! the reference the parallel run must equal.

use crate::source::{Item, RawMessage, SourceError};
use std::collections::BTreeMap;
use std::sync::{mpsc, Arc, Mutex};

/// Messages per chunk, the unit passed between stages: enough that a channel operation costs
/// nothing next to the analysis, few enough to keep every worker busy to the end.
pub const CHUNK_MESSAGES: usize = 32;
/// Bytes of messages after which a chunk is closed.
pub const CHUNK_BYTES: usize = 1 << 20;
/// Chunks in flight per worker between the reader and the consumer.
pub const IN_FLIGHT_PER_THREAD: usize = 16;
/// Bytes of messages a chunk in flight may hold for each of its credits.
pub const CREDIT_BYTES: usize = 256 * 1024;

/// One input item after the analysis, in input order.
pub enum Slot<T> {
    /// A message and what the work made of it; `None` when `skip` said not to analyze it.
    Message(RawMessage, Option<T>),
    /// A source that could not be read.
    Unreadable(SourceError),
}

/// Run `work` over every message of `items` on `threads` workers and hand the results, in
/// input order, to `consume` on the calling thread. `skip` runs on the reading thread, in input
/// order, before a message is queued: true leaves it unanalyzed (a message already recorded).
/// `consume` may stop early (an error): the other stages then stop too.
pub fn run<T, R>(
    items: impl Iterator<Item = Item> + Send,
    threads: usize,
    mut skip: impl FnMut(&RawMessage) -> bool + Send,
    work: impl Fn(&RawMessage) -> T + Sync,
    consume: impl FnOnce(&mut dyn Iterator<Item = Slot<T>>) -> R,
) -> R
where
    T: Send,
{
    if threads <= 1 {
        let mut slots = items.map(|item| match item {
            Ok(m) => {
                let t = (!skip(&m)).then(|| work(&m));
                Slot::Message(m, t)
            }
            Err(e) => Slot::Unreadable(e),
        });
        return consume(&mut slots);
    }
    let in_flight = threads * IN_FLIGHT_PER_THREAD;
    std::thread::scope(|s| {
        let (todo_tx, todo_rx) = mpsc::sync_channel::<(u64, usize, Vec<(Item, bool)>)>(threads);
        let (done_tx, done_rx) = mpsc::sync_channel::<(u64, usize, Vec<Slot<T>>)>(in_flight);
        // Credits between the reader and the consumer, one per chunk and `CREDIT_BYTES` of its
        // messages: the reorder buffer stays bounded even when one chunk takes long and the
        // others run ahead.
        let (credit_tx, credit_rx) = mpsc::sync_channel::<()>(in_flight);
        std::thread::Builder::new()
            .name("inmail-read".into())
            .spawn_scoped(s, move || {
                let (mut seq, mut chunk, mut bytes) = (0u64, Vec::with_capacity(CHUNK_MESSAGES), 0usize);
                let send = |chunk: Vec<(Item, bool)>, bytes: usize, seq: &mut u64| -> bool {
                    let credits = bytes.div_ceil(CREDIT_BYTES).clamp(1, in_flight);
                    let ok = (0..credits).all(|_| credit_tx.send(()).is_ok()) && todo_tx.send((*seq, credits, chunk)).is_ok();
                    *seq += 1;
                    ok
                };
                for item in items {
                    let analyze = match &item {
                        Ok(m) => {
                            bytes += m.raw.len();
                            !skip(m)
                        }
                        Err(_) => false,
                    };
                    chunk.push((item, analyze));
                    if chunk.len() >= CHUNK_MESSAGES || bytes >= CHUNK_BYTES {
                        let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK_MESSAGES));
                        if !send(full, std::mem::take(&mut bytes), &mut seq) {
                            return; // the consumer stopped
                        }
                    }
                }
                if !chunk.is_empty() {
                    send(chunk, bytes, &mut seq);
                }
            })
            .expect("reader thread");
        let todo_rx = Arc::new(Mutex::new(todo_rx));
        for i in 0..threads {
            let (todo_rx, done_tx, work) = (todo_rx.clone(), done_tx.clone(), &work);
            std::thread::Builder::new()
                .name(format!("inmail-analyze-{i}"))
                .spawn_scoped(s, move || loop {
                    let job = todo_rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    let Ok((seq, credits, chunk)) = job else { return };
                    let slots = chunk
                        .into_iter()
                        .map(|(item, analyze)| match item {
                            Ok(m) => {
                                let t = analyze.then(|| work(&m));
                                Slot::Message(m, t)
                            }
                            Err(e) => Slot::Unreadable(e),
                        })
                        .collect();
                    if done_tx.send((seq, credits, slots)).is_err() {
                        return;
                    }
                })
                .expect("analysis thread");
        }
        drop(done_tx);
        let mut ordered = Ordered { done: done_rx, credits: credit_rx, next: 0, waiting: BTreeMap::new(), current: Vec::new().into_iter() };
        consume(&mut ordered)
        // `ordered` is dropped here, before the scope joins: a reader or worker still sending
        // sees the channel closed and ends.
    })
}

/// The analyzed chunks put back in input order.
struct Ordered<T> {
    done: mpsc::Receiver<(u64, usize, Vec<Slot<T>>)>,
    credits: mpsc::Receiver<()>,
    next: u64,
    waiting: BTreeMap<u64, (usize, Vec<Slot<T>>)>,
    current: std::vec::IntoIter<Slot<T>>,
}

impl<T> Ordered<T> {
    fn next_chunk(&mut self) -> Option<Vec<Slot<T>>> {
        let (credits, chunk) = match self.waiting.remove(&self.next) {
            Some(c) => c,
            None => loop {
                // Every sender gone with the next chunk missing: a worker died (its panic is
                // re-raised when the scope joins).
                let (seq, credits, c) = self.done.recv().ok()?;
                if seq == self.next {
                    break (credits, c);
                }
                self.waiting.insert(seq, (credits, c));
            },
        };
        self.next += 1;
        // The reader sent the chunk's credits before the chunk: they are there to take back.
        for _ in 0..credits {
            let _ = self.credits.try_recv();
        }
        Some(chunk)
    }
}

impl<T> Iterator for Ordered<T> {
    type Item = Slot<T>;

    fn next(&mut self) -> Option<Slot<T>> {
        loop {
            if let Some(s) = self.current.next() {
                return Some(s);
            }
            self.current = self.next_chunk()?.into_iter();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(n: usize) -> Vec<Item> {
        (0..n)
            .map(|i| {
                if i % 97 == 5 {
                    Err(SourceError { source: format!("bad{i}"), error: std::io::Error::other("unreadable") })
                } else {
                    // Sizes vary so that some chunks close on bytes, not on count.
                    let raw = vec![b'a' + (i % 26) as u8; if i % 50 == 0 { CHUNK_BYTES / 3 } else { 10 + i % 300 }];
                    Ok(crate::source::Collector::whole(&raw, format!("m{i}")))
                }
            })
            .collect()
    }

    fn collect(threads: usize, n: usize) -> Vec<String> {
        run(
            items(n).into_iter(),
            threads,
            |m| m.source.ends_with('7'),
            |m| {
                // Uneven work, so that chunks finish out of order.
                if m.source.len() % 3 == 0 {
                    std::thread::sleep(std::time::Duration::from_micros(50));
                }
                m.raw.len()
            },
            |slots| {
                slots
                    .map(|s| match s {
                        Slot::Message(m, t) => format!("{} {:?}", m.source, t),
                        Slot::Unreadable(e) => format!("error {}", e.source),
                    })
                    .collect()
            },
        )
    }

    #[test]
    fn parallel_output_is_the_sequential_output() {
        let one = collect(1, 2000);
        assert_eq!(one.len(), 2000);
        assert!(one.contains(&"m17 None".to_string()) && one.contains(&"error bad5".to_string()));
        for threads in [2, 3, 8] {
            assert_eq!(collect(threads, 2000), one, "{threads} threads");
        }
        assert!(collect(4, 0).is_empty());
    }

    #[test]
    fn a_consumer_that_stops_early_stops_every_stage() {
        let got = run(items(5000).into_iter(), 3, |_| false, |m| m.raw.len(), |slots| slots.take(10).count());
        assert_eq!(got, 10);
    }
}
