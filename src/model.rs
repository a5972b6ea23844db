//! The vocabulary shared by every stage: failure types, reasons (with the numeric values that
//! are part of the contract), record kinds and the record a bounce yields per recipient.

use serde::{Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Failure type of a qualification. `None` is a success (`Action: delivered`, 2.x.x).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureType {
    Hard,
    Soft,
    Ignored,
    Undefined,
    None,
}

impl FailureType {
    pub fn label(self) -> &'static str {
        match self {
            FailureType::Hard => "Hard",
            FailureType::Soft => "Soft",
            FailureType::Ignored => "Ignored",
            FailureType::Undefined => "Undefined",
            FailureType::None => "None",
        }
    }
}

impl FromStr for FailureType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "hard" => Ok(FailureType::Hard),
            "soft" => Ok(FailureType::Soft),
            "ignored" => Ok(FailureType::Ignored),
            "undefined" => Ok(FailureType::Undefined),
            "none" => Ok(FailureType::None),
            _ => Err(format!("unknown failure type {s:?} (expected Hard, Soft, Ignored, Undefined or None)")),
        }
    }
}

impl fmt::Display for FailureType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl Serialize for FailureType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.label())
    }
}

/// Failure reason. The discriminants are Adobe Campaign's technical values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i64)]
pub enum FailureReason {
    Undefined = 0,
    UserUnknown = 1,
    InvalidDomain = 2,
    Unreachable = 3,
    AccountDisabled = 4,
    MailboxFull = 5,
    NotConnected = 6,
    AddressNotSpecified = 7,
    AddressOnDenylist = 8,
    QuarantinedAddress = 9,
    Double = 10,
    ExcludedBySqlRule = 11,
    ExcludedAfterArbitration = 12,
    BadQuality = 14,
    Unqualified = 15,
    NotEligibleForOffers = 16,
    TargetSizeLimited = 17,
    Refused = 20,
    ErrorIgnored = 25,
    ControlAddress = 127,
}

const REASONS: &[(FailureReason, &str)] = &[
    (FailureReason::Undefined, "Undefined"),
    (FailureReason::UserUnknown, "User unknown"),
    (FailureReason::InvalidDomain, "Invalid domain"),
    (FailureReason::Unreachable, "Unreachable"),
    (FailureReason::AccountDisabled, "Account disabled"),
    (FailureReason::MailboxFull, "Mailbox full"),
    (FailureReason::NotConnected, "Not connected"),
    (FailureReason::AddressNotSpecified, "Address not specified"),
    (FailureReason::AddressOnDenylist, "Address on denylist"),
    (FailureReason::QuarantinedAddress, "Quarantined address"),
    (FailureReason::Double, "Double"),
    (FailureReason::ExcludedBySqlRule, "Excluded by an SQL rule"),
    (FailureReason::ExcludedAfterArbitration, "Excluded after arbitration"),
    (FailureReason::BadQuality, "Bad-quality address"),
    (FailureReason::Unqualified, "Unqualified address"),
    (FailureReason::NotEligibleForOffers, "Not eligible for offers"),
    (FailureReason::TargetSizeLimited, "Target size limited"),
    (FailureReason::Refused, "Refused"),
    (FailureReason::ErrorIgnored, "Error ignored"),
    (FailureReason::ControlAddress, "Control address"),
];

impl FailureReason {
    pub fn code(self) -> i64 {
        self as i64
    }
    pub fn label(self) -> &'static str {
        REASONS.iter().find(|(r, _)| *r == self).map(|(_, l)| *l).unwrap_or("Undefined")
    }
    pub fn from_code(code: i64) -> Option<Self> {
        REASONS.iter().find(|(r, _)| r.code() == code).map(|(r, _)| *r)
    }
    /// Accepts the label ("User unknown"), a slug ("user-unknown") or the numeric value.
    pub fn parse(s: &str) -> Option<Self> {
        if let Ok(n) = s.trim().parse::<i64>() {
            return Self::from_code(n);
        }
        let want = slug(s);
        REASONS.iter().find(|(_, l)| slug(l) == want).map(|(r, _)| *r)
    }
    pub fn all() -> impl Iterator<Item = FailureReason> {
        REASONS.iter().map(|(r, _)| *r)
    }
}

