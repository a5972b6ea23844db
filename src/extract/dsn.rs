//! RFC 3464 delivery status notifications: one record per recipient block, whether the report
//! is a proper message/delivery-status part or pasted inline into a text part.

use super::fields::{address_value, diagnostic_value, parse_blocks, FieldBlock};
use super::view::MailView;
use crate::model::Bounce;
use crate::status::{find_reply_code, find_status};
use regex::Regex;
use std::sync::LazyLock;

/// Most recipient blocks read from one report (RFC 3464 sets none). A report of more is read
/// up to here and the cut is logged with the message's id: no recipient is dropped silently.
pub const MAX_BLOCKS: usize = 100_000;

static INLINE_REPORT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?im)^(?:final|original)-recipient:\s*\S").unwrap());

/// The delivery-status text of the message, if any.
fn report_text(v: &MailView) -> Option<String> {
    let parts: Vec<&str> = v
        .reports
        .iter()
        .filter(|(ct, _)| ct.contains("delivery-status"))
        .map(|(_, b)| b.as_str())
        .collect();
    if !parts.is_empty() {
        return Some(parts.join("\n\n"));
    }
    // Mislabelled or inline: a text part that carries Final-Recipient/Original-Recipient fields.
    v.texts.iter().find(|t| INLINE_REPORT.is_match(t)).map(|t| {
        let start = INLINE_REPORT.find(t).map(|m| m.start()).unwrap_or(0);
        // Include the per-message block just above (Reporting-MTA, Arrival-Date) when present.
        let head = t[..start].rfind("\n\n").map(|i| i + 2).unwrap_or(0);
        let from = t[..head].rfind("Reporting-MTA:").or_else(|| t[..head].rfind("reporting-mta:")).unwrap_or(start.min(head));
        t[from.min(start)..].to_string()
    })
}

fn is_recipient_block(b: &FieldBlock) -> bool {
    b.has("final-recipient") || b.has("original-recipient") || (b.has("action") && b.has("status"))
}

/// `X-Unix; …` (or `Unix; …`) diagnostic type: the status of a local delivery program.
fn is_unix_diagnostic(raw: &str) -> bool {
    let t = raw.trim_start().as_bytes();
    let n = if t.len() >= 7 && t[..7].eq_ignore_ascii_case(b"x-unix;") {
        7
    } else if t.len() >= 5 && t[..5].eq_ignore_ascii_case(b"unix;") {
        5
    } else {
        return false;
    };
    n > 0
}

/// Extract per-recipient records from a DSN; `None` when the message carries no usable report.
pub fn extract(v: &MailView) -> Option<Vec<Bounce>> {
    let text = report_text(v)?;
    let blocks = parse_blocks(&text, MAX_BLOCKS + 1);
    if blocks.len() > MAX_BLOCKS {
        tracing::warn!(message_id = %v.message_id, "delivery report with more than {MAX_BLOCKS} field blocks: the rest are not read");
    }
    let arrival = blocks
        .iter()
        .find_map(|b| b.get("arrival-date"))
        .and_then(super::parse_date);
    let mut out: Vec<Bounce> = Vec::new();
    for b in blocks.iter().filter(|b| is_recipient_block(b)) {
        let fin = b.get("final-recipient").map(address_value).unwrap_or_default();
        let orig = b.get("original-recipient").map(address_value).unwrap_or_default();
        // The Final-Recipient (RFC 3464 §2.3.2) is the failed mailbox; when it is no address
        // (a pipe or file a local alias delivers to), the Original-Recipient (§2.3.1, the
        // address as the sender gave it), else an address written inside the field.
        let in_field = || b.get("final-recipient").and_then(|f| super::address::find_all(f).next()).map(|(_, a)| a);
        let recipient = if fin.contains('@') {
            fin
        } else if orig.contains('@') {
            orig.clone()
        } else {
            in_field().unwrap_or(fin)
        };
        let original_recipient = if orig.contains('@') && orig != recipient { orig } else { String::new() };
        let raw_diag = b.get("diagnostic-code").unwrap_or("");
        // A local delivery program's exit status (`X-Unix; 255`): the type is what says it is a
        // mailer error, and the number is no SMTP reply code, so keep the type with it.
        let unix = is_unix_diagnostic(raw_diag);
        let diagnostic = if unix { raw_diag.trim().to_string() } else { diagnostic_value(raw_diag).to_string() };
        let mut status = b.get("status").and_then(find_status).unwrap_or("").to_string();
        // A generic x.0.0 in the Status field hides the precise code the remote server gave.
        if status.is_empty() || status.ends_with(".0.0") {
            if let Some(s) = find_status(&diagnostic) {
                if !s.ends_with(".0.0") || status.is_empty() {
                    status = s.to_string();
                }
            }
        }
        let reply_code = if unix { String::new() } else { find_reply_code(&diagnostic).unwrap_or("").to_string() };
        let time = b.get("last-attempt-date").and_then(super::parse_date).or(arrival);
        out.push(Bounce {
            recipient,
            status,
            reply_code,
            action: b.get("action").unwrap_or("").trim().to_ascii_lowercase(),
            original_recipient,
            remote_mta: b.get("remote-mta").map(diagnostic_value).unwrap_or("").to_string(),
            diagnostic,
            time,
            ..Default::default()
        });
    }
    if out.is_empty() {
        return None;
    }
    // Merge duplicates (same recipient reported twice, e.g. Original- and Final- in two blocks).
    out.dedup_by(|a, b| a.recipient == b.recipient && !a.recipient.is_empty() && a.status == b.status);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::is_unix_diagnostic;

    #[test]
    fn unix_diagnostic_type() {
        assert!(is_unix_diagnostic("X-Unix; 255"));
        assert!(is_unix_diagnostic(" unix; exit 1"));
        assert!(!is_unix_diagnostic("smtp; 550 5.1.1 unknown"));
        assert!(!is_unix_diagnostic("x-un"));
    }
}
