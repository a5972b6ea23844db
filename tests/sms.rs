//! SMS status reports: `replay --sr` / `parse --sr` through the binary and a real SQLite file.

use serde_json::Value;
use std::process::Command;

fn run(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_inmail")).current_dir(dir).args(args).output().unwrap()
}

fn ok(dir: &std::path::Path, args: &[&str]) -> String {
    let o = run(dir, args);
    assert!(o.status.success(), "inmail {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

const REPORTS: &str = "\
# phone\tsmsc\treport
+33600000001\tAcme\tid:1 sub:001 dlvrd:000 submit date:2601051000 done date:2601051001 stat:UNDELIV err:034 text:Hello Jane
+33600000002\tBeta\tid:2 sub:001 dlvrd:000 submit date:2601051000 done date:2601051002 stat:UNDELIV err:034 text:Hello John
+33600000003\tAcme\tid:3 sub:001 dlvrd:000 submit date:2601051000 done date:2601051003 stat:UNDELIV err:034 text:Other text
+33 6 00 00 00 04\tid:4 sub:001 dlvrd:001 submit date:2601051000 done date:2601051004 stat:DELIVRD err:000 text:Hi
not-a-phone\tAcme\tstat:UNDELIV err:001
";

#[test]
fn two_smsc_names_with_the_same_error_give_two_rows() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("sr.tsv"), REPORTS).unwrap();
    let out = ok(d, &["replay", "--db", "x.db", "--sr", "sr.tsv"]);
    assert!(out.contains("4 recorded"), "{out}");
    assert!(out.contains("1 unreadable"), "{out}");
    let rows: Value = serde_json::from_str(&ok(d, &["qual", "list", "--db", "x.db", "--channel", "sms", "--format", "json"])).unwrap();
    let mut texts: Vec<(String, i64)> =
        rows.as_array().unwrap().iter().map(|r| (r["text"].as_str().unwrap().to_string(), r["occurrences"].as_i64().unwrap())).collect();
    texts.sort();
    assert_eq!(
        texts,
        [("SR Acme UNDELIV 034|#MESSAGE#".to_string(), 2), ("SR Beta UNDELIV 034|#MESSAGE#".to_string(), 1)],
        "successes get no row; free text is not part of the Text"
    );
    let acme = rows.as_array().unwrap().iter().find(|r| r["text"].as_str().unwrap().contains("Acme")).unwrap();
    assert_eq!(acme["status"], "To qualify");
    assert_eq!(acme["failure_type"], "Hard");
    assert_eq!(acme["failure_reason"], "Refused");
    assert!(acme["first_text"].as_str().unwrap().ends_with("text:Hello Jane"), "{acme}");
    // Email rows are separate.
    let email: Value = serde_json::from_str(&ok(d, &["qual", "list", "--db", "x.db", "--channel", "email", "--format", "json"])).unwrap();
    assert_eq!(email.as_array().unwrap().len(), 0);
    // Replaying the same file again records nothing new.
    let out = ok(d, &["replay", "--db", "x.db", "--sr", "sr.tsv"]);
    assert!(out.contains("0 recorded") && out.contains("4 already known"), "{out}");
}

#[test]
fn phone_numbers_go_through_the_quarantine() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("sr.tsv"), REPORTS).unwrap();
    ok(d, &["replay", "--db", "x.db", "--sr", "sr.tsv"]);
    let q: Value = serde_json::from_str(&ok(d, &["quarantine", "list", "--db", "x.db", "--format", "json"])).unwrap();
    let a: Vec<(&str, &str)> = q.as_array().unwrap().iter().map(|e| (e["address"].as_str().unwrap(), e["status"].as_str().unwrap())).collect();
    assert_eq!(a.len(), 3, "{a:?}");
    assert!(a.contains(&("+33600000001", "Quarantine")));
    let e1 = q.as_array().unwrap().iter().find(|e| e["address"] == "+33600000001").unwrap();
    assert_eq!(e1["channel"], "sms");
    assert_eq!(e1["last_error"], "2026-01-05T10:01:00Z", "event time from the SMPP done date");
    // A later delivery report does not release a quarantined number.
    std::fs::write(d.join("later.tsv"), "2026-01-06T00:00:00Z\t+33600000001\tAcme\tstat:DELIVRD err:000\n").unwrap();
    ok(d, &["replay", "--db", "x.db", "--sr", "later.tsv"]);
    let show: Value = serde_json::from_str(&ok(d, &["quarantine", "show", "--db", "x.db", "+33600000001", "--format", "json"])).unwrap();
    assert_eq!(show["entry"]["status"], "Quarantine");
    assert_eq!(show["bounces"].as_array().unwrap().len(), 2);
}

#[test]
fn manual_qualification_wins_for_sms() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("a.tsv"), "+33600000009\tAcme\tstat:UNDELIV err:006 text:a\n").unwrap();
    ok(d, &["replay", "--db", "x.db", "--sr", "a.tsv"]);
    let rows: Value = serde_json::from_str(&ok(d, &["qual", "list", "--db", "x.db", "--channel", "sms", "--format", "json"])).unwrap();
    let id = rows[0]["id"].as_i64().unwrap().to_string();
    // The operator says err 006 at Acme means "phone off": Ignored, Not connected; release the number.
    ok(d, &["qual", "set", "--db", "x.db", &id, "--type", "ignored", "--reason", "not connected", "--release-affected"]);
    std::fs::write(d.join("b.tsv"), "+33600000010\tAcme\tstat:UNDELIV err:006 text:b\n").unwrap();
    ok(d, &["replay", "--db", "x.db", "--sr", "b.tsv"]);
    let q: Value = serde_json::from_str(&ok(d, &["quarantine", "list", "--db", "x.db", "--format", "json"])).unwrap();
    let st: Vec<(&str, &str)> = q.as_array().unwrap().iter().map(|e| (e["address"].as_str().unwrap(), e["status"].as_str().unwrap())).collect();
    assert_eq!(st, [("+33600000009", "Valid")], "the new Ignored report created no entry");
}

#[test]
fn parse_sr_prints_records() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("sr.tsv"), REPORTS).unwrap();
    let out = ok(d, &["parse", "--json", "--sr", "sr.tsv"]);
    let v: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(v.len(), 5);
    assert_eq!(v[0]["text"], "SR Acme UNDELIV 034|#MESSAGE#");
    assert_eq!(v[0]["channel"], "sms");
    assert_eq!(v[0]["failure_type"], "Hard");
    assert_eq!(v[3]["text"], "SR Generic DELIVRD 000|#MESSAGE#", "SMSC name defaults from the config");
    assert_eq!(v[3]["recipient"], "+33600000004");
    assert_eq!(v[3]["failure_type"], "None");
    assert_eq!(v[4]["kind"], "error");
    // Configurable SMSC name and regexes.
    std::fs::write(d.join("inmail.toml"), "[sms]\nsmsc_name = \"Mine\"\nstat_regex = 'state=(\\w+)'\nerr_regex = 'code=(\\d+)'\n").unwrap();
    std::fs::write(d.join("c.tsv"), "0600000001\tstate=REJECTD code=77\n").unwrap();
    let v: Value = serde_json::from_str(ok(d, &["parse", "--sr", "c.tsv"]).trim()).unwrap();
    assert_eq!(v["text"], "SR Mine REJECTD 77|#MESSAGE#");
}
