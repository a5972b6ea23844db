//! DragonFly Mail Agent (dma, bounce.c): "This is the DragonFly Mail Agent … at …", "There was
//! an error delivering your mail to <…>.", then the remote server's words, "Message headers
//! follow."

use super::{Dialect, Probe};

pub static DIALECT: Dialect = Dialect { name: "dragonfly", detect, refine: None, start: &[] };

fn detect(p: &Probe) -> bool {
    p.body_has("this is the dragonfly mail agent") || p.received("(dragonfly mail agent")
}
