//! Message sources for replay: mbox files (streamed), Maildir folders, folders of message
//! files, single files and standard input. Each message arrives with a name that says where it
//! came from (`FILE`, or `FILE#N` for the N-th message of an mbox) and a content fingerprint.

pub mod mbox;

use crate::pipeline::Fingerprinter;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// Bytes of one message kept in memory; the rest is hashed and dropped (see `MAX_PARSE`).
pub const MAX_MESSAGE: usize = 8 * 1024 * 1024;

/// One message read from a source.
#[derive(Debug, Clone)]
pub struct RawMessage {
    pub source: String,
    /// The message with its CRLF line ends made LF (see `Collector`), at most `MAX_MESSAGE`
    /// bytes of it.
    pub raw: Vec<u8>,
    pub fingerprint: [u8; 32],
    /// Full size in bytes as read, even when `raw` was cut at `MAX_MESSAGE`.
    pub size: u64,
    /// `raw` was cut at `MAX_MESSAGE`.
    pub truncated: bool,
}

/// A source that could not be read (missing file, permission…): reported, the run goes on.
#[derive(Debug)]
pub struct SourceError {
    pub source: String,
    pub error: io::Error,
}

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.source, self.error)
    }
}

pub type Item = Result<RawMessage, SourceError>;

/// Accumulates one message: keeps the first `MAX_MESSAGE` bytes, hashes all of them.
///
/// The kept part has its CRLF line ends made LF at the end: mail on the wire (IMAP) is CRLF,
/// files are mostly LF, and analysis reads both the same (checked on the whole corpus, record
/// for record), so doing it once here, in place, spares every later step its own `\r`
/// handling. The fingerprint ignores every `\r` (a message has the same fingerprint whichever
/// way it was stored): the kept part, once without CRLFs, is hashed in one call (fast,
/// vectorized); only an oversized tail is hashed piece by piece as it streams past.
pub(crate) struct Collector {
    buf: Vec<u8>,
    hash: Fingerprinter,
    size: u64,
    /// `buf` is full and already hashed; later bytes are hashed and dropped.
    overflowed: bool,
}

impl Collector {
    pub fn new() -> Self {
        Self::with_buffer(Vec::new())
    }
    /// A collector that fills `buf` (emptied first): a reader reuses one buffer for all its
    /// messages (see `finish_copied`) instead of growing a new one, reallocation after
    /// reallocation, for each.
    pub fn with_buffer(mut buf: Vec<u8>) -> Self {
        buf.clear();
        Collector { buf, hash: Fingerprinter::new(), size: 0, overflowed: false }
    }
    pub fn push(&mut self, bytes: &[u8]) {
        self.size += bytes.len() as u64;
        if self.overflowed {
            self.hash.update(bytes);
            return;
        }
        let room = MAX_MESSAGE - self.buf.len();
        if bytes.len() <= room {
            self.buf.extend_from_slice(bytes);
            return;
        }
        self.buf.extend_from_slice(&bytes[..room]);
        self.hash.update(&self.buf);
        self.hash.update(&bytes[room..]);
        self.overflowed = true;
    }
    /// A message given whole (IMAP hands over each body complete): copied with its CRLFs made
    /// LF in the same pass, not copied and then compacted in place. The same message as `new`,
    /// `push` and `finish`.
    pub fn whole(bytes: &[u8], source: String) -> RawMessage {
        if bytes.len() > MAX_MESSAGE {
            let mut c = Collector::new();
            c.push(bytes);
            return c.finish(source);
        }
        let mut raw = Vec::with_capacity(bytes.len());
        let lone_cr = crate::bounds::crlf_to_lf_into(bytes, &mut raw);
        RawMessage { source, fingerprint: kept_fingerprint(&raw, lone_cr), raw, size: bytes.len() as u64, truncated: false }
    }
    /// The buffer back, for another message.
    pub fn into_buffer(self) -> Vec<u8> {
        self.buf
    }
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }
    /// `finish`, the message copied out (its CRLFs made LF on the way) into an allocation of
    /// its own size; the buffer is handed back for the next message.
    pub fn finish_copied(self, source: String) -> (RawMessage, Vec<u8>) {
        let mut raw = Vec::with_capacity(self.buf.len());
        let lone_cr = crate::bounds::crlf_to_lf_into(&self.buf, &mut raw);
        let fingerprint = if self.overflowed { self.hash.finish() } else { kept_fingerprint(&raw, lone_cr) };
        (RawMessage { source, raw, fingerprint, size: self.size, truncated: self.overflowed }, self.buf)
    }
    pub fn finish(mut self, source: String) -> RawMessage {
        let lone_cr = crate::bounds::crlf_to_lf_in_place(&mut self.buf);
        let fingerprint = if self.overflowed { self.hash.finish() } else { kept_fingerprint(&self.buf, lone_cr) };
        RawMessage { source, raw: self.buf, fingerprint, size: self.size, truncated: self.overflowed }
    }
}

