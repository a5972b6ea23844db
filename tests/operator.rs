//! The command line as an operator meets it: wrong paths, read-only databases, rule
//! suggestions, list imports and releases that say what they did, one output convention.

mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn replay(dir: &Path, db: &Path, input: &Path) {
    ok(dir, &["replay", "--no-progress", "--db", db.to_str().unwrap(), input.to_str().unwrap()]);
}

// ---- 3. Missing inputs and databases -------------------------------------------------------

#[test]
fn a_missing_input_is_an_error_and_creates_no_database() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("nx.db");
    let o = run(tmp.path(), &["replay", "--no-progress", "--db", db.to_str().unwrap(), "/nonexistent/typo.mbox"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("/nonexistent/typo.mbox"), "{}", stderr(&o));
    assert!(!db.exists(), "no database for nothing replayed");
    let o = run(tmp.path(), &["parse", "--json", "/nonexistent"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("/nonexistent"), "{}", stderr(&o));
    let o = run(tmp.path(), &["replay", "--db", db.to_str().unwrap(), "--sr", "/nonexistent/reports.tsv"]);
    assert!(!o.status.success() && stderr(&o).contains("/nonexistent/reports.tsv"), "{}", stderr(&o));
    assert!(!db.exists());
}

#[test]
fn the_other_inputs_are_still_processed_then_the_command_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("t.db");
    let good = fixtures().join("basic");
    let o = run(tmp.path(), &["replay", "--no-progress", "--db", db.to_str().unwrap(), "/nonexistent/a.mbox", good.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("/nonexistent/a.mbox"));
    assert!(count(&common::db(&db), "SELECT count(*) FROM bounce_event") > 0, "the good folder was replayed");
    let o = run(tmp.path(), &["parse", "--json", good.to_str().unwrap(), "/nonexistent/b"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(json_lines(&String::from_utf8_lossy(&o.stdout)).len() > 3, "the good folder was parsed");
    assert!(stderr(&o).contains("/nonexistent/b"));
}

const READERS: &[&[&str]] = &[
    &["qual", "list"],
    &["qual", "show", "1"],
    &["report"],
    &["status"],
    &["quarantine", "list"],
    &["quarantine", "export"],
    &["quarantine", "show", "alice@example.org"],
    &["rules", "suggest"],
    &["requalify", "--dry-run"],
    &["quarantine", "release", "alice@example.org", "--dry-run"],
];

#[test]
fn reading_commands_never_create_a_database() {
    let tmp = tempfile::tempdir().unwrap();
    for args in READERS {
        let mut a = args.to_vec();
        a.extend(["--db", "typo.db"]);
        let o = run(tmp.path(), &a);
        assert!(!o.status.success(), "{args:?}");
        assert!(stderr(&o).contains("cannot open database typo.db"), "{args:?}: {}", stderr(&o));
        assert!(!tmp.path().join("typo.db").exists(), "{args:?} created the database");
    }
    // Without --db: ./inmail.db is not created either.
    let o = run(tmp.path(), &["status"]);
    assert!(!o.status.success());
    assert!(!tmp.path().join("inmail.db").exists());
}

/// Run `exe` as `nobody` when root (CI is root), through setpriv (util-linux).
fn as_other_user(exe: &Path, dir: &Path, args: &[&str]) -> Output {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let mut c = if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]).arg(exe);
        c
    } else {
        Command::new(exe)
    };
    c.current_dir(dir).env_remove("USER").args(args).output().expect("run setpriv (util-linux)")
}

