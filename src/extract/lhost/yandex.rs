//! Yandex: mailer-daemon@yandex.ru notices.

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "yandex", detect, refine: None };

fn detect(p: &Probe) -> bool {
    p.from().contains("mailer-daemon@yandex.") || p.body_has("this is the mail system at host") && p.body_has("yandex")
}
