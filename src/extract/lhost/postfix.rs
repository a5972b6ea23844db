//! Postfix: "Undelivered Mail Returned to Sender", "This is the mail system at host …" (bounce_template(5)).

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "postfix", detect, refine: None, start: &["this is the mail system at host", "this is the postfix program at host"] };

fn detect(p: &Probe) -> bool {
    p.subject() == "undelivered mail returned to sender" || p.body_has("this is the mail system at host") || p.body_has("this is the postfix program at host")
}
