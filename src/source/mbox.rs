//! Streaming mbox reader (mboxo and mboxrd). One message in memory at a time, so memory does
//! not grow with the file. A `From ` line at the start of the file or after a blank line starts
//! a message; `>From ` quoting (any depth) loses one `>`.

use super::{Collector, Item, SourceError};
use std::io::BufRead;

/// Longest line kept whole; longer lines are read in pieces (still hashed and kept in bounds).
const MAX_LINE: usize = 1024 * 1024;

/// A reader's buffer kept between messages up to this capacity (a larger one, left by a large
/// message, is dropped rather than held for the rest of the file).
const KEEP_BUFFER: usize = 1024 * 1024;

pub struct MboxReader {
    reader: Box<dyn BufRead + Send>,
    name: String,
    count: usize,
    /// A line that runs past the end of the reader's buffer, gathered here.
    line: Vec<u8>,
    /// The message buffer, reused from one message to the next.
    scratch: Vec<u8>,
    /// The `From ` line of the next message has been read already.
    pending_start: bool,
    done: bool,
}

/// Where a message being read stands (the rules of `MboxReader::next`).
struct Reading {
    msg: Collector,
    /// A blank line (`\n` or `\r\n`) held back: it belongs to the message only if no `From `
    /// line follows.
    held_blank: Option<&'static [u8]>,
    started: bool,
}

/// What a line did to the message.
enum Flow {
    Continue,
    /// A `From ` line after a blank line: the message ends before it.
    End,
}

impl Reading {
    /// The general rule for one line (ordinary lines take `MboxReader::next`'s fast path, which
    /// must agree with this).
    fn line(&mut self, line: &[u8]) -> Flow {
        if is_from_line(line) && (!self.started || self.held_blank.is_some() || self.msg.is_empty()) {
            if self.started && !self.msg.is_empty() {
                return Flow::End;
            }
            self.started = true;
            return Flow::Continue;
        }
        // Junk before the first From line is the start of a message anyway.
        self.started = true;
        if let Some(b) = self.held_blank.take() {
            self.msg.push(b);
        }
        if is_blank(line) {
            self.held_blank = Some(if line.len() == 1 { b"\n" } else { b"\r\n" });
            return Flow::Continue;
        }
        // mboxrd: ">From " / ">>From " lose one '>'.
        let gt = line.iter().take_while(|&&b| b == b'>').count();
        if gt > 0 && line[gt..].starts_with(b"From ") {
            self.msg.push(&line[1..]);
        } else {
            self.msg.push(line);
        }
        Flow::Continue
    }

    /// Can `line` be copied as it is, with the lines before it? Not a blank line, not a quoted
    /// line, nothing held back, and the message started and not empty (a `From ` line is then
    /// plain text). `more` tells whether lines are waiting to be copied before this one.
    fn plain(&self, line: &[u8], more: bool) -> bool {
        self.started
            && self.held_blank.is_none()
            && (more || !self.msg.is_empty())
            && line.first() != Some(&b'>')
            && !is_blank(line)
    }
}

impl MboxReader {
    pub fn new(reader: Box<dyn BufRead + Send>, name: String) -> Self {
        MboxReader { reader, name, count: 0, line: Vec::new(), scratch: Vec::new(), pending_start: false, done: false }
    }

    /// Read the next message into `r`. Lines are found in the reader's own buffer and runs of
    /// ordinary lines are copied into the message at once; only a line that runs past the end of
    /// the buffer is gathered in `self.line` first. A line is at most `MAX_LINE` bytes: a longer
    /// one is read as several.
    /// Hand the line gathered across buffers to the message being read, keeping the buffer for
    /// the next one. True when the line starts the next message (`From `).
    fn feed_line(&mut self, r: &mut Reading) -> bool {
        let line = std::mem::take(&mut self.line);
        let flow = r.line(&line);
        self.line = line;
        self.line.clear();
        matches!(flow, Flow::End)
    }

