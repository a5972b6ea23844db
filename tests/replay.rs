//! `inmail replay` end to end: real files, a real SQLite database, the real binary.

mod common;
use common::*;

#[test]
fn replay_twice_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dbp = tmp.path().join("t.db");
    let db_arg = dbp.to_str().unwrap();
    let basic = fixtures().join("basic");
    let out = ok(tmp.path(), &["replay", "--db", db_arg, basic.to_str().unwrap()]);
    assert!(out.contains("messages read        8"), "{out}");
    assert!(out.contains("failed to parse    1"), "{out}");
    assert!(out.contains("junk.eml"), "summary names the junk file: {out}");
    let c = db(&dbp);
    let events = count(&c, "SELECT COUNT(*) FROM bounce_event");
    let occ = count(&c, "SELECT SUM(occurrences) FROM qualification");
    let msgs = count(&c, "SELECT COUNT(*) FROM message");
    assert_eq!(msgs, 8, "every message is recorded, the junk one with its error");
    assert_eq!(count(&c, "SELECT COUNT(*) FROM message WHERE error IS NOT NULL"), 1);
    // alice, bob, carol, dave (delivered), erin, frank (arf), grace (auto-reply)
    assert_eq!(events, 7);
    // successes get no qualification row; the two user-unknown bounces share one Text
    assert_eq!(occ, 6);
    assert_eq!(count(&c, "SELECT occurrences FROM qualification WHERE rule = 'user-unknown' AND text LIKE '550 5.1.1 <*>: Recipient%'"), 2);

    let out2 = ok(tmp.path(), &["replay", "--db", db_arg, basic.to_str().unwrap()]);
    assert!(out2.contains("already known      8"), "{out2}");
    assert_eq!(count(&c, "SELECT COUNT(*) FROM bounce_event"), events);
    assert_eq!(count(&c, "SELECT SUM(occurrences) FROM qualification"), occ);

    // The same messages in an mbox (LF, quoted From lines) are recognised as the same messages.
    let mbox = fixtures().join("basic.mbox");
    let out3 = ok(tmp.path(), &["replay", "--db", db_arg, mbox.to_str().unwrap()]);
    // (the junk file has no final newline; in the mbox it gains one, so it is new bytes)
    assert!(out3.contains("already known      7"), "{out3}");
    assert!(out3.contains("basic.mbox#5: no RFC 5322 header"), "{out3}");
    assert_eq!(count(&c, "SELECT COUNT(*) FROM bounce_event"), events);
}

#[test]
fn event_rows_carry_the_bounce() {
    let tmp = tempfile::tempdir().unwrap();
    let dbp = tmp.path().join("t.db");
    ok(tmp.path(), &["replay", "--db", dbp.to_str().unwrap(), fixtures().join("basic/dsn-user-unknown.eml").to_str().unwrap()]);
    let c = db(&dbp);
    let (rcpt, status, code, ftype, reason, t, mid): (String, String, String, String, i64, i64, String) = c
        .query_row(
            "SELECT recipient, status, reply_code, failure_type, failure_reason, event_time, bounce_message_id FROM bounce_event",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
        )
        .unwrap();
    assert_eq!(rcpt, "alice@example.org");
    assert_eq!(status, "5.1.1");
    assert_eq!(code, "550");
    assert_eq!(ftype, "Hard");
    assert_eq!(reason, 1);
    assert_eq!(t, 1772445598, "Arrival-Date of the DSN is the event time");
    assert_eq!(mid, "20260302100000.A1@mx.example.net");
}

#[test]
fn manual_qualification_wins_over_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let dbp = tmp.path().join("t.db");
    let d = dbp.to_str().unwrap();
    ok(tmp.path(), &["replay", "--db", d, fixtures().join("basic/dsn-user-unknown.eml").to_str().unwrap()]);
    let rows = json_lines(&ok(tmp.path(), &["qual", "list", "--db", d, "--format", "json"]).replace('\n', " "));
    let rows = rows[0].as_array().unwrap().clone();
    assert_eq!(rows.len(), 1);
    let id = rows[0]["id"].as_i64().unwrap().to_string();
    assert_eq!(rows[0]["status"], "Keep");
    assert_eq!(rows[0]["manual"], false);
    ok(tmp.path(), &["qual", "set", &id, "--db", d, "--type", "soft", "--reason", "refused", "--status", "keep"]);
    // A later bounce with the same Text takes the operator's qualification.
    ok(tmp.path(), &["replay", "--db", d, fixtures().join("basic/dsn-user-unknown-2.eml").to_str().unwrap()]);
    let c = db(&dbp);
    let (t, r): (String, i64) = c
        .query_row("SELECT failure_type, failure_reason FROM bounce_event WHERE recipient = 'bob@example.org'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((t.as_str(), r), ("Soft", 20));
    // requalify never touches a manual row
    ok(tmp.path(), &["requalify", "--db", d]);
    let show = json_lines(&ok(tmp.path(), &["qual", "show", &id, "--db", d, "--format", "json"]).replace('\n', " "));
    assert_eq!(show[0][0]["failure_reason"], "Refused");
    assert_eq!(show[0][0]["manual"], true);
    assert_eq!(show[0][0]["occurrences"], 2);
    // reset-count
    ok(tmp.path(), &["qual", "reset-count", &id, "--db", d]);
    assert_eq!(count(&c, &format!("SELECT occurrences FROM qualification WHERE id = {id}")), 0);
}

