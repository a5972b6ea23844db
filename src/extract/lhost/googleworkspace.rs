//! Google Workspace (G Suite) relays: "** Message not delivered **" notices with X-Gm-Message-State.

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "googleworkspace", detect, refine: None };

fn detect(p: &Probe) -> bool {
    (p.from().contains("mailer-daemon@googlemail.com") || p.from().contains("mailer-daemon@google.com")) && (p.body_has("** message not delivered **") || p.body_has("** address not found **") || p.body_has("** message blocked **"))
}
