//! Mail.ru: Exim-based notices from mailer-daemon@*.mail.ru.

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "mailru", detect, refine: None, start: &["this message was created automatically by mail delivery software"] };

fn detect(p: &Probe) -> bool {
    p.from().contains("mailer-daemon@") && p.from().contains("mail.ru")
}
