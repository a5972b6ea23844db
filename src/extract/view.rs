//! A flat view of a parsed message: the few headers bounce extraction needs, the human-readable
//! text, machine-readable report parts, and the returned original message's headers.
//! Built once per message; attachments other than reports are never decoded into text.

use super::mime::{self, Body, Part};
use mail_parser::{GetHeader, HeaderName};

/// Most bytes of any one text part that extraction looks at: diagnostics sit at the top.
const MAX_TEXT_PART: usize = 256 * 1024;
/// Most parts looked at in one message.
const MAX_PARTS: usize = 256;

#[derive(Debug, Default)]
pub struct MailView {
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub message_id: String,
    pub date: Option<i64>,
    /// Lowercased `type/subtype` of the top-level message and its `report-type` parameter.
    pub content_type: String,
    pub report_type: String,
    /// (name as in `READ_HEADERS`, unfolded value) of the top-level header fields named there,
    /// in order.
    headers: Vec<(&'static str, String)>,
    /// Human-readable text parts, in order.
    pub texts: Vec<String>,
    /// Machine-readable parts: (content type, body) for delivery-status, feedback-report…
    pub reports: Vec<(String, String)>,
    /// Header block of the returned original message (message/rfc822 or text/rfc822-headers).
    pub original_headers: String,
    /// `prose()` and the length of `human()`, computed once: plain-text extraction and the
    /// refinement of every record read them both.
    prose: std::cell::OnceCell<String>,
    human_len: std::cell::OnceCell<usize>,
}

/// The top-level header fields extraction reads (lower case). Only these are unfolded and kept:
/// a bounce carries dozens of Received and DKIM lines nobody reads.
const READ_HEADERS: &[&str] = &[
    "auto-submitted",
    "content-language",
    "from",
    "list-id",
    "list-unsubscribe",
    "precedence",
    "received",
    "reply-to",
    "return-path",
    "x-ahmailid",
    "x-aol-ip",
    "x-autoreply",
    "x-autorespond",
    "x-autoresponder",
    "x-aws-outgoing",
    "x-boxbe-status",
    "x-delivery-agent",
    "x-failed-recipients",
    "x-gm-message-state",
    "x-gmx-antispam",
    "x-google-smtp-source",
    "x-mailer",
    "x-message-delivery",
    "x-message-info",
    "x-mimeole",
    "x-mlserver",
    "x-ms-embedded-report",
    "x-ms-exchange-message-is-ndr",
    "x-msg-ref",
    "x-mx-bounce",
    "x-mxl-hash",
    "x-mxl-notehash",
    "x-nai-header",
    "x-original-mailer",
    "x-sef-processed",
    "x-ses-outgoing",
    "x-tmda",
];

/// The `READ_HEADERS` entry for a field name in any case (the list is sorted: a binary search
/// instead of a comparison with every entry, for every field of every message).
fn read_header(name: &str) -> Option<&'static str> {
    let cmp = |r: &&str| r.bytes().map(|b| b.to_ascii_lowercase()).cmp(name.bytes().map(|b| b.to_ascii_lowercase()));
    READ_HEADERS.binary_search_by(cmp).ok().map(|i| READ_HEADERS[i])
}

impl MailView {
    /// The first top-level field `name` (lower case, one of `READ_HEADERS`), unfolded.
    pub fn header(&self, name: &str) -> Option<&str> {
        debug_assert!(READ_HEADERS.contains(&name), "header {name:?} is not in READ_HEADERS");
        self.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }
    /// Every top-level field `name` (lower case, one of `READ_HEADERS`), unfolded, in order.
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        debug_assert!(READ_HEADERS.contains(&name), "header {name:?} is not in READ_HEADERS");
        self.headers.iter().filter(move |(n, _)| *n == name).map(|(_, v)| v.as_str())
    }
    /// All text, the prose parts joined: what plain-text extraction reads.
    pub fn prose(&self) -> &str {
        self.prose.get_or_init(|| self.texts.join("\n"))
    }
    /// The prose up to the copy of the original message (`text::human_part`).
    pub fn human(&self) -> &str {
        let prose = self.prose();
        &prose[..*self.human_len.get_or_init(|| super::text::human_part(prose).len())]
    }
}

/// Parse raw bytes into a view. `None` when the bytes hold no RFC 5322 header at all.
pub fn view(raw: &[u8]) -> Option<MailView> {
    view_reading(raw, reads_binary)
}

