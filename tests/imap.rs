//! The IMAP daemon against a real Dovecot: every message recorded exactly once and moved,
//! across server restarts, daemon crashes, dropped connections and SIGTERM; IDLE; TLS.
//! Each test starts its own Dovecot (see tests/common/dovecot.rs).

mod common;

use common::dovecot::*;
use std::time::{Duration, Instant};

/// Seed `n` bounces (cycling over the fixtures), `other` non-bounces and `bad` unparsable ones.
fn seed(dc: &Dovecot, start: usize, n: usize, other: usize, bad: usize) {
    for i in start..start + n {
        dc.seed(&fixture(BOUNCES[i % BOUNCES.len()], i));
    }
    for i in start..start + other {
        dc.seed(&fixture("not-bounce.eml", i));
    }
    for i in start..start + bad {
        dc.seed(&garbage(i));
    }
}

/// The exactly-once invariants once everything is processed.
fn assert_all_done(dc: &Dovecot, db: &DbView, bounces: usize, other: usize, bad: usize, d: &Daemon) {
    check_all_done(dc, db, bounces, other, bad, d, false);
}

/// After the *server* died mid-command: the same invariants, except that a destination folder may
/// hold a second copy of a message. Dovecot's MOVE is a copy then an expunge; killed between the
/// two, the copy stays and the original is still in INBOX, so it is fetched again (recognised
/// by its fingerprint: never counted twice) and moved again. Nothing is lost or double-counted.
fn assert_all_done_after_server_crash(dc: &Dovecot, db: &DbView, bounces: usize, other: usize, bad: usize, d: &Daemon) {
    check_all_done(dc, db, bounces, other, bad, d, true);
}

