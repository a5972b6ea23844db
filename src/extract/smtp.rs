//! The SMTP command a remote server was answering when it refused a message, as each MTA
//! dialect writes it in its bounce prose:
//! - Postfix: `(in reply to RCPT TO command)`, `(in reply to end of DATA command)`
//! - Sendmail: transcript lines `>>> RCPT To:<…>` followed by `<<< 550 …`
//! - Exim: `SMTP error from remote mail server after RCPT TO:<…>`, `after end of data`
//! - qmail: `Connected to … but sender was rejected` (MAIL), `but my name was rejected` (HELO)
//! - m-FILTER and others: `SMTP command: DATA`, `in response to the RCPT TO command`
//!
//! A user-unknown text given after DATA is a content filter speaking, not a missing mailbox
//! (Sisimai's "filtered"); after MAIL FROM it is about the sender ("rejected").

use regex::bytes::{Regex, RegexBuilder};
use std::sync::LazyLock;

// Byte-level with ASCII-only classes: a Unicode word boundary would push every non-ASCII
// bounce off the fast DFA and onto the NFA, over the whole prose.
static COMMAND: LazyLock<Regex> = LazyLock::new(|| {
    RegexBuilder::new(
        r"(?imx)
        (?:in\s+reply\s+to|in\s+response\s+to|after|while\s+sending|during|command\s+was|did\s+not\s+like\s+our|most\s+progress\s+was)\s+(?:the\s+)?(?:pipelined\s+|final\s+)?
            (?P<a>rcpt\s+to|rcpt|mail\s+from|mail|end\s+of\s+data|data|helo|ehlo|initial\s+connection|starttls|auth)\b
        | (?P<g>does\ not\ like\ recipient|failed\ on\ data\ command|failed\ after\ i\ sent\ the\ message)
        | (?:for|in)\s+(?P<h>rcpt\s+to|mail\s+from|text|data)\s+command
        | \[(?P<i>rcpt_to|mail_from|data)\]
        | sent\s+<<<\s+(?P<j>rcpt|mail|data)
        | \bin\s+(?P<k>rcpt\s+to|mail\s+from)\b
        | (?P<l>refused\s+to\s+talk\s+to\s+me|initial\s+greeting)
        | ^\s*>>>\s*(?P<b>rcpt|mail|data|helo|ehlo|quit|starttls|auth)\b
        | smtp\ command[\s:-]*\n?\s*(?P<c>rcpt|mail|data|helo|ehlo)\b | \bsmtp:(?P<f>rcpt|mail|data)\b
        | but\ (?P<d>sender|my\ name|connection)\ was\ rejected
        | (?P<e>rcpt\ to|mail\ from):\s*<[^>\n]*>\s*(?:\n\s*)?(?:<<<\s*)?[45]\d\d
        ",
    )
    .unicode(false)
    .build()
    .unwrap()
});

/// Normalize a phrase to one of RCPT, MAIL, DATA, HELO, CONN, or "".
fn canon(s: &str) -> &'static str {
    let s = s.to_ascii_lowercase();
    let s = s.replace('_', " ");
    if s.starts_with("rcpt") || s.starts_with("does not like recipient") {
        "RCPT"
    } else if s.starts_with("failed after i sent") || s == "text" {
        "DATA"
    } else if s.starts_with("refused") || s.starts_with("initial") {
        "CONN"
    } else if s.starts_with("mail") || s == "sender" {
        "MAIL"
    } else if s.contains("data") {
        "DATA"
    } else if s == "helo" || s == "ehlo" || s == "my name" {
        "HELO"
    } else if s.starts_with("initial") || s == "connection" {
        "CONN"
    } else if s == "starttls" || s == "auth" {
        "HELO"
    } else {
        ""
    }
}

/// The last SMTP command named in `text` (the one the error answered), or "".
/// Scans at most the first 64 KiB.
pub fn command(text: &str) -> &'static str {
    let end = crate::bounds::floor_char_boundary(text, 64 * 1024);
    let mut last = "";
    for c in COMMAND.captures_iter(&text.as_bytes()[..end]) {
        let m = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"].iter().find_map(|n| c.name(n));
        if let Some(m) = m {
            let k = canon(std::str::from_utf8(m.as_bytes()).unwrap_or(""));
            if !k.is_empty() && k != "QUIT" {
                last = k;
            }
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::command;

    #[test]
    fn dialects() {
        assert_eq!(command("host mx.example.net[192.0.2.1] said: 550 Unknown user (in reply to end of DATA\n    command)"), "DATA");
        assert_eq!(command("said: 550 5.1.1 nope (in reply to RCPT TO command)"), "RCPT");
        assert_eq!(command("... while talking to mx.example.org.:\n>>> MAIL From:<a@example.org>\n<<< 250 ok\n>>> DATA\n<<< 550 Unknown user"), "DATA");
        assert_eq!(command("SMTP error from remote mail server after RCPT TO:<x@example.com>:\n    550 5.1.1 unknown"), "RCPT");
        assert_eq!(command("SMTP error from remote mail server after MAIL FROM:<x@example.com> SIZE=1234: 501 bad"), "MAIL");
        assert_eq!(command("Connected to 192.0.2.1 but sender was rejected."), "MAIL");
        assert_eq!(command("-------SMTP command\nDATA\n"), "DATA");
        assert_eq!(command("mx.example.net [192.0.2.25] did not like our final DATA:\n554 5.7.9 policy"), "DATA");
        assert_eq!(command("User unknown"), "");
        assert_eq!(command("192.0.2.1 does not like recipient.\nRemote host said: 550 no"), "RCPT");
        assert_eq!(command("Sorry, no SMTP connection got far enough; most progress was RCPT TO response"), "RCPT");
        assert_eq!(command("SMTP error from remote server for TEXT command, host: mx"), "DATA");
        assert_eq!(command("550 5.1.1 <a@example.com>... User Unknown [RCPT_TO]"), "RCPT");
        assert_eq!(command("Sent <<< RCPT TO:<a@example.com>\nReceived >>> 550 5.1.1 no"), "RCPT");
        assert_eq!(command("host mx.example.net[192.0.2.1] refused to talk to me: 554 blocked"), "CONN");
        assert_eq!(command("550 5.1.1 <a@example.com>... User Unknown  in RCPT TO"), "RCPT");
    }
}
