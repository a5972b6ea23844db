//! The MIME walk of a bounce: the part tree of the top-level message, leaf by leaf, each body
//! decoded as mail-parser decodes it (its own header parser, transfer decoders and charset
//! tables do the work). What it does not do is parse the returned original message
//! (`message/rfc822`): extraction reads only that message's header block, and its body, often
//! a whole newsletter in quoted-printable HTML, cost more to parse than the bounce itself.
//! Such a part is skipped with one boundary search.

use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::parsers::MessageStream;
use mail_parser::{ContentType, GetHeader, Header, HeaderName, HeaderValue, MessageParser};
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
    Html(Cow<'x, str>),
    Binary(Cow<'x, [u8]>),
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
enum Cte {
    None,
    Base64,
    QuotedPrintable,
}

struct Level {
    boundary: Option<Vec<u8>>,
    in_digest: bool,
}

/// Walk `raw` with `parser`'s header settings, stopping after `max_parts` parts. `None` when
/// there is no header at all.
pub fn walk<'x>(parser: &MessageParser, raw: &'x [u8], max_parts: usize) -> Option<Vec<Part<'x>>> {
    let mut stream = MessageStream::new(raw);
    let mut parts: Vec<Part<'x>> = Vec::new();
    let mut stack: Vec<Level> = Vec::new();
    let mut level = Level { boundary: None, in_digest: false };
    let mut headers: Vec<Header<'x>> = Vec::new();

    'outer: while parts.len() < max_parts {
        if !stream.parse_headers(parser, &mut headers) {
            break;
        }
        let offset_body = stream.offset();
        let ct = headers.header_value(&HeaderName::ContentType).and_then(|c| c.as_content_type());
        let mut mime = classify(ct, level.in_digest);

        if mime == Mime::Multipart {
            match ct.and_then(|c| c.attribute("boundary")) {
                Some(b) if stack.len() < MAX_DEPTH => {
                    if stream.seek_next_part(b.as_bytes()) {
                        let in_digest = ct.and_then(|c| c.subtype()) == Some("digest");
                        let boundary = Some(b.as_bytes().to_vec());
                        parts.push(Part { headers: std::mem::take(&mut headers), body: Body::Multipart });
                        stack.push(std::mem::replace(&mut level, Level { boundary, in_digest }));
                        stream.skip_crlf();
                        continue;
                    }
                    mime = Mime::TextOther;
                }
                _ => mime = Mime::Other,
            }
        }

        let boundary = level.boundary.as_deref().unwrap_or(b"");
        let cte = match headers.header_value(&HeaderName::ContentTransferEncoding) {
            Some(HeaderValue::Text(e)) if e.eq_ignore_ascii_case("base64") => Cte::Base64,
            Some(HeaderValue::Text(e)) if e.eq_ignore_ascii_case("quoted-printable") => Cte::QuotedPrintable,
            _ => Cte::None,
        };
        let (end, mut bytes) = match cte {
            Cte::Base64 => stream.decode_base64_mime(boundary),
            Cte::QuotedPrintable => stream.decode_quoted_printable_mime(boundary),
            Cte::None => plain_part(&mut stream, boundary),
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
            }
        }
        let body = match mime {
            Mime::Message => Body::Message(bytes),
            Mime::TextPlain | Mime::TextOther | Mime::TextHtml => {
                let charset = ct.and_then(|c| c.attribute("charset")).and_then(|c| charset_decoder(c.as_bytes()));
                let text: Cow<'x, str> = match (bytes, charset) {
                    (Cow::Owned(v), Some(d)) => d(&v).into(),
                    (Cow::Owned(v), None) => {
                        String::from_utf8(v).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()).into()
                    }
                    (Cow::Borrowed(b), Some(d)) => d(b).into(),
                    (Cow::Borrowed(b), None) => String::from_utf8_lossy(b),
                };
                if mime == Mime::TextHtml {
                    Body::Html(text)
                } else {
                    Body::Text(text)
                }
            }
            Mime::Multipart | Mime::Other => Body::Binary(bytes),
        };
        parts.push(Part { headers: std::mem::take(&mut headers), body });

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

/// A part without transfer encoding, up to the boundary: mail-parser's `mime_part`, with the
/// boundary found by `memmem` instead of byte by byte. Returns the end offset (`usize::MAX`
/// when a boundary was expected and not found; the stream is then left where it was) and the
/// bytes.
fn plain_part<'x>(stream: &mut MessageStream<'x>, boundary: &[u8]) -> (usize, Cow<'x, [u8]>) {
    let start = stream.offset();
    let data = stream.bytes(start..stream.len());
    if boundary.is_empty() {
        stream.seek_end();
        return (stream.offset(), Cow::Borrowed(data));
    }
    let mut needle = Vec::with_capacity(boundary.len() + 2);
    needle.extend_from_slice(b"--");
    needle.extend_from_slice(boundary);
    match memchr::memmem::find(data, &needle) {
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
            stream.skip_bytes(q + needle.len());
            (start + end, Cow::Borrowed(&data[..end]))
        }
        None => (usize::MAX, Cow::Borrowed(data)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::{MimeHeaders, PartType};

    fn parser() -> MessageParser {
        MessageParser::new().with_mime_headers().default_header_raw()
    }

    /// The walk's leaves against mail-parser's own parse of the same bytes.
    fn same_as_mail_parser(raw: &[u8]) {
        let p = parser();
        let ours = walk(&p, raw, usize::MAX).expect("walk");
        let theirs = p.parse(raw).expect("parse");
        assert_eq!(ours.len(), theirs.parts.len(), "part count");
        for (i, (a, b)) in ours.iter().zip(&theirs.parts).enumerate() {
            assert_eq!(a.content_type().map(|c| c.ctype()), b.content_type().map(|c| c.ctype()), "part {i}");
            match (&a.body, &b.body) {
                (Body::Multipart, PartType::Multipart(_)) => {}
                (Body::Text(x), PartType::Text(y)) | (Body::Html(x), PartType::Html(y)) => assert_eq!(x, y, "part {i}"),
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
        let parts = walk(&parser(), raw, usize::MAX).unwrap();
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
        let parts = walk(&parser(), raw, 10).unwrap();
        assert!(matches!(&parts[1].body, Body::Message(m) if &m[..] == b"From: a@b\nTo: c@d"));
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let mut raw = Vec::new();
        for i in 0..200 {
            raw.extend_from_slice(format!("Content-Type: multipart/mixed; boundary=\"<{i}>\"\n\n--<{i}>\n").as_bytes());
        }
        raw.extend_from_slice(b"Content-Type: text/plain\n\ndeep\n");
        let parts = walk(&parser(), &raw, 1000).unwrap();
        assert_eq!(parts.len(), MAX_DEPTH + 1);
        // The deepest level is one opaque part (read as text: its delimiter never comes).
        assert!(matches!(parts[MAX_DEPTH].body, Body::Text(_)));
    }
}
