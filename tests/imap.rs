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

/// Moves do not wait for the end of the pass: once `move_every` committed messages wait they are
/// moved between two FETCH commands. A crash then leaves at most that many, plus the batches in
/// flight, in the folder; the restarted daemon fetches again exactly what was not moved.
#[test]
fn moves_follow_the_commits_and_a_crash_refetches_only_what_was_not_moved() {
    let dc = Dovecot::start();
    let dir = test_dir();
    seed(&dc, 0, 400, 0, 0);
    // Spans of 4 batches of 20 per FETCH; moves once 40 committed messages wait.
    let cfg = write_config(&dc, dir.path(), "batch_size = 20\nmove_every = 40");
    let db = DbView(dir.path().join("inmail.db"));
    let mut d = Daemon::start(&cfg, &[("INMAIL_FAULT", "after-commit:15")]);
    let st = d.wait_exit(Duration::from_secs(60)).expect("fault exit");
    assert_eq!(st.code(), Some(86), "fault not hit\n{}", tail(&d.log_text()));
    let (recorded, moved) = (db.messages() as usize, dc.count("Processed"));
    eprintln!("crash after commit 15: {recorded} recorded, {moved} moved");
    assert_eq!(recorded, 300, "15 batches of 20");
    // Not moved: at most move_every (40) waiting, plus what the fetch stage runs ahead by when it
    // moves (the FETCH command in progress, 80, and the 3 batches waiting for analysis and
    // commit, 60).
    assert!(recorded - moved <= 40 + 80 + 60, "{moved} of {recorded} committed messages moved before the crash");
    assert_eq!(dc.count("INBOX") + moved, 400, "no message lost or copied");
    let d = Daemon::start(&cfg, &[]);
    assert_all_done(&dc, &db, 400, 0, 0, &d);
    // Fetched again and found known: exactly the committed messages that were not moved.
    let refetched: u64 = d
        .log_text()
        .lines()
        .filter(|l| l.contains(" batch "))
        .filter_map(|l| l.split("duplicates=").nth(1)?.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(refetched as usize, recorded - moved, "re-fetched known messages\n{}", tail(&d.log_text()));
}

/// Runs `inmail` as the unprivileged user `nobody` when the tests run as root (root writes any
/// file, so a read-only database would not be read-only to it).
fn as_unprivileged(dir: &std::path::Path) -> Vec<String> {
    let root = String::from_utf8_lossy(&std::process::Command::new("id").arg("-u").output().unwrap().stdout).trim() == "0";
    if !root {
        return vec![];
    }
    let st = std::process::Command::new("chown").args(["-R", "65534:65534"]).arg(dir).status().unwrap();
    assert!(st.success());
    ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "--"].iter().map(|s| s.to_string()).collect()
}

/// A database the daemon cannot write is a database error: reported as such, and the daemon
/// ends with a failure status (systemd restarts it and shows the failure), instead of retrying
/// forever as if the mailbox were unreachable. The mailbox is left untouched.
#[test]
fn a_read_only_database_stops_the_daemon_with_a_database_error() {
    use std::os::unix::fs::PermissionsExt;
    let dc = Dovecot::start();
    let dir = test_dir();
    seed(&dc, 0, 10, 0, 0);
    let cfg = write_config(&dc, dir.path(), "");
    let dbp = dir.path().join("inmail.db");
    // An existing database, made read-only (its folder stays writable, as /var/lib/inmail is).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_inmail")).args(["maintain", "--db"]).arg(&dbp).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let prefix = as_unprivileged(dir.path());
    std::fs::set_permissions(&dbp, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut c = std::process::Command::new(prefix.first().map(String::as_str).unwrap_or(env!("CARGO_BIN_EXE_inmail")));
    if !prefix.is_empty() {
        c.args(&prefix[1..]).arg(env!("CARGO_BIN_EXE_inmail"));
    }
    let t = Instant::now();
    let mut child = c
        .args(["run", "--config"])
        .arg(&cfg)
        .env_remove("INMAIL_FAULT")
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let st = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break Some(st);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    let st = st.unwrap_or_else(|| panic!("still running 20 s after start with a read-only database:\n{}", tail(&err)));
    eprintln!("exit {:?} after {:.1} s", st.code(), t.elapsed().as_secs_f64());
    assert_eq!(st.code(), Some(1), "{}", tail(&err));
    assert!(err.contains("database error") && err.contains("readonly"), "not reported as a database error:\n{}", tail(&err));
    assert!(!err.contains("mailbox unreachable"), "reported as a mailbox error:\n{}", tail(&err));
    assert_eq!(dc.count("INBOX"), 10, "the mailbox is untouched");
}

/// A database that fails during a run (here it turns read-only after the second commit) is
/// retried for `database_retry` seconds, then the daemon stops with status 1 and says so. What
/// was committed before is moved; the rest stays in the mailbox.
#[test]
fn a_database_failing_during_a_run_is_retried_then_stops_the_daemon() {
    let dc = Dovecot::start();
    let dir = test_dir();
    seed(&dc, 0, 100, 0, 0);
    let cfg = write_config(&dc, dir.path(), "batch_size = 10");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, text.replace("[daemon]\n", "[daemon]\ndatabase_retry = 3\n")).unwrap();
    let db = DbView(dir.path().join("inmail.db"));
    let t = Instant::now();
    let mut d = Daemon::start(&cfg, &[("INMAIL_FAULT", "read-only-after-commit:2")]);
    let st = d.wait_exit(Duration::from_secs(30)).unwrap_or_else(|| panic!("still running\n{}", tail(&d.log_text())));
    let secs = t.elapsed().as_secs_f64();
    let log = d.log_text();
    eprintln!("exit {:?} after {secs:.1} s", st.code());
    assert_eq!(st.code(), Some(1), "{}", tail(&log));
    assert!(secs >= 3.0, "stopped before database_retry");
    assert!(log.contains("database error; retrying") && log.contains("database error persists"), "{}", tail(&log));
    assert!(log.contains("readonly"), "SQLite's error is reported\n{}", tail(&log));
    assert!(!log.contains("mailbox unreachable"), "reported as a mailbox error\n{}", tail(&log));
    // The two committed batches are in Processed; nothing else left INBOX.
    assert_eq!(db.messages(), 20);
    assert_eq!(dc.count("Processed"), 20, "committed messages moved");
    assert_eq!(dc.count("INBOX"), 80);
}