    fn read_message(&mut self, r: &mut Reading) -> std::io::Result<()> {
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                self.done = true;
                // (a last `From ` line without a newline starts an empty message)
                if !self.line.is_empty() && self.feed_line(r) {
                    self.pending_start = true;
                }
                return Ok(());
            }
            if !self.line.is_empty() {
                // Complete the line begun in the previous buffer.
                let room = MAX_LINE - self.line.len();
                let (take, end) = match memchr::memchr(b'\n', &buf[..buf.len().min(room)]) {
                    Some(i) => (i + 1, true),
                    None => (buf.len().min(room), self.line.len() + buf.len() >= MAX_LINE),
                };
                self.line.extend_from_slice(&buf[..take]);
                self.reader.consume(take);
                if end && self.feed_line(r) {
                    self.pending_start = true;
                    return Ok(());
                }
                continue;
            }
            let (mut pos, mut run) = (0, 0);
            let mut ended = false;
            while pos < buf.len() {
                let limit = buf.len().min(pos + MAX_LINE);
                let end = match memchr::memchr(b'\n', &buf[pos..limit]) {
                    Some(i) => pos + i + 1,
                    None if limit - pos == MAX_LINE => limit,
                    None => break, // runs past the buffer
                };
                let line = &buf[pos..end];
                if r.plain(line, run < pos) {
                    pos = end;
                    continue;
                }
                r.msg.push(&buf[run..pos]);
                pos = end;
                run = end;
                if let Flow::End = r.line(line) {
                    ended = true;
                    break;
                }
            }
            r.msg.push(&buf[run..pos]);
            if !ended {
                // The rest of the buffer is the beginning of a line.
                self.line.extend_from_slice(&buf[pos..]);
                pos = buf.len();
            }
            self.reader.consume(pos);
            if ended {
                self.pending_start = true;
                return Ok(());
            }
        }
    }
}

fn is_from_line(line: &[u8]) -> bool {
    line.starts_with(b"From ")
}

fn is_blank(line: &[u8]) -> bool {
    line == b"\n" || line == b"\r\n"
}

impl Iterator for MboxReader {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        while !self.done {
            let started = std::mem::take(&mut self.pending_start);
            let mut r = Reading { msg: Collector::with_buffer(std::mem::take(&mut self.scratch)), held_blank: None, started };
            if let Err(e) = self.read_message(&mut r) {
                self.done = true;
                return Some(Err(SourceError { source: format!("{}#{}", self.name, self.count + 1), error: e }));
            }
            // A blank line still held at the end is the separator before the next `From ` line
            // or the end of the file: not part of the message.
            if r.msg.is_empty() {
                self.scratch = r.msg.into_buffer();
                continue;
            }
            self.count += 1;
            let (msg, scratch) = r.msg.finish_copied(format!("{}#{}", self.name, self.count));
            if scratch.capacity() <= KEEP_BUFFER {
                self.scratch = scratch;
            }
            return Some(Ok(msg));
        }
        None
    }
}