/// The fingerprint of a whole message kept with its CRLFs made LF. It ignores every `\r`, so
/// without a lone CR left it is the plain hash of the bytes, in one vectorized call.
fn kept_fingerprint(raw: &[u8], lone_cr: bool) -> [u8; 32] {
    if lone_cr {
        crate::pipeline::fingerprint(raw)
    } else {
        *blake3::hash(raw).as_bytes()
    }
}

/// Read a whole message file (bounded in memory).
pub fn read_message(path: &Path, name: String) -> Item {
    let f = File::open(path).map_err(|e| SourceError { source: name.clone(), error: e })?;
    read_message_from(f, name)
}

fn read_message_from(mut r: impl Read, name: String) -> Item {
    let mut c = Collector::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        match r.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => c.push(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(SourceError { source: name, error: e }),
        }
    }
    Ok(c.finish(name))
}

/// Does this reader start like an mbox ("From " on the first line)?
fn starts_mbox(r: &mut impl BufRead) -> io::Result<bool> {
    Ok(r.fill_buf()?.starts_with(b"From "))
}

/// Every message under the given paths, lazily, in a stable order.
pub fn messages(paths: &[PathBuf]) -> Box<dyn Iterator<Item = Item> + Send> {
    let paths = paths.to_vec();
    Box::new(paths.into_iter().flat_map(messages_of))
}

fn messages_of(path: PathBuf) -> Box<dyn Iterator<Item = Item> + Send> {
    let name = path.display().to_string();
    if name == "-" {
        let mut r = BufReader::with_capacity(256 * 1024, io::stdin());
        return match starts_mbox(&mut r) {
            Ok(true) => Box::new(mbox::numbered(mbox::MboxReader::new(Box::new(r), "-".into()), "-".into())),
            Ok(false) => Box::new(std::iter::once(read_message_from(r, "-".into()))),
            Err(e) => Box::new(std::iter::once(Err(SourceError { source: name, error: e }))),
        };
    }
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) => return Box::new(std::iter::once(Err(SourceError { source: name, error: e }))),
    };
    if meta.is_dir() {
        return dir_messages(path);
    }
    file_messages(path)
}

/// A file is an mbox when it starts with a `From ` line, else one message. A `.eml` file is
/// always one message: mail clients save it with an mbox envelope line but never quote
/// `From ` lines in the body, so splitting it there would cut the message in pieces.
fn file_messages(path: PathBuf) -> Box<dyn Iterator<Item = Item> + Send> {
    let name = path.display().to_string();
    let f = match File::open(&path) {
        Ok(f) => f,
        Err(e) => return Box::new(std::iter::once(Err(SourceError { source: name, error: e }))),
    };
    let mut r = BufReader::with_capacity(256 * 1024, f);
    let is_eml = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("eml"));
    match starts_mbox(&mut r) {
        Ok(true) if is_eml => {
            // Drop the envelope line, as the mbox reader does, so fingerprints agree.
            let mut envelope = Vec::new();
            if let Err(e) = r.read_until(b'\n', &mut envelope) {
                return Box::new(std::iter::once(Err(SourceError { source: name, error: e })));
            }
            Box::new(std::iter::once(read_message_from(r, name)))
        }
        Ok(true) => Box::new(mbox::numbered(mbox::MboxReader::new(Box::new(r), name.clone()), name)),
        Ok(false) => Box::new(std::iter::once(read_message_from(r, name))),
        Err(e) => Box::new(std::iter::once(Err(SourceError { source: name, error: e }))),
    }
}

/// A Maildir (has `cur/` or `new/`): messages of `new/` then `cur/`. Any other folder: its
/// entries sorted by name — files are one message or an mbox each, sub-folders are read the
/// same way (to a bounded depth). Hidden entries are skipped.
fn dir_messages(dir: PathBuf) -> Box<dyn Iterator<Item = Item> + Send> {
    dir_messages_at(dir, 0)
}

const MAX_DIR_DEPTH: usize = 16;

