//! RFC 3463 enhanced status codes and RFC 5321 reply codes, found in text. What they mean is
//! data: the status table is `rules/status.toml`.

/// Find the first enhanced status code ("5.1.1") in a text.
/// Candidates are found from the dots (memchr), not byte by byte: a code is a class digit
/// just before a dot.
pub fn find_status(text: &str) -> Option<&str> {
    let b = text.as_bytes();
    memchr::memchr_iter(b'.', b).filter(|&d| d >= 1 && d + 4 <= b.len()).find_map(|d| status_at(text, d - 1))
}

/// The enhanced status code starting at byte `i`, if one does.
fn status_at(text: &str, i: usize) -> Option<&str> {
    let b = text.as_bytes();
    if matches!(b[i], b'2' | b'4' | b'5') && b[i + 1] == b'.' && (i == 0 || !b[i - 1].is_ascii_alphanumeric() && b[i - 1] != b'.') {
        let sub = digits(&b[i + 2..]);
        if (1..=3).contains(&sub) && b.get(i + 2 + sub) == Some(&b'.') {
            let det = digits(&b[i + 3 + sub..]);
            let end = i + 3 + sub + det;
            if (1..=3).contains(&det) && b.get(end).is_none_or(|c| !c.is_ascii_alphanumeric() && *c != b'.' || *c == b'.' && b.get(end + 1).is_none_or(|d| !d.is_ascii_digit())) {
                return Some(&text[i..end]);
            }
        }
    }
    None
}

/// Find an SMTP reply code (`550`, `550-`, `550 `) at the start of the text or after a space.
pub fn find_reply_code(text: &str) -> Option<&str> {
    let b = text.as_bytes();
    // Only a 2, 4 or 5 can start a code: jump from one to the next (a vectorized search)
    // instead of testing every byte.
    for i in memchr::memchr3_iter(b'2', b'4', b'5', &b[..b.len().saturating_sub(2)]) {
        let at_word = i == 0 || matches!(b[i - 1], b' ' | b':' | b'(' | b'[' | b'"' | b'\'' | b'<' | b'\t' | b'=' | b'#');
        if at_word
            && b[i + 1].is_ascii_digit()
            && b[i + 2].is_ascii_digit()
            && matches!(b[i + 1], b'0'..=b'5')
            && b.get(i + 3).is_none_or(|c| matches!(c, b' ' | b'-' | b'\t' | b')' | b',' | b'.' | b';' | b'"' | b']'))
            && !(b.get(i + 3) == Some(&b'.') && b.get(i + 4).is_some_and(u8::is_ascii_digit))
            && !labels_a_quantity(&b[..i])
        {
            return Some(&text[i..i + 3]);
        }
    }
    None
}

/// The number is the value of a field such as "Size (in bytes): 512" or "length=421",
/// not a server's reply: the word just before it on the same line names a quantity.
fn labels_a_quantity(before: &[u8]) -> bool {
    let line = before.rsplit(|&c| c == b'\n').next().unwrap_or_default();
    let label = line.trim_ascii_end();
    let label = label.strip_suffix(b":").or_else(|| label.strip_suffix(b"=")).unwrap_or(label).trim_ascii_end();
    let label = label.strip_suffix(b")").unwrap_or(label);
    let word = &label[label.iter().rposition(|c| !c.is_ascii_alphabetic()).map_or(0, |p| p + 1)..];
    [&b"size"[..], b"bytes", b"length"].iter().any(|w| word.eq_ignore_ascii_case(w))
}

fn digits(b: &[u8]) -> usize {
    b.iter().take_while(|c| c.is_ascii_digit()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_codes() {
        assert_eq!(find_status("550 5.1.1 <a@b>: nope"), Some("5.1.1"));
        assert_eq!(find_status("host 192.0.2.1 said 550 #5.2.2 full"), Some("5.2.2"));
        assert_eq!(find_status("version 1.5.2.3"), None);
        assert_eq!(find_status("smtp; 4.4.7."), Some("4.4.7"));
        assert_eq!(find_reply_code("smtp; 550-5.1.1 nope"), Some("550"));
        assert_eq!(find_reply_code("said: 421 busy"), Some("421"));
        assert_eq!(find_reply_code("code 5501 x"), None);
        assert_eq!(find_reply_code("5.5.0"), None);
        assert_eq!(find_reply_code("Size (in bytes): 512"), None);
        assert_eq!(find_reply_code("message length=421 too long; said: 552 too big"), Some("552"));
        assert_eq!(find_reply_code("message size too big; said: 552 5.3.4 limit"), Some("552"));
    }

    /// The dot-driven search finds what trying every byte position finds.
    #[test]
    fn dots_find_what_every_position_finds() {
        let every = |t: &str| (0..t.len().saturating_sub(4)).find_map(|i| status_at(t, i)).map(str::to_string);
        let mut rng = crate::test_support::Rng::new(7);
        let alphabet = ["5", "4", "2", "1", "0", ".", " ", "a", "#", "\n", "é"];
        for _ in 0..20_000 {
            let t = String::from_utf8(rng.string(&alphabet, 24)).unwrap();
            assert_eq!(find_status(&t).map(str::to_string), every(&t), "{t:?}");
        }
    }
}