#[test]
fn a_read_only_database_of_another_user_can_be_inspected() {
    // A directory the other user may enter but not write, holding a 0444 database, under the
    // system's temporary directory (the checkout may sit in a home only root can enter), and
    // a copy of the binary the other user can run.
    use std::os::unix::fs::PermissionsExt;
    let top = std::env::temp_dir().join(format!("inmail-ro-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&top);
    let (base, exe) = (top.join("db"), top.join("bin/inmail"));
    std::fs::create_dir_all(&base).unwrap();
    std::fs::create_dir_all(exe.parent().unwrap()).unwrap();
    std::fs::copy(bin(), &exe).unwrap();
    for d in [&top, &base, &exe.parent().unwrap().to_path_buf()] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let db = base.join("inmail.db");
    replay(&base, &db, &fixtures().join("basic"));
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();
    // Every ancestor must be traversable by `nobody`.
    let mut p = base.parent();
    while let Some(d) = p {
        let mode = std::fs::metadata(d).unwrap().permissions().mode();
        assert!(mode & 0o001 != 0, "{} is not traversable by another user", d.display());
        p = d.parent();
    }
    for args in READERS {
        let mut a = args.to_vec();
        a.extend(["--db", db.to_str().unwrap()]);
        let o = as_other_user(&exe, &base, &a);
        assert!(o.status.success(), "{args:?} on a read-only database: {}", stderr(&o));
    }
    let listed: Value = serde_json::from_slice(&as_other_user(&exe, &base, &["qual", "list", "--format", "json", "--db", db.to_str().unwrap()]).stdout).unwrap();
    assert!(listed.as_array().unwrap().len() >= 3);
    // A writing command is refused clearly, and nothing changed.
    let o = as_other_user(&exe, &base, &["qual", "set", "1", "--status", "ignore", "--db", db.to_str().unwrap()]);
    assert!(!o.status.success());
    let entries: Vec<String> = std::fs::read_dir(&base).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(entries, vec!["inmail.db".to_string()], "no -wal or -shm left by the readers");
    std::fs::remove_dir_all(&top).ok();
}

#[test]
fn a_database_name_with_uri_characters_opens_read_only() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("odd ?name#1%2.db");
    replay(tmp.path(), &db, &fixtures().join("basic"));
    let out = ok(tmp.path(), &["qual", "list", "--format", "json", "--db", db.to_str().unwrap()]);
    assert!(serde_json::from_str::<Value>(&out).unwrap().as_array().unwrap().len() >= 3);
    assert!(!tmp.path().join("odd ").exists(), "the name was not cut at the URI's `?`");
}

// ---- 2. Rules suggested from rows qualified by hand -----------------------------------------

#[test]
fn rules_suggest_turns_keep_rows_into_rules_that_check_and_decide() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("t.db");
    let d = db.to_str().unwrap();
    replay(tmp.path(), &db, &fixtures());
    let rows: Value = serde_json::from_str(&ok(tmp.path(), &["qual", "list", "--db", d, "--format", "json"])).unwrap();
    // A row the rules qualify, corrected by hand to something they would never say.
    let row = rows.as_array().unwrap().iter().find(|r| r["text"].as_str().unwrap().contains("mailbox") || r["failure_reason"] == "Mailbox full").expect("a mailbox-full row").clone();
    let id = row["id"].as_i64().unwrap().to_string();
    ok(tmp.path(), &["qual", "set", "--db", d, &id, "--status", "keep", "--type", "hard", "--reason", "account disabled"]);
    let fragment = ok(tmp.path(), &["rules", "suggest", "--db", d]);
    assert!(fragment.contains(&format!("name = \"suggested-row-{id}\"")), "{fragment}");
    assert!(fragment.contains("examples = ["), "{fragment}");
    let file = tmp.path().join("suggested.toml");
    std::fs::write(&file, &fragment).unwrap();
    assert!(ok(tmp.path(), &["rules", "check", file.to_str().unwrap()]).starts_with("ok: "));
    // Used as the user's rules, the suggestion decides the row's first diagnostic.
    std::fs::write(tmp.path().join("inmail.toml"), "rules_file = \"suggested.toml\"\n").unwrap();
    let first = row["first_text"].as_str().unwrap();
    let t: Value = serde_json::from_str(ok(tmp.path(), &["rules", "test", "--json", first]).trim()).unwrap();
    assert_eq!(t["rule"], format!("suggested-row-{id}"));
    assert_eq!((t["failure_type"].as_str(), t["failure_reason"].as_str()), (Some("Hard"), Some("Account disabled")));
    // The shipped rules are untouched: they still say Mailbox full.
    std::fs::remove_file(tmp.path().join("inmail.toml")).unwrap();
    let t: Value = serde_json::from_str(ok(tmp.path(), &["rules", "test", "--json", first]).trim()).unwrap();
    assert_ne!(t["failure_reason"], "Account disabled");
}

