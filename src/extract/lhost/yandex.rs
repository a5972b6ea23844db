//! Yandex: mailer-daemon@yandex.ru notices.

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "yandex", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    p.from().contains("mailer-daemon@yandex.") || p.from().contains(".yandex.ru") || p.from().contains(".yandex.net")
}
