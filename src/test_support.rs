//! Helpers shared by unit tests that compare a fast implementation with its reference.

use std::path::PathBuf;

/// Every file under `fixtures/`, recursively.
pub fn fixture_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures"))];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// A small deterministic generator (xorshift64) for random test input.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// A string of up to `max_len` pieces drawn from `alphabet`.
    pub fn string<T: AsRef<[u8]>>(&mut self, alphabet: &[T], max_len: u64) -> Vec<u8> {
        let len = self.next() % (max_len + 1);
        let mut out = Vec::new();
        for _ in 0..len {
            out.extend_from_slice(alphabet[(self.next() % alphabet.len() as u64) as usize].as_ref());
        }
        out
    }
}
