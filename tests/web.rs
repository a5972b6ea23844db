//! `inmail serve` over real HTTP: the real binary on a free loopback port, a database replayed
//! from fixtures/web, every page and API call with each role, the refusals (401, 403, CSRF),
//! edits and releases checked in the database and with the CLI, /metrics against the database
//! and promtool, and the front page in headless Chromium.

mod common;

use common::{count, db, ok};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const ALICE: (&str, &str) = ("alice", "alice-password-1");
const BOB: (&str, &str) = ("bob", "bob-password-12");
const ALICE_TOKEN: &str = "alice-token-0123456789";
const BOB_TOKEN: &str = "bob-token-0123456789";

struct Console {
    child: Child,
    base: String,
    dir: tempfile::TempDir,
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Console {
    /// Replay fixtures/web into a fresh database and serve it.
    fn start() -> Console {
        let dir = tempfile::tempdir().unwrap();
        let mbox = common::fixtures().join("web/console.mbox");
        ok(dir.path(), &["replay", "--db", "web.db", mbox.to_str().unwrap()]);
        std::fs::write(
            dir.path().join("users.toml"),
            format!(
                "[[user]]\nname = \"{}\"\nrole = \"admin\"\npassword = \"{}\"\ntoken = \"{ALICE_TOKEN}\"\n\n\
                 [[user]]\nname = \"{}\"\nrole = \"read-only\"\npassword = \"{}\"\ntoken = \"{BOB_TOKEN}\"\n",
                ALICE.0, ALICE.1, BOB.0, BOB.1
            ),
        )
        .unwrap();
        std::fs::write(dir.path().join("inmail.toml"), "db = \"web.db\"\n[http]\nusers_file = \"users.toml\"\n").unwrap();
        let mut child = Command::new(common::bin())
            .current_dir(dir.path())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("start inmail serve");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut base = String::new();
        for l in lines.by_ref() {
            let l = l.unwrap();
            if let Some(rest) = l.split_once("console on ").map(|x| x.1) {
                base = rest.trim_end_matches('/').to_string();
                break;
            }
        }
        assert!(base.starts_with("http://127.0.0.1:"), "no listen address printed");
        // Keep reading stderr so that the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Console { child, base, dir }
    }

    fn db_path(&self) -> PathBuf {
        self.dir.path().join("web.db")
    }

    fn request(&self, method: &str, path: &str, auth: Auth, form: Option<&[(&str, &str)]>) -> Resp {
        let agent = ureq::AgentBuilder::new().redirects(0).build();
        let mut r = agent.request(method, &format!("{}{path}", self.base));
        match auth {
            Auth::None => {}
            Auth::Basic(u, p) => {
                use base64::Engine;
                r = r.set("Authorization", &format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))));
            }
            Auth::Bearer(t) => r = r.set("Authorization", &format!("Bearer {t}")),
        }
        let res = match form {
            Some(f) => r.send_form(f),
            None => r.call(),
        };
        let resp = match res {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = resp.status();
        let headers: Vec<(String, String)> =
            resp.headers_names().into_iter().map(|n| (n.clone(), resp.header(&n).unwrap_or("").to_string())).collect();
        let body = resp.into_string().unwrap();
        Resp { status, headers, body }
    }

    fn get(&self, path: &str, auth: Auth) -> Resp {
        self.request("GET", path, auth, None)
    }
    fn post(&self, path: &str, auth: Auth, form: &[(&str, &str)]) -> Resp {
        self.request("POST", path, auth, Some(form))
    }
}

#[derive(Clone, Copy)]
enum Auth {
    None,
    Basic(&'static str, &'static str),
    Bearer(&'static str),
}

const A: Auth = Auth::Basic(ALICE.0, ALICE.1);
const B: Auth = Auth::Bearer(BOB_TOKEN);

struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// The value of every `<input … name="NAME" value="…">` of a page, in order.
fn inputs(html: &str, name: &str) -> Vec<String> {
    let pat = format!("name=\"{name}\" value=\"");
    html.match_indices(&pat)
        .map(|(i, _)| {
            let rest = &html[i + pat.len()..];
            rest[..rest.find('"').unwrap()].replace("&amp;", "&").replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">")
        })
        .collect()
}

fn csrf(c: &Console, auth: Auth, page: &str) -> String {
    inputs(&c.get(page, auth).body, "csrf").into_iter().next().expect("a form with a CSRF token")
}

