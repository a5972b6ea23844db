//! Hostile and broken input: every case must end in bounded time with the message recorded
//! (as parsed or as failed), never a panic, never an aborted replay.

mod common;
use common::*;
use std::io::Write;
use std::path::Path;

fn replay_ok(dir: &Path, inputs: &[&Path]) -> (String, rusqlite::Connection) {
    let dbp = dir.join("t.db");
    let mut args = vec!["replay", "--db", dbp.to_str().unwrap()];
    args.extend(inputs.iter().map(|p| p.to_str().unwrap()));
    let out = ok(dir, &args);
    (out, db(&dbp))
}

#[test]
fn fifty_megabyte_message() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("huge.eml");
    let mut f = std::fs::File::create(&p).unwrap();
    let head = std::fs::read(fixtures().join("basic/qmail-text.eml")).unwrap();
    f.write_all(&head).unwrap();
    let line = [b'A'; 76];
    for _ in 0..(50 * 1024 * 1024 / 77) {
        f.write_all(&line).unwrap();
        f.write_all(b"\n").unwrap();
    }
    drop(f);
    let (out, c) = replay_ok(tmp.path(), &[&p]);
    assert!(out.contains("recorded           1"), "{out}");
    assert_eq!(count(&c, "SELECT COUNT(*) FROM bounce_event WHERE recipient = 'erin@example.jp'"), 1);
    assert!(count(&c, "SELECT size FROM message") > 50_000_000, "the full size is recorded");
}

#[test]
fn deeply_nested_multipart() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("nested.eml");
    let mut s = String::from("From: MAILER-DAEMON@example.net\nTo: a@example.com\nSubject: Undelivered Mail\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b0\"\n\n");
    for i in 0..100 {
        s.push_str(&format!("--b{i}\nContent-Type: multipart/mixed; boundary=\"b{}\"\n\n", i + 1));
    }
    s.push_str("--b100\nContent-Type: text/plain\n\n<zed@example.org>: 550 5.1.1 user unknown\n");
    for i in (0..=100).rev() {
        s.push_str(&format!("--b{i}--\n"));
    }
    std::fs::write(&p, s).unwrap();
    let (out, c) = replay_ok(tmp.path(), &[&p]);
    assert!(out.contains("messages read        1"), "{out}");
    assert_eq!(count(&c, "SELECT COUNT(*) FROM message"), 1);
}

#[test]
fn million_line_header() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("longhdr.eml");
    let mut s = String::with_capacity(20_000_000);
    s.push_str("From: MAILER-DAEMON@example.net\nSubject: failure notice\nX-Long: start\n");
    for _ in 0..1_000_000 {
        s.push_str(" x\n");
    }
    s.push_str("\n<yan@example.org>:\n550 5.1.1 no such user\n");
    std::fs::write(&p, s).unwrap();
    let (out, c) = replay_ok(tmp.path(), &[&p]);
    assert!(out.contains("messages read        1"), "{out}");
    assert_eq!(count(&c, "SELECT COUNT(*) FROM message"), 1);
}

#[test]
fn invalid_utf8_unknown_charset_truncated_and_junk() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("in");
    std::fs::create_dir(&d).unwrap();
    // invalid UTF-8 everywhere, in headers and body
    std::fs::write(
        d.join("1-badutf8.eml"),
        b"From: MAILER-DAEMON@example.net\nSubject: Undeliverable \xff\xfe\xc3\x28\nTo: \xe9t\xe9@example.com\n\n<w\xffx@example.org>: 550 5.1.1 \xc3\x28 unknown \xf0\x28\x8c\x28\n".as_slice(),
    )
    .unwrap();
    // unknown charset
    std::fs::write(
        d.join("2-charset.eml"),
        "From: MAILER-DAEMON@example.net\nSubject: failure notice\nContent-Type: text/plain; charset=x-unknown-klingon\n\n<kay@example.org>: 550 5.1.1 user unknown\n",
    )
    .unwrap();
    // truncated in the middle of a MIME part and of a header
    let full = std::fs::read(fixtures().join("basic/dsn-user-unknown.eml")).unwrap();
    std::fs::write(d.join("3-truncated.eml"), &full[..full.len() / 2]).unwrap();
    std::fs::write(d.join("4-truncated-header.eml"), b"From: MAILER-DAEMON@exa").unwrap();
    // binary junk and an empty file
    std::fs::write(d.join("5-junk.eml"), (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect::<Vec<_>>()).unwrap();
    std::fs::write(d.join("6-empty.eml"), b"").unwrap();
    // broken MIME: boundary never closed, base64 garbage
    std::fs::write(
        d.join("7-broken-mime.eml"),
        "From: MAILER-DAEMON@example.net\nSubject: Mail delivery failed\nContent-Type: multipart/report; boundary=\"zz\"\n\n--zz\nContent-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n\n!!!not base64!!!\n--zz\nContent-Type: text/plain\n\nFinal-Recipient: rfc822; lou@example.org\nStatus: 5.1.1\nAction: failed\n",
    )
    .unwrap();
    let (out, c) = replay_ok(tmp.path(), &[&d]);
    assert!(out.contains("messages read        7"), "{out}");
    assert_eq!(count(&c, "SELECT COUNT(*) FROM message"), 7, "every message is recorded");
    assert!(out.contains("6-empty.eml: empty message"), "{out}");
    assert!(out.contains("5-junk.eml"), "{out}");
    assert_eq!(count(&c, "SELECT COUNT(*) FROM bounce_event WHERE recipient = 'kay@example.org'"), 1);
    assert_eq!(count(&c, "SELECT COUNT(*) FROM bounce_event WHERE recipient = 'lou@example.org'"), 1);
    // and `parse` survives the same inputs
    ok(tmp.path(), &["parse", "--json", d.to_str().unwrap()]);
}

#[test]
fn missing_input_is_reported_and_run_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope.mbox");
    let good = fixtures().join("basic/qmail-text.eml");
    // The missing path is an error naming it; the good input is still replayed; the command fails.
    let db = tmp.path().join("t.db");
    let out = run(tmp.path(), &["replay", "--db", db.to_str().unwrap(), missing.to_str().unwrap(), good.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nope.mbox"), "{err}");
    assert_eq!(count(&common::db(&db), "SELECT COUNT(*) FROM bounce_event"), 1);
}
