//! The daemon as a systemd service, against a real Dovecot: the unit's system call filter holds
//! every call of a real run (strace), the unit verifies, the README's install steps give a
//! service that a made-up user (as `DynamicUser=yes`) can run with its password as a systemd
//! credential, the password never shows in a log or a process listing, and a commit is on disk
//! before the move that relies on it.
//!
//! Needs strace and systemd-analyze (Debian packages strace and systemd), installed by
//! scripts/install-test-deps.sh; a test fails when they cannot be had.

mod common;

use common::dovecot::*;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn has(cmd: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {cmd}")).stdout(Stdio::null()).status().map(|s| s.success()).unwrap_or(false)
}

/// The tool, installed by scripts/install-test-deps.sh when missing; fails loudly otherwise.
fn need(cmd: &str) {
    if has(cmd) {
        return;
    }
    let _ = Command::new("bash").arg(root().join("scripts/install-test-deps.sh")).status();
    assert!(has(cmd), "{cmd} is required by this test and could not be installed: run scripts/install-test-deps.sh as root");
}

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn unit_text() -> String {
    std::fs::read_to_string(root().join("contrib/systemd/inmail.service")).expect("unit")
}

/// Every group of `systemd-analyze syscall-filter`: name → its entries (system calls and groups).
fn filter_groups() -> HashMap<String, Vec<String>> {
    need("systemd-analyze");
    let out = Command::new("systemd-analyze").args(["syscall-filter", "--no-pager"]).output().expect("systemd-analyze");
    assert!(out.status.success(), "systemd-analyze syscall-filter: {}", String::from_utf8_lossy(&out.stderr));
    let mut groups: HashMap<String, Vec<String>> = HashMap::new();
    let mut current: Option<String> = None;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if line.starts_with('@') {
            current = Some(line.trim().to_string());
            groups.entry(line.trim().to_string()).or_default();
        } else if line.trim().is_empty() {
            current = None;
        } else if let Some(g) = &current {
            let t = line.trim();
            if !t.starts_with('#') {
                groups.get_mut(g).unwrap().push(t.to_string());
            }
        }
    }
    assert!(groups.contains_key("@system-service") && groups.contains_key("@default"), "no groups parsed");
    groups
}

fn resolve(groups: &HashMap<String, Vec<String>>, name: &str, out: &mut BTreeSet<String>) {
    if let Some(entries) = groups.get(name) {
        for e in entries {
            resolve(groups, e, out);
        }
    } else {
        assert!(!name.starts_with('@'), "unknown group {name}");
        out.insert(name.to_string());
    }
}

/// The system calls the unit allows, as systemd builds its filter: the first
/// `SystemCallFilter=` must be an allow-list (systemd adds `@default` to it); a later line adds
/// to it, or with `~` takes away.
fn unit_allowed(unit: &str) -> BTreeSet<String> {
    let groups = filter_groups();
    let mut allowed: Option<BTreeSet<String>> = None;
    for line in unit.lines().map(str::trim).filter(|l| l.starts_with("SystemCallFilter=")) {
        let v = &line["SystemCallFilter=".len()..];
        let (deny, v) = match v.strip_prefix('~') {
            Some(rest) => (true, rest),
            None => (false, v),
        };
        let mut set = BTreeSet::new();
        for n in v.split_whitespace() {
            resolve(&groups, n, &mut set);
        }
        match allowed.as_mut() {
            None => {
                assert!(!deny, "the unit's first SystemCallFilter= must be an allow-list: {line}");
                let mut a = BTreeSet::new();
                resolve(&groups, "@default", &mut a);
                a.extend(set);
                allowed = Some(a);
            }
            Some(a) if deny => a.retain(|s| !set.contains(s)),
            Some(a) => a.extend(set),
        }
    }
    allowed.expect("the unit has no SystemCallFilter=")
}

/// A daemon started under a command prefix (strace…), with its own log file.
struct Run {
    child: Child,
    log: PathBuf,
}

