//! Bounce extraction: one message → zero or more per-recipient records. The dialects are tried
//! from the most to the least structured: feedback report, DSN, plain-text bounce, auto-reply.

pub mod address;
pub mod amazonses;
pub mod arf;
pub mod autoreply;
pub mod challenge;
pub mod dsn;
pub mod fields;
pub mod lhost;
pub mod mime;
pub mod rhost;
pub mod smtp;
pub mod text;
pub mod view;

use crate::model::{Bounce, Kind};
use std::fmt;

/// Messages larger than this are parsed on their first `MAX_PARSE` bytes only: the diagnostic
/// sits at the top, and a bounce carrying a 50 MB attachment must not cost 50 MB of parsing.
pub const MAX_PARSE: usize = 4 * 1024 * 1024;

/// What extraction found in one message.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub kind: Kind,
    pub message_id: String,
    pub subject: String,
    /// The bounce's own date (Date header), unix seconds.
    pub date: Option<i64>,
    /// The extracted bounces (moved into the records by `pipeline::process`).
    pub bounces: Vec<Bounce>,
    /// Header block of the returned original message, for delivery linkage.
    pub original_headers: String,
    /// Set when only the head of an oversized message was parsed.
    pub truncated: bool,
    /// For a plain-text bounce that also declares itself an automatic reply (RFC 3834
    /// `Auto-Submitted: auto-replied`, no delivery report): its reading as an auto-reply, used
    /// when the text holds no delivery status at all (see `pipeline::process`). Empty when the
    /// author is a system mailbox: then the message is nobody's auto-reply and not a bounce.
    pub as_auto_reply: Option<Vec<Bounce>>,
}

/// A message that could not be read as mail at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtractError {
    Empty,
    NotMail,
    /// The analyzer itself failed on this message (a bug): recorded, never fatal.
    Internal,
}

impl fmt::Display for ExtractError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExtractError::Empty => f.write_str("empty message"),
            ExtractError::NotMail => f.write_str("no RFC 5322 header found: not a mail message"),
            ExtractError::Internal => f.write_str("internal analyzer error (please report with this message)"),
        }
    }
}

impl std::error::Error for ExtractError {}

/// Analyze one raw message.
pub fn analyze(raw: &[u8]) -> Result<Analysis, ExtractError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(ExtractError::Empty);
    }
    let truncated = raw.len() > MAX_PARSE;
    let raw = &raw[..raw.len().min(MAX_PARSE)];
    let v = view::view(raw).ok_or(ExtractError::NotMail)?;
    let mut dialect = "";
    let human = v.human();
    let probe = lhost::Probe::new(&v, human);
    let known = std::cell::OnceCell::new();
    let identify = || *known.get_or_init(|| lhost::identify(&probe));
    let (kind, mut bounces) = if let Some(kb) = amazonses::extract(&v) {
        dialect = "amazonses";
        kb
    } else if let Some(b) = arf::extract(&v) {
        (Kind::Arf, b)
    } else if let Some(b) = dsn::extract(&v) {
        (Kind::Dsn, b)
    } else if challenge::is_challenge(&v, human) {
        // A challenge/response or sender-verification request: nobody failed.
        (Kind::NotBounce, Vec::new())
    } else if let Some(b) = text::extract(&v, identify().map_or(&[][..], |d| d.start), identify().is_some()) {
        (Kind::Text, b)
    } else if let Some(b) = autoreply::extract(&v) {
        (Kind::Autoreply, b)
    } else {
        (Kind::NotBounce, Vec::new())
    };
    if matches!(kind, Kind::Dsn | Kind::Text) {
        match identify() {
            Some(d) if dialect.is_empty() => {
                dialect = d.name;
                if let Some(refine) = d.refine {
                    refine(&probe, &mut bounces);
                }
            }
            _ if !dialect.is_empty() => {}
            _ => dialect = if kind == Kind::Dsn { "rfc3464" } else { "generic" },
        }
        let lower = probe.body();
        // The whole text is scanned for a command only when a record's own lines name none.
        let whole_cmd = std::cell::OnceCell::new();
        for b in bounces.iter_mut() {
            let pos = if b.recipient.is_empty() { None } else { memchr::memmem::find(lower.as_bytes(), b.recipient.as_bytes()) };
            let block = pos.map(|p| text::block_at(human, p)).unwrap_or_default();
            if kind == Kind::Dsn && b.diagnostic.is_empty() && !b.recipient.is_empty() {
                b.diagnostic = text::prose_at(human, pos);
            }
            if b.status.is_empty() || b.status.ends_with(".0.0") {
                if let Some(s) = text::failure_status(&b.diagnostic).filter(|s| !s.ends_with(".0.0")) {
                    b.status = s.to_string();
                }
            }
            if b.reply_code.is_empty() {
                b.reply_code = crate::status::find_reply_code(&b.diagnostic).unwrap_or("").to_string();
            }
            if b.smtp_command.is_empty() {
                let cmd = Some(smtp::command(&b.diagnostic))
                    .filter(|c| !c.is_empty())
                    .or_else(|| Some(smtp::command(&block)).filter(|c| !c.is_empty()))
                    .unwrap_or_else(|| *whole_cmd.get_or_init(|| smtp::command(human)));
                b.smtp_command = cmd.to_string();
            }
        }
    } else if kind == Kind::Arf {
        dialect = if dialect.is_empty() { "arf" } else { dialect };
    } else if kind == Kind::Autoreply {
        dialect = "rfc3834";
    }
    for b in bounces.iter_mut() {
        b.dialect = dialect.to_string();
        if let Some(p) = rhost::identify(b) {
            b.provider = p.to_string();
        }
    }
    let as_auto_reply = if kind == Kind::Text && v.report_type.is_empty() && autoreply::declared(&v) {
        Some(autoreply::extract(&v).unwrap_or_default())
    } else {
        None
    };
    for b in &mut bounces {
        collapse_continuations(&mut b.diagnostic);
        if b.time.is_none() {
            b.time = v.date;
        }
        crate::bounds::truncate(&mut b.diagnostic, 4096);
        crate::bounds::truncate(&mut b.recipient, 320);
    }
    Ok(Analysis {
        kind,
        message_id: v.message_id.clone(),
        subject: v.subject.clone(),
        date: v.date,
        bounces,
        original_headers: v.original_headers,
        truncated,
        as_auto_reply,
    })
}


