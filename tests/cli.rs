//! The command line as an operator meets it: help with examples, rule checking and testing.

mod common;
use common::*;

#[test]
fn every_command_has_help_with_an_example() {
    let tmp = tempfile::tempdir().unwrap();
    for cmd in [
        "parse", "replay", "qual", "qual list", "qual show", "qual set", "qual reset-count", "requalify", "rules",
        "rules check", "rules test", "quarantine", "quarantine list", "quarantine show", "quarantine release",
        "quarantine import", "quarantine export", "maintain", "report", "run", "status", "rules list",
        "rules suggest", "completions", "man",
    ] {
        let mut args: Vec<&str> = cmd.split(' ').collect();
        args.push("--help");
        let out = ok(tmp.path(), &args);
        assert!(out.contains("Example"), "`inmail {cmd} --help` has no example:\n{out}");
    }
}

#[test]
fn rules_check_reports_file_rule_and_position() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("mine.toml");
    std::fs::write(&bad, "[[rule]]\nname = \"broken\"\nmatch = 'user (unknown'\ntype = \"Hard\"\nreason = \"User unknown\"\n").unwrap();
    let out = run(tmp.path(), &["rules", "check", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("mine.toml: rule \"broken\": bad `match` regex"), "{err}");
    assert!(err.contains("user (unknown") && err.contains('^'), "position shown: {err}");

    let good = tmp.path().join("good.toml");
    std::fs::write(&good, "[[rule]]\nname = \"vip\"\nmatch = 'mailbox is on vacation'\ntype = \"Ignored\"\nreason = \"Undefined\"\n").unwrap();
    assert!(ok(tmp.path(), &["rules", "check", good.to_str().unwrap()]).contains("ok: 1 rules"));
    // the shipped defaults pass
    assert!(ok(tmp.path(), &["rules", "check"]).starts_with("ok: "));
}

#[test]
fn user_rules_come_first_and_are_never_written() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = tmp.path().join("mine.toml");
    let text = "[[rule]]\nname = \"local-policy\"\nmatch = 'user unknown'\ntype = \"Soft\"\nreason = \"Account disabled\"\n";
    std::fs::write(&rules, text).unwrap();
    std::fs::write(tmp.path().join("inmail.toml"), "rules_file = \"mine.toml\"\n").unwrap();
    let out = ok(tmp.path(), &["rules", "test", "--json", "550 5.1.1 <a@example.com>: user unknown"]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["rule"], "local-policy");
    assert_eq!(v["failure_type"], "Soft");
    assert_eq!(v["failure_reason"], "Account disabled");
    assert_eq!(v["text"], "550 5.1.1 <*>: user unknown");
    // a replay and a requalify leave the user's file untouched
    let dbp = tmp.path().join("t.db");
    ok(tmp.path(), &["replay", "--db", dbp.to_str().unwrap(), fixtures().join("basic").to_str().unwrap()]);
    ok(tmp.path(), &["requalify", "--db", dbp.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&rules).unwrap(), text);
}

#[test]
fn rules_test_without_a_match_is_to_qualify() {
    let tmp = tempfile::tempdir().unwrap();
    let out = ok(tmp.path(), &["rules", "test", "--json", "something entirely unheard of"]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["rule"], "");
    assert_eq!(v["failure_type"], "Undefined");
    assert_eq!(v["reason_code"], 0);
}
