//! The MIME walk of a bounce: the part tree of the top-level message, leaf by leaf, each body
//! decoded as mail-parser decodes it (its own header parser, transfer decoders and charset
//! tables do the work). What it does not do is parse the returned original message
//! (`message/rfc822`): extraction reads only that message's header block, and its body, often
//! a whole newsletter in quoted-printable HTML, cost more to parse than the bounce itself.
//! Such a part is skipped with one boundary search. So is a part no reader wants (an image, an
//! attachment: see `walk`'s `reads`), and an HTML part is decoded only when asked for: read
//! only when a bounce has no plain text, it is often the largest part of one.

use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::decoders::charsets::DecoderFnc;
use mail_parser::parsers::MessageStream;
use mail_parser::{ContentType, GetHeader, Header, HeaderName, HeaderValue};
use std::borrow::Cow;

/// Deepest multipart nesting walked; a deeper multipart is kept as an opaque part.
const MAX_DEPTH: usize = 64;

/// One part of the tree, in document order; part 0 is the message itself.
pub struct Part<'x> {
    pub headers: Vec<Header<'x>>,
    pub body: Body<'x>,
}

pub enum Body<'x> {
    /// A multipart container: its children follow it.
    Multipart,
    /// A returned message, transfer-decoded, not parsed.
    Message(Cow<'x, [u8]>),
    Text(Cow<'x, str>),
    /// HTML, decoded on demand (`Html::text`).
    Html(Html<'x>),
    Binary(Cow<'x, [u8]>),
    /// A part nobody reads: its end was found, its bytes were not decoded.
    Unread,
}

/// An HTML part, decoded when its text is asked for.
pub enum Html<'x> {
    /// Decoded by the walk: in a multipart whose boundary parameter is empty, where the
    /// decoders' own boundary handling decides where the part ends.
    Decoded(Cow<'x, str>),
    /// Where the body starts and ends, and how it is encoded.
    Encoded {
        raw: &'x [u8],
        start: usize,
        /// End of the body (before the line break ahead of the delimiter).
        end: usize,
        cte: Cte,
        /// The enclosing multipart's boundary (the decoders stop at it).
        boundary: Option<Vec<u8>>,
        charset: Charset,
    },
}

impl<'x> Html<'x> {
    /// The decoded text: the walk's decoders, run from the body's start as the walk would have
    /// run them. A broken transfer encoding leaves the raw bytes, still read as HTML (the walk
    /// of a part decoded at once makes them text, as mail-parser does).
    pub fn text(&self) -> Cow<'x, str> {
        let (raw, start, end, cte, boundary, charset) = match self {
            Html::Decoded(t) => return t.clone(),
            Html::Encoded { raw, start, end, cte, boundary, charset } => (*raw, *start, *end, *cte, boundary, *charset),
        };
        let body = &raw[start..end];
        let bytes = match cte {
            Cte::None => Cow::Borrowed(body),
            cte => {
                let mut stream = MessageStream::new(raw);
                stream.skip_bytes(start);
                match transfer_decoded(&mut stream, cte, boundary.as_deref().unwrap_or(b"")) {
                    (usize::MAX, _) => Cow::Borrowed(body),
                    (_, bytes) => bytes,
                }
            }
        };
        decode_text(bytes, charset)
    }
}

/// A part's `charset` parameter: mail-parser's decoder for it, and whether that decoder reads
/// ASCII as ASCII.
#[derive(Clone, Copy)]
pub struct Charset {
    decoder: Option<DecoderFnc>,
    keeps_ascii: bool,
}

impl Charset {
    fn of(label: Option<&str>) -> Charset {
        let decoder = label.and_then(|l| charset_decoder(l.as_bytes()));
        Charset { decoder, keeps_ascii: label.is_none_or(keeps_ascii) }
    }
}

/// Whether the charset `label` names reads every ASCII byte as itself: all do (the single-byte
/// tables, the EUC, GB, Big5 and Shift_JIS decoders) but UTF-16, UTF-7, the ISO-2022 family
/// (ASCII bytes after an escape) and those mail-parser maps to its replacement decoder.
fn keeps_ascii(label: &str) -> bool {
    const NOT: [&[u8]; 9] = [b"utf7", b"utf16", b"utf32", b"ucs", b"unicode", b"2022", b"hz", b"replacement", b"ebcdic"];
    // Lower case without '-' and '_', in place (a label longer than any mail-parser knows is
    // left to the decoder).
    let mut buf = [0u8; 48];
    let mut n = 0;
    for &b in label.as_bytes().iter().filter(|&&b| b != b'-' && b != b'_') {
        let Some(slot) = buf.get_mut(n) else { return false };
        *slot = b.to_ascii_lowercase();
        n += 1;
    }
    let l = &buf[..n];
    !NOT.iter().any(|w| l.windows(w.len()).any(|x| x == *w))
}

/// Bytes as text in `charset` (mail-parser's decoder), else UTF-8 with invalid bytes replaced.
/// ASCII text in a charset that keeps ASCII is taken as it is: the decoders go byte by byte,
/// and most bounce text is ASCII.
fn decode_text<'x>(bytes: Cow<'x, [u8]>, charset: Charset) -> Cow<'x, str> {
    let decoder = if charset.keeps_ascii && bytes.is_ascii() { None } else { charset.decoder };
    match (bytes, decoder) {
        (Cow::Owned(v), Some(d)) => d(&v).into(),
        (Cow::Owned(v), None) => String::from_utf8(v).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()).into(),
        (Cow::Borrowed(b), Some(d)) => d(b).into(),
        (Cow::Borrowed(b), None) => crate::bounds::lossy(b),
    }
}