fn slug(s: &str) -> String {
    s.trim().to_ascii_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect()
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A qualification: type and reason (reason is `None` for a success).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Qualification {
    pub failure_type: FailureType,
    pub reason: Option<FailureReason>,
}

impl Qualification {
    pub const fn new(failure_type: FailureType, reason: FailureReason) -> Self {
        Qualification { failure_type, reason: Some(reason) }
    }
    pub const DELIVERED: Qualification = Qualification { failure_type: FailureType::None, reason: None };
    pub const UNDEFINED: Qualification = Qualification::new(FailureType::Undefined, FailureReason::Undefined);
    pub fn reason_label(&self) -> &'static str {
        self.reason.map(|r| r.label()).unwrap_or("None")
    }
}

/// What a message turned out to be, per record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Dsn,
    Arf,
    Autoreply,
    Text,
    NotBounce,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Dsn => "dsn",
            Kind::Arf => "arf",
            Kind::Autoreply => "autoreply",
            Kind::Text => "text",
            Kind::NotBounce => "not-bounce",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One failed (or delivered) recipient found in a bounce, before qualification.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Bounce {
    pub recipient: String,
    /// The address as the sender gave it (RFC 3464 Original-Recipient) when it differs from
    /// `recipient`: a forwarding or alias expansion happened on the way.
    pub original_recipient: String,
    /// Enhanced status code ("5.1.1") or "".
    pub status: String,
    /// SMTP reply code ("550") or "".
    pub reply_code: String,
    /// DSN Action field, lowercased ("failed", "delayed", "delivered"…) or "".
    pub action: String,
    pub remote_mta: String,
    /// The raw diagnostic text, unfolded onto one line.
    pub diagnostic: String,
    /// Event time of this recipient (Arrival-Date / Last-Attempt-Date), unix seconds.
    pub time: Option<i64>,
    /// SMTP command the remote server answered with the error ("RCPT", "MAIL", "DATA",
    /// "HELO", "CONN") when the bounce tells, else "". Tells a rejected recipient from a
    /// message filtered after DATA.
    pub smtp_command: String,
    /// The MTA dialect whose bounce this is (`postfix`, `exim`, `exchange2007`…; `rfc3464` for
    /// a standard report of an unknown MTA, `generic` for unknown prose). Rules may be scoped
    /// to it.
    pub dialect: String,
    /// The receiving provider that refused the message (`microsoft`, `google`…), known from
    /// the remote MTA's name or the recipient's domain, else "".
    pub provider: String,
}

/// The fine-grained reason, in Sisimai's well-known vocabulary (`userunknown`, `filtered`,
/// `blocked`…), kept beside Campaign's coarser type and reason. Each maps to a Campaign
/// qualification by one fixed table ([`Detail::campaign`], the spec's mapping), so a rule may
/// name only its detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Detail {
    Undefined,
    UserUnknown,
    HasMoved,
    HostUnknown,
    NotAccept,
    MailboxFull,
    Suspend,
    Expired,
    NetworkError,
    SystemError,
    SystemFull,
    TooManyConn,
    MailerError,
    Speeding,
    Filtered,
    Blocked,
    Rejected,
    PolicyViolation,
    SpamDetected,
    VirusDetected,
    ContentError,
    SecurityError,
    AuthFailure,
    BadReputation,
    RequirePtr,
    NotCompliantRfc,
    MesgTooBig,
    ExceedLimit,
    NoRelaying,
    SyntaxError,
    Suppressed,
    FailedStartTls,
    Feedback,
    Vacation,
    Delivered,
    OnHold,
}

const DETAILS: &[(Detail, &str)] = &[
    (Detail::Undefined, "undefined"),
    (Detail::UserUnknown, "userunknown"),
    (Detail::HasMoved, "hasmoved"),
    (Detail::HostUnknown, "hostunknown"),
    (Detail::NotAccept, "notaccept"),
    (Detail::MailboxFull, "mailboxfull"),
    (Detail::Suspend, "suspend"),
    (Detail::Expired, "expired"),
    (Detail::NetworkError, "networkerror"),
    (Detail::SystemError, "systemerror"),
    (Detail::SystemFull, "systemfull"),
    (Detail::TooManyConn, "toomanyconn"),
    (Detail::MailerError, "mailererror"),
    (Detail::Speeding, "speeding"),
    (Detail::Filtered, "filtered"),
    (Detail::Blocked, "blocked"),
    (Detail::Rejected, "rejected"),
    (Detail::PolicyViolation, "policyviolation"),
    (Detail::SpamDetected, "spamdetected"),
    (Detail::VirusDetected, "virusdetected"),
    (Detail::ContentError, "contenterror"),
    (Detail::SecurityError, "securityerror"),
    (Detail::AuthFailure, "authfailure"),
    (Detail::BadReputation, "badreputation"),
    (Detail::RequirePtr, "requireptr"),
    (Detail::NotCompliantRfc, "notcompliantrfc"),
    (Detail::MesgTooBig, "mesgtoobig"),
    (Detail::ExceedLimit, "exceedlimit"),
    (Detail::NoRelaying, "norelaying"),
    (Detail::SyntaxError, "syntaxerror"),
    (Detail::Suppressed, "suppressed"),
    (Detail::FailedStartTls, "failedstarttls"),
    (Detail::Feedback, "feedback"),
    (Detail::Vacation, "vacation"),
    (Detail::Delivered, "delivered"),
    (Detail::OnHold, "onhold"),
];

