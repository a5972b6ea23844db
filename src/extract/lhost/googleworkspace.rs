//! Google Workspace (G Suite) relays: "** Message not delivered **" notices with X-Gm-Message-State.

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "googleworkspace", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    // Google Workspace relays carry X-Gm-Message-State; consumer Gmail's notices do not.
    (p.from().contains("mailer-daemon@googlemail.com") || p.from().contains("mailer-daemon@google.com")) && p.has("x-gm-message-state")
}