/// Name messages `FILE#N` only when the file really holds several: a single message saved
/// with its mbox envelope line (a common `.eml`) keeps the plain file name. One message of
/// look-ahead, so streaming is kept.
pub fn numbered(reader: MboxReader, name: String) -> impl Iterator<Item = Item> {
    let mut it = reader.peekable();
    let mut first = true;
    std::iter::from_fn(move || {
        let mut item = it.next()?;
        if std::mem::take(&mut first) && it.peek().is_none() {
            match &mut item {
                Ok(m) => m.source = name.clone(),
                Err(e) => e.source = name.clone(),
            }
        }
        Some(item)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line-by-line reader the buffer-scanning one replaced: the reference it must equal.
    struct Reference {
        reader: Box<dyn BufRead + Send>,
        name: String,
        count: usize,
        line: Vec<u8>,
        pending_start: bool,
        done: bool,
    }

    impl Reference {
        fn read_line(&mut self) -> std::io::Result<bool> {
            self.line.clear();
            loop {
                let buf = self.reader.fill_buf()?;
                if buf.is_empty() {
                    return Ok(!self.line.is_empty());
                }
                let room = MAX_LINE - self.line.len();
                let (take, end) = match memchr::memchr(b'\n', &buf[..buf.len().min(room)]) {
                    Some(i) => (i + 1, true),
                    None => (buf.len().min(room), self.line.len() + buf.len() >= MAX_LINE),
                };
                self.line.extend_from_slice(&buf[..take]);
                self.reader.consume(take);
                if end {
                    return Ok(true);
                }
            }
        }
    }

    impl Iterator for Reference {
        type Item = Item;

        fn next(&mut self) -> Option<Item> {
            if self.done {
                return None;
            }
            let mut msg = Collector::new();
            let mut held_blank: Option<Vec<u8>> = None;
            let mut started = self.pending_start;
            loop {
                match self.read_line() {
                    Ok(false) => {
                        self.done = true;
                        break;
                    }
                    Ok(true) => {}
                    Err(e) => {
                        self.done = true;
                        return Some(Err(SourceError { source: format!("{}#{}", self.name, self.count + 1), error: e }));
                    }
                }
                if is_from_line(&self.line) && (!started || held_blank.is_some() || msg.is_empty()) {
                    if started && !msg.is_empty() {
                        self.pending_start = true;
                        break;
                    }
                    started = true;
                    continue;
                }
                if !started {
                    started = true;
                }
                if let Some(b) = held_blank.take() {
                    msg.push(&b);
                }
                if is_blank(&self.line) {
                    held_blank = Some(self.line.clone());
                    continue;
                }
                let gt = self.line.iter().take_while(|&&b| b == b'>').count();
                if gt > 0 && self.line[gt..].starts_with(b"From ") {
                    msg.push(&self.line[1..]);
                } else {
                    msg.push(&self.line);
                }
            }
            if msg.is_empty() {
                return if self.done { None } else { self.next() };
            }
            self.count += 1;
            Some(Ok(msg.finish(format!("{}#{}", self.name, self.count))))
        }
    }

    fn messages_of(input: &[u8], capacity: usize, reference: bool) -> Vec<(String, Vec<u8>, [u8; 32], u64)> {
        let r = Box::new(std::io::BufReader::with_capacity(capacity, std::io::Cursor::new(input.to_vec())));
        let it: Box<dyn Iterator<Item = Item>> = if reference {
            Box::new(Reference { reader: r, name: "m".into(), count: 0, line: Vec::new(), pending_start: false, done: false })
        } else {
            Box::new(MboxReader::new(r, "m".into()))
        };
        it.map(|m| m.unwrap()).map(|m| (m.source, m.raw, m.fingerprint, m.size)).collect()
    }

    /// The buffer-scanning reader equals the line-by-line reference on random mboxes built of
    /// the pieces that matter (From lines, quoted lines, blank lines, CRs), on the bundled mbox,
    /// and on a line longer than `MAX_LINE`, whatever the size of the read buffer.
    #[test]
    fn reader_equals_the_line_by_line_reference() {
        let mut rng = crate::test_support::Rng::new(0x4D42_4F58_0001);
        let alphabet: Vec<String> = ["From ", "From x\n", ">From ", ">>From y", "\n", "\r\n", "\n\n", "a", "b c", "\r", ">", "F", "\nFrom z\n"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut inputs: Vec<Vec<u8>> = (0..3000).map(|_| rng.string(&alphabet, 40)).collect();
        inputs.push(std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/basic.mbox")).unwrap());
        let mut long = b"From a\nA: b\n\n".to_vec();
        long.extend(std::iter::repeat_n(b'x', MAX_LINE - 1));
        long.extend_from_slice(b"From inside the long line\nend\n\nFrom b\nC: d\n\ne\n");
        inputs.push(long);
        for input in &inputs {
            for capacity in [1, 3, 8, 64, 8 * 1024] {
                if input.len() > 100_000 && capacity < 64 {
                    continue;
                }
                assert_eq!(
                    messages_of(input, capacity, false),
                    messages_of(input, capacity, true),
                    "buffer of {capacity} bytes, input {:?}",
                    String::from_utf8_lossy(&input[..input.len().min(300)])
                );
            }
        }
    }

    fn read(s: &str) -> Vec<(String, String)> {
        MboxReader::new(Box::new(std::io::Cursor::new(s.as_bytes().to_vec())), "m".into())
            .map(|r| r.unwrap())
            .map(|m| (m.source, String::from_utf8(m.raw).unwrap()))
            .collect()
    }

    #[test]
    fn splits_and_unquotes() {
        let m = read("From a@b Thu Jan  1 00:00:00 2026\nSubject: one\n\nbody\n>From here\n>>From deeper\n\nFrom c@d Thu Jan  1 00:00:00 2026\nSubject: two\n\nx\n");
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].0, "m#1");
        assert_eq!(m[0].1, "Subject: one\n\nbody\nFrom here\n>From deeper\n");
        assert_eq!(m[1].0, "m#2");
        assert_eq!(m[1].1, "Subject: two\n\nx\n");
    }

    #[test]
    fn a_single_message_keeps_the_file_name() {
        let one = |s: &str| {
            numbered(MboxReader::new(Box::new(std::io::Cursor::new(s.as_bytes().to_vec())), "f.eml".into()), "f.eml".into())
                .map(|r| r.unwrap().source)
                .collect::<Vec<_>>()
        };
        assert_eq!(one("From x\nA: b\n\nc\n"), vec!["f.eml"]);
        assert_eq!(one("From x\nA: b\n\nc\n\nFrom y\nA: d\n\ne\n"), vec!["f.eml#1", "f.eml#2"]);
    }

    #[test]
    fn from_inside_body_without_blank_line_is_body() {
        let m = read("From a@b x\nSubject: one\n\nline\nFrom the desk of\n");
        assert_eq!(m.len(), 1);
        assert!(m[0].1.contains("From the desk of"));
    }

    #[test]
    fn fingerprint_ignores_crlf() {
        let a: Vec<_> = MboxReader::new(Box::new(std::io::Cursor::new(b"From x\nA: b\n\nc\n".to_vec())), "m".into()).collect();
        let b: Vec<_> = MboxReader::new(Box::new(std::io::Cursor::new(b"From x\r\nA: b\r\n\r\nc\r\n".to_vec())), "m".into()).collect();
        assert_eq!(a[0].as_ref().unwrap().fingerprint, b[0].as_ref().unwrap().fingerprint);
    }
}