/// `view`, decoding the non-text parts `reads` names (tests compare it with reading them all).
fn view_reading(raw: &[u8], reads: fn(&mail_parser::ContentType<'_>) -> bool) -> Option<MailView> {
    if !looks_like_mail(raw) {
        return None;
    }
    // The MIME walk runs third-party code fed hostile bytes: an internal assertion of its own
    // (seen under fuzzing) must cost this one message, never the batch.
    let parts = std::panic::catch_unwind(|| mime::walk(raw, MAX_PARTS, reads)).ok()??;
    let top = &parts[0].headers;
    let mut v = MailView::default();
    let address = |name: &HeaderName| top.header_value(name).and_then(|a| a.as_address());
    v.from = address(&HeaderName::From).and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or("").to_ascii_lowercase();
    v.to = address(&HeaderName::To).map(|a| a.iter().filter_map(|a| a.address()).map(|s| s.to_ascii_lowercase()).collect()).unwrap_or_default();
    v.subject = top.header_value(&HeaderName::Subject).and_then(|h| h.as_text()).unwrap_or("").to_string();
    v.message_id = top.header_value(&HeaderName::MessageId).and_then(|h| h.as_text()).unwrap_or("").to_string();
    v.date = top.header_value(&HeaderName::Date).and_then(|h| h.as_datetime()).map(|d| d.to_timestamp());
    if let Some(ct) = parts[0].content_type() {
        v.content_type = format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or("")).to_ascii_lowercase();
        v.report_type = ct.attribute("report-type").unwrap_or("").to_ascii_lowercase();
    }
    v.headers = top
        .iter()
        .take(500)
        .filter_map(|h| {
            let name = read_header(h.name.as_str())?;
            let value = std::str::from_utf8(raw.get(h.offset_start as usize..h.offset_end as usize)?).ok()?;
            Some((name, unfold(value)))
        })
        .collect();
    collect_parts(&parts, &mut v);
    if v.texts.iter().all(|t| t.trim().is_empty()) && v.reports.is_empty() {
        // Broken MIME (a boundary parameter on an unfolded line, say) leaves no readable part:
        // the raw body is still the best prose there is.
        let head = memchr::memmem::find(raw, b"\n\n").map(|i| i + 2).or_else(|| memchr::memmem::find(raw, b"\r\n\r\n").map(|i| i + 4));
        if let Some(h) = head {
            let body = &raw[h..raw.len().min(h + MAX_TEXT_PART)];
            let body = crate::bounds::lossy(body);
            if !body.trim().is_empty() {
                v.texts.push(bounded(&body));
            }
        }
    }
    Some(v)
}

/// The first non-blank line must look like a header field (or an mbox `From ` line).
fn looks_like_mail(raw: &[u8]) -> bool {
    let start = raw.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(raw.len());
    let line = &raw[start..raw.len().min(start + 1000)];
    let end = line.iter().position(|&b| b == b'\n').unwrap_or(line.len());
    let line = &line[..end];
    if line.starts_with(b"From ") {
        return true;
    }
    match line.iter().position(|&b| b == b':') {
        Some(c) if c > 0 => line[..c].iter().all(|&b| b.is_ascii_graphic() && b != b':'),
        _ => false,
    }
}

fn collect_parts(parts: &[Part<'_>], v: &mut MailView) {
    // HTML is read only when no text part has anything to say: stripped on demand.
    let mut html: Vec<&mime::Html<'_>> = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        // "type/subtype" in lower case, built once; the type and the subtype are its two sides.
        let (ctype, sub) = part.content_type().map_or(("text", "plain"), |c| (c.ctype(), c.subtype().unwrap_or("")));
        let mut full = String::with_capacity(ctype.len() + 1 + sub.len());
        full.push_str(ctype);
        full.push('/');
        full.push_str(sub);
        full.make_ascii_lowercase();
        let (ctype, sub) = (&full[..ctype.len()], &full[ctype.len() + 1..]);
        match &part.body {
            Body::Multipart | Body::Unread => {}
            Body::Message(m) => {
                if v.original_headers.is_empty() {
                    v.original_headers = header_block(m);
                }
            }
            Body::Text(t) => {
                if is_report_type(ctype, sub) {
                    v.reports.push((full.clone(), bounded(t)));
                } else if sub == "rfc822-headers" || full == "message/rfc822-headers" {
                    if v.original_headers.is_empty() {
                        v.original_headers = bounded(t);
                    }
                } else if i == 0 || ctype == "text" || ctype.is_empty() {
                    v.texts.push(bounded(t));
                }
            }
            Body::Html(t) => html.push(t),
            Body::Binary(b) => {
                if is_report_type(ctype, sub) {
                    v.reports.push((full.clone(), crate::bounds::lossy(&b[..b.len().min(MAX_TEXT_PART)]).into_owned()));
                } else if full == "message/rfc822-headers" {
                    // (`text/*` parts are text and `message/rfc822` a message: see `mime::walk`.)
                    if v.original_headers.is_empty() {
                        v.original_headers = header_block(b);
                    }
                }
            }
        }
    }
    if v.texts.iter().all(|t| t.trim().is_empty()) {
        v.texts.extend(html.into_iter().map(|h| strip_html(&bounded(&h.text()))));
    }
}