const PAGES: &[&str] = &[
    "/",
    "/qual",
    "/qual?status=to-qualify&sort=last-seen&dir=asc",
    "/qual?type=Soft&reason=Mailbox%20full&channel=email&q=quota",
    "/qual?rule=manual&sort=first-seen",
    "/qual/1",
    "/quarantine",
    "/quarantine?status=quarantine&domain=example.com",
    "/quarantine?address=user1&reason=user-unknown&from=2026-03-01&to=2026-03-31&q=5.1.1",
    "/quarantine/export.csv",
    "/reports",
    "/reports?days=7&end=2026-03-14",
    "/rules",
    "/rules?diagnostic=550+5.1.1+%3Ca%40b.c%3E%3A+user+unknown",
    "/api/v1/address/user1@example.com",
    "/api/v1/changes",
    "/api/v1/qualification",
    "/api/v1/qualification/1",
    "/api/v1/report",
    "/metrics",
];

#[test]
fn every_page_and_api_call_needs_a_user() {
    let c = Console::start();
    for p in PAGES {
        for auth in [Auth::None, Auth::Basic("alice", "wrong-password-x"), Auth::Basic("mallory", "alice-password-1"), Auth::Bearer("nope-0123456789")] {
            let r = c.get(p, auth);
            assert_eq!(r.status, 401, "{p} without a valid user");
            assert!(r.header("www-authenticate").unwrap_or("").starts_with("Basic"), "{p}: basic-auth challenge");
            assert!(!r.body.contains("example.com"), "{p}: no data before authentication");
        }
        // The password of a user is not a token, nor the other way round.
        assert_eq!(c.get(p, Auth::Bearer(ALICE.1)).status, 401);
        assert_eq!(c.get(p, Auth::Basic("alice", ALICE_TOKEN)).status, 401);
    }
    assert_eq!(c.post("/qual/6", Auth::None, &[("status", "keep")]).status, 401);
    assert_eq!(c.post("/quarantine/release", Auth::None, &[("address", "user1@example.com"), ("confirm", "1")]).status, 401);
    assert_eq!(c.get("/static/style.css", Auth::None).status, 200, "the stylesheet holds no data");
}

#[test]
fn every_page_and_api_call_answers_both_roles() {
    let c = Console::start();
    for p in PAGES {
        for auth in [A, Auth::Bearer(ALICE_TOKEN), B, Auth::Basic(BOB.0, BOB.1)] {
            let r = c.get(p, auth);
            assert_eq!(r.status, 200, "{p}: {}", r.body);
            assert!(r.header("content-security-policy").unwrap_or("").contains("default-src 'none'"), "{p}: CSP");
            assert!(r.header("server-timing").is_some(), "{p}: server timing");
        }
    }
    let home = c.get("/", B).body;
    assert!(home.contains("The gateway did not like this message"), "the To qualify queue lists the rows");
    // Every value is escaped: the bounce text with a script tag is shown, not run.
    assert!(home.contains("&lt;script&gt;alert(#NUM#)&lt;/script&gt; &amp; more"), "{home}");
    for p in PAGES.iter().filter(|p| !p.starts_with("/api") && !p.starts_with("/metrics")) {
        assert!(!c.get(p, A).body.contains("<script>"), "{p} carries a raw script tag");
    }
    // The read-only user sees no edit or release form.
    assert!(!c.get("/qual/6", B).body.contains("name=\"csrf\""));
    assert!(c.get("/qual/6", A).body.contains("name=\"csrf\""));
    let conn = db(&c.db_path());
    // Pages and API against the database.
    let list = c.get("/api/v1/qualification?status=to-qualify", B).json();
    assert_eq!(list["total"].as_i64().unwrap(), count(&conn, "SELECT COUNT(*) FROM qualification WHERE status = 'To qualify'"));
    assert!(list["total"].as_i64().unwrap() >= 2);
    let all = c.get("/api/v1/qualification?per_page=3&sort=last-seen", B).json();
    assert_eq!(all["rows"].as_array().unwrap().len(), 3);
    assert_eq!(all["more"], true);
    let last: Vec<String> = all["rows"].as_array().unwrap().iter().map(|r| r["last_seen"].as_str().unwrap().to_string()).collect();
    assert!(last.windows(2).all(|w| w[0] >= w[1]), "sorted by last seen, newest first: {last:?}");
    assert_eq!(c.get("/api/v1/qualification?status=bogus", B).status, 400);
    assert_eq!(c.get("/api/v1/qualification/999999", B).status, 404);
    assert_eq!(c.get("/qual/999999", B).status, 404);
    let report = c.get("/api/v1/report", B).json();
    let bounces: i64 = report["bounces"].as_array().unwrap().iter().map(|b| b["count"].as_i64().unwrap()).sum();
    assert_eq!(bounces, count(&conn, "SELECT COUNT(*) FROM bounce_event"));
    let csv = c.get("/quarantine/export.csv?status=quarantine", B).body;
    assert_eq!(csv.lines().count() as i64 - 1, count(&conn, "SELECT COUNT(*) FROM quarantine WHERE status = 'Quarantine'"));
    assert!(csv.starts_with("address,channel,status,"));
    let domain = c.get("/quarantine?domain=example.fr&per_page=500", B).body;
    let n = count(&conn, "SELECT COUNT(*) FROM quarantine WHERE address LIKE '%@example.fr'");
    assert_eq!(domain.matches("/quarantine/entry?address=").count() as i64, n);
    let rules = c.get("/rules?diagnostic=550+5.1.1+%3Ca%40b.c%3E%3A+user+unknown", B).body;
    assert!(rules.contains("User unknown") && rules.contains("Hard"));
    let reports = c.get("/reports", B).body;
    assert_eq!(reports.matches("<svg").count(), 6, "six charts");
    assert!(reports.contains("shop.example"), "the domain chart's table");
    // The address API says whether the platform may send.
    let q = c.get("/api/v1/address/USER1@Example.com", B).json();
    let status: String = conn.query_row("SELECT status FROM quarantine WHERE address = 'user1@example.com'", [], |r| r.get(0)).unwrap();
    assert_eq!(q["status"], status.as_str());
    assert_eq!(q["send"], !(status == "Quarantine" || status == "Denylisted"));
    let unknown = c.get("/api/v1/address/never@bounced.example", B).json();
    assert_eq!((unknown["known"].as_bool(), unknown["send"].as_bool()), (Some(false), Some(true)));
}

