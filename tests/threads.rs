//! One thread and several give the same result: `replay` writes the same database (messages,
//! events, qualification rows, quarantine and its history, row for row, ids included) and
//! prints the same summary; `parse` prints the same bytes. The real binary on real files.

mod common;
use common::*;
use std::path::{Path, PathBuf};

/// Every fixture message, `copies` times over, each copy made distinct by a header of its own;
/// every fifth copy also repeated as is (duplicates to skip), and a junk message.
fn mbox(dir: &Path, copies: usize) -> PathBuf {
    let mut files = Vec::new();
    let mut stack = vec![fixtures()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "eml") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() > 30, "fixtures found: {}", files.len());
    let mut out = Vec::new();
    for k in 0..copies {
        for (i, f) in files.iter().enumerate() {
            let text = String::from_utf8_lossy(&std::fs::read(f).unwrap()).replace("\r\n", "\n");
            let text = text.strip_prefix("From ").map(|t| t.split_once('\n').map_or("", |x| x.1).to_string()).unwrap_or(text);
            let mut msg = format!("From MAILER-DAEMON Thu Jan  1 00:00:00 2026\nX-Copy: {k}\n");
            for line in text.trim_end_matches('\n').split('\n') {
                if line.trim_start_matches('>').starts_with("From ") {
                    msg.push('>');
                }
                msg.push_str(line);
                msg.push('\n');
            }
            msg.push('\n');
            out.extend_from_slice(msg.as_bytes());
            if k % 5 == 0 && i % 3 == 0 {
                out.extend_from_slice(msg.as_bytes());
            }
        }
        out.extend_from_slice(format!("From junk Thu Jan  1 00:00:00 2026\nnot a header line, copy {k}\n\n").as_bytes());
    }
    let p = dir.join("all.mbox");
    std::fs::write(&p, out).unwrap();
    p
}

/// Every table, every row in id order, every column but the wall-clock stamps
/// (`processed_at`, `updated_at`); a time within the runs (the event time of a message without
/// a date is the time it was recorded) reads `NOW`.
fn dump(path: &Path, from: i64, to: i64) -> Vec<String> {
    let c = db(path);
    let tables: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let mut out = Vec::new();
    for t in tables {
        // (WITHOUT ROWID tables, such as a full-text index's own, in key order)
        let mut st = c.prepare(&format!("SELECT * FROM {t} ORDER BY rowid")).or_else(|_| c.prepare(&format!("SELECT * FROM {t} ORDER BY 1"))).unwrap();
        let names: Vec<String> = st.column_names().iter().map(|s| s.to_string()).collect();
        let mut rows = st.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            let mut line = format!("{t}:");
            for (i, n) in names.iter().enumerate() {
                if n == "processed_at" || n == "updated_at" {
                    continue;
                }
                let v: rusqlite::types::Value = r.get(i).unwrap();
                let shown = match v {
                    rusqlite::types::Value::Integer(x) if (from..=to).contains(&x) => "NOW".to_string(),
                    v => format!("{v:?}"),
                };
                line.push_str(&format!(" {n}={shown}"));
            }
            out.push(line);
        }
    }
    out
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

#[test]
fn replay_with_one_thread_and_with_four_writes_the_same_database() {
    let tmp = tempfile::tempdir().unwrap();
    let input = mbox(tmp.path(), 12);
    let input = input.to_str().unwrap();
    let from = now();
    let mut dumps = Vec::new();
    let mut summaries = Vec::new();
    for threads in ["1", "4"] {
        let dbp = tmp.path().join(format!("t{threads}.db"));
        let d = dbp.to_str().unwrap();
        // Small transactions: their boundaries (and the quarantine applied in each) must fall
        // on the same messages whatever the threads.
        summaries.push(ok(tmp.path(), &["replay", "--db", d, "--threads", threads, "--batch", "37", "--json", input]));
        // The second replay finds every message known.
        let again = ok(tmp.path(), &["replay", "--db", d, "--threads", threads, "--json", input]);
        let again = &json_lines(&again.replace('\n', " "))[0];
        assert_eq!(again["recorded"], 0, "{again}");
        dumps.push(tmp.path().join(format!("t{threads}.db")));
    }
    let to = now();
    let (one, four) = (dump(&dumps[0], from, to), dump(&dumps[1], from, to));
    assert_eq!(summaries[0], summaries[1]);
    let s = &json_lines(&summaries[0].replace('\n', " "))[0];
    assert!(s["duplicates"].as_u64().unwrap() > 30 && s["failed"].as_array().unwrap().len() >= 12, "{s}");
    for table in ["message:", "bounce_event:", "qualification:", "quarantine:", "quarantine_history:"] {
        assert!(one.iter().filter(|l| l.starts_with(table)).count() > 10, "{table} has rows");
    }
    assert_eq!(one.len(), four.len());
    for (a, b) in one.iter().zip(&four) {
        assert_eq!(a, b);
    }
}

#[test]
fn parse_with_one_thread_and_with_three_prints_the_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let input = mbox(tmp.path(), 6);
    let args = |t: &'static str| ["parse", "--json", "--threads", t, input.to_str().unwrap()];
    let one = ok(tmp.path(), &args("1"));
    assert!(one.lines().count() > 200);
    assert_eq!(ok(tmp.path(), &args("3")), one);
    // A folder too (files read in name order).
    let folder = fixtures().join("dialects");
    let f = |t: &'static str| ok(tmp.path(), &["parse", "--json", "--threads", t, folder.to_str().unwrap()]);
    assert_eq!(f("4"), f("1"));
}