/// Whether `collect_parts` reads the bytes of a part that is neither text nor a message (nor
/// the first part): the MIME walk does not decode the others. A part whose transfer encoding
/// turns out broken is read as text, so a type with no name is read too.
fn reads_binary(ct: &mail_parser::ContentType<'_>) -> bool {
    let (ctype, sub) = (ct.ctype(), ct.subtype().unwrap_or(""));
    ctype.is_empty()
        || sub.eq_ignore_ascii_case("rfc822-headers")
        || is_report_type(ctype, sub)
}

/// The machine-readable report parts: type and subtype.
const REPORT_TYPES: [(&str, &str); 6] = [
    ("message", "delivery-status"),
    ("message", "global-delivery-status"),
    ("text", "delivery-status"),
    ("message", "feedback-report"),
    ("text", "feedback-report"),
    ("message", "disposition-notification"),
];

/// Is `ctype/sub` (in any case) a machine-readable report part?
fn is_report_type(ctype: &str, sub: &str) -> bool {
    REPORT_TYPES.iter().any(|(t, s)| t.eq_ignore_ascii_case(ctype) && s.eq_ignore_ascii_case(sub))
}

/// A text part bounded to `MAX_TEXT_PART` bytes, CRLF line ends made LF so paragraph
/// splitting works the same on mail read from IMAP and from mbox.
fn bounded(s: &str) -> String {
    use crate::bounds::floor_char_boundary;
    // CRLF → LF at most halves the text: no need to convert more than twice the bound.
    let s = &s[..floor_char_boundary(s, MAX_TEXT_PART.saturating_mul(2))];
    let mut out = crlf_to_lf(s);
    crate::bounds::truncate(&mut out, MAX_TEXT_PART);
    out
}

/// `s` with every CRLF made LF.
fn crlf_to_lf(s: &str) -> String {
    if memchr::memchr(b'\r', s.as_bytes()).is_none() {
        return s.to_string(); // the usual case: sources hand over LF text (`Collector`)
    }
    let mut out = Vec::with_capacity(s.len());
    crate::bounds::crlf_to_lf_into(s.as_bytes(), &mut out);
    // Removing ASCII bytes from UTF-8 leaves UTF-8.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The header block of a raw message (up to the first blank line), bounded.
pub fn header_block(raw: &[u8]) -> String {
    let raw = &raw[..raw.len().min(64 * 1024)];
    let end = memchr::memmem::find(raw, b"\n\n")
        .or_else(|| memchr::memmem::find(raw, b"\r\n\r\n"))
        .unwrap_or(raw.len());
    crate::bounds::lossy(&raw[..end]).replace('\r', "")
}

/// A header value on one line: folding line breaks and the blanks around them become one space.
fn unfold(s: &str) -> String {
    let t = s.trim();
    if !t.contains('\n') {
        return t.to_string();
    }
    let mut out = String::with_capacity(t.len());
    for (i, l) in crate::bounds::lines(t).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(l.trim());
    }
    out
}

