//! One message in, qualified records out: extraction + normalization + rules, no I/O.
//! Shared by `parse`, `replay` and the IMAP daemon so they can never disagree.

use crate::extract::{analyze, Analysis, ExtractError};
use crate::model::{Bounce, Kind, Qualification};
use crate::qualify::{qualify, Verdict};
use crate::rules::RuleSet;

/// A qualified record: one recipient of one message.
#[derive(Debug, Clone)]
pub struct Record {
    /// 1-based index within the message.
    pub index: usize,
    pub kind: Kind,
    pub bounce: Bounce,
    pub verdict: Verdict,
}

impl Record {
    pub fn qualification(&self) -> Qualification {
        self.verdict.qualification
    }
}

/// Everything learnt from one message.
#[derive(Debug, Clone)]
pub struct Processed {
    pub analysis: Analysis,
    pub records: Vec<Record>,
}

/// Content fingerprint of a message: carriage returns are ignored so the same message seen in
/// an mbox (LF) and over IMAP (CRLF) is recognised as one. Streaming, for messages read in
/// pieces. The bytes between carriage returns are gathered into blocks before hashing: a
/// hasher call per CRLF line cost more than the hashing itself.
pub struct Fingerprinter {
    hasher: blake3::Hasher,
    /// Up to `BLOCK` bytes waiting to be hashed (a Vec: an array would be zeroed per message).
    block: Vec<u8>,
}

impl Default for Fingerprinter {
    fn default() -> Self {
        // The block is allocated on first use: most messages are hashed whole, never through it.
        Fingerprinter { hasher: blake3::Hasher::new(), block: Vec::new() }
    }
}

impl Fingerprinter {
    const BLOCK: usize = 4096;

    pub fn new() -> Self {
        Self::default()
    }
    pub fn update(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        while !rest.is_empty() {
            let cut = memchr::memchr(b'\r', rest).unwrap_or(rest.len());
            let piece = &rest[..cut];
            rest = &rest[(cut + 1).min(rest.len())..];
            if self.block.len() + piece.len() > Self::BLOCK {
                self.hasher.update(&self.block);
                self.block.clear();
                if piece.len() > Self::BLOCK {
                    self.hasher.update(piece);
                    continue;
                }
            }
            self.block.extend_from_slice(piece);
        }
    }
    pub fn finish(&self) -> [u8; 32] {
        let mut h = self.hasher.clone();
        h.update(&self.block);
        *h.finalize().as_bytes()
    }
}


pub fn fingerprint(raw: &[u8]) -> [u8; 32] {
    let mut f = Fingerprinter::new();
    f.update(raw);
    f.finish()
}

pub fn process(rules: &RuleSet, raw: &[u8]) -> Result<Processed, ExtractError> {
    let mut analysis = analyze(raw)?;
    let mut records = records_of(rules, &mut analysis);
    // RFC 3834 says the message is an automatic reply, and its prose, read as a bounce, holds
    // no delivery status: no SMTP reply, no status code, nothing the rules recognise. Exim and
    // Postfix mark their bounces auto-replied too, but they always say what failed; a notice
    // that does not is taken at its word (Ignored, never quarantined), not filed To qualify.
    // Sent by postmaster or MAILER-DAEMON, it names no person who replied and no failure that
    // could be read: not a bounce.
    if let Some(auto) = analysis.as_auto_reply.take() {
        let no_status = records.iter().all(|r| r.bounce.status.is_empty() && r.bounce.reply_code.is_empty() && !r.verdict.is_qualified());
        if no_status {
            analysis.kind = if auto.is_empty() { Kind::NotBounce } else { Kind::Autoreply };
            analysis.bounces = auto;
            records = records_of(rules, &mut analysis);
        }
    }
    Ok(Processed { analysis, records })
}

/// The records of `analysis`, its bounces moved into them.
fn records_of(rules: &RuleSet, analysis: &mut Analysis) -> Vec<Record> {
    // A message that is not a bounce yields one record that reports no failure.
    if analysis.kind == Kind::NotBounce {
        vec![Record {
            index: 1,
            kind: Kind::NotBounce,
            bounce: Bounce::default(),
            verdict: Verdict { text: String::new(), qualification: Qualification::DELIVERED, detail: crate::model::Detail::Undefined, rule: String::new() },
        }]
    } else {
        let kind = analysis.kind;
        std::mem::take(&mut analysis.bounces)
            .into_iter()
            .enumerate()
            .map(|(i, b)| {
                let verdict = qualify(rules, kind, &b);
                Record { index: i + 1, kind, bounce: b, verdict }
            })
            .collect()
    }
}

#[cfg(test)]
mod fingerprint_tests {
    use super::{fingerprint, Fingerprinter};

    #[test]
    fn pieces_and_blocks_do_not_change_the_fingerprint() {
        let mut raw = Vec::new();
        for i in 0..3000 {
            raw.extend_from_slice(format!("Header-{i}: value {i}\r\n").as_bytes());
        }
        raw.extend_from_slice(&vec![b'x'; 10_000]);
        let plain: Vec<u8> = raw.iter().copied().filter(|&b| b != b'\r').collect();
        let want = *blake3::hash(&plain).as_bytes();
        assert_eq!(fingerprint(&raw), want);
        for step in [1, 7, 4096, 5000] {
            let mut f = Fingerprinter::new();
            raw.chunks(step).for_each(|c| f.update(c));
            assert_eq!(f.finish(), want, "pieces of {step} bytes");
        }
    }
}
