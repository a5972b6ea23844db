//! The quarantine through the binary and a real SQLite file: every transition, with event times.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const DAY: i64 = 86_400;
/// 2026-01-05T10:00:00Z, the Date / Arrival-Date written in the fixtures.
const T0: i64 = 1_767_607_200;
const FIXTURE_DATE: &str = "Mon, 05 Jan 2026 10:00:00 +0000";

struct Env {
    dir: tempfile::TempDir,
    n: std::cell::Cell<usize>,
    config: Option<PathBuf>,
}

fn rfc2822(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t).unwrap().format(&time::format_description::well_known::Rfc2822).unwrap()
}

fn iso(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t).unwrap().format(&time::format_description::well_known::Rfc3339).unwrap()
}

impl Env {
    fn new() -> Env {
        Env { dir: tempfile::tempdir().unwrap(), n: 0.into(), config: None }
    }
    fn with_config(toml: &str) -> Env {
        let mut e = Env::new();
        let p = e.dir.path().join("inmail.toml");
        std::fs::write(&p, toml).unwrap();
        e.config = Some(p);
        e
    }
    fn db(&self) -> PathBuf {
        self.dir.path().join("inmail.db")
    }
    /// A copy of a fixture for another recipient and event time.
    fn bounce(&self, fixture: &str, rcpt: &str, t: i64) -> PathBuf {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/quarantine").join(fixture);
        let text = std::fs::read_to_string(src).unwrap();
        assert!(text.contains("rcpt@example.com") && text.contains(FIXTURE_DATE), "fixture {fixture} has the placeholders");
        let text = text.replace("rcpt@example.com", rcpt).replace(FIXTURE_DATE, &rfc2822(t));
        self.n.set(self.n.get() + 1);
        let p = self.dir.path().join(format!("m{:04}-{fixture}", self.n.get()));
        std::fs::write(&p, text).unwrap();
        p
    }
    fn cmd(&self, args: &[&str]) -> std::process::Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_inmail"));
        c.current_dir(self.dir.path()).env("USER", "tester");
        if let Some(p) = &self.config {
            c.arg("--config").arg(p);
        }
        c.args(args).arg("--db").arg(self.db());
        c.output().unwrap()
    }
    fn ok(&self, args: &[&str]) -> String {
        let o = self.cmd(args);
        assert!(o.status.success(), "inmail {args:?} failed: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    }
    fn replay(&self, files: &[PathBuf]) {
        let mut args = vec!["replay".to_string(), "--no-progress".into()];
        args.extend(files.iter().map(|p| p.display().to_string()));
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        self.ok(&a);
    }
    fn replay_one(&self, fixture: &str, rcpt: &str, t: i64) {
        let p = self.bounce(fixture, rcpt, t);
        self.replay(&[p]);
    }
    fn entries(&self) -> Vec<Value> {
        serde_json::from_str::<Value>(&self.ok(&["quarantine", "list", "--format", "json"])).unwrap().as_array().unwrap().clone()
    }
    fn entry(&self, addr: &str) -> Option<Value> {
        self.entries().into_iter().find(|e| e["address"] == addr)
    }
    fn status(&self, addr: &str) -> String {
        self.entry(addr).map(|e| e["status"].as_str().unwrap().to_string()).unwrap_or_else(|| "(none)".into())
    }
    fn count(&self, addr: &str) -> i64 {
        self.entry(addr).unwrap()["error_count"].as_i64().unwrap()
    }
    fn maintain(&self, now: i64) -> String {
        self.ok(&["maintain", "--now", &iso(now)])
    }
}

#[test]
fn five_soft_bounces_over_three_days_quarantine() {
    let e = Env::new();
    let a = "five@example.com";
    for i in 0..4 {
        e.replay_one("soft-unreachable.eml", a, T0 + i * 18 * 3600);
        assert_eq!(e.status(a), "With errors");
        assert_eq!(e.count(a), i + 1);
    }
    e.replay_one("soft-unreachable.eml", a, T0 + 3 * DAY);
    let x = e.entry(a).unwrap();
    assert_eq!(x["status"], "Quarantine");
    assert_eq!(x["error_count"], 5);
    assert_eq!(x["failure_type"], "Soft");
    assert_eq!(x["failure_reason"], "Unreachable");
    assert_eq!(x["last_error"], iso(T0 + 3 * DAY));
    assert_eq!(x["first_error"], iso(T0));
    assert!(x["error_text"].as_str().unwrap().contains("Connection timed out"));
    // Never released by time.
    e.maintain(T0 + 100 * DAY);
    assert_eq!(e.status(a), "Quarantine");
}

#[test]
fn five_soft_bounces_in_one_replay_batch_are_applied_in_event_time_order() {
    let e = Env::new();
    let a = "batch@example.com";
    // Files in reverse time order; the first (oldest) is 11 days before the others.
    let mut files: Vec<PathBuf> = (0..4).map(|i| e.bounce("soft-unreachable.eml", a, T0 + 12 * DAY + i * 3600)).collect();
    files.push(e.bounce("soft-unreachable.eml", a, T0));
    files.reverse();
    e.replay(&files);
    // The oldest error was more than 10 days before the others: the counter restarted.
    assert_eq!(e.status(a), "With errors");
    assert_eq!(e.count(a), 4);
}

#[test]
fn four_soft_then_eleven_days_of_silence_valid() {
    let e = Env::new();
    let a = "four@example.com";
    let last = T0 + 3 * DAY;
    for t in [T0, T0 + DAY, T0 + 2 * DAY, last] {
        e.replay_one("soft-unreachable.eml", a, t);
    }
    assert_eq!((e.status(a), e.count(a)), ("With errors".to_string(), 4));
    let out = e.maintain(last + 10 * DAY);
    assert!(!out.contains(a));
    assert_eq!(e.status(a), "With errors", "exactly 10 days is not more than 10 days");
    let out = e.maintain(last + 11 * DAY);
    assert!(out.contains(a), "maintain lists what it released: {out}");
    assert_eq!((e.status(a), e.count(a)), ("Valid".to_string(), 0));
    let show: Value = serde_json::from_str(&e.ok(&["quarantine", "show", a, "--format", "json"])).unwrap();
    let hist = show["history"].as_array().unwrap();
    assert_eq!(hist.last().unwrap()["action"], "maintain");
    assert_eq!(show["bounces"].as_array().unwrap().len(), 4);
}

#[test]
fn lazy_reset_when_the_next_bounce_arrives_late() {
    let e = Env::new();
    let a = "lazy@example.com";
    for i in 0..4 {
        e.replay_one("soft-unreachable.eml", a, T0 + i * 3600);
    }
    // No maintain: the fifth bounce 11 days later starts a new count.
    e.replay_one("soft-unreachable.eml", a, T0 + 3 * 3600 + 11 * DAY);
    assert_eq!((e.status(a), e.count(a)), ("With errors".to_string(), 1));
}

#[test]
fn mailbox_full_then_thirty_one_days_valid() {
    // Default periods: Valid after 31 days (whichever rule fires first).
    let e = Env::new();
    let a = "full@example.com";
    e.replay_one("mailbox-full.eml", a, T0);
    assert_eq!(e.entry(a).unwrap()["failure_reason"], "Mailbox full");
    e.maintain(T0 + 31 * DAY);
    assert_eq!(e.status(a), "Valid");

    // With the 10-day reset disabled, only the Mailbox-full rule applies: 20 days is not enough.
    let e = Env::with_config("[quarantine]\nreset_after_days = 0\n");
    e.replay_one("mailbox-full.eml", a, T0);
    e.replay_one("soft-unreachable.eml", "other@example.com", T0);
    e.maintain(T0 + 20 * DAY);
    assert_eq!(e.status(a), "With errors");
    e.maintain(T0 + 31 * DAY);
    assert_eq!(e.status(a), "Valid");
    assert_eq!(e.status("other@example.com"), "With errors", "the 30-day rule is for Mailbox full only");
}

#[test]
fn hard_bounce_then_delivered_dsn_still_quarantine() {
    let e = Env::new();
    let a = "hard@example.com";
    e.replay_one("hard-user-unknown.eml", a, T0);
    assert_eq!(e.status(a), "Quarantine");
    assert_eq!(e.entry(a).unwrap()["failure_reason"], "User unknown");
    e.replay_one("delivered.eml", a, T0 + DAY);
    assert_eq!(e.status(a), "Quarantine");
    e.maintain(T0 + 365 * DAY);
    assert_eq!(e.status(a), "Quarantine");
}

#[test]
fn soft_bounce_then_delivered_dsn_valid() {
    let e = Env::new();
    let a = "soft@example.com";
    e.replay_one("delivered.eml", a, T0 - DAY);
    assert_eq!(e.status(a), "(none)", "a success for an unknown address creates no entry");
    e.replay_one("soft-unreachable.eml", a, T0);
    e.replay_one("soft-unreachable.eml", a, T0 + 3600);
    assert_eq!(e.status(a), "With errors");
    e.replay_one("delivered.eml", a, T0 + DAY);
    assert_eq!((e.status(a), e.count(a)), ("Valid".to_string(), 0));
}

#[test]
fn arf_denylisted_and_never_released_by_maintain() {
    let e = Env::new();
    let a = "complainer@example.com";
    e.replay_one("soft-unreachable.eml", a, T0 - DAY);
    e.replay_one("arf.eml", a, T0);
    assert_eq!(e.status(a), "Denylisted");
    assert_eq!(e.entry(a).unwrap()["failure_reason"], "Refused");
    e.maintain(T0 + 400 * DAY);
    e.replay_one("delivered.eml", a, T0 + 401 * DAY);
    assert_eq!(e.status(a), "Denylisted");
    // A bulk release does not lift a denylisting.
    e.ok(&["quarantine", "release", "--domain", "example.com"]);
    assert_eq!(e.status(a), "Denylisted");
    // Only an operator naming the address does.
    e.ok(&["quarantine", "release", a, "--reason", "asked to resubscribe"]);
    assert_eq!(e.status(a), "Valid");
}

#[test]
fn addresses_compare_case_insensitively_by_default() {
    let e = Env::new();
    e.replay_one("soft-unreachable.eml", "Jane.Doe@Example.COM", T0);
    e.replay_one("soft-unreachable.eml", "jane.doe@example.com", T0 + 60);
    assert_eq!(e.entries().len(), 1);
    assert_eq!(e.count("jane.doe@example.com"), 2);
    // Case-sensitive mode keeps the address as given (the extractor already lowercases bounce
    // recipients, so this shows on imported lists).
    let e = Env::with_config("[quarantine]\ncase_insensitive = false\n");
    let list = e.dir.path().join("list.txt");
    std::fs::write(&list, "Jane.Doe@Example.COM\njane.doe@example.com\n").unwrap();
    e.ok(&["quarantine", "import", list.to_str().unwrap()]);
    assert_eq!(e.entries().len(), 2);
    assert_eq!(e.status("Jane.Doe@Example.COM"), "Denylisted");
}

#[test]
fn ignore_row_has_no_effect_and_release_affected_releases() {
    let e = Env::new();
    e.replay_one("outage.eml", "x1@example.com", T0);
    e.replay_one("outage.eml", "x2@example.com", T0 + 60);
    e.replay_one("hard-user-unknown.eml", "x3@example.com", T0);
    let rows: Value = serde_json::from_str(&e.ok(&["qual", "list", "--format", "json"])).unwrap();
    let outage = rows.as_array().unwrap().iter().find(|r| r["text"].as_str().unwrap().contains("outage")).unwrap();
    let id = outage["id"].as_i64().unwrap().to_string();
    let out = e.ok(&["qual", "set", &id, "--status", "ignore", "--release-affected"]);
    assert!(out.contains("2 address(es) released"), "{out}");
    assert_eq!(e.status("x1@example.com"), "Valid");
    assert_eq!(e.status("x2@example.com"), "Valid");
    assert_eq!(e.status("x3@example.com"), "Quarantine");
    // The row is Ignore now: more of the same bounce change nothing.
    for i in 0..6 {
        e.replay_one("outage.eml", "x1@example.com", T0 + DAY + i * 60);
    }
    assert_eq!((e.status("x1@example.com"), e.count("x1@example.com")), ("Valid".to_string(), 0));
    let show: Value = serde_json::from_str(&e.ok(&["quarantine", "show", "x1@example.com", "--format", "json"])).unwrap();
    let last = show["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["action"].as_str(), last["by"].as_str()), (Some("release"), Some("tester")));
}

#[test]
fn bulk_release_by_text_domain_and_window() {
    let e = Env::new();
    let w0 = T0 + 5 * DAY;
    let w1 = w0 + 6 * 3600;
    let mk = |f: &str, a: &str, t: i64| e.bounce(f, a, t);
    let files = vec![
        mk("outage.eml", "in1@isp.example.com", w0 + 3600),     // match
        mk("outage.eml", "in2@isp.example.net", w0 + 2 * 3600), // match (second domain)
        mk("outage.eml", "dom@other.example.org", w0 + 3600),   // other domain
        mk("hard-user-unknown.eml", "text@isp.example.com", w0 + 3600), // other text
        mk("outage.eml", "early@isp.example.com", w0 - 2 * DAY), // before the window
        mk("outage.eml", "late@isp.example.net", w1 + 3600),    // after the window
    ];
    e.replay(&files);
    let before = e.entries();
    assert_eq!(before.len(), 6);
    assert!(before.iter().all(|x| x["status"] != "Valid"));
    let args = |dry: bool| {
        let mut v = vec![
            "quarantine", "release", "--text-contains", "isp OUTAGE", "--domain", "isp.example.com", "--domain",
            "isp.example.net", "--modified-after",
        ];
        v.push(Box::leak(iso(w0).into_boxed_str()));
        v.push("--modified-before");
        v.push(Box::leak(iso(w1).into_boxed_str()));
        v.extend(["--format", "json", "--reason", "ISP outage 2026-01-10", "--by", "ops"]);
        if dry {
            v.push("--dry-run");
        }
        v
    };
    let dry: Value = serde_json::from_str(&e.ok(&args(true))).unwrap();
    let mut names: Vec<&str> = dry.as_array().unwrap().iter().map(|x| x["address"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["in1@isp.example.com", "in2@isp.example.net"]);
    assert_eq!(e.entries(), before, "--dry-run changes nothing");

    let done: Value = serde_json::from_str(&e.ok(&args(false))).unwrap();
    assert_eq!(done.as_array().unwrap().len(), 2);
    for x in e.entries() {
        let a = x["address"].as_str().unwrap();
        let want_valid = a.starts_with("in");
        assert_eq!(x["status"] == "Valid", want_valid, "{a}: {}", x["status"]);
    }
    let show: Value = serde_json::from_str(&e.ok(&["quarantine", "show", "in2@isp.example.net", "--format", "json"])).unwrap();
    let last = show["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["by"], "ops");
    assert_eq!(last["reason"], "ISP outage 2026-01-10");
    assert_eq!(last["old_status"], "With errors");
    // Without any selection, release refuses instead of releasing everything.
    let o = e.cmd(&["quarantine", "release"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("nothing selected"));
}

#[test]
fn list_filters_import_and_export() {
    let e = Env::new();
    e.replay_one("hard-user-unknown.eml", "h@example.com", T0);
    e.replay_one("soft-unreachable.eml", "s@example.net", T0);
    let list = std::env::temp_dir().join(format!("inmail-import-{}.csv", std::process::id()));
    std::fs::write(&list, "# legacy denylist\naddress,name\nBad@Example.org,Bad\n\n\"worse@example.org\",W\n").unwrap();
    let out = e.ok(&["quarantine", "import", list.to_str().unwrap()]);
    std::fs::remove_file(&list).ok();
    assert!(out.contains("2 address(es) denylisted"), "{out}");
    assert_eq!(e.status("bad@example.org"), "Denylisted");
    let q: Value = serde_json::from_str(&e.ok(&["quarantine", "list", "--status", "quarantine", "--format", "json"])).unwrap();
    assert_eq!(q.as_array().unwrap().len(), 1);
    assert_eq!(q[0]["address"], "h@example.com");
    let d: Value = serde_json::from_str(&e.ok(&["quarantine", "list", "--domain", "example.org", "--format", "json"])).unwrap();
    assert_eq!(d.as_array().unwrap().len(), 2);
    let csv = e.ok(&["quarantine", "export"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("address,"), "{csv}");
    assert_eq!(lines.len(), 5, "header + 4 non-Valid entries: {csv}");
    // A bad list is an error, not a partial import.
    let bad = e.dir.path().join("bad.txt");
    std::fs::write(&bad, "ok@example.org\nthis is not an address\n").unwrap();
    let o = e.cmd(&["quarantine", "import", bad.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("line 2"));
    assert_eq!(e.status("ok@example.org"), "(none)");
}

#[test]
fn delivery_linkage_in_parse_events_and_quarantine() {
    let cfg = r#"
[linkage]
message_id = '<(?P<log>\d+)\.(?P<delivery>\d+)@mta\.sender\.example\.com>'
delivery_header = "X-Delivery-Id"
"#;
    let e = Env::with_config(cfg);
    let f = e.bounce("hard-user-unknown.eml", "linked@example.com", T0);
    let out = e.ok_noDb(&["parse", "--json", f.to_str().unwrap()]);
    let v: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(v["delivery_id"], "DLV-1001", "the header extractor wins for the delivery id");
    assert_eq!(v["delivery_log_id"], "77001");
    e.replay(&[f]);
    let x = e.entry("linked@example.com").unwrap();
    assert_eq!((x["delivery_id"].as_str(), x["delivery_log_id"].as_str()), (Some("DLV-1001"), Some("77001")));
    // VERP only.
    let e = Env::with_config("[linkage]\nverp = 'bounce\\+(?P<delivery>\\d+)-(?P<log>\\d+)@'\n");
    let f = e.bounce("soft-unreachable.eml", "verp@example.com", T0);
    let v: Value = serde_json::from_str(e.ok_noDb(&["parse", "--json", f.to_str().unwrap()]).lines().next().unwrap()).unwrap();
    assert_eq!((v["delivery_id"].as_str(), v["delivery_log_id"].as_str()), (Some("1001"), Some("77001")));
    // No linkage configured: null, not a guess.
    let e = Env::new();
    let f = e.bounce("soft-unreachable.eml", "none@example.com", T0);
    let v: Value = serde_json::from_str(e.ok_noDb(&["parse", "--json", f.to_str().unwrap()]).lines().next().unwrap()).unwrap();
    assert!(v["delivery_id"].is_null());
    // A bad regex is a clear error.
    let e = Env::with_config("[linkage]\nverp = '('\n");
    let o = e.cmd(&["quarantine", "list"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("[linkage] verp"));
}

#[test]
fn report_sections() {
    let e = Env::new();
    e.replay_one("hard-user-unknown.eml", "r1@example.com", T0);
    e.replay_one("soft-unreachable.eml", "r2@example.com", T0);
    e.replay_one("soft-unreachable.eml", "r3@example.net", T0 - 10 * DAY);
    let r: Value = serde_json::from_str(&e.ok(&["report", "--format", "json", "--since", &iso(T0 - DAY)])).unwrap();
    let total: i64 = r["bounces"].as_array().unwrap().iter().map(|b| b["count"].as_i64().unwrap()).sum();
    assert_eq!(total, 2, "--since excludes the older bounce: {r}");
    let q: Vec<(String, i64)> = r["quarantine"].as_array().unwrap().iter().map(|s| (s["status"].as_str().unwrap().into(), s["count"].as_i64().unwrap())).collect();
    assert_eq!(q, [("With errors".to_string(), 2), ("Quarantine".to_string(), 1)]);
    assert_eq!(r["domains"][0]["domain"], "example.com");
    assert_eq!(r["domains"][0]["total"], 2);
    assert!(e.ok(&["report"]).contains("quarantine by status"));
}

impl Env {
    /// For commands without a database (`parse`).
    #[allow(non_snake_case)]
    fn ok_noDb(&self, args: &[&str]) -> String {
        let mut c = Command::new(env!("CARGO_BIN_EXE_inmail"));
        if let Some(p) = &self.config {
            c.arg("--config").arg(p);
        }
        let o = c.args(args).output().unwrap();
        assert!(o.status.success(), "inmail {args:?}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    }
}

#[test]
fn every_new_command_has_help_with_an_example() {
    for args in [
        vec!["quarantine", "list", "--help"],
        vec!["quarantine", "show", "--help"],
        vec!["quarantine", "release", "--help"],
        vec!["quarantine", "import", "--help"],
        vec!["quarantine", "export", "--help"],
        vec!["maintain", "--help"],
        vec!["report", "--help"],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_inmail")).args(&args).output().unwrap();
        assert!(o.status.success());
        assert!(String::from_utf8_lossy(&o.stdout).contains("Example"), "{args:?}");
    }
}

/// A delay notice (the MTA still retries) is recorded with its action but moves nobody toward
/// quarantine; with `count_delays` it counts as a Soft error.
#[test]
fn delay_notices_count_only_when_configured() {
    let e = Env::new();
    let a = "later@example.com";
    for i in 0..6 {
        e.replay_one("delayed.eml", a, T0 + i * 3600);
    }
    assert_eq!(e.status(a), "(none)");
    let parsed = Command::new(env!("CARGO_BIN_EXE_inmail")).args(["parse", "--json"]).arg(e.bounce("delayed.eml", a, T0)).output().unwrap();
    let rec: Value = serde_json::from_slice(&parsed.stdout).unwrap();
    assert_eq!((rec["action"].as_str(), rec["failure_type"].as_str()), (Some("delayed"), Some("Soft")));

    let e = Env::with_config("[quarantine]\ncount_delays = true\n");
    for i in 0..5 {
        e.replay_one("delayed.eml", a, T0 + i * 3600);
    }
    assert_eq!(e.status(a), "Quarantine");
}