impl<'x> Part<'x> {
    pub fn content_type(&self) -> Option<&ContentType<'x>> {
        self.headers.header_value(&HeaderName::ContentType).and_then(|c| c.as_content_type())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mime {
    Multipart,
    TextPlain,
    TextHtml,
    TextOther,
    Message,
    Other,
}

/// mail-parser's classification of a part (`mime_type` in its message parser).
fn classify(ct: Option<&ContentType<'_>>, in_digest: bool) -> Mime {
    match ct {
        Some(ct) => match ct.ctype() {
            "multipart" => Mime::Multipart,
            "text" => match ct.subtype() {
                Some("plain") => Mime::TextPlain,
                Some("html") => Mime::TextHtml,
                _ => Mime::TextOther,
            },
            "message" if matches!(ct.subtype(), Some("rfc822") | Some("global")) => Mime::Message,
            _ => Mime::Other,
        },
        None if in_digest => Mime::Message,
        None => Mime::TextPlain,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Cte {
    None,
    Base64,
    QuotedPrintable,
}

struct Level {
    boundary: Option<Vec<u8>>,
    /// Finds `--boundary` (built once per multipart, not once per part).
    delimiter: Option<memchr::memmem::Finder<'static>>,
    in_digest: bool,
}

impl Level {
    fn new(boundary: Option<Vec<u8>>, in_digest: bool) -> Level {
        let delimiter = boundary.as_ref().filter(|b| !b.is_empty()).map(|b| memchr::memmem::Finder::new(&[&b"--"[..], b].concat()).into_owned());
        Level { boundary, delimiter, in_digest }
    }
}

/// Walk `raw`, stopping after `max_parts` parts. `None` when there is no header at all.
/// `reads(content type)` says whether the bytes of a part that is neither text, nor a message,
/// nor the first part are read by anyone; those that are not are `Body::Unread`.
pub fn walk<'x>(raw: &'x [u8], max_parts: usize, reads: fn(&ContentType<'_>) -> bool) -> Option<Vec<Part<'x>>> {
    let mut stream = MessageStream::new(raw);
    let mut parts: Vec<Part<'x>> = Vec::new();
    let mut stack: Vec<Level> = Vec::new();
    let mut level = Level::new(None, false);
    // Sized for a message's header (a few dozen fields) and then a part's (a few): a vector
    // grown one push at a time was reallocated three or four times per part.
    let mut headers: Vec<Header<'x>> = Vec::with_capacity(32);

    'outer: while parts.len() < max_parts {
        let mut pos = stream.offset();
        let complete = parse_headers(raw, &mut pos, &mut headers);
        stream.skip_bytes(pos - stream.offset());
        if !complete {
            break;
        }
        let offset_body = pos;
        let ct = headers.header_value(&HeaderName::ContentType).and_then(|c| c.as_content_type());
        let mut mime = classify(ct, level.in_digest);

        if mime == Mime::Multipart {
            match ct.and_then(|c| c.attribute("boundary")) {
                Some(b) if stack.len() < MAX_DEPTH => {
                    if stream.seek_next_part(b.as_bytes()) {
                        let in_digest = ct.and_then(|c| c.subtype()) == Some("digest");
                        let boundary = Some(b.as_bytes().to_vec());
                        parts.push(Part { headers: std::mem::replace(&mut headers, Vec::with_capacity(8)), body: Body::Multipart });
                        stack.push(std::mem::replace(&mut level, Level::new(boundary, in_digest)));
                        stream.skip_crlf();
                        continue;
                    }
                    mime = Mime::TextOther;
                }
                _ => mime = Mime::Other,
            }
        }

        let cte = match headers.header_value(&HeaderName::ContentTransferEncoding) {
            Some(HeaderValue::Text(e)) if e.eq_ignore_ascii_case("base64") => Cte::Base64,
            Some(HeaderValue::Text(e)) if e.eq_ignore_ascii_case("quoted-printable") => Cte::QuotedPrintable,
            _ => Cte::None,
        };
        let charset = || Charset::of(ct.and_then(|c| c.attribute("charset")));
        // Not decoded now: HTML, and a part nobody reads. Only the end of the part is found, by
        // the delimiter search the decoders would have stopped at (the first `--boundary`;
        // an empty boundary, which they treat otherwise, is left to them).
        let deferred = match mime {
            Mime::TextHtml => true,
            Mime::Other => !parts.is_empty() && !ct.is_some_and(reads),
            _ => false,
        };
        let body = if deferred && (level.boundary.is_none() || level.delimiter.is_some()) {
            let html_boundary = if mime == Mime::TextHtml { level.boundary.clone() } else { None };
            let end = match plain_part(&mut stream, level.delimiter.as_ref()).0 {
                usize::MAX => {
                    stream.seek_end();
                    level.boundary = None;
                    level.delimiter = None;
                    raw.len()
                }
                end => end,
            };
            if mime == Mime::TextHtml {
                Body::Html(Html::Encoded { raw, start: offset_body, end, cte, boundary: html_boundary, charset: charset() })
            } else {
                Body::Unread
            }
        } else {
            decoded_body(&mut stream, raw, offset_body, mime, cte, &mut level, charset)
        };
        parts.push(Part { headers: std::mem::replace(&mut headers, Vec::with_capacity(8)), body });

        if level.boundary.is_some() {
            // After a part: the next part of this multipart, or its end and the next part of an
            // enclosing one.
            loop {
                if !stream.is_multipart_end() {
                    continue 'outer;
                }
                match stack.pop() {
                    Some(up) => {
                        level = up;
                        if let Some(b) = &level.boundary {
                            if stream.seek_next_part_offset(b).is_some() {
                                continue;
                            }
                        }
                        break 'outer;
                    }
                    None => break 'outer,
                }
            }
        } else if stream.offset() >= raw.len() {
            break;
        }
    }

    if parts.is_empty() {
        if headers.is_empty() {
            return None;
        }
        // A message without a body.
        parts.push(Part { headers, body: Body::Text(Cow::Borrowed("")) });
    }
    Some(parts)
}

/// A part's body decoded now, up to the end of the part (the stream is left after it).
fn decoded_body<'x>(
    stream: &mut MessageStream<'x>,
    raw: &'x [u8],
    offset_body: usize,
    mut mime: Mime,
    cte: Cte,
    level: &mut Level,
    charset: impl FnOnce() -> Charset,
) -> Body<'x> {
    let (end, mut bytes) = match cte {
        Cte::None => plain_part(stream, level.delimiter.as_ref()),
        cte => transfer_decoded(stream, cte, level.boundary.as_deref().unwrap_or(b"")),
    };
    if end == usize::MAX {
        // Broken encoding or no closing boundary: the raw bytes, read as text. A returned
        // message without transfer encoding stays a message, running to the end (mail-parser
        // parses it in place, to the end of the input).
        if cte == Cte::None && mime == Mime::Message {
            // keep it a message
        } else if mime != Mime::TextPlain {
            mime = Mime::TextOther;
        }
        let (end, found) = stream.seek_part_end(level.boundary.as_deref());
        bytes = Cow::Borrowed(raw.get(offset_body..end).unwrap_or_default());
        if !found {
            level.boundary = None;
            level.delimiter = None;
        }
    }
    match mime {
        Mime::Message => Body::Message(bytes),
        Mime::TextPlain | Mime::TextOther => Body::Text(decode_text(bytes, charset())),
        Mime::TextHtml => Body::Html(Html::Decoded(decode_text(bytes, charset()))),
        Mime::Multipart | Mime::Other => Body::Binary(bytes),
    }
}

/// A base64 or quoted-printable body from the stream's position up to `boundary`: its end
/// offset (`usize::MAX` when the encoding is broken or the boundary missing) and its bytes.
fn transfer_decoded<'x>(stream: &mut MessageStream<'x>, cte: Cte, boundary: &[u8]) -> (usize, Cow<'x, [u8]>) {
    match cte {
        Cte::Base64 => stream.decode_base64_mime(boundary),
        Cte::QuotedPrintable => quoted_printable_part(stream, boundary),
        Cte::None => unreachable!("a part without transfer encoding is read by `plain_part`"),
    }
}

