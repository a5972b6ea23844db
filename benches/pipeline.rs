//! Per-message cost of each stage on the project's own fixtures, so regressions show:
//! extraction, normalization, rule matching, the whole pipeline, and the store; then the cost
//! per message of the analysis and of a whole replay on distinct messages (`bench_distinct`).
//! Run: `cargo bench --bench pipeline` (no timing is ever asserted in tests).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use inmail::extract::analyze;
use inmail::normalize::normalize;
use inmail::pipeline::{fingerprint, process};
use inmail::rules::RuleSet;
use inmail::source::RawMessage;
use std::path::Path;

fn fixtures() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "eml") {
                out.push(std::fs::read(p).unwrap());
            }
        }
    }
    out.sort();
    out
}

const DIAGNOSTICS: &[&str] = &[
    "550 5.1.1 <kijitora@example.jp>... User unknown",
    "552 5.2.2 The email account that you tried to reach is over quota. Please direct the recipient to https://support.example.com/mail/?p=OverQuota 4si12345.123 - gsmtp",
    "host mx.example.org [192.0.2.20]: 554 5.7.1 Service unavailable; Client host [198.51.100.7] blocked using zen.spamhaus.org",
    "SMTP error from remote mail server after RCPT TO:<a@example.net>: 421 4.7.0 Try again later, closing connection. (EHLO) id 2si1234567qkj.98 - gsmtp",
    "Remote host said: 550 Requested action not taken: mailbox unavailable (#5.1.1) Mon, 1 Oct 2010 19:15:23 +0900",
];

fn bench(c: &mut Criterion) {
    let msgs = fixtures();
    let rules = RuleSet::load(None).unwrap();
    let mut g = c.benchmark_group("per-message");
    g.throughput(Throughput::Elements(msgs.len() as u64));
    g.bench_function("extract", |b| b.iter(|| msgs.iter().map(|m| analyze(black_box(m)).map(|a| a.bounces.len()).unwrap_or(0)).sum::<usize>()));
    g.bench_function("pipeline", |b| b.iter(|| msgs.iter().map(|m| process(&rules, black_box(m)).map(|p| p.records.len()).unwrap_or(0)).sum::<usize>()));
    g.bench_function("fingerprint", |b| b.iter(|| msgs.iter().map(|m| fingerprint(black_box(m))[0] as usize).sum::<usize>()));
    g.finish();

    let mut g = c.benchmark_group("per-diagnostic");
    g.throughput(Throughput::Elements(DIAGNOSTICS.len() as u64));
    g.bench_function("normalize", |b| b.iter(|| DIAGNOSTICS.iter().map(|d| normalize(black_box(d)).len()).sum::<usize>()));
    g.bench_function("rules", |b| b.iter(|| DIAGNOSTICS.iter().filter(|d| rules.find(&inmail::rules::Evidence { diagnostic: black_box(d), ..Default::default() }).is_some()).count()));
    g.finish();

    // The store: a batch of fresh messages written in one transaction to a real SQLite file.
    let tmp = tempfile::tempdir().unwrap();
    let mut store = inmail::store::Store::open(&tmp.path().join("bench.db")).unwrap();
    let mut serial = 0u64;
    let mut g = c.benchmark_group("store");
    g.throughput(Throughput::Elements(msgs.len() as u64));
    g.bench_function("ingest-batch", |b| {
        b.iter(|| {
            let batch: Vec<RawMessage> = msgs
                .iter()
                .map(|m| {
                    serial += 1;
                    // unique bytes per iteration so nothing is skipped as already known
                    let mut raw = format!("X-Bench-Serial: {serial}\n").into_bytes();
                    raw.extend_from_slice(m);
                    RawMessage { source: format!("bench#{serial}"), fingerprint: fingerprint(&raw), size: raw.len() as u64, raw, truncated: false }
                })
                .collect();
            let mut stats = inmail::ingest::Stats::default();
            inmail::ingest::ingest_batch(&mut store, &rules, &batch, 1, &mut stats, None).unwrap();
        })
    });
    g.finish();
}