// ---- 4. Quarantine import, release, show -----------------------------------------------------

fn quarantined(dir: &Path, db: &Path, rcpt: &str, date: &str, fixture: &str) -> PathBuf {
    let text = std::fs::read_to_string(fixtures().join("quarantine").join(fixture)).unwrap();
    let text = text.replace("rcpt@example.com", rcpt).replace("Mon, 05 Jan 2026 10:00:00 +0000", date);
    let p = dir.join(format!("{rcpt}-{fixture}"));
    std::fs::write(&p, text).unwrap();
    replay(dir, db, &p);
    p
}

#[test]
fn import_skips_a_header_and_rejects_junk_writing_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("t.db");
    let d = db.to_str().unwrap();
    let list = tmp.path().join("list.csv");
    std::fs::write(&list, "id,email,date\n1,a@example.com,2026-01-01\n2,+33612345678,2026-01-02\n").unwrap();
    let out = ok(tmp.path(), &["quarantine", "import", "--db", d, list.to_str().unwrap()]);
    assert!(out.contains("2 address(es) denylisted"), "{out}");
    let all: Value = serde_json::from_str(&ok(tmp.path(), &["quarantine", "list", "--db", d, "--format", "json"])).unwrap();
    let addresses: Vec<&str> = all.as_array().unwrap().iter().map(|e| e["address"].as_str().unwrap()).collect();
    assert_eq!(addresses.len(), 2, "{addresses:?}");
    assert!(addresses.contains(&"a@example.com") && addresses.contains(&"+33612345678"));
    for (junk, line) in [("a@example.org\nword\n", 2), ("x@example.org\n\n12\n", 3), ("id\n", 1), ("b@example.org\nnot@valid\n", 2)] {
        let bad = tmp.path().join("junk.txt");
        std::fs::write(&bad, junk).unwrap();
        let o = run(tmp.path(), &["quarantine", "import", "--db", d, bad.to_str().unwrap()]);
        assert!(!o.status.success(), "{junk:?} accepted");
        assert!(stderr(&o).contains(&format!("junk.txt: line {line}")), "{junk:?}: {}", stderr(&o));
    }
    let after: Value = serde_json::from_str(&ok(tmp.path(), &["quarantine", "list", "--db", d, "--format", "json"])).unwrap();
    assert_eq!(after.as_array().unwrap().len(), 2, "nothing written by a rejected list");
}

#[test]
fn release_prints_the_state_after_and_an_unknown_address_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("t.db");
    let d = db.to_str().unwrap();
    quarantined(tmp.path(), &db, "h@example.com", "Mon, 05 Jan 2026 10:00:00 +0000", "hard-user-unknown.eml");
    let out = ok(tmp.path(), &["quarantine", "release", "--db", d, "h@example.com", "--format", "json", "--by", "alice"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["address"], "h@example.com");
    assert_eq!(v[0]["status"], "Valid", "the state after the release: {out}");
    assert_eq!(v[0]["error_count"], 0);
    let o = run(tmp.path(), &["quarantine", "release", "--db", d, "nobody@example.com"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("nobody@example.com"), "{}", stderr(&o));
}

#[test]
fn show_names_the_event_that_set_the_status() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("t.db");
    let d = db.to_str().unwrap();
    quarantined(tmp.path(), &db, "q@example.com", "Mon, 05 Jan 2026 10:00:00 +0000", "hard-user-unknown.eml");
    quarantined(tmp.path(), &db, "q@example.com", "Tue, 06 Jan 2026 10:00:00 +0000", "soft-unreachable.eml");
    let v: Value = serde_json::from_str(&ok(tmp.path(), &["quarantine", "show", "--db", d, "q@example.com", "--format", "json"])).unwrap();
    assert_eq!(v["entry"]["status"], "Quarantine");
    let cause = &v["status_set_by"];
    assert_eq!(cause["change"]["new_status"], "Quarantine");
    assert_eq!(cause["change"]["action"], "event");
    assert_eq!(cause["bounce"]["event_time"], "2026-01-05T10:00:00Z", "{cause}");
    assert_eq!(cause["bounce"]["failure_type"], "Hard");
    let bounces = v["bounces"].as_array().unwrap();
    assert_eq!(bounces.last().unwrap()["event_time"], "2026-01-06T10:00:00Z", "the last bounce is a later one");
    let table = ok(tmp.path(), &["quarantine", "show", "--db", d, "q@example.com"]);
    assert!(table.contains("status set by:"), "{table}");
}