#[test]
fn read_only_cannot_edit_or_release_and_forms_need_their_csrf_token() {
    let c = Console::start();
    let conn = db(&c.db_path());
    let before = count(&conn, "SELECT COUNT(*) FROM quarantine_history") + count(&conn, "SELECT COUNT(*) FROM qualification_history");
    // A read-only user is shown no form, and the admin's own token does not let him post one.
    assert!(inputs(&c.get("/quarantine", B).body, "csrf").is_empty());
    let alice_csrf = csrf(&c, A, "/qual/6");
    for auth in [B, Auth::Basic(BOB.0, BOB.1)] {
        let r = c.post("/qual/6", auth, &[("csrf", &alice_csrf), ("status", "keep")]);
        assert_eq!(r.status, 403, "{}", r.body);
        let r = c.post("/quarantine/release", auth, &[("csrf", &alice_csrf), ("address", "user1@example.com"), ("confirm", "1")]);
        assert_eq!(r.status, 403);
    }
    // The admin without the token, or with a wrong one (another user's, a stale one).
    for token in [None, Some("0000"), Some(&alice_csrf[..alice_csrf.len() - 1])] {
        let mut form = vec![("status", "keep")];
        if let Some(t) = token {
            form.push(("csrf", t));
        }
        assert_eq!(c.post("/qual/6", A, &form).status, 403, "CSRF {token:?}");
        let mut form = vec![("address", "user1@example.com"), ("confirm", "1")];
        if let Some(t) = token {
            form.push(("csrf", t));
        }
        assert_eq!(c.post("/quarantine/release", A, &form).status, 403);
    }
    let after = count(&conn, "SELECT COUNT(*) FROM quarantine_history") + count(&conn, "SELECT COUNT(*) FROM qualification_history");
    assert_eq!(before, after, "nothing refused was written");
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM qualification WHERE id = 6 AND status = 'To qualify'"), 1);
}

/// The id of the (first) row whose Text contains `s`.
fn row_with(conn: &rusqlite::Connection, s: &str) -> i64 {
    conn.query_row("SELECT id FROM qualification WHERE text LIKE ?1 ORDER BY id", [format!("%{s}%")], |r| r.get(0)).unwrap()
}

