//! Streaming mbox reader (mboxo and mboxrd). One message in memory at a time, so memory does
//! not grow with the file. A `From ` line at the start of the file or after a blank line starts
//! a message; `>From ` quoting (any depth) loses one `>`.

use super::{Collector, Item, SourceError};
use std::io::BufRead;

/// Longest line kept whole; longer lines are read in pieces (still hashed and kept in bounds).
const MAX_LINE: usize = 1024 * 1024;

pub struct MboxReader {
    reader: Box<dyn BufRead>,
    name: String,
    count: usize,
    line: Vec<u8>,
    /// The `From ` line of the next message has been read already.
    pending_start: bool,
    done: bool,
}

impl MboxReader {
    pub fn new(reader: Box<dyn BufRead>, name: String) -> Self {
        MboxReader { reader, name, count: 0, line: Vec::with_capacity(1024), pending_start: false, done: false }
    }

    /// Read one line (with its `\n`), at most `MAX_LINE` bytes. Returns false at EOF.
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

fn is_from_line(line: &[u8]) -> bool {
    line.starts_with(b"From ")
}

fn is_blank(line: &[u8]) -> bool {
    line == b"\n" || line == b"\r\n"
}

impl Iterator for MboxReader {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        if self.done {
            return None;
        }
        let mut msg = Collector::new();
        // A blank line is held back: it belongs to the message only if no `From ` line follows.
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
                // Junk before the first From line: treat as the start of a message anyway.
                started = true;
            }
            if let Some(b) = held_blank.take() {
                msg.push(&b);
            }
            if is_blank(&self.line) {
                held_blank = Some(self.line.clone());
                continue;
            }
            // mboxrd: ">From " / ">>From " lose one '>'.
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
