//! message bytes → records → normalized Text → rules; plus the mbox reader on the same bytes.
#![no_main]
use inmail::rules::RuleSet;
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static RULES: LazyLock<RuleSet> = LazyLock::new(|| RuleSet::load(None).expect("default rules"));

fuzz_target!(|data: &[u8]| {
    // libfuzzer-sys aborts on every panic, even one the code catches on purpose (inmail isolates
    // panics of the third-party MIME parser per message). Keep Rust's default hook instead: a
    // panic that escapes the pipeline still reaches the harness's catch_unwind and aborts there.
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let _ = std::panic::take_hook();
    });
    if let Ok(p) = inmail::pipeline::process(&RULES, data) {
        for r in &p.records {
            let _ = inmail::normalize::normalize(&r.bounce.diagnostic);
        }
    }
    let reader = inmail::source::mbox::MboxReader::new(Box::new(std::io::Cursor::new(data.to_vec())), "f".into());
    for m in reader.take(64).flatten() {
        let _ = inmail::pipeline::process(&RULES, &m.raw);
    }
});