#[test]
fn qual_list_filters_and_formats() {
    let tmp = tempfile::tempdir().unwrap();
    let dbp = tmp.path().join("t.db");
    let d = dbp.to_str().unwrap();
    ok(tmp.path(), &["replay", "--db", d, fixtures().join("basic").to_str().unwrap()]);
    let all = json_lines(&ok(tmp.path(), &["qual", "list", "--db", d, "--format", "json"]).replace('\n', " "));
    let all = all[0].as_array().unwrap();
    assert!(all.len() >= 4);
    for key in ["id", "text", "first_text", "failure_type", "failure_reason", "status", "occurrences", "first_seen", "last_seen", "rule", "manual", "channel"] {
        assert!(all[0].get(key).is_some(), "missing {key}");
    }
    assert!(all.windows(2).all(|w| w[0]["occurrences"].as_i64() >= w[1]["occurrences"].as_i64()), "sorted by occurrences");
    let keep = json_lines(&ok(tmp.path(), &["qual", "list", "--db", d, "--status", "keep", "--limit", "2", "--format", "json"]).replace('\n', " "));
    let keep = keep[0].as_array().unwrap();
    assert_eq!(keep.len(), 2);
    assert!(keep.iter().all(|r| r["status"] == "Keep"));
    let csv = ok(tmp.path(), &["qual", "list", "--db", d, "--format", "csv"]);
    assert!(csv.lines().next().unwrap().contains("first_text"));
    assert_eq!(csv.lines().count(), all.len() + 1);
    let table = ok(tmp.path(), &["qual", "list", "--db", d]);
    assert!(table.contains("Mailbox full"), "{table}");
    // bad input is a clear error, not a panic
    let out = run(tmp.path(), &["qual", "set", "99999", "--db", d, "--status", "keep"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no qualification row with id 99999"));
    let out = run(tmp.path(), &["qual", "set", "1", "--db", d, "--reason", "bogus"]);
    assert!(!out.status.success());
}

#[test]
fn parse_json_names_mbox_messages() {
    let tmp = tempfile::tempdir().unwrap();
    let out = ok(tmp.path(), &["parse", "--json", fixtures().join("basic.mbox").to_str().unwrap()]);
    let recs = json_lines(&out);
    assert!(recs.iter().any(|r| r["source"].as_str().unwrap().ends_with("basic.mbox#1")));
    assert!(recs.iter().any(|r| r["source"].as_str().unwrap().ends_with("basic.mbox#8")));
    let nb = recs.iter().find(|r| r["kind"] == "not-bounce").expect("a not-bounce record");
    assert_eq!(nb["failure_type"], "None");
    let arf = recs.iter().find(|r| r["kind"] == "arf").unwrap();
    assert_eq!((arf["recipient"].as_str(), arf["failure_type"].as_str(), arf["failure_reason"].as_str()), (Some("frank@example.net"), Some("Hard"), Some("Refused")));
    assert_eq!(arf["reason_code"], 20);
    let auto = recs.iter().find(|r| r["kind"] == "autoreply").unwrap();
    assert_eq!(auto["failure_type"], "Ignored");
    // stdin works too
    let mut child = std::process::Command::new(bin())
        .args(["parse", "--json", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&std::fs::read(fixtures().join("basic/qmail-text.eml")).unwrap()).unwrap();
    let o = child.wait_with_output().unwrap();
    let recs = json_lines(&String::from_utf8(o.stdout).unwrap());
    assert_eq!(recs[0]["recipient"], "erin@example.jp");
    assert_eq!(recs[0]["source"], "-");
}

#[test]
fn maildir_is_read_from_new_and_cur() {
    let tmp = tempfile::tempdir().unwrap();
    let md = tmp.path().join("Maildir");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(md.join(sub)).unwrap();
    }
    std::fs::copy(fixtures().join("basic/qmail-text.eml"), md.join("new/1.host")).unwrap();
    std::fs::copy(fixtures().join("basic/dsn-user-unknown.eml"), md.join("cur/2.host:2,S")).unwrap();
    std::fs::copy(fixtures().join("basic/vacation.eml"), md.join("tmp/3.host")).unwrap();
    let recs = json_lines(&ok(tmp.path(), &["parse", "--json", md.to_str().unwrap()]));
    let rcpts: Vec<&str> = recs.iter().map(|r| r["recipient"].as_str().unwrap()).collect();
    assert_eq!(rcpts, vec!["erin@example.jp", "alice@example.org"], "tmp/ is never read");
}

#[test]
fn an_eml_file_is_one_message_even_with_from_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("saved.eml");
    let body = std::fs::read_to_string(fixtures().join("basic/qmail-text.eml")).unwrap();
    // an envelope line, and an unquoted "From " line after a blank line in the body
    std::fs::write(&p, format!("From MAILER-DAEMON Thu Jan  1 00:00:00 2026\n{body}\nFrom here on, a quoted letter.\nIt goes on.\n")).unwrap();
    let recs = json_lines(&ok(tmp.path(), &["parse", "--json", p.to_str().unwrap()]));
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(recs[0]["source"].as_str().unwrap(), p.to_str().unwrap());
    assert_eq!(recs[0]["recipient"], "erin@example.jp");
    // the same bytes as an .mbox are two messages, named FILE#N
    let m = tmp.path().join("saved.mbox");
    std::fs::copy(&p, &m).unwrap();
    let recs = json_lines(&ok(tmp.path(), &["parse", "--json", m.to_str().unwrap()]));
    assert!(recs[0]["source"].as_str().unwrap().ends_with("saved.mbox#1"));
    assert!(recs.iter().any(|r| r["source"].as_str().unwrap().ends_with("saved.mbox#2")));
}
