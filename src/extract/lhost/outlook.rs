//! Outlook.com / Hotmail (the consumer service): X-Message-Delivery / X-Message-Info on "Delivery Status Notification".

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "outlook", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    (p.has("x-message-delivery") || p.has("x-message-info") || p.received(".hotmail.com")) && p.subject().contains("delivery status notification")
}
