//! Amazon SES notifications delivered by email (SNS → email subscription): a JSON object of
//! `notificationType` / `eventType` Bounce, Complaint or Delivery, possibly wrapped in an SNS
//! envelope whose `Message` field holds the JSON as a string.
//! Bounce → one DSN-like record per bounced recipient; Complaint → feedback records; Delivery →
//! delivered records.

use super::view::MailView;
use crate::model::{Bounce, Kind};
use serde_json::Value;

/// Largest JSON text looked at.
const MAX_JSON: usize = 512 * 1024;

fn find_json(text: &str) -> Option<Value> {
    let start = ["{\"notificationType\"", "{\"eventType\"", "{\"Type\"", "{\n"]
        .iter()
        .filter_map(|k| text.find(k))
        .min()?;
    let end = text.rfind('}')?;
    if end <= start || end - start > MAX_JSON {
        return None;
    }
    let raw = &text[start..=end];
    if !raw.contains("notificationType") && !raw.contains("eventType") {
        return None;
    }
    // Email notifications wrap long lines; some insert "!" + newline + space inside strings.
    let cleaned = raw.replace("!\n ", "").replace("\r", "").replace('\n', "");
    let v: Value = serde_json::from_str(&cleaned).ok()?;
    // SNS envelope: {"Type":"Notification","Message":"{...}"}
    if let Some(m) = v.get("Message").and_then(Value::as_str) {
        return serde_json::from_str(m).ok();
    }
    Some(v)
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn time_of(v: &Value) -> Option<i64> {
    let t = s(v, "timestamp");
    if t.is_empty() {
        None
    } else {
        super::parse_date(t)
    }
}

/// A status the bounce sub-type implies when the recipient entry carries none.
fn subtype_status(bounce_type: &str, sub: &str) -> &'static str {
    let class = if bounce_type.eq_ignore_ascii_case("Transient") { "4" } else { "5" };
    match (class, sub) {
        ("5", "NoEmail") => "5.1.1",
        ("4", "MailboxFull") => "4.2.2",
        ("5", "MailboxFull") => "5.2.2",
        ("5", "MessageTooLarge") => "5.3.4",
        ("4", "MessageTooLarge") => "4.3.4",
        ("5", "ContentRejected") | ("5", "AttachmentRejected") => "5.6.0",
        _ => "",
    }
}

pub fn extract(v: &MailView) -> Option<(Kind, Vec<Bounce>)> {
    if !v.texts.iter().any(|t| t.contains("notificationType") || t.contains("eventType")) {
        return None;
    }
    let j = v.texts.iter().find_map(|t| find_json(t))?;
    let ntype = if s(&j, "notificationType").is_empty() { s(&j, "eventType") } else { s(&j, "notificationType") };
    match ntype {
        "Bounce" => {
            let b = j.get("bounce")?;
            let bt = s(b, "bounceType");
            let sub = s(b, "bounceSubType");
            let time = time_of(b);
            let out: Vec<Bounce> = b
                .get("bouncedRecipients")?
                .as_array()?
                .iter()
                .take(500)
                .map(|r| {
                    let diag = super::fields::diagnostic_value(s(r, "diagnosticCode")).to_string();
                    let diagnostic = if diag.is_empty() { format!("Amazon SES {bt} bounce: {sub}") } else { diag };
                    let mut status = s(r, "status").to_string();
                    if status.is_empty() || status.ends_with(".0.0") {
                        status = crate::status::find_status(&diagnostic)
                            .filter(|x| !x.ends_with(".0.0"))
                            .unwrap_or(subtype_status(bt, sub))
                            .to_string();
                    }
                    Bounce {
                        recipient: super::fields::address_value(s(r, "emailAddress")),
                        reply_code: crate::status::find_reply_code(&diagnostic).unwrap_or("").to_string(),
                        status,
                        action: s(r, "action").to_ascii_lowercase(),
                        remote_mta: super::fields::diagnostic_value(s(b, "reportingMTA")).to_string(),
                        diagnostic,
                        time,
                        ..Default::default()
                    }
                })
                .collect();
            (!out.is_empty()).then_some((Kind::Dsn, out))
        }
        "Complaint" => {
            let c = j.get("complaint")?;
            let ft = s(c, "complaintFeedbackType");
            let diagnostic = format!("Feedback-Type: {}", if ft.is_empty() { "abuse" } else { ft });
            let time = time_of(c);
            let out: Vec<Bounce> = c
                .get("complainedRecipients")?
                .as_array()?
                .iter()
                .take(500)
                .map(|r| Bounce {
                    recipient: super::fields::address_value(s(r, "emailAddress")),
                    diagnostic: diagnostic.clone(),
                    time,
                    ..Default::default()
                })
                .collect();
            (!out.is_empty()).then_some((Kind::Arf, out))
        }
        "Delivery" => {
            let d = j.get("delivery")?;
            let resp = s(d, "smtpResponse").to_string();
            let time = time_of(d);
            let status = crate::status::find_status(&resp).filter(|x| x.starts_with("2.")).unwrap_or("2.0.0").to_string();
            let out: Vec<Bounce> = d
                .get("recipients")?
                .as_array()?
                .iter()
                .filter_map(Value::as_str)
                .take(500)
                .map(|r| Bounce {
                    recipient: super::fields::address_value(r),
                    status: status.clone(),
                    reply_code: crate::status::find_reply_code(&resp).unwrap_or("").to_string(),
                    action: "delivered".into(),
                    remote_mta: s(d, "reportingMTA").to_string(),
                    diagnostic: resp.clone(),
                    time,
                    ..Default::default()
                })
                .collect();
            (!out.is_empty()).then_some((Kind::Dsn, out))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(body: &str) -> MailView {
        let raw = format!("From: no-reply@sns.example.com\nSubject: AWS Notification Message\n\n{body}\n");
        super::super::view::view(raw.as_bytes()).unwrap()
    }

    #[test]
    fn bounce_complaint_delivery() {
        let v = view(r#"{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":"General","bouncedRecipients":[{"emailAddress":"nobody@example.com","action":"failed","status":"5.1.1","diagnosticCode":"smtp; 550 5.1.1 user unknown"}],"timestamp":"2020-01-02T03:04:05.000Z"},"mail":{"source":"a@example.org","headers":[{"name":"!
 X-Thing","value":"x"}]}}"#);
        let (k, b) = extract(&v).unwrap();
        assert_eq!(k, Kind::Dsn);
        assert_eq!(b[0].recipient, "nobody@example.com");
        assert_eq!(b[0].status, "5.1.1");
        assert_eq!(b[0].diagnostic, "550 5.1.1 user unknown");

        let v = view(r#"{"notificationType":"Complaint","complaint":{"complainedRecipients":[{"emailAddress":"c@example.net"}],"complaintFeedbackType":"abuse"},"mail":{}}"#);
        let (k, b) = extract(&v).unwrap();
        assert_eq!((k, b[0].recipient.as_str()), (Kind::Arf, "c@example.net"));

        let v = view(r#"{"notificationType":"Delivery","delivery":{"recipients":["d@example.net"],"smtpResponse":"250 2.6.0 Message received"},"mail":{}}"#);
        let (k, b) = extract(&v).unwrap();
        assert_eq!((k, b[0].status.as_str(), b[0].action.as_str()), (Kind::Dsn, "2.6.0", "delivered"));

        assert!(extract(&view("hello, no json here")).is_none());
        assert!(extract(&view("{\"notificationType\": broken")).is_none());
    }
}
