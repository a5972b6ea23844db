//! Per-provider refinements applied after generic extraction, one function per dialect (in the
//! manner of Sisimai's Lhost modules) for bounces whose generic reading misses the point.
//!
//! - Google Groups: the group does not exist or the sender may not post to it. The notice is
//!   localized; its diagnostic is the notice paragraph, tagged `Google Groups:` so the rules
//!   can qualify it in any language.

use super::view::MailView;
use crate::model::Bounce;

/// Google Groups' "the group you tried to contact may not exist" notice, any language.
fn is_google_groups(v: &MailView, human: &str) -> bool {
    v.header("x-failed-recipients").is_some()
        && v.header("x-google-smtp-source").is_some()
        && (human.contains("groups.google.com") || crate::bounds::lines(human).any(|l| l.trim() == "Google Groups"))
}

fn google_groups(human: &str, bounces: &mut [Bounce]) {
    for b in bounces.iter_mut() {
        let local = b.recipient.split('@').next().unwrap_or("");
        let tag = format!("({local})");
        let para = human
            .split("\n\n")
            .map(str::trim)
            .find(|p| !local.is_empty() && p.contains(&tag))
            .or_else(|| human.split("\n\n").map(str::trim).find(|p| p.split_whitespace().count() >= 12))
            .unwrap_or("");
        let para: String = para.split_whitespace().collect::<Vec<_>>().join(" ");
        b.diagnostic = format!("Google Groups: {para}");
    }
}

/// Apply the dialect refinements that recognise this message.
pub fn refine(v: &MailView, human: &str, bounces: &mut [Bounce]) {
    if is_google_groups(v, human) {
        google_groups(human, bounces);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_groups_tagged() {
        let raw = "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\nX-Failed-Recipients: team@example.org\nX-Google-Smtp-Source: abc\nSubject: Delivery Status Notification (Failure)\n\nHello a@example.net,\n\nLa grupo (team) eble ne ekzistas.\n\nGoogle Groups\n";
        let v = super::super::view::view(raw.as_bytes()).unwrap();
        let human = v.prose();
        let mut b = vec![Bounce { recipient: "team@example.org".into(), ..Default::default() }];
        refine(&v, human, &mut b);
        assert_eq!(b[0].diagnostic, "Google Groups: La grupo (team) eble ne ekzistas.");
    }
}
