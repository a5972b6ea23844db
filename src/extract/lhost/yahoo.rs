//! Yahoo Mail: "Sorry, we were unable to deliver your message to the following address."

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "yahoo", detect, refine: None, start: &["sorry, we were unable to deliver your message to the following address"] };

fn detect(p: &Probe) -> bool {
    p.body_has("sorry, we were unable to deliver your message to the following address") || (p.from().contains("mailer-daemon@yahoo") && p.subject().contains("failure notice"))
}
