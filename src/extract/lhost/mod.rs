//! MTA dialects ("lhost" in Sisimai's terms: the host that wrote the bounce). One module per MTA
//! family, each recognising its own bounces by what that MTA is documented or known to emit
//! (its header fields, subject lines, opening sentences), and refining the generic reading
//! where the MTA writes things its own way. A record's `dialect` lets rules be scoped to the
//! MTA (`rules/dialects/*.toml`). Adding an MTA is one module here, its rules file if it has
//! phrases of its own, and its fixtures in `fixtures/dialects/<name>/`.
//!
//! The generic readers (`dsn`, `text`) still extract the records: a dialect only names the
//! bounce and, through `refine`, corrects what its MTA writes differently.

use super::view::MailView;
use crate::model::Bounce;
use std::cell::OnceCell;

mod activehunter;
mod amavis;
mod amazonses;
mod amazonworkmail;
mod aol;
mod apachejames;
mod barracuda;
mod bigfoot;
mod biglobe;
mod courier;
mod domino;
mod dragonfly;
mod einsundeins;
mod exchange2003;
mod exchange2007;
mod exim;
mod ezweb;
mod facebook;
mod fml;
mod gmail;
mod gmx;
mod googlegroups;
mod googleworkspace;
mod groupwise;
mod imailserver;
mod interscanmss;
mod kddi;
mod mailfoundry;
mod mailmarshalsmtp;
mod mailru;
mod mcafee;
mod messagelabs;
mod messagingserver;
mod mfilter;
mod mxlogic;
mod notes;
mod opensmtpd;
mod outlook;
mod postfix;
mod powermta;
mod qmail;
mod receivingses;
mod sendgrid;
mod sendmail;
mod surfcontrol;
mod v5sendmail;
mod verizon;
mod yahoo;
mod yandex;
mod zoho;

/// One MTA dialect.
pub struct Dialect {
    pub name: &'static str,
    /// Whether the message is this MTA's bounce.
    pub detect: fn(&Probe) -> bool,
    /// Corrections to the generic records, where the MTA writes things its own way.
    pub refine: Option<fn(&Probe, &mut [Bounce])>,
    /// Where its plain-text report begins (lower case): the prose before it is a greeting,
    /// often in another language, that names the recipient without the reason.
    pub start: &'static [&'static str],
}

/// The dialects, tried in order: the more specific signatures first (a provider's relay that
/// runs Exim before Exim, Google Groups before Gmail, SendGrid before Postfix).
const ALL: &[&Dialect] = &[
    &amazonworkmail::DIALECT,
    &receivingses::DIALECT,
    &amazonses::DIALECT,
    &sendgrid::DIALECT,
    &facebook::DIALECT,
    &googlegroups::DIALECT,
    &googleworkspace::DIALECT,
    &gmail::DIALECT,
    &aol::DIALECT,
    &yahoo::DIALECT,
    &outlook::DIALECT,
    &exchange2007::DIALECT,
    &exchange2003::DIALECT,
    &gmx::DIALECT,
    &einsundeins::DIALECT,
    &mailru::DIALECT,
    &yandex::DIALECT,
    &zoho::DIALECT,
    &messagelabs::DIALECT,
    &mxlogic::DIALECT,
    &mcafee::DIALECT,
    &activehunter::DIALECT,
    &amavis::DIALECT,
    &barracuda::DIALECT,
    &surfcontrol::DIALECT,
    &interscanmss::DIALECT,
    &mailfoundry::DIALECT,
    &mailmarshalsmtp::DIALECT,
    &mfilter::DIALECT,
    &biglobe::DIALECT,
    &ezweb::DIALECT,
    &kddi::DIALECT,
    &verizon::DIALECT,
    &bigfoot::DIALECT,
    &fml::DIALECT,
    &domino::DIALECT,
    &notes::DIALECT,
    &groupwise::DIALECT,
    &imailserver::DIALECT,
    &messagingserver::DIALECT,
    &apachejames::DIALECT,
    &dragonfly::DIALECT,
    &opensmtpd::DIALECT,
    &courier::DIALECT,
    &powermta::DIALECT,
    &qmail::DIALECT,
    &exim::DIALECT,
    &postfix::DIALECT,
    &v5sendmail::DIALECT,
    &sendmail::DIALECT,
];