impl Detail {
    pub fn label(self) -> &'static str {
        DETAILS.iter().find(|(d, _)| *d == self).map_or("undefined", |(_, l)| l)
    }
    /// Accepts the label in any case ("userunknown", "UserUnknown").
    pub fn parse(s: &str) -> Option<Detail> {
        let s = s.trim();
        DETAILS.iter().find(|(_, l)| l.eq_ignore_ascii_case(s)).map(|(d, _)| *d)
    }
    pub fn all() -> impl Iterator<Item = Detail> {
        DETAILS.iter().map(|(d, _)| *d)
    }
    /// Campaign's type and reason for this detail (the spec's mapping). A rule may override it
    /// (a permanent disablement is Hard / Account disabled).
    pub fn campaign(self) -> Qualification {
        use FailureReason as R;
        use FailureType as T;
        match self {
            Detail::UserUnknown | Detail::HasMoved => Qualification::new(T::Hard, R::UserUnknown),
            Detail::HostUnknown | Detail::NotAccept => Qualification::new(T::Soft, R::InvalidDomain),
            Detail::MailboxFull => Qualification::new(T::Soft, R::MailboxFull),
            Detail::Suspend => Qualification::new(T::Soft, R::AccountDisabled),
            Detail::Expired
            | Detail::NetworkError
            | Detail::SystemError
            | Detail::SystemFull
            | Detail::TooManyConn
            | Detail::MailerError
            | Detail::Speeding => Qualification::new(T::Soft, R::Unreachable),
            Detail::Feedback => Qualification::new(T::Hard, R::Refused),
            Detail::Vacation => Qualification::new(T::Ignored, R::Undefined),
            Detail::Delivered => Qualification::DELIVERED,
            Detail::Undefined | Detail::OnHold => Qualification::UNDEFINED,
            Detail::Filtered
            | Detail::Blocked
            | Detail::Rejected
            | Detail::PolicyViolation
            | Detail::SpamDetected
            | Detail::VirusDetected
            | Detail::ContentError
            | Detail::SecurityError
            | Detail::AuthFailure
            | Detail::BadReputation
            | Detail::RequirePtr
            | Detail::NotCompliantRfc
            | Detail::MesgTooBig
            | Detail::ExceedLimit
            | Detail::NoRelaying
            | Detail::SyntaxError
            | Detail::Suppressed
            | Detail::FailedStartTls => Qualification::new(T::Soft, R::Refused),
        }
    }
}

impl fmt::Display for Detail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl Serialize for Detail {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.label())
    }
}

#[cfg(test)]
mod detail_tests {
    use super::*;

    #[test]
    fn labels_round_trip_and_map_as_the_spec_says() {
        for d in Detail::all() {
            assert_eq!(Detail::parse(d.label()), Some(d));
        }
        assert_eq!(Detail::parse("UserUnknown"), Some(Detail::UserUnknown));
        assert_eq!(Detail::HasMoved.campaign(), Qualification::new(FailureType::Hard, FailureReason::UserUnknown));
        assert_eq!(Detail::NotAccept.campaign().reason, Some(FailureReason::InvalidDomain));
        assert_eq!(Detail::Speeding.campaign().reason, Some(FailureReason::Unreachable));
        assert_eq!(Detail::Blocked.campaign(), Qualification::new(FailureType::Soft, FailureReason::Refused));
        assert_eq!(Detail::Vacation.campaign().failure_type, FailureType::Ignored);
    }
}