#[test]
fn an_edit_made_in_the_form_shows_in_qual_show_with_its_author() {
    let c = Console::start();
    let conn = db(&c.db_path());
    let id = row_with(&conn, "The gateway did not like");
    let page = format!("/qual/{id}");
    let token = csrf(&c, A, &page);
    let r = c.post(&page, A, &[("csrf", &token), ("status", ""), ("type", "Hard"), ("reason", "Account disabled")]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some(page.as_str()));
    let shown = ok(c.dir.path(), &["qual", "show", &id.to_string(), "--db", "web.db"]);
    assert!(shown.contains("Keep") && shown.contains("Hard") && shown.contains("Account disabled"), "{shown}");
    let api = c.get(&format!("/api/v1/qualification/{id}"), B).json();
    let h = &api["history"][0];
    assert_eq!((h["by"].as_str(), h["action"].as_str()), (Some("alice"), Some("set")));
    assert!(h["before"].as_str().unwrap().contains("To qualify") && h["after"].as_str().unwrap().contains("Hard / Account disabled / Keep"));
    assert!(c.get(&page, B).body.contains("alice"), "the history on the row's page");
    assert_eq!(c.post(&page, A, &[("csrf", &token), ("type", "None")]).status, 400, "qual set refuses type None");
    assert_eq!(c.post(&page, A, &[("csrf", &token)]).status, 400, "nothing to change");
}

