//! GMX and WEB.DE: X-GMX-Antispam, or mailer-daemon@gmx.* / web.de.

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "gmx", detect, refine: None, start: &["this message was created automatically by mail delivery software"] };

fn detect(p: &Probe) -> bool {
    p.has("x-gmx-antispam") || p.from().contains("@gmx.") || p.from().contains("@web.de")
}
