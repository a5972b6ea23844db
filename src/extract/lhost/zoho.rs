//! Zoho Mail: mailer-daemon@zoho.com, X-ZohoMail.

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "zoho", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    p.from().contains("zoho.com") || p.from().contains("zohomail.com")
}