/// What a dialect's detection reads of a message, lower-cased once and on demand.
pub struct Probe<'a> {
    pub v: &'a MailView,
    pub human: &'a str,
    lower: OnceCell<String>,
    from: OnceCell<String>,
    subject: OnceCell<String>,
    received: OnceCell<String>,
}

impl<'a> Probe<'a> {
    pub fn new(v: &'a MailView, human: &'a str) -> Probe<'a> {
        Probe { v, human, lower: OnceCell::new(), from: OnceCell::new(), subject: OnceCell::new(), received: OnceCell::new() }
    }
    /// The From field as written (display name and address), lower case.
    pub fn from(&self) -> &str {
        self.from.get_or_init(|| self.v.header("from").unwrap_or(&self.v.from).to_ascii_lowercase())
    }
    /// The subject, lower case.
    pub fn subject(&self) -> &str {
        self.subject.get_or_init(|| self.v.subject.to_lowercase())
    }
    /// The prose up to the returned message, lower case.
    pub fn body(&self) -> &str {
        self.lower.get_or_init(|| self.human.to_ascii_lowercase())
    }
    pub fn body_has(&self, s: &str) -> bool {
        memchr::memmem::find(self.body().as_bytes(), s.as_bytes()).is_some()
    }
    pub fn has(&self, header: &str) -> bool {
        self.v.header(header).is_some()
    }
    pub fn header_has(&self, header: &str, s: &str) -> bool {
        self.v.header(header).is_some_and(|h| h.to_ascii_lowercase().contains(s))
    }
    /// Some Received field holds `s` (lower case). The fields are lower-cased and joined once,
    /// on the first question: several dialects ask.
    pub fn received(&self, s: &str) -> bool {
        let all = self.received.get_or_init(|| self.v.headers_named("received").collect::<Vec<_>>().join("\n").to_ascii_lowercase());
        memchr::memmem::find(all.as_bytes(), s.as_bytes()).is_some()
    }
    pub fn message_id_has(&self, s: &str) -> bool {
        self.v.message_id.to_ascii_lowercase().contains(s)
    }
}

/// The dialect whose bounce this is, if one recognises it.
pub fn identify(p: &Probe) -> Option<&'static Dialect> {
    ALL.iter().copied().find(|d| (d.detect)(p))
}

/// Every dialect name, for fixtures and rule checks.
pub fn names() -> impl Iterator<Item = &'static str> {
    ALL.iter().map(|d| d.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_lower_case() {
        let mut seen = std::collections::HashSet::new();
        for n in names() {
            assert!(seen.insert(n), "{n} twice");
            assert_eq!(n, n.to_ascii_lowercase());
        }
    }

    fn probe_of(raw: &str) -> Option<&'static str> {
        let v = super::super::view::view(raw.as_bytes()).unwrap();
        let p = Probe::new(&v, v.human());
        identify(&p).map(|d| d.name)
    }

    #[test]
    fn signatures() {
        assert_eq!(probe_of("From: MAILER-DAEMON@example.org (Mail Delivery System)\nSubject: Undelivered Mail Returned to Sender\n\nThis is the mail system at host mx.example.org.\n"), Some("postfix"));
        assert_eq!(probe_of("From: MAILER-DAEMON@example.org\nSubject: failure notice\n\nHi. This is the qmail-send program at example.org.\n"), Some("qmail"));
        assert_eq!(probe_of("From: Mail Delivery System <Mailer-Daemon@example.org>\nSubject: Mail delivery failed: returning message to sender\n\nThis message was created automatically by mail delivery software.\n"), Some("exim"));
        assert_eq!(probe_of("From: Mail Delivery Subsystem <MAILER-DAEMON@example.org>\nSubject: Returned mail: see transcript for details\n\n   ----- Transcript of session follows -----\n"), Some("sendmail"));
        assert_eq!(probe_of("From: someone@example.org\nSubject: hello\n\nhi\n"), None);
    }
}
