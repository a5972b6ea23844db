//! Google Groups: the group does not exist, or the sender may not post to it. Sent by
//! mailer-daemon@googlemail.com with X-Failed-Recipients and X-Google-Smtp-Source, the notice is
//! localized and carries no SMTP reply: its diagnostic is the notice paragraph, tagged
//! `Google Groups:` so that it reads the same in every language.

use super::{Dialect, Probe};
use crate::model::Bounce;

pub static DIALECT: Dialect = Dialect { name: "googlegroups", detect, refine: Some(refine), start: &[] };

fn detect(p: &Probe) -> bool {
    p.has("x-failed-recipients") && p.has("x-google-smtp-source") && (p.body_has("groups.google.com") || crate::bounds::lines(p.human).any(|l| l.trim() == "Google Groups"))
}

fn refine(p: &Probe, bounces: &mut [Bounce]) {
    let human = p.human;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notice_paragraph_tagged() {
        let raw = "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\nX-Failed-Recipients: team@example.org\nX-Google-Smtp-Source: abc\nSubject: Delivery Status Notification (Failure)\n\nHello a@example.net,\n\nLa grupo (team) eble ne ekzistas.\n\nGoogle Groups\n";
        let v = crate::extract::view::view(raw.as_bytes()).unwrap();
        let p = Probe::new(&v, v.prose());
        assert!(detect(&p));
        let mut b = vec![Bounce { recipient: "team@example.org".into(), ..Default::default() }];
        refine(&p, &mut b);
        assert_eq!(b[0].diagnostic, "Google Groups: La grupo (team) eble ne ekzistas.");
    }
}