// ---- 5. One output convention ----------------------------------------------------------------

fn run_env(dir: &Path, args: &[&str], env: &[(&str, &str)], remove: &[&str]) -> Output {
    let mut c = Command::new(bin());
    c.current_dir(dir).args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    for k in remove {
        c.env_remove(k);
    }
    c.output().unwrap()
}

/// A bounce whose diagnostic carries terminal escape sequences and a bidirectional override.
fn hostile(dir: &Path, db: &Path) {
    let text = std::fs::read_to_string(fixtures().join("quarantine/hard-user-unknown.eml")).unwrap();
    let text = text
        .replace("in virtual mailbox table", "in \x1b[2J\x1b]0;owned\x07 virtual table \u{202e}exe.txt")
        .replace("rcpt@example.com", "esc@example.com");
    let p = dir.join("hostile.eml");
    std::fs::write(&p, text).unwrap();
    replay(dir, db, &p);
}

#[test]
fn listings_share_formats_escape_control_characters_and_fit_the_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("t.db");
    let d = db.to_str().unwrap();
    hostile(tmp.path(), &db);
    replay(tmp.path(), &db, &fixtures().join("basic"));
    let listings: &[&[&str]] = &[
        &["qual", "list"],
        &["quarantine", "list"],
        &["quarantine", "export"],
        &["quarantine", "release", "esc@example.com", "--dry-run"],
        &["report"],
        &["status"],
        &["rules", "list"],
        &["requalify", "--dry-run"],
    ];
    for args in listings {
        for format in ["table", "json", "csv"] {
            let mut a = args.to_vec();
            a.extend(["--db", d, "--format", format]);
            if args[0] == "rules" {
                a.truncate(a.len() - 4);
                a.extend(["--format", format]);
            }
            let o = run_env(tmp.path(), &a, &[("COLUMNS", "80")], &[]);
            assert!(o.status.success(), "{a:?}: {}", stderr(&o));
            let out = String::from_utf8(o.stdout).unwrap();
            assert!(!out.chars().any(|c| c.is_control() && c != '\n' || c == '\u{202e}'), "{a:?} printed a raw control character:\n{out}");
            match format {
                "json" => {
                    serde_json::from_str::<Value>(&out).unwrap_or_else(|e| panic!("{a:?}: {e}\n{out}"));
                }
                "table" => {
                    for line in out.lines() {
                        assert!(line.chars().count() <= 80, "{a:?}: a line wider than the terminal:\n{out}");
                    }
                }
                _ => {}
            }
        }
    }
    // The escapes are shown, visibly; JSON keeps the exact text.
    let table = String::from_utf8(run_env(tmp.path(), &["quarantine", "list", "--db", d, "--wide"], &[("COLUMNS", "80")], &[]).stdout).unwrap();
    assert!(table.contains(r"\u{1b}[2J") && table.contains(r"\u{202e}"), "{table}");
    assert!(table.lines().any(|l| l.chars().count() > 80), "--wide shows everything");
    let short = String::from_utf8(run_env(tmp.path(), &["quarantine", "list", "--db", d], &[("COLUMNS", "80")], &[]).stdout).unwrap();
    assert!(short.contains('…'), "long text cut with an ellipsis:\n{short}");
}

