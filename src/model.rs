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
}