type FieldParser<'x> = fn(&mut MessageStream<'x>) -> HeaderValue<'x>;

/// The header fields extraction and the walk read, with the parser of each; every other field
/// is kept as a name and a raw byte range, never decoded.
fn field_parser<'x>(key: &[u8]) -> Option<(HeaderName<'x>, FieldParser<'x>)> {
    Some(match key {
        b"content-type" => (HeaderName::ContentType, |s| s.parse_content_type()),
        b"content-transfer-encoding" => (HeaderName::ContentTransferEncoding, |s| s.parse_unstructured()),
        b"from" => (HeaderName::From, |s| s.parse_address()),
        b"to" => (HeaderName::To, |s| s.parse_address()),
        b"subject" => (HeaderName::Subject, |s| s.parse_unstructured()),
        b"message-id" => (HeaderName::MessageId, |s| s.parse_id()),
        b"date" => (HeaderName::Date, |s| s.parse_date()),
        _ => return None,
    })
}

/// One header block from `*pos`: mail-parser's `parse_headers` (same fields, same offsets, same
/// tolerance of broken lines) with lines found by `memchr` instead of byte by byte, which made
/// it the costliest step of the walk. Returns false when the input ends inside the block.
fn parse_headers<'x>(raw: &'x [u8], pos: &mut usize, out: &mut Vec<Header<'x>>) -> bool {
    const MAX_NAME: usize = 34;
    loop {
        // Blank line (end of the block), or the first byte of a field name.
        loop {
            match raw.get(*pos) {
                None => return false,
                Some(b'\n') => {
                    *pos += 1;
                    return true;
                }
                Some(c) if c.is_ascii_whitespace() => *pos += 1,
                Some(_) => break,
            }
        }
        let field = *pos;
        // The name runs to the first colon after a non-blank byte; a line break first means no
        // field at all. Blanks inside the name are not part of its key.
        let (mut first, mut last) = (usize::MAX, 0);
        let mut key = [0u8; MAX_NAME];
        let mut key_len = 0;
        let mut broken = false;
        while let Some(&c) = raw.get(*pos) {
            *pos += 1;
            match c {
                b':' if first != usize::MAX => break,
                b':' => {}
                b'\n' => {
                    broken = true;
                    break;
                }
                c if !c.is_ascii_whitespace() => {
                    if first == usize::MAX {
                        first = *pos - 1;
                    }
                    last = *pos;
                    if let Some(k) = key.get_mut(key_len) {
                        *k = c.to_ascii_lowercase();
                    }
                    key_len += 1;
                }
                _ => {}
            }
        }
        if broken || first == usize::MAX {
            if *pos >= raw.len() {
                return false;
            }
            continue;
        }
        let start = *pos;
        let parser = if key_len <= MAX_NAME { field_parser(&key[..key_len]) } else { None };
        let (name, value) = match parser {
            Some((name, parse)) => {
                let mut s = MessageStream::new(raw);
                s.skip_bytes(start);
                let value = parse(&mut s);
                *pos = s.offset();
                (name, value)
            }
            None => {
                // Skip the value: up to a line break not followed by a folding blank.
                loop {
                    match memchr::memchr(b'\n', &raw[*pos..]) {
                        Some(i) => {
                            *pos += i + 1;
                            if matches!(raw.get(*pos), Some(b' ' | b'\t')) {
                                *pos += 1;
                                continue;
                            }
                        }
                        None => *pos = raw.len(),
                    }
                    break;
                }
                (HeaderName::Other(crate::bounds::lossy(&raw[first..last])), HeaderValue::Empty)
            }
        };
        out.push(Header { name, value, offset_field: field as u32, offset_start: start as u32, offset_end: *pos as u32 });
    }
}

