//! A private Dovecot IMAP server per test (127.0.0.1, free port, Maildir in a temp folder, user
//! `bounces` / `secret`), stopped when dropped, plus helpers to seed and inspect its Maildir and
//! to run the `inmail` daemon against it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub const USER: &str = "bounces";
/// Distinctive, so that a test can look for it in logs and process listings.
pub const PASSWORD: &str = "pw-Xq7never1logged";

/// Install Dovecot when missing (scripts/install-test-deps.sh), or fail with a clear message.
pub fn ensure_dovecot() {
    if which("dovecot") && which("doveadm") {
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install-test-deps.sh");
    let st = Command::new("bash").arg(&script).status();
    assert!(
        matches!(st, Ok(s) if s.success()) && which("dovecot"),
        "Dovecot is required for the IMAP tests and could not be installed: run `sudo {}` (Debian package dovecot-imapd)",
        script.display()
    );
}

fn which(cmd: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {cmd}")).stdout(Stdio::null()).status().map(|s| s.success()).unwrap_or(false)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn uid_gid(name: &str) -> (u32, u32) {
    let id = |flag: &str| -> u32 {
        let o = Command::new("id").arg(flag).arg(name).output().expect("id");
        String::from_utf8_lossy(&o.stdout).trim().parse().expect("numeric id")
    };
    (id("-u"), id("-g"))
}

pub struct Tls {
    pub ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

pub struct Dovecot {
    pub dir: tempfile::TempDir,
    pub port: u16,
    conf: PathBuf,
    owner: Option<(u32, u32)>,
    seq: AtomicU64,
}

impl Dovecot {
    pub fn start() -> Dovecot {
        Self::start_with(false)
    }

    /// With `tls`: implicit TLS (imaps) on `port`, certificate signed by a fresh test CA.
    pub fn start_with(tls: bool) -> Dovecot {
        Self::start_mode(tls, true)
    }

    /// TLS required through STARTTLS on the plain IMAP `port` (same test CA).
    #[allow(dead_code)]
    pub fn start_starttls() -> Dovecot {
        Self::start_mode(true, false)
    }

    fn start_mode(tls: bool, implicit: bool) -> Dovecot {
        ensure_dovecot();
        let dir = tempfile::Builder::new().prefix("inmail-dovecot-").tempdir().expect("tempdir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let d = dir.path().to_path_buf();
        let port = free_port();
        let maildir = d.join("mail/bounces/Maildir");
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(maildir.join(sub)).expect("maildir");
        }
        std::fs::create_dir_all(d.join("run")).expect("run dir");
        let root = unsafe_is_root();
        let (me, login, owner) = if root {
            ("dovecot".to_string(), "dovenull".to_string(), Some(uid_gid("dovecot")))
        } else {
            let me = String::from_utf8_lossy(&Command::new("id").arg("-un").output().expect("id").stdout).trim().to_string();
            (me.clone(), me, None)
        };
        let (uid, gid) = uid_gid(&me);
        std::fs::write(d.join("passwd"), format!("{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{}/mail/bounces\n", d.display())).expect("passwd");
        let tls_conf = if tls {
            let t = make_certs(&d);
            format!(
                "ssl = required\nssl_cert = <{}\nssl_key = <{}\n",
                t.cert.display(),
                t.key.display()
            )
        } else {
            "ssl = no\n".to_string()
        };
        let (imap_port, imaps_port) = if tls && implicit { (0, port) } else { (port, 0) };
        let grp = String::from_utf8_lossy(&Command::new("id").arg("-gn").arg(&me).output().expect("id").stdout).trim().to_string();
        let conf = format!(
            r#"protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/run
log_path = {d}/dovecot.log
{tls_conf}disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {me}
default_internal_group = {grp}
default_login_user = {login}
first_valid_uid = 1
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d}/passwd
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}{imaps_ssl}
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
"#,
            d = d.display(),
            imaps_ssl = if tls && implicit { "\n    ssl = yes" } else { "" },
        );
        let conf_path = d.join("dovecot.conf");
        std::fs::write(&conf_path, conf).expect("conf");
        let dc = Dovecot { dir, port, conf: conf_path, owner, seq: AtomicU64::new(0) };
        dc.chown_mail();
        dc.launch();
        dc
    }

    pub fn tls_ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn chown_mail(&self) {
        if let Some((u, g)) = self.owner {
            let st = Command::new("chown").arg("-R").arg(format!("{u}:{g}")).arg(self.dir.path().join("mail")).status().expect("chown");
            assert!(st.success());
        }
    }

    fn launch(&self) {
        // The daemonized master inherits stdio: never a pipe (output() would wait for it forever).
        let err = self.dir.path().join("dovecot.stderr");
        let f = std::fs::File::create(&err).expect("stderr file");
        let st = Command::new("dovecot").arg("-c").arg(&self.conf).stdin(Stdio::null()).stdout(Stdio::null()).stderr(f).status().expect("run dovecot");
        assert!(st.success(), "dovecot did not start: {}", std::fs::read_to_string(&err).unwrap_or_default());
        let t = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(t.elapsed() < Duration::from_secs(15), "dovecot not listening on {}", self.port);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn master_pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.dir.path().join("run/master.pid")).ok()?.trim().parse().ok()
    }

    /// Stop the server, all its processes included (open IMAP sessions are cut), as a crash or
    /// a restart of the server host would.
    pub fn stop(&self) {
        let pid = self.master_pid();
        let children = pid.map(children_of).unwrap_or_default();
        let _ = Command::new("doveadm").arg("-c").arg(&self.conf).arg("stop").stdout(Stdio::null()).stderr(Stdio::null()).status();
        let t = Instant::now();
        while let Some(p) = pid {
            if !Path::new(&format!("/proc/{p}")).exists() {
                break;
            }
            if t.elapsed() > Duration::from_secs(5) {
                let _ = Command::new("kill").arg("-9").arg(p.to_string()).status();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        for c in children {
            let _ = Command::new("kill").arg("-9").arg(c.to_string()).stderr(Stdio::null()).status();
        }
    }

    pub fn restart(&self) {
        self.launch();
    }

    pub fn maildir(&self) -> PathBuf {
        self.dir.path().join("mail/bounces/Maildir")
    }

    /// Deliver a message straight into the Maildir (as an MTA would).
    pub fn seed(&self, raw: &[u8]) {
        let n = self.seq.fetch_add(1, Ordering::SeqCst);
        let name = format!("{}.M{n}P{}.inmailtest", 1_700_000_000 + n, std::process::id());
        let tmp = self.maildir().join("tmp").join(&name);
        std::fs::write(&tmp, raw).expect("seed");
        if let Some((u, g)) = self.owner {
            std::os::unix::fs::chown(&tmp, Some(u), Some(g)).expect("chown");
        }
        std::fs::rename(&tmp, self.maildir().join("new").join(&name)).expect("deliver");
    }

    /// Files of the messages in a folder ("INBOX" or a folder name), read from disk; messages
    /// flagged \Deleted but not yet expunged are left out.
    fn message_files(&self, folder: &str) -> Vec<PathBuf> {
        let base = if folder == "INBOX" { self.maildir() } else { self.maildir().join(format!(".{folder}")) };
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(rd) = std::fs::read_dir(base.join(sub)) {
                for e in rd.flatten() {
                    let name = e.file_name().to_string_lossy().to_string();
                    let flags = name.rsplit_once(":2,").map(|x| x.1.to_string()).unwrap_or_default();
                    if !flags.contains('T') {
                        out.push(e.path());
                    }
                }
            }
        }
        out
    }

    /// Messages in a folder.
    pub fn count(&self, folder: &str) -> usize {
        self.message_files(folder).len()
    }

    /// Distinct messages in a folder (by their whole content): a second copy counts once.
    pub fn distinct(&self, folder: &str) -> usize {
        let seen: std::collections::HashSet<Vec<u8>> =
            self.message_files(folder).iter().filter_map(|p| std::fs::read(p).ok()).collect();
        seen.len()
    }

    /// APPEND a message over IMAP (plain connection), as a live delivery the daemon must notice.
    pub fn append(&self, raw: &[u8]) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).ok();
        let mut r = BufReader::new(s.try_clone().expect("clone"));
        let mut line = String::new();
        r.read_line(&mut line).expect("greeting");
        let cmd = |s: &mut TcpStream, r: &mut BufReader<TcpStream>, tag: &str, text: &str| {
            s.write_all(format!("{tag} {text}\r\n").as_bytes()).expect("write");
            loop {
                let mut l = String::new();
                r.read_line(&mut l).expect("read");
                assert!(!l.is_empty(), "connection closed");
                if l.starts_with(tag) {
                    assert!(l.starts_with(&format!("{tag} OK")), "{text}: {l}");
                    break;
                }
            }
        };
        cmd(&mut s, &mut r, "a", &format!("LOGIN {USER} {PASSWORD}"));
        let body: Vec<u8> = crlf(raw);
        s.write_all(format!("b APPEND INBOX {{{}}}\r\n", body.len()).as_bytes()).expect("append");
        let mut l = String::new();
        r.read_line(&mut l).expect("continuation");
        assert!(l.starts_with('+'), "APPEND: {l}");
        s.write_all(&body).expect("literal");
        s.write_all(b"\r\n").expect("crlf");
        loop {
            let mut l = String::new();
            r.read_line(&mut l).expect("read");
            assert!(!l.is_empty(), "connection closed");
            if l.starts_with("b ") {
                assert!(l.starts_with("b OK"), "APPEND: {l}");
                break;
            }
        }
        cmd(&mut s, &mut r, "c", "LOGOUT");
        let mut rest = Vec::new();
        let _ = r.read_to_end(&mut rest);
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Every process whose parent is `pid` (one level: Dovecot's services are the master's children).
fn children_of(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Ok(p) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else { continue };
            // pid (comm) state ppid …: comm may hold spaces, so split after the last ')'.
            let Some(rest) = stat.rsplit_once(')').map(|x| x.1) else { continue };
            if rest.split_whitespace().nth(1).and_then(|x| x.parse::<i32>().ok()) == Some(pid) {
                out.push(p);
            }
        }
    }
    out
}