/// A message far above the bound kept in memory comes over IMAP in pieces: recorded with the
/// same fingerprint and analysis as a replay of the same file (same limits), moved like any
/// other, without the daemon's memory growing with it (peak RSS printed; the bound is asserted
/// loosely here, a debug build, and measured on a release build for the README).
#[test]
fn a_message_larger_than_the_bound_is_fetched_in_pieces() {
    let dc = Dovecot::start();
    let dir = test_dir();
    // A DSN followed by 40 MB of base64 lines (an attachment).
    let mut big = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/imap/dsn-user-unknown.eml")).unwrap();
    big = big.replacen("Message-ID: <", "Message-ID: <big-", 1);
    let line = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\n";
    let mut raw = big.into_bytes();
    raw.extend_from_slice(b"\n--attachment\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n");
    // INMAIL_BIG_MB=200 measures the README's figure (with --release).
    let mb: usize = std::env::var("INMAIL_BIG_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(40);
    while raw.len() < mb << 20 {
        raw.extend_from_slice(line.as_bytes());
    }
    raw.extend_from_slice(b"end\n");
    dc.seed(&raw);
    seed(&dc, 0, 3, 0, 0);
    let eml = dir.path().join("big.eml");
    std::fs::write(&eml, &raw).unwrap();
    let cfg = write_config(&dc, dir.path(), "batch_size = 2");
    let db = DbView(dir.path().join("inmail.db"));
    let mut d = Daemon::start(&cfg, &[]);
    assert_all_done(&dc, &db, 4, 0, 0, &d);
    let hwm = std::fs::read_to_string(format!("/proc/{}/status", d.child.id()))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:").map(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().unwrap()))
        .unwrap();
    eprintln!("peak RSS with a {mb} MB message: {:.1} MiB", hwm as f64 / 1024.0);
    d.signal("TERM");
    d.wait_exit(Duration::from_secs(10));
    assert!(hwm < 100 * 1024, "peak RSS {hwm} kB: the message was held whole");
    // The same file replayed: same fingerprint (line ends aside), same record.
    let other = dir.path().join("replay.db");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_inmail")).args(["replay", "--db"]).arg(&other).arg(&eml).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let q = |p: &std::path::Path| -> (Vec<u8>, String, i64) {
        let c = rusqlite::Connection::open(p).unwrap();
        c.query_row(
            "SELECT m.fingerprint, m.kind, (SELECT count(*) FROM bounce_event e WHERE e.message_ref = m.id) FROM message m WHERE m.message_id LIKE 'big-%'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
    };
    let (imap, replay) = (q(&dir.path().join("inmail.db")), q(&other));
    assert_eq!(imap, replay, "IMAP and replay disagree on the large message");
    assert_eq!(imap.1, "dsn");
}

/// A move cut short after its copy (a server dying in the middle of its MOVE, a copy then an
/// expunge) leaves the messages both in the destination and in INBOX. On the next connection
/// the daemon finds the copies (same fingerprints, from the destination's UIDNEXT before the
/// move) and expunges them before it moves the originals again: one copy of each message.
#[test]
fn a_move_cut_short_leaves_no_second_copy() {
    let dc = Dovecot::start();
    let dir = test_dir();
    seed(&dc, 0, 60, 4, 2);
    let cfg = write_config(&dc, dir.path(), "batch_size = 20");
    let db = DbView(dir.path().join("inmail.db"));
    let d = Daemon::start(&cfg, &[("INMAIL_FAULT", "cut-move:1")]);
    assert_all_done(&dc, &db, 60, 4, 2, &d);
    let log = d.log_text();
    assert!(log.contains("move cut short"), "fault not hit\n{}", tail(&log));
    assert!(log.contains("copies left by a move cut short expunged"), "{}", tail(&log));
}