/// A multi-line SMTP reply (RFC 5321 §4.2.1) unfolded onto one line repeats its code on every
/// line: "421-4.7.0 Our system has detected an unusual rate of 421-4.7.0 unsolicited mail".
/// The repeats are dropped, so that the reply reads as one sentence.
fn collapse_continuations(diag: &mut String) {
    let t = diag.trim_start();
    let b = t.as_bytes();
    if b.len() < 4 || !b[..3].iter().all(u8::is_ascii_digit) || !matches!(b[3], b'-' | b' ') {
        return;
    }
    // The code and, when there is one, the enhanced status after it: "421-4.7.0".
    let code_end = t[4..].split_once(' ').filter(|(s, _)| crate::status::find_status(s) == Some(*s)).map_or(3, |(s, _)| 4 + s.len());
    let (code, status) = (&t[..3], &t[4..code_end.max(4)]);
    let repeat = |sep: char| if status.is_empty() { format!(" {code}{sep}") } else { format!(" {code}{sep}{status} ") };
    let (dash, space) = (repeat('-'), repeat(' '));
    if !t[code_end..].contains(&dash) && !t[code_end..].contains(&space) {
        return;
    }
    let body = t[code_end..].trim_start_matches(['-', ' ']).replace(&dash, " ").replace(&space, " ");
    *diag = if status.is_empty() { format!("{code} {body}") } else { format!("{code} {status} {body}") };
}

#[cfg(test)]
mod continuation_tests {
    use super::collapse_continuations;

    #[test]
    fn repeated_codes_dropped() {
        let mut d = "421-4.7.0 Our system has detected an unusual rate of 421-4.7.0 unsolicited mail. 421 4.7.0 Try later".to_string();
        collapse_continuations(&mut d);
        assert_eq!(d, "421 4.7.0 Our system has detected an unusual rate of unsolicited mail. Try later");
        let mut d = "550-Mailbox unknown 550-try again 550 bye".to_string();
        collapse_continuations(&mut d);
        assert_eq!(d, "550 Mailbox unknown try again bye");
        let mut d = "550 5.1.1 User unknown".to_string();
        collapse_continuations(&mut d);
        assert_eq!(d, "550 5.1.1 User unknown");
    }
}

/// RFC 5322 / RFC 3339 date → unix seconds.
pub fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    let s = s.split_once(';').map(|(_, d)| d.trim()).filter(|d| !d.is_empty()).unwrap_or(s);
    mail_parser::DateTime::parse_rfc822(s)
        .or_else(|| mail_parser::DateTime::parse_rfc3339(s))
        .filter(|d| d.is_valid())
        .map(|d| d.to_timestamp())
}