/// Crude tag stripping for HTML-only bounces; enough to find addresses and SMTP replies.
/// Text outside tags is kept, `<style>` and `<script>` contents dropped, block tags become line
/// breaks, then the common entities are decoded.
pub fn strip_html(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len() / 2);
    let mut in_tag = false;
    let mut i = 0;
    while i < b.len() {
        let next = if in_tag { memchr::memchr2(b'<', b'>', &b[i..]) } else { memchr::memchr(b'<', &b[i..]) };
        let Some(k) = next else {
            if !in_tag {
                out.push_str(&s[i..]);
            }
            break;
        };
        if !in_tag {
            // '<' is ASCII: a char boundary.
            out.push_str(&s[i..i + k]);
        }
        i += k;
        if b[i] == b'>' {
            in_tag = false;
            i += 1;
            continue;
        }
        let rest = &b[i..];
        let starts = |p: &[u8]| rest.len() >= p.len() && rest[..p.len()].eq_ignore_ascii_case(p);
        in_tag = true;
        let skip_to: Option<&[u8]> = if starts(b"<style") {
            Some(b"</style>")
        } else if starts(b"<script") {
            Some(b"</script>")
        } else {
            if [&b"<br"[..], b"<p", b"</p", b"<tr", b"<div", b"</div"].iter().any(|p| starts(p)) {
                out.push('\n');
            }
            None
        };
        i += 1;
        if let Some(end) = skip_to {
            // Everything up to the closing tag goes; the text after it still counts as inside
            // a tag until the next '>' (as the stripping has always done).
            i = find_ignore_case(&b[i..], end).map_or(b.len(), |k| i + k + end.len());
        }
    }
    decode_entities(&out)
}