/// A quoted-printable part, up to the boundary: mail-parser's `decode_quoted_printable_mime`,
/// result for result (its quirks included), with runs of ordinary bytes copied at once instead
/// of pushed one by one. Returns the end offset (`usize::MAX` when a boundary was expected and
/// not found, or on `==`; the stream is then left where it was) and the decoded bytes.
fn quoted_printable_part<'x>(stream: &mut MessageStream<'x>, boundary: &[u8]) -> (usize, Cow<'x, [u8]>) {
    use mail_parser::decoders::quoted_printable::HEX_MAP;
    /// Bytes the state machine must see one by one.
    static SPECIAL: [bool; 256] = {
        let mut t = [false; 256];
        t[b'=' as usize] = true;
        t[b'\n' as usize] = true;
        t[b'\r' as usize] = true;
        t[b'-' as usize] = true;
        t
    };
    #[derive(PartialEq)]
    enum State {
        None,
        Eq,
        Hex1(i8),
    }
    let start = stream.offset();
    let data = stream.bytes(start..stream.len());
    let mut buf: Vec<u8> = Vec::with_capacity(data.len());
    let mut state = State::None;
    let (mut last, mut before_last) = (0u8, 0u8);
    let mut ws_count = 0usize;
    let mut end_pos = 0usize;
    let mut crlf: &[u8] = b"\n";
    let mut i = 0;
    while i < data.len() {
        if state == State::None && !SPECIAL[data[i] as usize] {
            // A run of ordinary bytes: copied whole; trailing blanks counted for removal at
            // the line end.
            let run_end = data[i..].iter().position(|&b| SPECIAL[b as usize]).map_or(data.len(), |n| i + n);
            let run = &data[i..run_end];
            buf.extend_from_slice(run);
            let trailing = run.iter().rev().take_while(|b| b.is_ascii_whitespace()).count();
            ws_count = if trailing == run.len() { ws_count + trailing } else { trailing };
            before_last = if run.len() >= 2 { run[run.len() - 2] } else { last };
            last = run[run.len() - 1];
            i = run_end;
            continue;
        }
        let ch = data[i];
        i += 1;
        match ch {
            b'=' => {
                if state == State::None {
                    state = State::Eq;
                } else {
                    return (usize::MAX, Cow::Borrowed(b""));
                }
            }
            b'\n' => {
                end_pos = if last == b'\r' { i - 2 } else { i - 1 };
                if state == State::Eq {
                    state = State::None;
                } else {
                    buf.truncate(buf.len() - ws_count);
                    buf.extend_from_slice(crlf);
                }
                ws_count = 0;
            }
            b'\r' => crlf = b"\r\n",
            b'-' if !boundary.is_empty() && last == b'-' && data[i..].starts_with(boundary) => {
                i += boundary.len();
                if before_last == b'\n' {
                    // (mail-parser subtracts without a check; in release builds an underflow
                    // wraps and truncates nothing, which is what this does.)
                    if let Some(n) = buf.len().checked_sub(crlf.len() + 1) {
                        buf.truncate(n);
                    }
                } else {
                    buf.truncate(buf.len().saturating_sub(1));
                    end_pos = i - boundary.len() - 2;
                }
                stream.skip_bytes(i);
                return (start + end_pos, Cow::Owned(buf));
            }
            _ => match state {
                State::None => {
                    ws_count = if ch.is_ascii_whitespace() { ws_count + 1 } else { 0 };
                    buf.push(ch);
                }
                State::Eq => {
                    let h = HEX_MAP[ch as usize];
                    if h != -1 {
                        state = State::Hex1(h);
                    } else if !ch.is_ascii_whitespace() {
                        state = State::None;
                        buf.extend_from_slice(&[b'=', ch]);
                        ws_count = 0;
                    }
                }
                State::Hex1(h1) => {
                    let h2 = HEX_MAP[ch as usize];
                    state = State::None;
                    if h2 != -1 {
                        buf.push(((h1 as u8) << 4) | h2 as u8);
                    } else {
                        buf.extend_from_slice(&[b'=', last, ch]);
                    }
                    ws_count = 0;
                }
            },
        }
        before_last = last;
        last = ch;
    }
    if boundary.is_empty() {
        stream.skip_bytes(data.len());
        (start + data.len(), Cow::Owned(buf))
    } else {
        (usize::MAX, Cow::Owned(buf))
    }
}

