//! Runs the built binary on the synthetic dialect fixtures and checks each record's kind,
//! recipient, failure type and reason.

use std::collections::HashMap;
use std::process::Command;

/// (fixture file, kind, recipient, failure_type, failure_reason)
const EXPECTED: &[(&str, &str, &str, &str, &str)] = &[
    ("amazonses-bounce.eml", "dsn", "niaj@example.com", "Soft", "Mailbox full"),
    ("amazonses-complaint.eml", "arf", "olivia@example.com", "Hard", "Refused"),
    // Auto-Submitted: auto-replied, and nothing in it says what failed: an automatic reply by
    // its author; from postmaster it is a server notice that names nobody: not a bounce.
    ("auto-replied-helpdesk.eml", "autoreply", "support@example.org", "Ignored", "Undefined"),
    ("auto-replied-notice.eml", "not-bounce", "", "None", "None"),
    ("apachejames-no-such-user.eml", "text", "rupert@example.com", "Soft", "Refused"),
    ("dsn-blocks-run-together.eml", "dsn", "uma@example.com", "Soft", "Mailbox full"),
    ("dsn-blocks-run-together.eml", "dsn", "victor@example.com", "Hard", "User unknown"),
    ("dragonfly-host-not-found.eml", "text", "postmaster@example.net", "Soft", "Invalid domain"),
    ("dragonfly-unknown.eml", "text", "grace@example.com", "Hard", "User unknown"),
    ("exchange-ndr.eml", "dsn", "mallory@example.com", "Hard", "User unknown"),
    ("exim-expired.eml", "text", "dave@example.com", "Soft", "Unreachable"),
    ("exim-pipe.eml", "text", "erin@example.com", "Soft", "Unreachable"),
    ("facebook-rcp-t4.eml", "dsn", "abel@example.com", "Soft", "Account disabled"),
    ("gmail-dns-error.eml", "dsn", "heidi@example.net", "Soft", "Unreachable"),
    ("googleworkspace-response.eml", "text", "", "Soft", "Refused"),
    ("googlegroups.eml", "text", "devteam@example.com", "Soft", "Refused"),
    ("not-bounce.eml", "not-bounce", "", "None", "None"),
    ("orange-invalid-recipient.eml", "dsn", "sybil@example.com", "Hard", "User unknown"),
    ("null-sender-returned.eml", "text", "bianca@example.com", "Soft", "Mailbox full"),
    ("notes-unknown.eml", "text", "judy@example.com", "Hard", "User unknown"),
    ("postfix-data-filtered.eml", "dsn", "bob@example.net", "Soft", "Refused"),
    ("postfix-rcpt-unknown.eml", "dsn", "alice@example.com", "Hard", "User unknown"),
    ("qmail-to-self-quota.eml", "text", "yvonne@example.com", "Soft", "Mailbox full"),
    ("qmail-sender-rejected.eml", "text", "frank@example.com", "Soft", "Refused"),
    ("sendmail-x-unix.eml", "dsn", "trent@example.com", "Soft", "Unreachable"),
    ("sendmail-mailbox-full.eml", "dsn", "carol@example.com", "Soft", "Mailbox full"),
    ("unsubscribe.eml", "arf", "quentin@example.com", "Hard", "Refused"),
    ("vacation.eml", "autoreply", "peggy@example.com", "Ignored", "Undefined"),
    ("yahoo-no-account.eml", "text", "ivan@example.com", "Hard", "User unknown"),
];

#[test]
fn dialect_fixtures_qualify_as_expected() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/cases");
    let out = Command::new(env!("CARGO_BIN_EXE_inmail")).args(["parse", "--json", dir]).output().expect("run inmail");
    assert!(out.status.success(), "inmail parse failed: {}", String::from_utf8_lossy(&out.stderr));
    let mut got: HashMap<String, Vec<serde_json::Value>> = HashMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        let src = v["source"].as_str().unwrap_or("").to_string();
        let file = src.rsplit('/').next().unwrap_or("").split('#').next().unwrap_or("").to_string();
        got.entry(file).or_default().push(v);
    }
    let mut failures = Vec::new();
    for (file, kind, rcpt, ftype, reason) in EXPECTED {
        let Some(recs) = got.get(*file) else {
            failures.push(format!("{file}: no output"));
            continue;
        };
        let r = recs.iter().find(|r| r["recipient"].as_str().unwrap_or("") == *rcpt).unwrap_or(&recs[0]);
        let actual = (
            r["kind"].as_str().unwrap_or(""),
            r["recipient"].as_str().unwrap_or(""),
            r["failure_type"].as_str().unwrap_or(""),
            r["failure_reason"].as_str().unwrap_or(""),
        );
        if actual != (*kind, *rcpt, *ftype, *reason) {
            failures.push(format!("{file}: expected {:?}, got {actual:?} (text {:?})", (kind, rcpt, ftype, reason), r["text"]));
        }
    }
    assert!(failures.is_empty(), "fixture mismatches:\n{}", failures.join("\n"));
}
