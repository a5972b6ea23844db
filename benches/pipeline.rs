//! Per-message cost of each stage on the project's own fixtures, so regressions show:
//! extraction, normalization, rule matching, the whole pipeline, and the store.
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

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