/// A part without transfer encoding, up to the boundary: mail-parser's `mime_part`, with the
/// boundary found by `memmem` instead of byte by byte. Returns the end offset (`usize::MAX`
/// when a boundary was expected and not found; the stream is then left where it was) and the
/// bytes.
fn plain_part<'x>(stream: &mut MessageStream<'x>, delimiter: Option<&memchr::memmem::Finder<'_>>) -> (usize, Cow<'x, [u8]>) {
    let start = stream.offset();
    let data = stream.bytes(start..stream.len());
    let Some(delimiter) = delimiter else {
        stream.seek_end();
        return (stream.offset(), Cow::Borrowed(data));
    };
    match delimiter.find(data) {
        Some(q) => {
            // The part ends before the line break that precedes the delimiter, or at the
            // delimiter itself when it does not start a line.
            let end = if q > 0 && data[q - 1] == b'\n' {
                if q > 1 && data[q - 2] == b'\r' {
                    q - 2
                } else {
                    q - 1
                }
            } else {
                q
            };
            stream.skip_bytes(q + delimiter.needle().len());
            (start + end, Cow::Borrowed(&data[..end]))
        }
        None => (usize::MAX, Cow::Borrowed(data)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::{MessageParser, MimeHeaders, PartType};

    fn parser() -> MessageParser {
        MessageParser::new().with_mime_headers().default_header_raw()
    }

    /// Header fields as mail-parser reads them: same names (by key), values and offsets.
    fn same_headers(raw: &[u8]) {
        let p = MessageParser::new()
            .header_content_type(HeaderName::ContentType)
            .header_text(HeaderName::ContentTransferEncoding)
            .header_date(HeaderName::Date)
            .header_address(HeaderName::From)
            .header_address(HeaderName::To)
            .header_text(HeaderName::Subject)
            .header_id(HeaderName::MessageId)
            .default_header_ignore();
        let mut theirs = Vec::new();
        let their_end = mail_parser::parsers::MessageStream::new(raw).parse_headers(&p, &mut theirs);
        let (mut pos, mut ours) = (0, Vec::new());
        let our_end = parse_headers(raw, &mut pos, &mut ours);
        assert_eq!(our_end, their_end, "{:?}", String::from_utf8_lossy(raw));
        assert_eq!(ours.len(), theirs.len(), "{:?}", String::from_utf8_lossy(raw));
        for (a, b) in ours.iter().zip(&theirs) {
            assert_eq!(a.name.as_str().to_ascii_lowercase(), b.name.as_str().to_ascii_lowercase());
            assert_eq!(a.value, b.value);
            assert_eq!((a.offset_field, a.offset_start, a.offset_end), (b.offset_field, b.offset_start, b.offset_end));
        }
    }

    #[test]
    fn quoted_printable_matches_mail_parser() {
        let alphabet: Vec<[u8; 1]> = b"=\r\n-AbF0 9\tx-=".iter().map(|&b| [b]).collect();
        let mut rng = crate::test_support::Rng::new(0x2545_F491_4F6C_DD1D);
        for round in 0..50_000 {
            let data = rng.string(&alphabet, 47);
            let boundary: &[u8] = if round % 3 == 0 { b"" } else { b"-A" };
            let mut a = MessageStream::new(&data);
            let mut b = MessageStream::new(&data);
            let ours = quoted_printable_part(&mut a, boundary);
            let theirs = b.decode_quoted_printable_mime(boundary);
            assert_eq!(ours, theirs, "{:?} / {:?}", String::from_utf8_lossy(&data), String::from_utf8_lossy(boundary));
            assert_eq!(a.offset(), b.offset(), "{:?}", String::from_utf8_lossy(&data));
        }
    }

    /// Every charset label mail-parser knows: where ASCII is taken as it is, its decoder reads
    /// ASCII as ASCII, on every ASCII byte.
    #[test]
    fn ascii_shortcut_only_where_the_decoder_keeps_ascii() {
        let all: Vec<u8> = (0u8..0x80).collect();
        let mut rng = crate::test_support::Rng::new(0x2545_F491_4F6C_DD1D);
        let alphabet: Vec<[u8; 1]> = all.iter().map(|&b| [b]).collect();
        let probes: Vec<Vec<u8>> = std::iter::once(all.clone()).chain((0..200).map(|_| rng.string(&alphabet, 60))).collect();
        let (mut kept, mut refused) = (0, 0);
        for label in CHARSET_LABELS.iter().flat_map(|l| [l.to_string(), l.replace('_', "-"), l.to_ascii_uppercase()]) {
            let Some(decoder) = charset_decoder(label.as_bytes()) else { continue };
            if keeps_ascii(&label) {
                kept += 1;
                for p in &probes {
                    assert_eq!(decoder(p).as_bytes(), &p[..], "{label}");
                }
            } else {
                refused += 1;
            }
        }
        assert!(kept > 600 && refused > 50, "{kept} {refused}");
        // A label that keeps ASCII, with ASCII and with non-ASCII text.
        let latin1 = Charset::of(Some("ISO-8859-1"));
        assert!(matches!(decode_text(Cow::Borrowed(b"user unknown"), latin1), Cow::Borrowed("user unknown")));
        assert_eq!(decode_text(Cow::Borrowed(b"caf\xe9"), latin1), "café");
        // UTF-16: ASCII bytes are not ASCII text, the decoder reads them.
        assert_eq!(decode_text(Cow::Borrowed(b"a\0b\0"), Charset::of(Some("utf-16le"))), "ab");
    }

    /// The labels of mail-parser 0.11's charset table (`decoders/charsets/map.rs`).
    const CHARSET_LABELS: &[&str] = &[
        "850", "866", "ansi_x3.4_1968", "arabic", "ascii", "asmo_708", "big5", "big5_hkscs", "chinese", "cn_big5",
        "cp1250", "cp1251", "cp1252", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp1258", "cp819", "cp850",
        "cp866", "cp936", "csbig5", "cseuckr", "cseucpkdfmtjapanese", "csgb18030", "csgb2312", "csgbk", "csibm866",
        "csiso2022jp", "csiso2022kr", "csiso58gb231280", "csiso885913", "csiso885914", "csiso885915", "csiso885916",
        "csiso88596e", "csiso88596i", "csiso88598e", "csiso88598i", "csisolatin1", "csisolatin2", "csisolatin3",
        "csisolatin4", "csisolatin5", "csisolatin6", "csisolatin9", "csisolatinarabic", "csisolatincyrillic",
        "csisolatingreek", "csisolatinhebrew", "cskoi8r", "cskoi8u", "csksc56011987", "csmacintosh",
        "cspc850multilingual", "csshiftjis", "cstis620", "csunicode", "csutf16", "csutf16be", "csutf16le", "csutf7",
        "cswindows1250", "cswindows1251", "cswindows1252", "cswindows1253", "cswindows1254", "cswindows1255",
        "cswindows1256", "cswindows1257", "cswindows1258", "cswindows874", "cyrillic", "dos_874", "ecma_114",
        "ecma_118", "elot_928", "euc_jp", "euc_kr", "extended_unix_code_packed_format_for_japanese", "gb18030",
        "gb2312", "gb_2312", "gb_2312_80", "gbk", "greek", "greek8", "hebrew", "hz_gb_2312", "ibm819", "ibm850",
        "ibm866", "iso88591", "iso885910", "iso885911", "iso885913", "iso885914", "iso885915", "iso88592", "iso88593",
        "iso88594", "iso88595", "iso88596", "iso88597", "iso88598", "iso88599", "iso8859_1", "iso8859_10", "iso8859_11",
        "iso8859_13", "iso8859_14", "iso8859_15", "iso8859_2", "iso8859_3", "iso8859_4", "iso8859_5", "iso8859_6",
        "iso8859_7", "iso8859_8", "iso8859_9", "iso_10646_ucs_2", "iso_2022_cn", "iso_2022_cn_ext", "iso_2022_jp",
        "iso_2022_kr", "iso_8859_1", "iso_8859_10", "iso_8859_10:1992", "iso_8859_11", "iso_8859_13", "iso_8859_14",
        "iso_8859_14:1998", "iso_8859_15", "iso_8859_16", "iso_8859_16:2001", "iso_8859_1:1987", "iso_8859_2",
        "iso_8859_2:1987", "iso_8859_3", "iso_8859_3:1988", "iso_8859_4", "iso_8859_4:1988", "iso_8859_5",
        "iso_8859_5:1988", "iso_8859_6", "iso_8859_6:1987", "iso_8859_6_e", "iso_8859_6_i", "iso_8859_7",
        "iso_8859_7:1987", "iso_8859_8", "iso_8859_8:1988", "iso_8859_8_e", "iso_8859_8_i", "iso_8859_9",
        "iso_8859_9:1989", "iso_celtic", "iso_ir_100", "iso_ir_101", "iso_ir_109", "iso_ir_110", "iso_ir_126",
        "iso_ir_127", "iso_ir_138", "iso_ir_144", "iso_ir_148", "iso_ir_149", "iso_ir_157", "iso_ir_199", "iso_ir_226",
        "iso_ir_58", "koi", "koi8", "koi8_r", "koi8_ru", "koi8_u", "korean", "ks_c_5601_1987", "ks_c_5601_1989",
        "ksc5601", "ksc_5601", "l1", "l10", "l2", "l3", "l4", "l5", "l6", "l8", "l9", "latin1", "latin10", "latin2",
        "latin3", "latin4", "latin5", "latin6", "latin8", "latin_9", "logical", "mac", "macintosh", "ms932", "ms936",
        "ms_kanji", "replacement", "shift_jis", "sjis", "sun_eu_greek", "tis_620", "ucs_2", "unicode", "unicodefeff",
        "unicodefffe", "us_ascii", "utf_16", "utf_16be", "utf_16le", "utf_7", "visual", "windows_1250", "windows_1251",
        "windows_1252", "windows_1253", "windows_1254", "windows_1255", "windows_1256", "windows_1257", "windows_1258",
        "windows_31j", "windows_874", "windows_936", "windows_949", "x_cp1250", "x_cp1251", "x_cp1252", "x_cp1253",
        "x_cp1254", "x_cp1255", "x_cp1256", "x_cp1257", "x_cp1258", "x_euc_jp", "x_gbk", "x_mac_cyrillic",
        "x_mac_roman", "x_mac_ukrainian", "x_sjis", "x_user_defined", "x_x_big5",
    ];

    #[test]
    fn header_scan_matches_mail_parser() {
        for raw in [
            &b"From: \"A\" <a@b.test>\r\nTo: c@d.test, e@f.test\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n folded\r\nReceived: from x\r\n\tby y\r\nContent-Type: multipart/report;\r\n boundary=\"q\"\r\n\r\nbody"[..],
            b"Date: Thu, 1 Jan 2026 00:00:00 +0000\nMessage-ID: <x@y>\nX-Long-Name-That-Is-Longer-Than-Thirty-Four-Bytes: v\n\n",
            b"no colon on this line\nContent-Type: text/plain\n\n",
            b": leading colon: value\nCONTENT-TRANSFER-ENCODING : base64\n\n",
            b"  Subject: indented\nFrom\n",
            b"Subject: at eof",
            b"X-A: 1\n \n\nbody",
            b"",
            b"\n",
        ] {
            same_headers(raw);
        }
        // Every fixture's header block too.
        for p in crate::test_support::fixture_files().iter().filter(|p| p.extension().is_some_and(|x| x == "eml")) {
            same_headers(&std::fs::read(p).unwrap());
        }
    }

    /// The walk's leaves against mail-parser's own parse of the same bytes.
    fn same_as_mail_parser(raw: &[u8]) {
        let p = parser();
        let ours = walk(raw, usize::MAX, |_| true).expect("walk");
        let theirs = p.parse(raw).expect("parse");
        assert_eq!(ours.len(), theirs.parts.len(), "part count");
        for (i, (a, b)) in ours.iter().zip(&theirs.parts).enumerate() {
            assert_eq!(a.content_type().map(|c| c.ctype()), b.content_type().map(|c| c.ctype()), "part {i}");
            match (&a.body, &b.body) {
                (Body::Multipart, PartType::Multipart(_)) => {}
                (Body::Text(x), PartType::Text(y)) => assert_eq!(x, y, "part {i}"),
                (Body::Html(x), PartType::Html(y)) => assert_eq!(&x.text(), y, "part {i}"),
                (Body::Binary(x), PartType::Binary(y) | PartType::InlineBinary(y)) => assert_eq!(x, y, "part {i}"),
                (Body::Message(x), PartType::Message(m)) => assert_eq!(&x[..], m.raw_message(), "part {i}"),
                _ => panic!("part {i}: body kinds differ in {}", String::from_utf8_lossy(raw)),
            }
        }
    }

    #[test]
    fn report_with_returned_message_matches_mail_parser() {
        let raw = b"From: MAILER-DAEMON@x.test\r\nTo: a@b.test\r\nContent-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"B1\"\r\n\r\npreamble\r\n--B1\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nUnzustellbar: caf=E9\r\n--B1\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; u@x.test\r\nStatus: 5.1.1\r\n\r\n--B1\r\nContent-Type: message/rfc822\r\n\r\nFrom: us@sender.test\r\nSubject: news\r\nContent-Type: multipart/alternative; boundary=B2\r\n\r\n--B2\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>=3D</p>\r\n--B2--\r\n\r\n--B1--\r\n";
        same_as_mail_parser(raw);
        let parts = walk(raw, usize::MAX, |_| true).unwrap();
        // The returned message is one part: its own alternative is not walked.
        assert_eq!(parts.len(), 4);
        match &parts[3].body {
            Body::Message(m) => assert!(m.starts_with(b"From: us@sender.test") && m.ends_with(b"--B2--\r\n")),
            _ => panic!("not a message part"),
        }
        match &parts[1].body {
            Body::Text(t) => assert_eq!(t, "Unzustellbar: café"),
            _ => panic!("not text"),
        }
    }

    #[test]
    fn odd_structures_match_mail_parser() {
        for raw in [
            &b"Subject: x\n\nonly a body\n"[..],
            b"Subject: headers only\n",
            b"Content-Type: multipart/mixed; boundary=Q\n\n--Q\nContent-Type: text/plain\n\nno closing delimiter\n",
            b"Content-Type: multipart/mixed; boundary=Q\n\n--Q\n\nimplicit text\n--Q\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n!!!!\n--Q--\n",
            b"Content-Type: multipart/mixed; boundary=Q\n\nno delimiter at all\n",
            b"Content-Type: multipart/mixed\n\nno boundary parameter\n",
            b"Content-Type: multipart/digest; boundary=D\n\n--D\n\nFrom: a@b\n\nhi\n--D--\n",
            b"Content-Type: multipart/mixed; boundary=Q\n\n--Q\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nRnJvbTogYUBiCgpoaQo=\n--Q--\n",
        ] {
            same_as_mail_parser(raw);
        }
    }

    /// One known difference: a returned message that is only a header block, without the blank
    /// line, is text to mail-parser (its parse of the message runs into the end of input) and a
    /// message here, whose header block extraction can read.
    #[test]
    fn returned_header_block_without_blank_line_is_a_message() {
        let raw = b"Content-Type: multipart/mixed; boundary=Q\n\n--Q\nContent-Type: message/rfc822\n\nFrom: a@b\nTo: c@d\n--Q--\n";
        let parts = walk(raw, 10, |_| true).unwrap();
        assert!(matches!(&parts[1].body, Body::Message(m) if &m[..] == b"From: a@b\nTo: c@d"));
    }

    /// A part nobody reads is not decoded, and the walk goes on exactly as when it is: same
    /// parts, same bodies for every other part. HTML decoded on demand is what the walk decoded.
    /// Returns how many parts were unread and how many HTML.
    fn unread_parts_change_nothing_else(raw: &[u8]) -> (usize, usize) {
        let (all, some) = match (walk(raw, 1000, |_| true), walk(raw, 1000, |_| false)) {
            (Some(all), Some(some)) => (all, some),
            (None, None) => return (0, 0),
            _ => panic!("one walk found no header: {}", String::from_utf8_lossy(raw)),
        };
        let mut seen = (0, 0);
        assert_eq!(all.len(), some.len(), "{}", String::from_utf8_lossy(raw));
        for (i, (a, b)) in all.iter().zip(&some).enumerate() {
            assert_eq!(a.headers.len(), b.headers.len(), "part {i}");
            match (&a.body, &b.body) {
                (Body::Multipart, Body::Multipart) => {}
                // (A broken encoding makes a part text, of a type that is still not text.)
                (Body::Binary(_) | Body::Text(_), Body::Unread) => {
                    assert!(i > 0, "the first part is always read");
                    seen.0 += 1;
                }
                (Body::Binary(x), Body::Binary(y)) | (Body::Message(x), Body::Message(y)) => assert_eq!(x, y, "part {i}"),
                (Body::Text(x), Body::Text(y)) => assert_eq!(x, y, "part {i}"),
                (Body::Html(x), Body::Html(y)) => {
                    assert_eq!(x.text(), y.text(), "part {i}");
                    seen.1 += 1;
                }
                _ => panic!("part {i}: body kinds differ in {}", String::from_utf8_lossy(raw)),
            }
        }
        seen
    }

    #[test]
    fn unread_parts_are_skipped_not_decoded() {
        let raw = b"Content-Type: multipart/report; boundary=B\n\n--B\nContent-Type: text/plain\n\nfailed\n--B\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--B\nContent-Type: text/html\nContent-Transfer-Encoding: quoted-printable\n\n<p>caf=C3=A9</p>\n--B\nContent-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n\nU3RhdHVzOiA1LjEuMQ==\n--B--\n";
        let parts = walk(raw, 100, |ct| ct.ctype() == "message").unwrap();
        assert!(matches!(parts[2].body, Body::Unread));
        assert!(matches!(&parts[3].body, Body::Html(h) if h.text() == "<p>café</p>"));
        assert!(matches!(&parts[4].body, Body::Binary(b) if &b[..] == b"Status: 5.1.1"));
        assert_eq!(unread_parts_change_nothing_else(raw), (2, 1)); // with no part read: the image and the report
        for p in crate::test_support::fixture_files().iter().filter(|p| p.extension().is_some_and(|x| x == "eml")) {
            let raw = std::fs::read(p).unwrap();
            unread_parts_change_nothing_else(&raw);
            let crlf: Vec<u8> = raw.iter().flat_map(|&b| if b == b'\n' { vec![b'\r', b'\n'] } else { vec![b] }).collect();
            unread_parts_change_nothing_else(&crlf);
        }
    }

    /// Random structures: parts of every encoding, broken ones included, nested, truncated.
    #[test]
    fn unread_parts_change_nothing_else_on_random_input() {
        let pieces: Vec<&[u8]> = vec![
            b"--B\n", b"--B--\n", b"--C\n", b"--C--\n", b"\n", b"\r\n", b"x=3D=\n", b"==", b"QUJD\n", b"!!\n", b"-", b"<b>hi</b>\n",
            b"Content-Type: image/gif\nContent-Transfer-Encoding: base64\n\n",
            b"Content-Type: text/html; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n",
            b"Content-Type: text/html\nContent-Transfer-Encoding: base64\n\n",
            b"Content-Type: text/html\n\n",
            b"Content-Type: application/pdf\n\n",
            b"Content-Type: application/octet-stream\nContent-Transfer-Encoding: quoted-printable\n\n",
            b"Content-Type: multipart/alternative; boundary=C\n\n",
            b"Content-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n\n",
            b"Content-Type: text/plain\n\n",
        ];
        let mut rng = crate::test_support::Rng::new(0x9E37_79B9_7F4A_7C15);
        let mut seen = (0, 0);
        for _ in 0..20_000 {
            let mut raw = b"Content-Type: multipart/mixed; boundary=B\n\n--B\n".to_vec();
            raw.extend_from_slice(&rng.string(&pieces, 14));
            let (unread, html) = unread_parts_change_nothing_else(&raw);
            seen = (seen.0 + unread, seen.1 + html);
        }
        assert!(seen.0 > 2_000 && seen.1 > 2_000, "{seen:?}");
    }

    /// One known difference: an HTML part whose transfer encoding is broken stays HTML (its raw
    /// bytes), where mail-parser makes it text. It is read only when there is no text.
    #[test]
    fn html_with_broken_encoding_stays_html() {
        let raw = b"Content-Type: multipart/alternative; boundary=B\n\n--B\nContent-Type: text/html\nContent-Transfer-Encoding: quoted-printable\n\n<p>a==b</p>\n--B--\n";
        let parts = walk(raw, 10, |_| true).unwrap();
        assert!(matches!(&parts[1].body, Body::Html(h) if h.text() == "<p>a==b</p>"));
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let mut raw = Vec::new();
        for i in 0..200 {
            raw.extend_from_slice(format!("Content-Type: multipart/mixed; boundary=\"<{i}>\"\n\n--<{i}>\n").as_bytes());
        }
        raw.extend_from_slice(b"Content-Type: text/plain\n\ndeep\n");
        let parts = walk(&raw, 1000, |_| true).unwrap();
        assert_eq!(parts.len(), MAX_DEPTH + 1);
        // The deepest level is one opaque part (read as text: its delimiter never comes).
        assert!(matches!(parts[MAX_DEPTH].body, Body::Text(_)));
    }
}