impl Run {
    fn start(prefix: &[&str], config: &Path, level: &str, format: &str, env: &[(&str, &str)]) -> Run {
        let dir = config.parent().unwrap();
        let log = dir.join(format!("run-{}.log", std::fs::read_dir(dir).map(|r| r.count()).unwrap_or(0)));
        let f = std::fs::File::create(&log).unwrap();
        let (prog, pre) = match prefix.split_first() {
            Some((p, rest)) => (p.to_string(), rest.to_vec()),
            None => (env!("CARGO_BIN_EXE_inmail").to_string(), vec![]),
        };
        let mut c = Command::new(prog);
        c.args(pre);
        if !prefix.is_empty() {
            c.arg(env!("CARGO_BIN_EXE_inmail"));
        }
        c.args(["run", "--config"]).arg(config).args(["--log-level", level, "--log-format", format]);
        c.stdin(Stdio::null()).stdout(Stdio::null()).stderr(f);
        c.env_remove("INMAIL_FAULT").env_remove("RUST_LOG").env_remove("NOTIFY_SOCKET").env_remove("CREDENTIALS_DIRECTORY");
        for (k, v) in env {
            c.env(k, v);
        }
        Run { child: c.spawn().expect("spawn"), log }
    }

    /// The inmail process: the child, or the child's child under a prefix such as strace.
    fn pid(&self) -> u32 {
        let me = self.child.id();
        for _ in 0..100 {
            let kids = std::fs::read_to_string(format!("/proc/{me}/task/{me}/children")).unwrap_or_default();
            if let Some(k) = kids.split_whitespace().next() {
                return k.parse().unwrap();
            }
            let exe = std::fs::read_link(format!("/proc/{me}/exe")).unwrap_or_default();
            if exe.file_name().map(|n| n == "inmail").unwrap_or(false) {
                return me;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("no inmail process under {me}")
    }

    fn signal(&self, sig: &str) {
        let st = Command::new("kill").arg(format!("-{sig}")).arg(self.pid().to_string()).status().unwrap();
        assert!(st.success());
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let t = std::time::Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            assert!(t.elapsed() < limit, "still running\n{}", tail(&self.log_text()));
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(&mut self) -> std::process::ExitStatus {
        self.signal("TERM");
        self.wait_exit(Duration::from_secs(20))
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

fn seed(dc: &Dovecot, n: usize, other: usize, bad: usize) {
    for i in 0..n {
        dc.seed(&fixture(BOUNCES[i % BOUNCES.len()], i));
    }
    for i in 0..other {
        dc.seed(&fixture("not-bounce.eml", 5000 + i));
    }
    for i in 0..bad {
        dc.seed(&garbage(i));
    }
}

fn done(dc: &Dovecot, db: &DbView, total: usize, run: &Run) {
    let ok = wait_until(Duration::from_secs(90), || db.messages() == total as i64 && dc.count("INBOX") == 0);
    assert!(ok, "not done: db {} of {total}, INBOX {}\n{}", db.messages(), dc.count("INBOX"), tail(&run.log_text()));
}

/// When root: the command prefix that runs as a made-up uid with no account, as systemd's
/// `DynamicUser=yes` does, and `dir` (config, password, database) handed to it.
fn service_user(dir: &Path) -> Vec<String> {
    if !is_root() {
        return vec![];
    }
    need("setpriv");
    let uid = "61874";
    let st = Command::new("chown").args(["-R", &format!("{uid}:{uid}")]).arg(dir).status().unwrap();
    assert!(st.success());
    ["setpriv", "--reuid", uid, "--regid", uid, "--clear-groups", "--"].iter().map(|s| s.to_string()).collect()
}

/// System call names of an `strace -c` summary (the last column of each row).
fn summary_syscalls(path: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(path).expect("strace summary");
    let mut out = BTreeSet::new();
    let mut rows = false;
    for line in text.lines() {
        if line.starts_with("------") {
            if rows {
                break;
            }
            rows = true;
            continue;
        }
        if rows {
            if let Some(name) = line.split_whitespace().last() {
                out.insert(name.to_string());
            }
        }
    }
    assert!(out.len() > 10, "strace summary not parsed:\n{text}");
    out
}

/// The unit verifies (`systemd-analyze verify`, with ExecStart pointed at the built binary: a
/// container has no /usr/local/bin/inmail), hands the password over as a credential, refuses
/// with EPERM rather than SIGSYS, and `systemd-analyze security` rates it at most 2.0.
#[test]
fn unit_verifies_and_is_hardened() {
    need("systemd-analyze");
    let unit = unit_text();
    for want in [
        "SystemCallErrorNumber=EPERM",
        "LoadCredential=imap-password:/etc/inmail/imap-password",
        "DynamicUser=yes",
        "Type=notify",
    ] {
        assert!(unit.lines().any(|l| l.trim() == want), "the unit lacks {want}");
    }
    let dir = test_dir();
    let p = dir.path().join("inmail.service");
    std::fs::write(&p, unit.replace("/usr/local/bin/inmail", env!("CARGO_BIN_EXE_inmail"))).unwrap();
    let out = Command::new("systemd-analyze").arg("verify").arg(&p).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    // In a container without systemd as PID 1 verify still loads and checks the unit; only
    // lines about the running system (no bus) are not the unit's.
    let unit_lines: Vec<&str> = err.lines().filter(|l| l.contains("inmail.service")).collect();
    assert!(out.status.success() && unit_lines.is_empty(), "systemd-analyze verify: {}\n{err}", out.status);
    let out = Command::new("systemd-analyze").args(["security", "--offline=true", "--no-pager"]).arg(&p).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let level: f64 = text
        .lines()
        .find_map(|l| l.split("Overall exposure level for inmail.service: ").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level:\n{text}\n{}", String::from_utf8_lossy(&out.stderr)));
    eprintln!("systemd-analyze security: exposure {level}");
    assert!(level <= 2.0, "exposure {level}:\n{text}");
}

/// Every system call of a real run (TLS to Dovecot, analysis threads, database, moves, IDLE and
/// a message arriving during it, SIGHUP, SIGTERM) is in the unit's allow-list as systemd
/// resolves it: under the unit no call of the daemon fails for the filter.
#[test]
fn every_system_call_of_a_real_run_is_allowed_by_the_unit() {
    need("strace");
    let allowed = unit_allowed(&unit_text());
    let dc = Dovecot::start_with(true);
    let dir = test_dir();
    seed(&dc, 40, 3, 2);
    let extra = format!("tls = \"implicit\"\nca_file = \"{}\"\nbatch_size = 10\nmove_every = 20", dc.tls_ca().display());
    let cfg = write_config(&dc, dir.path(), &extra);
    let db = DbView(dir.path().join("inmail.db"));
    let summary = dir.path().join("strace.txt");
    let s = summary.to_string_lossy().to_string();
    // As the service runs: not as root (SQLite, as root, gives the WAL the database's owner with
    // fchown, a call the unit refuses and a DynamicUser service never makes).
    let as_user = service_user(dir.path());
    let mut prefix: Vec<&str> = as_user.iter().map(String::as_str).collect();
    prefix.extend(["strace", "-f", "-qq", "-c", "-o", &s]);
    let mut run = Run::start(&prefix, &cfg, "debug", "json", &[]);
    done(&dc, &db, 45, &run);
    dc.seed(&fixture(BOUNCES[0], 900)); // delivered during IDLE
    done(&dc, &db, 46, &run);
    run.signal("HUP");
    assert!(wait_until(Duration::from_secs(10), || run.log_text().contains("rules reloaded")), "{}", tail(&run.log_text()));
    let st = run.stop();
    assert!(st.success(), "{st:?}\n{}", tail(&run.log_text()));
    let used = summary_syscalls(&summary);
    let refused: Vec<&String> = used.iter().filter(|s| !allowed.contains(*s)).collect();
    eprintln!("system calls of the run ({}): {}", used.len(), used.iter().cloned().collect::<Vec<_>>().join(" "));
    assert!(refused.is_empty(), "system calls outside the unit's SystemCallFilter: {refused:?}");
}

/// `setpriority` only lowers the analysis threads' priority: refused (EPERM, as a filter
/// without @resources does), the daemon records and moves everything all the same.
#[test]
fn refused_setpriority_is_tolerated() {
    need("strace");
    let dc = Dovecot::start();
    let dir = test_dir();
    seed(&dc, 30, 2, 1);
    let cfg = write_config(&dc, dir.path(), "batch_size = 10");
    let db = DbView(dir.path().join("inmail.db"));
    let trace = dir.path().join("strace.txt");
    let t = trace.to_string_lossy().to_string();
    let mut run = Run::start(
        &["strace", "-f", "-qq", "-o", &t, "-e", "trace=setpriority", "-e", "inject=setpriority:error=EPERM"],
        &cfg,
        "debug",
        "text",
        &[],
    );
    done(&dc, &db, 33, &run);
    assert_eq!(dc.count("Processed"), 30);
    let st = run.stop();
    assert!(st.success(), "{st:?}\n{}", tail(&run.log_text()));
    let text = std::fs::read_to_string(&trace).unwrap();
    assert!(text.contains("EPERM") && text.contains("INJECTED"), "setpriority was not refused:\n{text}");
}

/// The password never shows: not in a trace-level log (text or JSON, inmail's and the IMAP
/// library's, which logs every command it sends), not on the command line.
#[test]
fn the_password_never_shows_in_logs_or_ps() {
    let dc = Dovecot::start();
    let dir = test_dir();
    seed(&dc, 5, 1, 1);
    let cfg = write_config(&dc, dir.path(), "batch_size = 5");
    let db = DbView(dir.path().join("inmail.db"));
    for (i, format) in ["text", "json"].into_iter().enumerate() {
        let mut run = Run::start(&[], &cfg, "trace", format, &[("RUST_LOG", "trace")]);
        if i == 0 {
            done(&dc, &db, 7, &run);
        } else {
            dc.append(&fixture(BOUNCES[1], 700));
            done(&dc, &db, 8, &run);
        }
        let cmdline = std::fs::read(format!("/proc/{}/cmdline", run.pid())).unwrap();
        let st = run.stop();
        assert!(st.success(), "{st:?}");
        let log = run.log_text();
        // The library's command log is on: the login is there, without its credentials.
        assert!(log.contains("LOGIN"), "no trace of the IMAP commands ({format}):\n{}", tail(&log));
        assert!(!log.contains(PASSWORD), "the password is in the {format} log:\n{}", log.lines().filter(|l| l.contains(PASSWORD)).collect::<Vec<_>>().join("\n"));
        assert!(!String::from_utf8_lossy(&cmdline).contains(PASSWORD));
    }
    // A refused login: the error names the user, not the password tried.
    let wrong = dir.path().join("password");
    std::fs::write(&wrong, "wrong-Pw-9\n").unwrap();
    let mut run = Run::start(&[], &cfg, "trace", "json", &[]);
    assert!(wait_until(Duration::from_secs(20), || run.log_text().contains("login as")), "{}", tail(&run.log_text()));
    run.stop();
    assert!(!run.log_text().contains("wrong-Pw-9"), "the password tried is in the log");
}

/// A commit is on disk before the move that relies on it, even while another process holds a
/// read snapshot (which stops a checkpoint from copying, and syncing, the WAL): in the strace of
/// the run, no WAL or database write is left unsynced when `UID MOVE` is sent.
#[test]
fn commits_are_synced_before_each_move_despite_a_reader() {
    need("strace");
    let dc = Dovecot::start();
    let dir = test_dir();
    // Moves at the end of the pass only: then no transaction is in flight when a MOVE is sent,
    // and every database write before it must be synced.
    let cfg = write_config(&dc, dir.path(), "batch_size = 20\nmove_every = 100000");
    let dbp = dir.path().join("inmail.db");
    let db = DbView(dbp.clone());
    // An operator's reader, holding a snapshot for the whole run.
    let mut first = Run::start(&[], &cfg, "info", "text", &[]);
    assert!(wait_until(Duration::from_secs(20), || db.q_polled()), "{}", tail(&first.log_text()));
    first.stop();
    let reader = rusqlite::Connection::open(&dbp).unwrap();
    reader.execute_batch("BEGIN").unwrap();
    let _: i64 = reader.query_row("SELECT count(*) FROM message", [], |r| r.get(0)).unwrap();
    seed(&dc, 90, 5, 3);
    let trace = dir.path().join("strace.txt");
    let t = trace.to_string_lossy().to_string();
    let mut run = Run::start(
        &["strace", "-f", "-qq", "-y", "-s", "64", "-o", &t, "-e", "trace=pwrite64,write,writev,fsync,fdatasync,sendto,sendmsg"],
        &cfg,
        "info",
        "text",
        &[],
    );
    done(&dc, &db, 98, &run);
    run.stop();
    reader.execute_batch("COMMIT").unwrap();
    let text = std::fs::read_to_string(&trace).unwrap();
    let db_name = dbp.to_string_lossy().to_string();
    let is_db = |l: &str| l.contains(&format!("<{db_name}>")) || l.contains(&format!("<{db_name}-wal>"));
    let (mut unsynced, mut moves, mut writes) = (0usize, 0usize, 0usize);
    // pid → a sync of the database in progress (strace splits a call other threads interrupt).
    let mut syncing: HashMap<String, bool> = HashMap::new();
    for line in text.lines() {
        let pid = line.split_whitespace().next().unwrap_or("").to_string();
        let call = line[pid.len()..].trim_start();
        let sends = ["pwrite64(", "write(", "writev(", "sendto(", "sendmsg("];
        if sends.iter().any(|s| call.starts_with(s)) {
            if is_db(call) {
                unsynced += 1;
                writes += 1;
            } else if call.contains("UID MOVE") {
                moves += 1;
                assert_eq!(unsynced, 0, "{unsynced} database writes not synced when sending: {call}");
            }
        } else if call.starts_with("fsync(") || call.starts_with("fdatasync(") {
            let db_sync = is_db(call);
            if call.contains("<unfinished") {
                syncing.insert(pid, db_sync);
            } else if db_sync && call.contains(") = 0") {
                unsynced = 0;
            }
        } else if (call.starts_with("<... fsync resumed>") || call.starts_with("<... fdatasync resumed>"))
            && syncing.remove(&pid).unwrap_or(false)
            && call.contains(") = 0")
        {
            unsynced = 0;
        }
    }
    eprintln!("{writes} database writes, {moves} UID MOVE commands");
    assert!(moves >= 3 && writes > 0, "moves {moves}, writes {writes}: trace not understood:\n{}", text.lines().filter(|l| l.contains("UID") || l.contains("sync")).take(30).collect::<Vec<_>>().join("\n"));
}

/// The README's install steps, run as written (paths under a scratch root; `systemctl` left
/// out: no systemd here), give what the unit needs: files with the right modes, a config the
/// service's made-up user can read, a password only root can read, handed over as a credential.
/// Then the daemon runs as such a user (a uid with no account, as `DynamicUser=yes` makes one)
/// with the installed config and the credential, and records and moves the mail.
#[test]
fn readme_install_steps_give_a_service_that_runs() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    need("systemd-analyze");
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let block = readme
        .split("<!-- install:begin -->")
        .nth(1)
        .and_then(|r| r.split("<!-- install:end -->").next())
        .expect("the README's install block");
    let scratch = test_dir();
    let r = scratch.path().join("root");
    std::fs::create_dir_all(r.join("usr/local/bin")).unwrap();
    std::fs::create_dir_all(r.join("etc/systemd/system")).unwrap();
    std::fs::set_permissions(scratch.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    // The release binary of the README is the binary under test here.
    let bin_dir = scratch.path().join("target/release");
    std::fs::create_dir_all(&bin_dir).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_inmail"), bin_dir.join("inmail")).unwrap();
    let mut script = String::from("set -eu\n");
    let mut ran = 0;
    for line in block.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("```")) {
        let cmd = line.split(" #").next().unwrap().trim();
        if cmd.starts_with("systemctl") {
            continue; // no systemd in a container
        }
        let cmd = cmd
            .replace("target/release/inmail", &bin_dir.join("inmail").to_string_lossy())
            .replace(" /etc/", &format!(" {}/etc/", r.display()))
            .replace(" /usr/local/", &format!(" {}/usr/local/", r.display()));
        if cmd.starts_with("systemd-analyze verify") {
            // verify checks that ExecStart exists: point it at the installed binary.
            let checked = scratch.path().join("inmail.service");
            script.push_str(&format!(
                "sed 's|/usr/local/bin/inmail|{r}/usr/local/bin/inmail|' {r}/etc/systemd/system/inmail.service > {c}\nsystemd-analyze verify {c}\n",
                r = r.display(),
                c = checked.display()
            ));
        } else {
            script.push_str(&cmd);
            script.push('\n');
        }
        ran += 1;
    }
    assert!(ran >= 6, "install block not understood:\n{block}");
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The password, typed at the `install … /dev/stdin` step.
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), format!("{PASSWORD}\n").as_bytes()).unwrap();
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "install steps failed:\n{script}\n{}", String::from_utf8_lossy(&out.stderr));
    let mode = |p: &str| std::fs::metadata(r.join(p)).unwrap_or_else(|e| panic!("{p}: {e}")).mode() & 0o7777;
    assert_eq!(mode("usr/local/bin/inmail"), 0o755);
    assert_eq!(mode("etc/inmail"), 0o755);
    assert_eq!(mode("etc/inmail/inmail.toml"), 0o644);
    assert_eq!(mode("etc/inmail/imap-password"), 0o600, "the password must be root-only");
    assert_eq!(std::fs::read_to_string(r.join("etc/inmail/imap-password")).unwrap().trim_end(), PASSWORD);
    assert_eq!(mode("etc/systemd/system/inmail.service"), 0o644);
    let unit = std::fs::read_to_string(r.join("etc/systemd/system/inmail.service")).unwrap();
    let cred = unit.lines().find_map(|l| l.trim().strip_prefix("LoadCredential=")).expect("LoadCredential=");
    let (cred_name, cred_file) = cred.split_once(':').unwrap();
    assert_eq!(cred_file, "/etc/inmail/imap-password", "the credential is the installed password file");
    let exec = unit.lines().find_map(|l| l.trim().strip_prefix("ExecStart=")).unwrap();
    assert!(exec.contains("--config /etc/inmail/inmail.toml"), "{exec}");

    // "then edit it": the server and the database, as a user would; the password stays a
    // credential, as installed.
    let dc = Dovecot::start();
    seed(&dc, 12, 1, 1);
    let conf_path = r.join("etc/inmail/inmail.toml");
    let conf = std::fs::read_to_string(&conf_path).unwrap();
    assert!(conf.contains(&format!("password_credential = \"{cred_name}\"")), "the example config names the unit's credential");
    let state = scratch.path().join("var/lib/inmail");
    std::fs::create_dir_all(&state).unwrap();
    let conf = conf
        .replace("db = \"/var/lib/inmail/inmail.db\"", &format!("db = \"{}/inmail.db\"", state.display()))
        .replace("host = \"imap.example.com\"", "host = \"127.0.0.1\"")
        .replace("port = 993", &format!("port = {}", dc.port))
        .replace("tls = \"implicit\"", "tls = \"none\"")
        .replace("username = \"bounces@example.com\"", &format!("username = \"{USER}\""));
    std::fs::write(&conf_path, conf).unwrap();
    assert_eq!(mode("etc/inmail/inmail.toml"), 0o644, "editing keeps the mode");

    if !is_root() {
        assert!(std::env::var("CI").is_err(), "CI runs as root: this test needs root to run the service as another user");
        eprintln!("not root: the service user part of this test is skipped");
        return;
    }
    need("setpriv");
    // What systemd does for the unit: a made-up uid, its StateDirectory (0700, its own), the
    // credential copied to a private folder readable by it only.
    let uid = 61_873u32;
    let creds = scratch.path().join("credentials");
    std::fs::create_dir_all(&creds).unwrap();
    std::fs::copy(r.join("etc/inmail/imap-password"), creds.join(cred_name)).unwrap();
    for (p, m) in [(&creds, 0o500), (&creds.join(cred_name), 0o400), (&state, 0o700)] {
        std::os::unix::fs::chown(p, Some(uid), Some(uid)).unwrap();
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    }
    for p in [scratch.path().join("var"), scratch.path().join("var/lib")] {
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let log = scratch.path().join("service.log");
    let mut child = Command::new("setpriv")
        .args(["--reuid", &uid.to_string(), "--regid", &uid.to_string(), "--clear-groups", "--"])
        .arg(r.join("usr/local/bin/inmail"))
        .args(["run", "--config"])
        .arg(&conf_path)
        .args(["--log-format", "json"])
        .env("CREDENTIALS_DIRECTORY", &creds)
        .env_remove("RUST_LOG")
        .env_remove("INMAIL_FAULT")
        .current_dir(&state)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let db = DbView(state.join("inmail.db"));
    let ok = wait_until(Duration::from_secs(60), || db.messages() == 14 && dc.count("INBOX") == 0);
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let st = child.wait().unwrap();
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(ok, "the service did not record and move the mail: db {}, INBOX {}\n{}", db.messages(), dc.count("INBOX"), tail(&log_text));
    assert!(st.success(), "{st:?}\n{}", tail(&log_text));
    assert_eq!(dc.count("Processed"), 12);
    let owner = std::fs::metadata(state.join("inmail.db")).unwrap();
    assert_eq!((owner.uid(), owner.mode() & 0o777), (uid, 0o600), "the database belongs to the service user, private");
}