/// First position of `needle` (lower-case ASCII) in `hay`, ignoring ASCII case.
fn find_ignore_case(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = needle[0];
    let mut from = 0;
    while let Some(k) = memchr::memchr2(first, first.to_ascii_uppercase(), &hay[from..]) {
        let at = from + k;
        if hay.len() - at >= needle.len() && hay[at..at + needle.len()].eq_ignore_ascii_case(needle) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// `&nbsp; &lt; &gt; &quot; &#39; &amp;` decoded in one pass (none of them decodes into the
/// start of another, so one pass equals one replacement after the other, `&amp;` last).
fn decode_entities(s: &str) -> String {
    const ENTITIES: [(&str, char); 6] = [("&nbsp;", ' '), ("&lt;", '<'), ("&gt;", '>'), ("&quot;", '"'), ("&#39;", '\''), ("&amp;", '&')];
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(k) = rest.find('&') {
        out.push_str(&rest[..k]);
        rest = &rest[k..];
        match ENTITIES.iter().find(|(e, _)| rest.starts_with(e)) {
            Some((e, c)) => {
                out.push(*c);
                rest = &rest[e.len()..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod unread_tests {
    use super::view_reading;

    /// The parts the walk leaves undecoded are parts `collect_parts` would not have read: the
    /// view is the same as with every part decoded.
    fn same_view(raw: &[u8]) {
        let a = view_reading(raw, super::reads_binary).map(|v| format!("{v:?}"));
        let b = view_reading(raw, |_| true).map(|v| format!("{v:?}"));
        assert_eq!(a, b, "{}", String::from_utf8_lossy(raw));
    }

    #[test]
    fn skipping_unread_parts_changes_no_view() {
        for p in crate::test_support::fixture_files().iter().filter(|p| p.extension().is_some_and(|x| x == "eml")) {
            same_view(&std::fs::read(p).unwrap());
        }
        let types: Vec<&[u8]> = vec![
            b"image/png", b"application/octet-stream", b"message/delivery-status", b"text/rfc822-headers", b"application/rfc822-headers",
            b"message/rfc822-headers", b"message/feedback-report", b"text/plain", b"text/html", b"x/y", b"/", b"", b"multipart/mixed",
        ];
        let bodies: Vec<&[u8]> = vec![b"U3RhdHVzOiA1LjEuMQ==\n", b"Status: 5.1.1\n", b"!!\n", b"a==b\n", b"Final-Recipient: rfc822; a@b.test\n"];
        let ctes: Vec<&[u8]> = vec![b"base64", b"quoted-printable", b"7bit"];
        let mut rng = crate::test_support::Rng::new(0x5DEE_CE66_D1CE_4E5B);
        let pick = |rng: &mut crate::test_support::Rng, v: &Vec<&'static [u8]>| v[(rng.next() % v.len() as u64) as usize];
        for _ in 0..5_000 {
            let mut raw = b"From: MAILER-DAEMON@x.test\nContent-Type: multipart/report; report-type=delivery-status; boundary=B\n\n".to_vec();
            for _ in 0..1 + rng.next() % 4 {
                raw.extend_from_slice(b"--B\nContent-Type: ");
                raw.extend_from_slice(pick(&mut rng, &types));
                raw.extend_from_slice(b"\nContent-Transfer-Encoding: ");
                raw.extend_from_slice(pick(&mut rng, &ctes));
                raw.extend_from_slice(b"\n\n");
                raw.extend_from_slice(pick(&mut rng, &bodies));
            }
            if !rng.next().is_multiple_of(3) {
                raw.extend_from_slice(b"--B--\n");
            }
            same_view(&raw);
        }
    }
}

#[cfg(test)]
mod bounded_tests {
    use super::{bounded, crlf_to_lf, MAX_TEXT_PART};

    #[test]
    fn crlf_becomes_lf_and_lone_cr_stays() {
        assert_eq!(crlf_to_lf("a\r\nb\r\n\r\nc\rd\r"), "a\nb\n\nc\rd\r");
        assert_eq!(crlf_to_lf("é\r\nü"), "é\nü");
        assert_eq!(crlf_to_lf(""), "");
    }

    #[test]
    fn bounded_cuts_on_a_char_boundary() {
        let long = "é\r\n".repeat(MAX_TEXT_PART);
        let b = bounded(&long);
        assert!(b.len() <= MAX_TEXT_PART && b.len() >= MAX_TEXT_PART - 3);
        assert!(!b.contains('\r'));
    }

    /// The first stripping, byte by byte over a lower-cased copy: the reference the
    /// memchr version must agree with.
    fn reference_strip_html(s: &str) -> String {
        let mut out = String::with_capacity(s.len() / 2);
        let mut in_tag = false;
        let lower = s.to_ascii_lowercase().into_bytes();
        let mut skip_until: Option<&[u8]> = None;
        let mut i = 0;
        let b = s.as_bytes();
        while i < b.len() {
            if let Some(end) = skip_until {
                if lower[i..].starts_with(end) {
                    skip_until = None;
                    i += end.len();
                } else {
                    i += 1;
                }
                continue;
            }
            let c = b[i];
            if c == b'<' {
                if lower[i..].starts_with(b"<style") {
                    skip_until = Some(b"</style>");
                } else if lower[i..].starts_with(b"<script") {
                    skip_until = Some(b"</script>");
                } else if lower[i..].starts_with(b"<br") || lower[i..].starts_with(b"<p") || lower[i..].starts_with(b"</p") || lower[i..].starts_with(b"<tr") || lower[i..].starts_with(b"<div") || lower[i..].starts_with(b"</div") {
                    out.push('\n');
                }
                in_tag = true;
            } else if c == b'>' && in_tag {
                in_tag = false;
            } else if !in_tag {
                // copy the whole UTF-8 character
                let ch_len = utf8_len(c);
                out.push_str(s.get(i..(i + ch_len).min(s.len())).unwrap_or(""));
                i += ch_len;
                continue;
            }
            i += 1;
        }
        out.replace("&nbsp;", " ").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'").replace("&amp;", "&")
    }
    fn utf8_len(first: u8) -> usize {
        match first {
            0xF0..=0xF7 => 4,
            0xE0..=0xEF => 3,
            0xC0..=0xDF => 2,
            _ => 1,
        }
    }

    #[test]
    fn strip_html_agrees_with_the_reference() {
        use super::strip_html;
        let mut samples = vec![
            "<html><STYLE>p{}</Style>after style<b>bold</b> &amp;lt; &nbsp;x&#39;s<br>line<p>para</P></div>é<unclosed".to_string(),
            "<script>var a = '<b>';</script>text<tr><td>cell</td></tr>&quot;q&quot; &gt;&lt; &am<i>p; done".to_string(),
            "no tags at all & no entity".to_string(),
            "<style>never closed".to_string(),
        ];
        let alphabet: Vec<&str> = vec!["<", ">", "<br", "<p", "</p", "<style", "</style>", "<SCRIPT", "</script>", "&amp;", "&lt;", "&", ";", "a", "é", " ", "\n", "<div", "</DIV", "&nbsp;", "&#39;"];
        let mut rng = crate::test_support::Rng::new(0xDEAD_BEEF_1234_5678);
        for _ in 0..20_000 {
            samples.push(String::from_utf8(rng.string(&alphabet, 23)).unwrap());
        }
        for x in &samples {
            assert_eq!(strip_html(x), reference_strip_html(x), "for {x:?}");
        }
    }
}