#[test]
fn status_json_times_are_rfc3339() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("t.db");
    replay(tmp.path(), &db, &fixtures().join("basic"));
    common::db(&db)
        .execute(
            "INSERT INTO imap_state (mailbox, folder, uidvalidity, last_uid, last_poll, processed, last_error, last_error_at, updated_at)
             VALUES ('main', 'INBOX', 7, 42, 1767607200, 42, 'timeout', 1767607100, 1767607200)",
            [],
        )
        .unwrap();
    for args in [&["status", "--json"][..], &["status", "--format", "json"]] {
        let mut a = args.to_vec();
        a.extend(["--db", db.to_str().unwrap()]);
        let v: Value = serde_json::from_str(&ok(tmp.path(), &a)).unwrap();
        assert_eq!(v[0]["last_poll"], "2026-01-05T10:00:00Z", "{v}");
        assert_eq!(v[0]["last_error_at"], "2026-01-05T09:58:20Z");
    }
}

#[test]
fn history_names_the_account_when_user_is_unset() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("t.db");
    let d = db.to_str().unwrap();
    quarantined(tmp.path(), &db, "u@example.com", "Mon, 05 Jan 2026 10:00:00 +0000", "hard-user-unknown.eml");
    let o = run_env(tmp.path(), &["quarantine", "release", "--db", d, "u@example.com"], &[], &["USER", "LOGNAME"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&ok(tmp.path(), &["quarantine", "show", "--db", d, "u@example.com", "--format", "json"])).unwrap();
    let by = v["history"].as_array().unwrap().last().unwrap()["by"].as_str().unwrap().to_string();
    assert!(!by.is_empty() && by != "unknown", "by: {by}");
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        assert_eq!(by, "root");
    }
}

#[test]
fn rules_commands_validate_and_explain() {
    let tmp = tempfile::tempdir().unwrap();
    let o = run(tmp.path(), &["rules", "test", "--status", "bogus", "550 user unknown"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("not an enhanced status code"), "{}", stderr(&o));
    ok(tmp.path(), &["rules", "test", "--status", "5.1.1", "550 user unknown"]);
    // The reason labels are listed where a rule author looks: the help and a bad reason.
    let help = ok(tmp.path(), &["rules", "check", "--help"]);
    assert!(help.contains("User unknown") && help.contains("20  Refused") && help.contains("Mailbox full"), "{help}");
    let bad = tmp.path().join("bad.toml");
    std::fs::write(&bad, "[[rule]]\nname = \"x\"\nmatch = 'x'\ntype = \"Hard\"\nreason = \"Bogus\"\n").unwrap();
    let o = run(tmp.path(), &["rules", "check", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("Account disabled"), "{}", stderr(&o));
    // A name given twice is flagged.
    let dup = tmp.path().join("dup.toml");
    std::fs::write(&dup, "[[rule]]\nname = \"same\"\nmatch = 'a'\ntype = \"Hard\"\nreason = \"Refused\"\n[[rule]]\nname = \"same\"\nmatch = 'b'\ntype = \"Soft\"\nreason = \"Refused\"\n").unwrap();
    let o = run(tmp.path(), &["rules", "check", dup.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("\"same\"") && stderr(&o).contains("already used"), "{}", stderr(&o));
}

#[test]
fn completions_and_man_page_come_from_the_cli_definition() {
    let tmp = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let out = ok(tmp.path(), &["completions", shell]);
        assert!(out.contains("inmail") && out.contains("requalify") && out.contains("quarantine"), "{shell}");
    }
    let page = ok(tmp.path(), &["man"]);
    assert!(page.contains(".TH inmail 1") || page.contains(".TH INMAIL 1") || page.starts_with(".ie"), "{}", &page[..200.min(page.len())]);
    assert!(page.contains("requalify"));
    let dir = tmp.path().join("man1");
    let o = run(tmp.path(), &["man", "--dir", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.join("inmail.1").is_file());
    assert!(dir.join("inmail-qual-list.1").is_file(), "{:?}", std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect::<Vec<_>>());
}