fn unsafe_is_root() -> bool {
    String::from_utf8_lossy(&Command::new("id").arg("-u").output().map(|o| o.stdout).unwrap_or_default()).trim() == "0"
}

fn crlf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 20);
    for &b in raw {
        if b == b'\n' && out.last() != Some(&b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

fn make_certs(d: &Path) -> Tls {
    let run = |args: &[&str]| {
        let o = Command::new("openssl").args(args).current_dir(d).output().expect("openssl");
        assert!(o.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    };
    run(&["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=inmail test CA"]);
    run(&["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"]);
    std::fs::write(
        d.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .expect("ext");
    run(&["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf"]);
    // Dovecot reads the key as root at start; keep it private anyway.
    let _ = std::fs::set_permissions(d.join("server.key"), std::fs::Permissions::from_mode(0o600));
    Tls { ca: d.join("ca.pem"), cert: d.join("server.pem"), key: d.join("server.key") }
}

/// The fixture messages (fixtures/imap/), varied by `i` so every copy has its own fingerprint.
pub fn fixture(name: &str, i: usize) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/imap").join(name);
    let text = std::fs::read_to_string(&p).expect("fixture");
    let text = text.replacen("Message-ID: <", &format!("Message-ID: <n{i}-"), 1);
    text.into_bytes()
}

pub const BOUNCES: [&str; 3] = ["dsn-user-unknown.eml", "dsn-mailbox-full.eml", "text-bounce.eml"];

/// A message the parser cannot read (no header): recorded as failed, moved to the error folder.
pub fn garbage(i: usize) -> Vec<u8> {
    format!("this is not a mail message at all {i}\n").into_bytes()
}

/// The daemon under test.
pub struct Daemon {
    pub child: Child,
    pub log: PathBuf,
}

/// A config for one mailbox on this server; `extra` is appended to the [[mailbox]] table.
pub fn write_config(dc: &Dovecot, dir: &Path, extra: &str) -> PathBuf {
    let pw = dir.join("password");
    std::fs::write(&pw, format!("{PASSWORD}\n")).expect("password");
    let has_tls = extra.contains("tls =");
    let cfg = format!(
        r#"db = "{db}"

[daemon]
threads = 2

[[mailbox]]
name = "test"
host = "127.0.0.1"
port = {port}
username = "{USER}"
password_file = "{pw}"
{tls}reconnect_max = 2
timeout = 10
{extra}
"#,
        db = dir.join("inmail.db").display(),
        port = dc.port,
        pw = pw.display(),
        tls = if has_tls { "" } else { "tls = \"none\"\n" },
    );
    let p = dir.join("inmail.toml");
    std::fs::write(&p, cfg).expect("config");
    p
}

impl Daemon {
    pub fn start(config: &Path, env: &[(&str, &str)]) -> Daemon {
        let dir = config.parent().expect("dir");
        let n = std::fs::read_dir(dir).map(|r| r.count()).unwrap_or(0);
        let log = dir.join(format!("daemon-{n}.log"));
        let f = std::fs::File::create(&log).expect("log");
        let mut c = Command::new(env!("CARGO_BIN_EXE_inmail"));
        c.arg("run").arg("--config").arg(config).arg("--log-level").arg("info").stdin(Stdio::null()).stdout(Stdio::null()).stderr(f);
        c.env_remove("INMAIL_FAULT").env_remove("RUST_LOG").env_remove("NOTIFY_SOCKET");
        for (k, v) in env {
            c.env(k, v);
        }
        Daemon { child: c.spawn().expect("spawn inmail"), log }
    }

    pub fn signal(&self, sig: &str) {
        let st = Command::new("kill").arg(format!("-{sig}")).arg(self.child.id().to_string()).status().expect("kill");
        assert!(st.success());
    }

    /// Wait for the exit, at most `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let t = Instant::now();
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st);
            }
            if t.elapsed() > limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Poll `cond` every 50 ms until true or `limit`; returns whether it became true.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let t = Instant::now();
    while t.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}

/// Read-only look at the daemon's database.
pub struct DbView(pub PathBuf);

impl DbView {
    fn q(&self, sql: &str) -> i64 {
        if !self.0.exists() {
            return 0;
        }
        let c = match rusqlite::Connection::open_with_flags(&self.0, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY) {
            Ok(c) => c,
            Err(_) => return 0,
        };
        c.busy_timeout(Duration::from_secs(5)).ok();
        c.query_row(sql, [], |r| r.get(0)).unwrap_or(0)
    }
    pub fn messages(&self) -> i64 {
        self.q("SELECT count(*) FROM message")
    }
    pub fn messages_of_kind(&self, kind: &str) -> i64 {
        self.q(&format!("SELECT count(*) FROM message WHERE kind = '{kind}'"))
    }
    pub fn events(&self) -> i64 {
        self.q("SELECT count(*) FROM bounce_event")
    }
    pub fn occurrences(&self) -> i64 {
        self.q("SELECT coalesce(sum(occurrences), 0) FROM qualification")
    }
    /// Message-IDs recorded more than once (must be 0).
    pub fn duplicate_message_ids(&self) -> i64 {
        self.q("SELECT count(*) FROM (SELECT message_id FROM message WHERE message_id <> '' GROUP BY message_id HAVING count(*) > 1)")
    }
    /// Messages whose source is not `imap://MAILBOX/INBOX;UIDVALIDITY=N;UID=N` (must be 0).
    pub fn badly_named(&self) -> i64 {
        self.q(
            "SELECT count(*) FROM message WHERE NOT (source GLOB 'imap://?*/INBOX;UIDVALIDITY=[0-9]*;UID=[1-9]*'
                AND substr(source, instr(source, ';UIDVALIDITY=') + 13) GLOB '[0-9]*;UID=[0-9]*'
                AND substr(source, instr(source, ';UID=') + 5) NOT GLOB '*[^0-9]*')",
        )
    }
    /// The daemon has searched the folder at least once.
    pub fn q_polled(&self) -> bool {
        self.q("SELECT count(*) FROM imap_state WHERE last_poll IS NOT NULL") > 0
    }
    pub fn last_uid(&self) -> i64 {
        self.q("SELECT coalesce(max(last_uid), 0) FROM imap_state")
    }
}

pub fn test_dir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("inmail-imaptest-").tempdir().expect("tempdir")
}

#[allow(unused)]
pub fn read_all(p: &Path) -> Vec<u8> {
    let mut v = Vec::new();
    if let Ok(mut f) = std::fs::File::open(p) {
        let _ = f.read_to_end(&mut v);
    }
    v
}
