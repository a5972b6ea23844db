//! The golden dialect fixtures: every `fixtures/dialects/<name>/NN.eml` is parsed by the built
//! binary and each of its records compared, key by key, with `NN.expected.jsonl` beside it.
//! Adding an MTA or provider adds a folder; this one harness checks them all.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const KEYS: &[&str] = &["kind", "recipient", "original_recipient", "action", "status", "smtp_command", "failure_type", "failure_reason", "detail", "dialect", "provider"];

fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/dialects");
    let mut out = Vec::new();
    for dir in std::fs::read_dir(&root).expect("fixtures/dialects") {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "eml") {
                out.push(f);
            }
        }
    }
    out.sort();
    out
}

/// (folder/NN, records in order) of what `inmail parse --json` prints for the fixtures.
fn parse_all(files: &[PathBuf]) -> BTreeMap<String, Vec<serde_json::Value>> {
    let out = Command::new(env!("CARGO_BIN_EXE_inmail")).arg("parse").arg("--json").args(files).output().expect("run inmail");
    assert!(out.status.success(), "inmail parse failed: {}", String::from_utf8_lossy(&out.stderr));
    let mut got: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        got.entry(key_of(Path::new(v["source"].as_str().unwrap_or("")))).or_default().push(v);
    }
    got
}

fn key_of(p: &Path) -> String {
    let folder = p.parent().and_then(|d| d.file_name()).map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    format!("{folder}/{}", p.file_stem().unwrap_or_default().to_string_lossy())
}

#[test]
fn every_dialect_fixture_gives_its_expected_records() {
    let files = fixtures();
    assert!(files.len() > 200, "only {} fixtures", files.len());
    let got = parse_all(&files);
    let mut failures = Vec::new();
    let mut checked = 0;
    for f in &files {
        let key = key_of(f);
        let expected: Vec<serde_json::Value> = std::fs::read_to_string(f.with_extension("expected.jsonl"))
            .unwrap_or_else(|e| panic!("{key}: no expected records: {e}"))
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{key}: bad expected line: {e}")))
            .collect();
        let records = got.get(&key).cloned().unwrap_or_default();
        if records.len() != expected.len() {
            failures.push(format!("{key}: {} records, expected {}", records.len(), expected.len()));
            continue;
        }
        for (i, (want, have)) in expected.iter().zip(&records).enumerate() {
            checked += 1;
            let diffs: Vec<String> = KEYS
                .iter()
                .filter(|k| want.get(**k).is_some())
                .filter(|k| want[**k].as_str().unwrap_or("") != have[**k].as_str().unwrap_or(""))
                .map(|k| format!("{k}: expected {:?}, got {:?}", want[*k].as_str().unwrap_or(""), have[*k].as_str().unwrap_or("")))
                .collect();
            if !diffs.is_empty() {
                failures.push(format!("{key} record {}: {} (text {:?})", i + 1, diffs.join("; "), have["text"].as_str().unwrap_or("")));
            }
        }
    }
    assert!(failures.is_empty(), "{} of the fixture records differ ({checked} compared):\n{}", failures.len(), failures.join("\n"));
}