/// The database must be exact either way; folders are counted by distinct message when a
/// second copy is allowed, else message by message.
fn check_all_done(dc: &Dovecot, db: &DbView, bounces: usize, other: usize, bad: usize, d: &Daemon, copies_allowed: bool) {
    let total = bounces + other + bad;
    let in_folder = |f: &str| if copies_allowed { dc.distinct(f) } else { dc.count(f) };
    let ok = wait_until(Duration::from_secs(120), || {
        db.messages() == total as i64 && dc.count("INBOX") == 0 && in_folder("Processed") == bounces
    });
    assert!(
        ok,
        "not done: db messages {} (want {total}), INBOX {}, Processed {} distinct {} (want {bounces}), Other {}, Errors {}\nlog:\n{}",
        db.messages(),
        dc.count("INBOX"),
        dc.count("Processed"),
        dc.distinct("Processed"),
        dc.count("Other"),
        dc.count("Errors"),
        tail(&d.log_text())
    );
    assert_eq!(db.events(), bounces as i64, "one bounce event per bounce");
    assert_eq!(db.occurrences(), bounces as i64, "qualification occurrences");
    assert_eq!(db.duplicate_message_ids(), 0, "a message recorded twice");
    assert_eq!(db.badly_named(), 0, "every message named by mailbox, folder, UIDVALIDITY and UID");
    assert_eq!(db.messages_of_kind("not-bounce"), other as i64);
    assert_eq!(db.messages_of_kind("error"), bad as i64);
    assert_eq!(in_folder("Other"), other, "non-bounces in Other");
    assert_eq!(in_folder("Errors"), bad, "unparsable messages in Errors");
    if !copies_allowed {
        assert_eq!(dc.count("Processed") + dc.count("Other") + dc.count("Errors"), total, "no message lost or copied twice");
    }
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

#[test]
fn thousand_bounces_recorded_once_and_moved() {
    let dc = Dovecot::start();
    let dir = test_dir();
    seed(&dc, 0, 1000, 20, 5);
    let cfg = write_config(&dc, dir.path(), "batch_size = 100\nidle = true");
    let db = DbView(dir.path().join("inmail.db"));
    let t = Instant::now();
    let mut d = Daemon::start(&cfg, &[]);
    assert_all_done(&dc, &db, 1000, 20, 5, &d);
    eprintln!("1025 messages recorded and moved in {:.1} s", t.elapsed().as_secs_f64());
    assert!(db.last_uid() >= 1025, "checkpoint advanced: {}", db.last_uid());
    // One log line per batch with counts.
    let log = d.log_text();
    assert!(log.matches(" batch ").count() >= 11 || log.matches("batch").count() >= 11, "batch log lines:\n{}", tail(&log));
    d.signal("TERM");
    let st = d.wait_exit(Duration::from_secs(10)).expect("exit after SIGTERM");
    assert!(st.success(), "exit status {st:?}");
    // status shows the mailbox.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_inmail"))
        .args(["status", "--json", "--db"])
        .arg(dir.path().join("inmail.db"))
        .output()
        .expect("status");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status json");
    assert_eq!(v[0]["mailbox"], "test");
    assert_eq!(v[0]["processed"], 1025);
    // RFC 3339 UTC, as every command prints times.
    assert!(v[0]["last_poll"].as_str().is_some_and(|t| t.ends_with('Z') && t.contains('T')), "{}", v[0]);
}

#[test]
fn daemon_killed_mid_batch_then_restarted() {
    let dc = Dovecot::start();
    let dir = test_dir();
    seed(&dc, 0, 300, 10, 3);
    let cfg = write_config(&dc, dir.path(), "batch_size = 20");
    let db = DbView(dir.path().join("inmail.db"));
    // SIGKILL at several points of the run (whatever the batch is doing then).
    for (round, at) in [15i64, 70, 160, 240].into_iter().enumerate() {
        let mut d = Daemon::start(&cfg, &[("INMAIL_FAULT", "delay:100")]);
        assert!(wait_until(Duration::from_secs(60), || db.messages() >= at), "round {round}: no progress\n{}", tail(&d.log_text()));
        std::thread::sleep(Duration::from_millis(17 * round as u64));
        d.kill();
    }
    let d = Daemon::start(&cfg, &[]);
    assert_all_done(&dc, &db, 300, 10, 3, &d);
}

#[test]
fn crash_between_commit_and_move() {
    let dc = Dovecot::start();
    let dir = test_dir();
    seed(&dc, 0, 200, 5, 2);
    let cfg = write_config(&dc, dir.path(), "batch_size = 25");
    let db = DbView(dir.path().join("inmail.db"));
    for n in ["1", "3", "2"] {
        let mut d = Daemon::start(&cfg, &[("INMAIL_FAULT", &format!("after-commit:{n}"))]);
        let st = d.wait_exit(Duration::from_secs(60)).expect("fault exit");
        assert_eq!(st.code(), Some(86), "fault not hit\n{}", tail(&d.log_text()));
        // The last batch is committed but still in INBOX: recorded, not moved, nothing lost.
        let recorded = db.messages() as usize;
        let moved = dc.count("Processed") + dc.count("Other") + dc.count("Errors");
        assert!(recorded > moved, "after-commit:{n}: recorded {recorded}, moved {moved}");
        assert_eq!(dc.count("INBOX") + moved, 207, "no message lost or copied");
    }
    // A dropped connection right after a commit: the daemon reconnects by itself.
    let d = Daemon::start(&cfg, &[("INMAIL_FAULT", "disconnect-after-commit:2")]);
    assert_all_done(&dc, &db, 200, 5, 2, &d);
    let recovered = wait_until(Duration::from_secs(60), || d.log_text().contains("reachable again"));
    assert!(recovered, "no recovery line\n{}", tail(&d.log_text()));
}

#[test]
fn dovecot_restarted_mid_batch() {
    let dc = Dovecot::start();
    let dir = test_dir();
    seed(&dc, 0, 300, 6, 2);
    let cfg = write_config(&dc, dir.path(), "batch_size = 20");
    let db = DbView(dir.path().join("inmail.db"));
    // 150 ms between fetch and commit: the server goes away while a batch is in flight.
    let d = Daemon::start(&cfg, &[("INMAIL_FAULT", "delay:150")]);
    for (round, at) in [20i64, 120, 230].into_iter().enumerate() {
        assert!(wait_until(Duration::from_secs(60), || db.messages() >= at), "round {round}: no progress\n{}", tail(&d.log_text()));
        std::thread::sleep(Duration::from_millis(13 * round as u64));
        dc.stop();
        std::thread::sleep(Duration::from_millis(700));
        dc.restart();
    }
    assert_all_done_after_server_crash(&dc, &db, 300, 6, 2, &d);
    // The work may be done before the daemon has reconnected (it is backing off): wait for it.
    let recovered = wait_until(Duration::from_secs(60), || d.log_text().contains("reachable again"));
    let log = d.log_text();
    assert!(log.contains("mailbox unreachable"), "no outage line\n{}", tail(&log));
    assert!(recovered, "no recovery line\n{}", tail(&log));
}

#[test]
fn sigterm_during_batch_exits_cleanly() {
    let dc = Dovecot::start();
    let dir = test_dir();
    seed(&dc, 0, 600, 0, 0);
    let cfg = write_config(&dc, dir.path(), "batch_size = 50");
    let db = DbView(dir.path().join("inmail.db"));
    let mut d = Daemon::start(&cfg, &[]);
    assert!(wait_until(Duration::from_secs(60), || db.messages() >= 60), "no progress\n{}", tail(&d.log_text()));
    let t = Instant::now();
    d.signal("TERM");
    let st = d.wait_exit(Duration::from_secs(10)).unwrap_or_else(|| panic!("still running 10 s after SIGTERM\n{}", tail(&d.log_text())));
    eprintln!("exit {:?} {:.2} s after SIGTERM", st.code(), t.elapsed().as_secs_f64());
    assert!(st.success(), "exit status {st:?}\n{}", tail(&d.log_text()));
    // Every recorded message was moved before exiting; the others are still in INBOX.
    let recorded = db.messages() as usize;
    assert_eq!(dc.count("Processed"), recorded, "recorded but not moved");
    assert_eq!(dc.count("INBOX"), 600 - recorded);
    assert!(d.log_text().contains("SIGTERM"));
    let d = Daemon::start(&cfg, &[]);
    assert_all_done(&dc, &db, 600, 0, 0, &d);
}

#[test]
fn message_appended_while_idle_is_processed_quickly() {
    let dc = Dovecot::start();
    let dir = test_dir();
    let cfg = write_config(&dc, dir.path(), "poll_interval = 600\nidle = true");
    let db = DbView(dir.path().join("inmail.db"));
    let d = Daemon::start(&cfg, &[]);
    // Connected, folders created, idling.
    assert!(wait_until(Duration::from_secs(20), || db.last_uid() == 0 && dc.maildir().join(".Processed").is_dir() && db.q_polled()), "daemon not ready\n{}", tail(&d.log_text()));
    std::thread::sleep(Duration::from_millis(500));
    for (i, name) in BOUNCES.iter().enumerate() {
        let t = Instant::now();
        dc.append(&fixture(name, 9000 + i));
        let ok = wait_until(Duration::from_secs(5), || db.messages() == i as i64 + 1 && dc.count("Processed") == i + 1 && dc.count("INBOX") == 0);
        assert!(ok, "message {i} not processed within 5 s\n{}", tail(&d.log_text()));
        eprintln!("appended message {i} processed in {} ms", t.elapsed().as_millis());
    }
}

#[test]
fn implicit_tls_with_ca_file() {
    let dc = Dovecot::start_with(true);
    all_done_over_tls(&dc, "implicit", 30);
    // Without the CA the certificate is refused and nothing is touched.
    let dir2 = test_dir();
    seed(&dc, 100, 3, 0, 0);
    let cfg2 = write_config(&dc, dir2.path(), "tls = \"implicit\"");
    let d2 = Daemon::start(&cfg2, &[]);
    let db2 = DbView(dir2.path().join("inmail.db"));
    assert!(wait_until(Duration::from_secs(10), || d2.log_text().contains("mailbox unreachable")), "{}", d2.log_text());
    assert_eq!(db2.messages(), 0);
    assert_eq!(dc.count("INBOX"), 3);
}

/// STARTTLS: the session starts in plain text on the IMAP port and continues over TLS (the
/// buffered socket under it must hand the TLS layer every byte the server sends after its OK).
#[test]
fn starttls_with_ca_file() {
    all_done_over_tls(&Dovecot::start_starttls(), "starttls", 20);
}

/// `bounces` bounces, 2 other messages and a broken one, processed over TLS (`mode`) with the
/// test CA. The host must match the certificate: 127.0.0.1 is in its subjectAltName.
fn all_done_over_tls(dc: &Dovecot, mode: &str, bounces: usize) {
    let dir = test_dir();
    seed(dc, 0, bounces, 2, 1);
    let extra = format!("tls = \"{mode}\"\nca_file = \"{}\"\nbatch_size = 10", dc.tls_ca().display());
    let cfg = write_config(dc, dir.path(), &extra);
    let db = DbView(dir.path().join("inmail.db"));
    let d = Daemon::start(&cfg, &[]);
    assert_all_done(dc, &db, bounces, 2, 1, &d);
}

#[test]
fn plaintext_to_remote_host_is_refused() {
    let dir = test_dir();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "x").unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!("db = \"{}\"\n[[mailbox]]\nname = \"m\"\nhost = \"imap.example.com\"\ntls = \"none\"\nusername = \"u\"\npassword_file = \"{}\"\n", dir.path().join("db").display(), pw.display()),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_inmail")).arg("run").arg("--config").arg(&cfg).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("allow_insecure"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn sighup_reloads_rules_and_keeps_old_ones_when_broken() {
    let dc = Dovecot::start();
    let dir = test_dir();
    let rules = dir.path().join("rules.toml");
    std::fs::write(&rules, "").unwrap();
    let cfg = write_config(&dc, dir.path(), "");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, format!("rules_file = \"{}\"\n{text}", rules.display())).unwrap();
    let db = DbView(dir.path().join("inmail.db"));
    let mut d = Daemon::start(&cfg, &[]);
    assert!(wait_until(Duration::from_secs(20), || db.q_polled()), "not started\n{}", d.log_text());
    d.signal("HUP");
    assert!(wait_until(Duration::from_secs(5), || d.log_text().contains("SIGHUP: rules reloaded")), "{}", d.log_text());
    std::fs::write(&rules, "[[rule]\nbroken").unwrap();
    d.signal("HUP");
    assert!(wait_until(Duration::from_secs(5), || d.log_text().contains("rules not reloaded")), "{}", d.log_text());
    // Still running and still processing with the previous rules.
    dc.append(&fixture(BOUNCES[0], 1));
    assert!(wait_until(Duration::from_secs(10), || db.events() == 1 && dc.count("Processed") == 1), "{}", tail(&d.log_text()));
    assert!(d.child.try_wait().unwrap().is_none(), "daemon exited");
}