fn dir_messages_at(dir: PathBuf, depth: usize) -> Box<dyn Iterator<Item = Item> + Send> {
    let is_maildir = dir.join("cur").is_dir() || dir.join("new").is_dir();
    let folders: Vec<PathBuf> = if is_maildir { vec![dir.join("new"), dir.join("cur")] } else { vec![dir.clone()] };
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    for folder in folders {
        match std::fs::read_dir(&folder) {
            Ok(rd) => {
                let mut here: Vec<(PathBuf, bool)> = rd
                    .filter_map(|e| e.ok())
                    .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                    .filter_map(|e| {
                        let t = e.file_type().ok()?;
                        let p = e.path();
                        // follow symlinks to decide
                        let is_dir = t.is_dir() || t.is_symlink() && p.is_dir();
                        let is_file = t.is_file() || t.is_symlink() && p.is_file();
                        (is_file || is_dir && !is_maildir).then_some((p, is_dir))
                    })
                    .collect();
                here.sort();
                entries.extend(here);
            }
            Err(e) if is_maildir && e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => errors.push(Err(SourceError { source: folder.display().to_string(), error: e })),
        }
    }
    Box::new(errors.into_iter().chain(entries.into_iter().flat_map(move |(p, is_dir)| {
        if is_dir {
            if depth + 1 >= MAX_DIR_DEPTH {
                return Box::new(std::iter::empty()) as Box<dyn Iterator<Item = Item> + Send>;
            }
            dir_messages_at(p, depth + 1)
        } else if is_maildir {
            let name = p.display().to_string();
            Box::new(std::iter::once(read_message(&p, name))) as Box<dyn Iterator<Item = Item> + Send>
        } else {
            file_messages(p)
        }
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collector_keeps_a_bounded_head_and_hashes_everything() {
        let big: Vec<u8> = (0..MAX_MESSAGE + 12345).map(|i| (i % 251) as u8).collect();
        let mut c = Collector::new();
        for chunk in big.chunks(4000) {
            c.push(chunk);
        }
        let m = c.finish("x".into());
        assert_eq!(m.raw.len(), MAX_MESSAGE);
        assert_eq!(m.size, big.len() as u64);
        assert!(m.truncated);
        assert_eq!(m.fingerprint, crate::pipeline::fingerprint(&big));
        // A big CRLF message: the first MAX_MESSAGE bytes kept, as LF text.
        let crlf: Vec<u8> = b"x: y\r\n".iter().copied().cycle().take(MAX_MESSAGE * 2).collect();
        let mut c = Collector::new();
        crlf.chunks(4001).for_each(|p| c.push(p));
        let m = c.finish("z".into());
        assert!(m.truncated && !m.raw.contains(&b'\r'));
        assert_eq!(m.raw, crlf[..MAX_MESSAGE].iter().copied().filter(|&b| b != b'\r').collect::<Vec<u8>>());
        assert_eq!(m.fingerprint, crate::pipeline::fingerprint(&crlf));
        let mut small = Collector::new();
        small.push(b"a: b\r\n\r\n");
        small.push(b"body\r\n");
        assert_eq!(small.finish("y".into()).fingerprint, crate::pipeline::fingerprint(b"a: b\n\nbody\n"));
    }

    /// `whole` is `new` + `push` + `finish`: CRLF, lone CRs, bare LF, oversized.
    #[test]
    fn whole_message_is_the_collected_one() {
        let mut rng = crate::test_support::Rng::new(0x5DEE_CE66_D1CE_4E5B);
        let alphabet: Vec<String> = ["\r", "\n", "\r\n", "a", " ", "é"].iter().map(|s| s.to_string()).collect();
        let mut inputs: Vec<Vec<u8>> = (0..5_000).map(|_| rng.string(&alphabet, 60)).collect();
        inputs.extend(crate::test_support::fixture_files().iter().map(|p| std::fs::read(p).unwrap()));
        inputs.extend(crate::test_support::fixture_files().iter().map(|p| {
            String::from_utf8_lossy(&std::fs::read(p).unwrap()).replace('\n', "\r\n").into_bytes()
        }));
        inputs.push(b"x: y\r\n".iter().copied().cycle().take(MAX_MESSAGE).collect());
        inputs.push(b"x: y\r\n".iter().copied().cycle().take(MAX_MESSAGE + 7).collect());
        for input in &inputs {
            let mut c = Collector::new();
            c.push(input);
            let (a, b) = (c.finish("s".into()), Collector::whole(input, "s".into()));
            assert_eq!((&a.raw, a.fingerprint, a.size, a.truncated), (&b.raw, b.fingerprint, b.size, b.truncated));
        }
    }

    /// CRLF becomes LF wherever the pushes cut the input (even between the CR and the LF); a
    /// CR not followed by LF stays; the fingerprint is that of the input without CRs.
    #[test]
    fn collector_makes_crlf_lf() {
        let input = b"A: 1\r\nB: 2\r\n\r\nline\rwith a lone CR\r\nlast\r";
        let want = b"A: 1\nB: 2\n\nline\rwith a lone CR\nlast\r";
        for step in 1..input.len() {
            let mut c = Collector::new();
            input.chunks(step).for_each(|p| c.push(p));
            let m = c.finish("x".into());
            assert_eq!(m.raw, want, "pieces of {step}");
            assert_eq!((m.size, m.truncated), (input.len() as u64, false));
            assert_eq!(m.fingerprint, crate::pipeline::fingerprint(input));
        }
    }
}
