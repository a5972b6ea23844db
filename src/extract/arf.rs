//! RFC 5965 feedback-loop complaints: the complained-about recipient is a Hard, Refused record.

use super::fields::{address_value, parse_blocks};
use super::view::MailView;
use crate::model::Bounce;
use regex::Regex;
use std::sync::LazyLock;

static INLINE_FEEDBACK: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?im)^feedback-type:\s*\S").unwrap());

pub fn is_arf(v: &MailView) -> bool {
    v.report_type == "feedback-report"
        || v.reports.iter().any(|(ct, _)| ct.ends_with("feedback-report"))
        || v.texts.iter().any(|t| INLINE_FEEDBACK.is_match(t))
}

/// A one-click unsubscribe request sent by a mail client on the user's behalf (Apple Mail,
/// Gmail answering a `List-Unsubscribe: <mailto:…>`): the person asked to stop getting mail,
/// which counts as a complaint about the address that sent it.
static UNSUBSCRIBE_BODY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)sent this (?:e-?mail|message) to unsubscribe|this is an (?:automatic|automated) unsubscribe request").unwrap());

fn unsubscribe_request(v: &MailView) -> Option<Vec<Bounce>> {
    let subject = v.subject.trim().to_ascii_lowercase();
    if !subject.starts_with("unsubscribe") || v.from.is_empty() {
        return None;
    }
    if !v.texts.iter().any(|t| UNSUBSCRIBE_BODY.is_match(t)) {
        return None;
    }
    Some(vec![Bounce { recipient: v.from.clone(), diagnostic: "Feedback-Type: unsubscribe".into(), time: v.date, ..Default::default() }])
}

pub fn extract(v: &MailView) -> Option<Vec<Bounce>> {
    if !is_arf(v) {
        return unsubscribe_request(v);
    }
    let report = v
        .reports
        .iter()
        .find(|(ct, _)| ct.ends_with("feedback-report"))
        .map(|(_, b)| b.clone())
        .or_else(|| v.texts.iter().find(|t| INLINE_FEEDBACK.is_match(t)).cloned())
        .unwrap_or_default();
    let fields: Vec<(String, String)> = parse_blocks(&report, 50).into_iter().flat_map(|b| b.fields).collect();
    let get = |n: &str| fields.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    let feedback_type = get("feedback-type").unwrap_or("abuse").trim().to_string();
    let time = get("arrival-date").or(get("received-date")).and_then(super::parse_date).or(v.date);
    let mut rcpts: Vec<String> = fields
        .iter()
        .filter(|(k, _)| k == "original-rcpt-to" || k == "removal-recipient")
        .map(|(_, v)| address_value(v))
        .filter(|a| a.contains('@'))
        .collect();
    if rcpts.is_empty() {
        rcpts = original_to(&v.original_headers);
    }
    if rcpts.is_empty() {
        rcpts.push(String::new());
    }
    rcpts.dedup();
    let diagnostic = format!("Feedback-Type: {feedback_type}");
    Some(
        rcpts
            .into_iter()
            .map(|r| Bounce { recipient: r, diagnostic: diagnostic.clone(), time, ..Default::default() })
            .collect(),
    )
}

/// The To: addresses of a returned message's header block.
/// The addresses of the returned message's sending side: From, Sender, Reply-To, Return-Path
/// and its List-* fields (the list's own addresses).
pub fn original_senders(headers: &str) -> Vec<String> {
    if headers.is_empty() {
        return Vec::new();
    }
    let blocks = parse_blocks(headers, 1);
    let Some(b) = blocks.first() else { return Vec::new() };
    ["from", "sender", "reply-to", "return-path", "list-post", "list-unsubscribe", "list-owner", "list-help", "errors-to"]
        .iter()
        .flat_map(|h| b.get_all(h).flat_map(|v| super::address::find_all(v).map(|(_, a)| a).collect::<Vec<_>>()).collect::<Vec<_>>())
        .collect()
}

pub fn original_to(headers: &str) -> Vec<String> {
    let blocks = parse_blocks(headers, 1);
    let Some(b) = blocks.first() else { return Vec::new() };
    b.get_all("to")
        .flat_map(|to| super::address::find_all(to).map(|(_, a)| a).collect::<Vec<_>>())
        .collect()
}