#[test]
fn a_row_edit_releases_exactly_the_previewed_addresses() {
    let c = Console::start();
    let conn = db(&c.db_path());
    let id = row_with(&conn, "spam");
    let affected = |conn: &rusqlite::Connection| -> Vec<String> {
        let mut st = conn
            .prepare("SELECT address FROM quarantine WHERE qualification_id = ?1 AND status IN ('With errors', 'Quarantine') ORDER BY address")
            .unwrap();
        st.query_map([id], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    let expected = affected(&conn);
    assert!(!expected.is_empty(), "the fixture puts addresses in With errors through this row");
    let page = format!("/qual/{id}");
    let token = csrf(&c, A, &page);
    let preview = c.post(&page, A, &[("csrf", &token), ("status", "ignore"), ("release_affected", "1")]);
    assert_eq!(preview.status, 200);
    let mut listed = inputs(&preview.body, "address");
    listed.sort();
    assert_eq!(listed, expected, "the preview lists the addresses the row quarantined");
    assert_eq!(affected(&conn), expected, "a preview changes nothing");
    assert_eq!(count(&conn, &format!("SELECT COUNT(*) FROM qualification WHERE id = {id} AND status = 'Ignore'")), 0);
    // Confirm with one address fewer than previewed: only those sent are released.
    let kept = listed.pop().unwrap();
    let mut form: Vec<(&str, &str)> = vec![("csrf", &token), ("status", "Ignore"), ("release_affected", "1"), ("confirm", "1")];
    for a in &listed {
        form.push(("address", a));
    }
    let done = c.post(&page, A, &form);
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(affected(&conn), vec![kept.clone()]);
    for a in &listed {
        let (status, by): (String, String) = conn
            .query_row(
                "SELECT q.status, h.by FROM quarantine q JOIN quarantine_history h ON h.address = q.address
                 WHERE q.address = ?1 ORDER BY h.id DESC LIMIT 1",
                [a],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((status.as_str(), by.as_str()), ("Valid", "alice"));
    }
    assert_eq!(count(&conn, &format!("SELECT COUNT(*) FROM qualification WHERE id = {id} AND status = 'Ignore' AND manual = 1")), 1);
}

#[test]
fn a_bulk_release_previewed_then_confirmed_releases_exactly_the_previewed_addresses() {
    let c = Console::start();
    let conn = db(&c.db_path());
    let non_valid = |conn: &rusqlite::Connection| -> Vec<String> {
        let mut st = conn.prepare("SELECT address FROM quarantine WHERE status <> 'Valid' ORDER BY address").unwrap();
        st.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    let before = non_valid(&conn);
    let token = csrf(&c, A, "/quarantine?domain=example.com");
    let preview = c.post("/quarantine/release", A, &[("csrf", &token), ("scope", "all"), ("f_domain", "example.com")]);
    assert_eq!(preview.status, 200, "{}", preview.body);
    let mut listed = inputs(&preview.body, "address");
    listed.sort();
    let expected: Vec<String> = before.iter().filter(|a| a.ends_with("@example.com")).cloned().collect();
    assert!(!expected.is_empty());
    assert_eq!(listed, expected, "every non-Valid entry of the domain, and only those");
    assert_eq!(non_valid(&conn), before, "a preview changes nothing");
    let mut form: Vec<(&str, &str)> = vec![("csrf", &token), ("confirm", "1"), ("reason", "ISP outage <b>")];
    for a in &listed {
        form.push(("address", a));
    }
    let done = c.post("/quarantine/release", A, &form);
    assert_eq!(done.status, 200, "{}", done.body);
    let after = non_valid(&conn);
    let still: Vec<String> = before.iter().filter(|a| !listed.contains(a)).cloned().collect();
    assert_eq!(after, still, "exactly the previewed addresses were released");
    assert_eq!(
        count(&conn, "SELECT COUNT(*) FROM quarantine_history WHERE action = 'release' AND by = 'alice' AND reason = 'ISP outage <b>'"),
        listed.len() as i64
    );
    // The entry page shows the release, escaped.
    let entry = c.get(&format!("/quarantine/entry?address={}", listed[0]), B).body;
    assert!(entry.contains("ISP outage &lt;b&gt;"));
    // Selected rows: preview of a ticked address.
    let one = still.iter().find(|a| a.contains('@')).unwrap();
    let p = c.post("/quarantine/release", A, &[("csrf", &token), ("scope", "selected"), ("address", one)]);
    assert_eq!(inputs(&p.body, "address"), vec![one.clone()]);
    // The sync API: the released addresses appear after the cursor taken before the release.
    let mut cursor = 0;
    let mut seen = std::collections::HashMap::new();
    loop {
        let page = c.get(&format!("/api/v1/changes?since={cursor}&limit=7"), B).json();
        for ch in page["changes"].as_array().unwrap() {
            seen.insert(ch["address"].as_str().unwrap().to_string(), ch["status"].as_str().unwrap().to_string());
        }
        cursor = page["next"].as_i64().unwrap();
        if !page["more"].as_bool().unwrap() {
            break;
        }
    }
    assert_eq!(cursor, count(&conn, "SELECT MAX(id) FROM quarantine_history"));
    for a in &listed {
        assert_eq!(seen.get(a).map(String::as_str), Some("Valid"), "{a}");
    }
    let empty = c.get(&format!("/api/v1/changes?since={cursor}"), B).json();
    assert_eq!(empty["changes"].as_array().unwrap().len(), 0);
}

fn require(tool: &str) {
    let found = Command::new("sh").arg("-c").arg(format!("command -v {tool}")).status().map(|s| s.success()).unwrap_or(false);
    if !found {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install-test-deps.sh");
        let _ = Command::new("bash").arg(&script).status();
    }
    let found = Command::new("sh").arg("-c").arg(format!("command -v {tool}")).status().map(|s| s.success()).unwrap_or(false);
    assert!(found, "{tool} is required by this test: run scripts/install-test-deps.sh");
}

#[test]
fn metrics_equal_the_database_and_pass_promtool() {
    require("promtool");
    let c = Console::start();
    let conn = db(&c.db_path());
    let m = c.get("/metrics", Auth::Bearer(BOB_TOKEN));
    assert_eq!(m.status, 200);
    assert!(m.header("content-type").unwrap().starts_with("text/plain; version=0.0.4"));
    let mut child = Command::new("promtool").args(["check", "metrics"]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), m.body.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "promtool: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let sum = |prefix: &str| -> f64 {
        m.body.lines().filter(|l| l.starts_with(prefix)).map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap()).sum()
    };
    assert_eq!(sum("inmail_records_total{") as i64, count(&conn, "SELECT COUNT(*) FROM bounce_event"));
    assert_eq!(sum("inmail_records_total{kind=\"dsn\",type=\"Hard\"") as i64, count(&conn, "SELECT COUNT(*) FROM bounce_event WHERE kind = 'dsn' AND failure_type = 'Hard'"));
    assert_eq!(sum("inmail_messages_total{") as i64, count(&conn, "SELECT COUNT(*) FROM message"));
    assert_eq!(sum("inmail_parse_errors_total") as i64, count(&conn, "SELECT COUNT(*) FROM message WHERE error IS NOT NULL"));
    assert_eq!(sum("inmail_quarantine_entries{status=\"Quarantine\"}") as i64, count(&conn, "SELECT COUNT(*) FROM quarantine WHERE status = 'Quarantine'"));
    assert_eq!(sum("inmail_rows_to_qualify ") as i64, count(&conn, "SELECT COUNT(*) FROM qualification WHERE status = 'To qualify'"));
    assert!(sum("inmail_rows_to_qualify ") >= 2.0);
    // `serve` fetches nothing: no daemon counters pretending to be zero.
    assert!(!m.body.contains("inmail_mailbox_messages_fetched_total"));
}

/// The console in a real browser: headless Chromium renders the front page (the rows to
/// qualify of the replayed fixtures), the qualification table and the report.
#[test]
fn chromium_renders_the_console() {
    require("chromium");
    let c = Console::start();
    let url = |path: &str| c.base.replacen("http://", &format!("http://{}:{}@", ALICE.0, ALICE.1), 1) + path;
    let chromium = |args: &[&str]| {
        let profile = c.dir.path().join("chromium-profile");
        let out = Command::new("chromium")
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions"])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(args)
            .output()
            .expect("run chromium");
        assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let dom = chromium(&["--dump-dom", &url("/")]);
    assert!(dom.contains("To qualify") && dom.contains("The gateway did not like this message"), "{dom}");
    // The escaped script tag is text in the DOM, never an element.
    assert!(dom.contains("&lt;script&gt;alert(#NUM#)"), "{dom}");
    assert!(!dom.contains("<script>"));
    for (path, file) in [("/qual", "qual.png"), ("/reports", "report.png")] {
        let shot = c.dir.path().join(file);
        chromium(&["--window-size=1400,1000", &format!("--screenshot={}", shot.display()), &url(path)]);
        let png = std::fs::read(&shot).unwrap();
        assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{file}: a real screenshot");
    }
}

/// `inmail run` with `[http] listen`: the console of the daemon, its metrics after a run
/// against a real Dovecot equal the database's counts and the messages it fetched and moved.
#[test]
fn the_daemon_serves_the_console_and_counts_what_it_fetched_and_moved() {
    use common::dovecot::{self, Daemon, Dovecot};
    dovecot::ensure_dovecot();
    require("promtool");
    let dc = Dovecot::start();
    let n = 12;
    for i in 0..n {
        dc.seed(&dovecot::fixture(dovecot::BOUNCES[i % 3], i));
    }
    dc.seed(&dovecot::garbage(99));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("users.toml"), format!("[[user]]\nname = \"prom\"\nrole = \"read-only\"\ntoken = \"{BOB_TOKEN}\"\n")).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let extra = format!("\n[http]\nlisten = \"127.0.0.1:{port}\"\nusers_file = \"{}\"\n", dir.path().join("users.toml").display());
    let cfg = dovecot::write_config(&dc, dir.path(), &extra);
    let mut d = Daemon::start(&cfg, &[]);
    let all = n + 1;
    assert!(
        dovecot::wait_until(std::time::Duration::from_secs(60), || dc.count("INBOX") == 0 && dc.count("Processed") + dc.count("Errors") == all),
        "the daemon did not process the mailbox: {}",
        d.log_text()
    );
    let agent = ureq::AgentBuilder::new().build();
    let get = |path: &str, auth: bool| {
        let mut r = agent.get(&format!("http://127.0.0.1:{port}{path}"));
        if auth {
            r = r.set("Authorization", &format!("Bearer {BOB_TOKEN}"));
        }
        match r.call() {
            Ok(r) => (r.status(), r.into_string().unwrap()),
            Err(ureq::Error::Status(s, r)) => (s, r.into_string().unwrap()),
            Err(e) => panic!("{path}: {e}\n{}", d.log_text()),
        }
    };
    assert_eq!(get("/metrics", false).0, 401);
    assert_eq!(get("/", true).0, 200);
    let sum = |m: &str, name: &str| -> f64 {
        m.lines().filter(|l| l.starts_with(name)).map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap()).sum()
    };
    // The server has the messages in their folders a moment before the daemon has read its
    // answer to the last MOVE and counted them.
    let moved = "inmail_mailbox_messages_moved_total{mailbox=\"test\"}";
    dovecot::wait_until(std::time::Duration::from_secs(10), || sum(&get("/metrics", true).1, moved) as usize == all);
    let m = get("/metrics", true).1;
    let value = |name: &str| sum(&m, name);
    let conn = db(&dir.path().join("inmail.db"));
    assert_eq!(value("inmail_mailbox_messages_fetched_total{mailbox=\"test\"}") as usize, all, "{m}");
    assert_eq!(value("inmail_mailbox_messages_moved_total{mailbox=\"test\"}") as usize, all, "{m}");
    assert_eq!(value("inmail_mailbox_messages_recorded_total{mailbox=\"test\"}") as i64, count(&conn, "SELECT COUNT(*) FROM message"));
    assert_eq!(value("inmail_messages_total{") as usize, all);
    assert_eq!(value("inmail_parse_errors_total") as i64, 1);
    assert_eq!(value("inmail_records_total{") as i64, count(&conn, "SELECT COUNT(*) FROM bounce_event"));
    assert!(value("inmail_batch_commit_duration_seconds_count") >= 1.0);
    assert!(value("inmail_mailbox_last_poll_timestamp_seconds{mailbox=\"test\"}") > 1.7e9);
    let mut child = Command::new("promtool").args(["check", "metrics"]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), m.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "promtool: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    d.signal("TERM");
    assert_eq!(d.wait_exit(std::time::Duration::from_secs(15)).map(|s| s.success()), Some(true), "{}", d.log_text());
}

/// Chromium driven through the DevTools protocol (a WebSocket to the page): the operator's
/// clicks, not requests crafted by the test.
struct Browser {
    child: Child,
    ws: tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<std::net::TcpStream>>,
    next: u64,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    fn start() -> Browser {
        require("chromium");
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new("chromium")
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions", "--remote-debugging-port=0"])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut port = String::new();
        for l in lines.by_ref() {
            let l = l.unwrap();
            if let Some(rest) = l.split_once("DevTools listening on ws://127.0.0.1:").map(|x| x.1) {
                port = rest.split('/').next().unwrap().to_string();
                break;
            }
        }
        assert!(!port.is_empty(), "chromium printed no DevTools address");
        std::thread::spawn(move || for _ in lines {});
        let list: serde_json::Value =
            serde_json::from_str(&ureq::get(&format!("http://127.0.0.1:{port}/json/list")).call().unwrap().into_string().unwrap()).unwrap();
        let page = list.as_array().unwrap().iter().find(|t| t["type"] == "page").expect("a page target");
        let (ws, _) = tungstenite::connect(page["webSocketDebuggerUrl"].as_str().unwrap()).expect("DevTools WebSocket");
        Browser { child, ws, next: 0, _profile: profile }
    }

    fn call(&mut self, method: &str, params: serde_json::Value) -> serde_json::Value {
        self.next += 1;
        let id = self.next;
        let msg = serde_json::json!({"id": id, "method": method, "params": params}).to_string();
        self.ws.send(tungstenite::Message::Text(msg.into())).unwrap();
        loop {
            if let tungstenite::Message::Text(t) = self.ws.read().unwrap() {
                let v: serde_json::Value = serde_json::from_str(&t).unwrap();
                if v["id"] == id {
                    assert!(v.get("error").is_none(), "{method}: {v}");
                    return v["result"].clone();
                }
            }
        }
    }

    fn eval(&mut self, js: &str) -> serde_json::Value {
        let r = self.call("Runtime.evaluate", serde_json::json!({"expression": js, "returnByValue": true}));
        assert!(r.get("exceptionDetails").is_none(), "{js}: {r}");
        r["result"]["value"].clone()
    }

    /// Run `action` (a click that submits a form, or a navigation) and wait for the new page.
    fn and_wait(&mut self, action: &str) {
        self.eval("window.__old_page = true");
        self.eval(action);
        for _ in 0..200 {
            if self.eval("window.__old_page === undefined && document.readyState === 'complete'") == serde_json::Value::Bool(true) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("no new page after {action}");
    }

    fn goto(&mut self, url: &str) {
        self.call("Page.navigate", serde_json::json!({"url": url}));
        for _ in 0..200 {
            let here = self.eval("location.href + ' ' + document.readyState");
            if here.as_str().is_some_and(|h| h.ends_with(" complete") && !h.starts_with("about:blank")) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("{url} did not load");
    }
}

#[test]
fn chromium_edits_a_row_and_runs_a_bulk_release_through_the_forms() {
    let c = Console::start();
    let conn = db(&c.db_path());
    let mut b = Browser::start();
    let origin = c.base.replacen("http://", &format!("http://{}:{}@", ALICE.0, ALICE.1), 1);
    // The front page lists the rows to qualify; the operator opens the first one.
    b.goto(&format!("{origin}/"));
    let rows = b.eval("[...document.querySelectorAll('main table tbody tr')].length");
    assert_eq!(rows.as_i64().unwrap(), count(&conn, "SELECT COUNT(*) FROM qualification WHERE status = 'To qualify'"));
    let id = b.eval("document.querySelector('main table tbody tr td a').textContent").as_str().unwrap().to_string();
    b.and_wait("document.querySelector('main table tbody tr td a').click()");
    assert!(b.eval("location.pathname").as_str().unwrap().ends_with(&format!("/qual/{id}")));
    // Choose a type and a reason in the form and save.
    b.and_wait(
        "document.querySelector('form.edit select[name=type]').value = 'Hard';
         document.querySelector('form.edit select[name=reason]').value = 'User unknown';
         document.querySelector('form.edit select[name=status]').value = '';
         document.querySelector('form.edit button').click()",
    );
    let shown = ok(c.dir.path(), &["qual", "show", &id, "--db", "web.db"]);
    assert!(shown.contains("Hard") && shown.contains("User unknown") && shown.contains("Keep"), "{shown}");
    assert!(b.eval("document.body.textContent").as_str().unwrap().contains("alice"), "the history shows who");

    // Bulk release: filter a domain, ask for every match, read the preview, confirm.
    b.goto(&format!("{origin}/quarantine?domain=example.net"));
    b.and_wait("document.querySelector('button[value=all]').click()");
    let previewed: Vec<String> =
        serde_json::from_value(b.eval("[...document.querySelectorAll('input[name=address]')].map(i => i.value)")).unwrap();
    let mut expected: Vec<String> = {
        let mut st = conn.prepare("SELECT address FROM quarantine WHERE address LIKE '%@example.net' AND status IN ('With errors', 'Quarantine')").unwrap();
        st.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    let mut sorted = previewed.clone();
    sorted.sort();
    expected.sort();
    assert_eq!(sorted, expected);
    let others_before = count(&conn, "SELECT COUNT(*) FROM quarantine WHERE status <> 'Valid' AND address NOT LIKE '%@example.net'");
    b.and_wait(
        "document.querySelector('input[name=reason]').value = 'outage at example.net';
         document.querySelector('form.filters button').click()",
    );
    assert!(b.eval("document.querySelector('p.done').textContent").as_str().unwrap().contains(&format!("{} address(es) released", previewed.len())));
    for a in &previewed {
        let s: String = conn.query_row("SELECT status FROM quarantine WHERE address = ?1", [a], |r| r.get(0)).unwrap();
        assert_eq!(s, "Valid", "{a}");
    }
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM quarantine WHERE status <> 'Valid' AND address NOT LIKE '%@example.net'"), others_before);
    assert_eq!(
        count(&conn, "SELECT COUNT(*) FROM quarantine_history WHERE by = 'alice' AND reason = 'outage at example.net'"),
        previewed.len() as i64
    );
}

#[test]
fn serve_refuses_to_start_without_users_or_database() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = common::run(d, &["serve", "--db", "missing.db", "--listen", "127.0.0.1:0"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!d.join("missing.db").exists(), "no empty database created by mistake");
    ok(d, &["replay", "--db", "x.db", common::fixtures().join("web/console.mbox").to_str().unwrap()]);
    let out = common::run(d, &["serve", "--db", "x.db", "--listen", "127.0.0.1:0"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("users_file"), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::write(d.join("users.toml"), "[[user]]\nname = \"a\"\nrole = \"admin\"\npassword = \"short\"\n").unwrap();
    std::fs::write(d.join("inmail.toml"), "[http]\nusers_file = \"users.toml\"\n").unwrap();
    let out = common::run(d, &["serve", "--db", "x.db", "--listen", "127.0.0.1:0"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 12 characters"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn an_oversized_release_form_is_refused_not_cut() {
    let c = Console::start();
    let conn = db(&c.db_path());
    let before = count(&conn, "SELECT COUNT(*) FROM quarantine WHERE status <> 'Valid'");
    let token = csrf(&c, A, "/quarantine");
    let real: Vec<String> = {
        let mut st = conn.prepare("SELECT address FROM quarantine WHERE status <> 'Valid'").unwrap();
        st.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    let filler: Vec<String> = (0..20_000).map(|i| format!("nobody{i}@example.invalid")).collect();
    let mut form: Vec<(&str, &str)> = vec![("csrf", &token), ("confirm", "1")];
    form.extend(real.iter().map(|a| ("address", a.as_str())));
    form.extend(filler.iter().map(|a| ("address", a.as_str())));
    let r = c.post("/quarantine/release", A, &form);
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("too many fields"));
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM quarantine WHERE status <> 'Valid'"), before, "nothing released");
}
