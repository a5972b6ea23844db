//! `inmail requalify` decides on the evidence a fresh replay reads: with unchanged rules it
//! changes nothing; after a new rule it changes exactly the rows that rule now decides, to what a
//! fresh replay with that rule gives; rows set by hand and rows without evidence are untouched.

mod common;
use common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The shared corpus of real bounces (`../shared/corpus/sisimai` beside the repository). On CI
/// it must be there; elsewhere its absence is said, and the fixtures still run.
fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/sisimai");
    if p.is_dir() {
        return Some(p);
    }
    assert!(std::env::var("CI").as_deref() != Ok("true"), "the shared corpus {} is missing on CI", p.display());
    eprintln!("skipping the corpus half: {} not found", p.display());
    None
}

/// text → (type, reason, status, rule) of every qualification row.
fn table(db: &Path) -> BTreeMap<String, (String, i64, String, String)> {
    let conn = common::db(db);
    let mut st = conn.prepare("SELECT text, failure_type, failure_reason, status, rule FROM qualification").unwrap();
    st.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))).unwrap().map(|r| r.unwrap()).collect()
}

fn replay(dir: &Path, db: &Path, input: &Path) {
    ok(dir, &["replay", "--no-progress", "--db", db.to_str().unwrap(), input.to_str().unwrap()]);
}

fn requalify_json(dir: &Path, db: &Path, dry_run: bool) -> Vec<serde_json::Value> {
    let mut args = vec!["requalify", "--db", db.to_str().unwrap(), "--format", "json"];
    if dry_run {
        args.push("--dry-run");
    }
    let out = ok(dir, &args);
    serde_json::from_str::<serde_json::Value>(&out).unwrap().as_array().unwrap().clone()
}

fn unchanged_rules_change_nothing(input: &Path) {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("t.db");
    replay(tmp.path(), &db, input);
    let before = table(&db);
    assert!(before.len() > 20, "{} rows", before.len());
    assert_eq!(requalify_json(tmp.path(), &db, true), Vec::<serde_json::Value>::new(), "dry run on {}", input.display());
    let out = run(tmp.path(), &["requalify", "--db", db.to_str().unwrap()]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{} row(s) examined, 0 changed, 0 without stored evidence", before.len())), "{err}");
    assert_eq!(table(&db), before);
    assert_eq!(count(&common::db(&db), "SELECT count(*) FROM qualification_history"), 0);
}

#[test]
fn unchanged_rules_change_nothing_on_the_fixtures() {
    unchanged_rules_change_nothing(&fixtures());
}

#[test]
fn unchanged_rules_change_nothing_on_the_corpus() {
    if let Some(c) = corpus() {
        unchanged_rules_change_nothing(&c);
    }
}

const NEW_RULE: &str = "[[rule]]\nname = \"test-new-rule\"\nmatch = 'mailbox (?:is )?full|over ?quota|quota exceeded'\ntype = \"Hard\"\nreason = \"Account disabled\"\n";

/// Replay with the shipped rules, add a user rule, requalify: the rows changed are the new
/// rule's, and the table is the one a fresh replay with the rule builds.
fn a_new_rule_changes_only_its_rows(input: &Path) {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("t.db");
    replay(tmp.path(), &db, input);
    let before = table(&db);

    std::fs::write(tmp.path().join("mine.toml"), NEW_RULE).unwrap();
    std::fs::write(tmp.path().join("inmail.toml"), "rules_file = \"mine.toml\"\n").unwrap();
    let fresh = tmp.path().join("fresh.db");
    replay(tmp.path(), &fresh, input);
    let want = table(&fresh);

    let planned = requalify_json(tmp.path(), &db, true);
    assert_eq!(table(&db), before, "a dry run writes nothing");
    assert!(!planned.is_empty(), "the new rule decides some rows of {}", input.display());
    for c in &planned {
        assert_eq!(c["new_rule"], "test-new-rule", "{c}");
        assert_eq!(c["new_failure_type"], "Hard");
        assert_eq!(c["new_failure_reason"], "Account disabled");
        assert_ne!(c["old_rule"], "test-new-rule");
    }
    let done = requalify_json(tmp.path(), &db, false);
    assert_eq!(done, planned, "the real run prints what the dry run announced");
    assert_eq!(table(&db), want, "requalified = replayed afresh with the new rule");
    // Every change is in the row's history.
    let conn = common::db(&db);
    assert_eq!(count(&conn, "SELECT count(*) FROM qualification_history WHERE action = 'requalify'") as usize, planned.len());
    let id = planned[0]["id"].as_i64().unwrap().to_string();
    let show = ok(tmp.path(), &["qual", "show", "--db", db.to_str().unwrap(), &id]);
    assert!(show.contains("requalify") && show.contains("Account disabled"), "{show}");
    // Run again: nothing left to change.
    assert!(requalify_json(tmp.path(), &db, false).is_empty());
}

#[test]
fn a_new_rule_changes_only_its_rows_on_the_fixtures() {
    a_new_rule_changes_only_its_rows(&fixtures());
}

#[test]
fn a_new_rule_changes_only_its_rows_on_the_corpus() {
    if let Some(c) = corpus() {
        a_new_rule_changes_only_its_rows(&c);
    }
}

#[test]
fn manual_rows_and_rows_without_evidence_are_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("t.db");
    replay(tmp.path(), &db, &fixtures());
    std::fs::write(tmp.path().join("mine.toml"), "[[rule]]\nname = \"everything\"\nmatch = '.'\ntype = \"Soft\"\nreason = \"Refused\"\n").unwrap();
    std::fs::write(tmp.path().join("inmail.toml"), "rules_file = \"mine.toml\"\n").unwrap();
    let d = db.to_str().unwrap();
    ok(tmp.path(), &["qual", "set", "--db", d, "1", "--type", "hard", "--reason", "user unknown", "--by", "alice"]);
    // A row recorded by an inmail that stored no evidence.
    common::db(&db).execute("UPDATE qualification SET evidence = NULL WHERE id = 2", []).unwrap();
    let before = table(&db);
    let changes = requalify_json(tmp.path(), &db, false);
    assert!(!changes.is_empty());
    assert!(changes.iter().all(|c| c["id"] != 1 && c["id"] != 2), "{changes:?}");
    let after = table(&db);
    let row = |t: &BTreeMap<String, (String, i64, String, String)>, id: i64| {
        let text: String = common::db(&db).query_row("SELECT text FROM qualification WHERE id = ?1", [id], |r| r.get(0)).unwrap();
        t[&text].clone()
    };
    assert_eq!(row(&after, 1), row(&before, 1));
    assert_eq!(row(&after, 2), row(&before, 2));
    // The manual change is in the row's history too, with who made it.
    let show = ok(tmp.path(), &["qual", "show", "--db", d, "1", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&show).unwrap();
    assert_eq!(v[0]["history"][0]["action"], "set");
    assert_eq!(v[0]["history"][0]["by"], "alice");
    let out = run(tmp.path(), &["requalify", "--db", d, "--dry-run"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("1 without stored evidence") && err.contains("1 set by hand"), "{err}");
}
