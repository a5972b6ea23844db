//! Inputs the fuzzer (fuzz/fuzz_targets/pipeline.rs) found crashing, kept so they never come
//! back: each must go through the whole pipeline (and the mbox reader) without a panic.

use inmail::rules::RuleSet;
use std::path::Path;

#[test]
fn fuzz_crashers_stay_fixed() {
    let rules = RuleSet::load(None).unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let data = std::fs::read(&p).unwrap();
        let r = std::panic::catch_unwind(|| {
            if let Ok(p) = inmail::pipeline::process(&rules, &data) {
                for r in &p.records {
                    inmail::normalize::normalize(&r.bounce.diagnostic);
                }
            }
            let reader = inmail::source::mbox::MboxReader::new(Box::new(std::io::Cursor::new(data.clone())), "f".into());
            for m in reader.take(64).flatten() {
                let _ = inmail::pipeline::process(&rules, &m.raw);
            }
        });
        assert!(r.is_ok(), "{} panics", p.display());
        n += 1;
    }
    assert!(n >= 1, "regression inputs are present");
}