/// The messages of `dir` (every file, recursively, sorted), each `copies` times over as one
/// mboxrd text, every copy made distinct by a header line of its own: nothing can be skipped
/// as already known, every message is parsed, qualified and written (as `make_mbox.py` does for
/// `../shared/eval/bench.sh`).
fn distinct_mbox(dir: &Path, copies: usize) -> (Vec<u8>, usize) {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if !p.file_name().unwrap().to_string_lossy().starts_with('.') && !p.to_string_lossy().ends_with(".mbox") {
                files.push(p);
            }
        }
    }
    files.sort();
    let (mut out, mut n) = (Vec::new(), 0);
    for k in 0..copies {
        for f in &files {
            let data = std::fs::read(f).unwrap();
            let data = String::from_utf8_lossy(&data).replace("\r\n", "\n");
            out.extend_from_slice(format!("From MAILER-DAEMON Thu Jan  1 00:00:00 2026\nX-Bench-Copy: {k}\n").as_bytes());
            for line in data.trim_end_matches('\n').split('\n') {
                if line.trim_start_matches('>').starts_with("From ") {
                    out.push(b'>');
                }
                out.extend_from_slice(line.as_bytes());
                out.push(b'\n');
            }
            out.push(b'\n');
            n += 1;
        }
    }
    (out, n)
}

/// Per-message cost on distinct messages: the analysis alone on one core, and the whole replay
/// (mbox split and fingerprinted, analysis, SQLite writes with the quarantine, a fresh database
/// each time) with one thread and with every core. The messages are the bundled fixtures, or
/// every file of `INMAIL_BENCH_CORPUS` (e.g. `../shared/corpus/sisimai`), `INMAIL_BENCH_COPIES`
/// times over (default 50: a fresh database is opened and closed each time, a fixed cost
/// that a few hundred messages would not amortize). Criterion's `thrpt` is messages per second; `time` / messages is
/// the cost of one message.
fn bench_distinct(c: &mut Criterion) {
    let dir = std::env::var_os("INMAIL_BENCH_CORPUS").map(std::path::PathBuf::from).unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures"));
    let copies = std::env::var("INMAIL_BENCH_COPIES").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
    let (mbox, n) = distinct_mbox(&dir, copies);
    let mbox: &'static [u8] = Box::leak(mbox.into_boxed_slice());
    let read = || {
        let r = std::io::BufReader::with_capacity(256 * 1024, std::io::Cursor::new(mbox));
        inmail::source::mbox::MboxReader::new(Box::new(r), "bench.mbox".into())
    };
    let rules = RuleSet::load(None).unwrap();
    let msgs: Vec<RawMessage> = read().map(|m| m.unwrap()).collect();
    assert_eq!(msgs.len(), n);
    let mut g = c.benchmark_group(format!("distinct-{n}-messages"));
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(10);
    g.bench_function("analysis-1-thread", |b| {
        b.iter(|| msgs.iter().map(|m| process(&rules, black_box(&m.raw)).map(|p| p.records.len()).unwrap_or(0)).sum::<usize>())
    });
    let quarantine = inmail::config::QuarantineConfig::default();
    let cores = inmail::ingest::cores();
    for threads in [1, cores] {
        g.bench_function(format!("replay-{threads}-threads"), |b| {
            b.iter_batched(
                || {
                    let tmp = tempfile::tempdir().unwrap();
                    let store = inmail::store::Store::open(&tmp.path().join("bench.db")).unwrap();
                    (tmp, store)
                },
                |(tmp, mut store)| {
                    let mut hook = |batch: &inmail::store::Batch<'_>, events: &[inmail::store::StoredEvent]| {
                        inmail::quarantine::apply_events(batch.tx(), &quarantine, events).map(|_| ())
                    };
                    let opts = inmail::ingest::ReplayOptions { threads, batch: 5000 };
                    let stats = inmail::ingest::replay(&mut store, &rules, read(), opts, Some(&mut hook), &mut |_, _| {}).unwrap();
                    assert_eq!(stats.messages as usize, n);
                    drop(store);
                    tmp
                },
                criterion::BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = bench, bench_distinct
}
criterion_main!(benches);
