//! Text at the byte level. Cutting text to a byte bound without splitting a UTF-8 character:
//! every size limit on parsed text (parts, diagnostics, normalized Text) goes through here.
//! Also bytes read as text, and CRLF line ends made LF.

/// The largest index `<= at` that is a char boundary of `s` (`s.len()` when `at` is beyond).
pub fn floor_char_boundary(s: &str, at: usize) -> usize {
    if at >= s.len() {
        return s.len();
    }
    let mut end = at;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    end
}

/// `bytes` as text, invalid UTF-8 replaced by U+FFFD: `String::from_utf8_lossy`, but valid
/// input (nearly all mail) is checked by the standard library's word-at-a-time validator
/// instead of the lossy decoder's byte-by-byte walk (3% of the daemon's CPU was that walk).
pub fn lossy(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Make every CRLF in `buf` LF, in place; true when a `\r` not followed by `\n` remains.
pub fn crlf_to_lf_in_place(buf: &mut Vec<u8>) -> bool {
    let (mut read, mut write, mut lone) = (0, 0, false);
    while let Some(i) = memchr::memchr(b'\r', &buf[read..]).map(|i| read + i) {
        buf.copy_within(read..i, write);
        write += i - read;
        if buf.get(i + 1) != Some(&b'\n') {
            buf[write] = b'\r';
            write += 1;
            lone = true;
        }
        read = i + 1;
    }
    let n = buf.len();
    buf.copy_within(read..n, write);
    buf.truncate(write + n - read);
    lone
}

/// Append `src` to `out` with every CRLF made LF, in one pass (what `crlf_to_lf_in_place` does
/// to a buffer already filled); true when a `\r` not followed by `\n` remains.
pub fn crlf_to_lf_into(src: &[u8], out: &mut Vec<u8>) -> bool {
    let (mut read, mut lone) = (0, false);
    while let Some(i) = memchr::memchr(b'\r', &src[read..]).map(|i| read + i) {
        out.extend_from_slice(&src[read..i]);
        if src.get(i + 1) != Some(&b'\n') {
            out.push(b'\r');
            lone = true;
        }
        read = i + 1;
    }
    out.extend_from_slice(&src[read..]);
    lone
}

/// `text.split_inclusive('\n')`, with each line end found by a vectorized search (the
/// standard library's scans a word at a time, and the analysis splits every text into lines).
pub fn split_inclusive_lf(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = memchr::memchr(b'\n', rest.as_bytes()).map_or(rest.len(), |i| i + 1);
        let (line, next) = rest.split_at(end);
        rest = next;
        Some(line)
    })
}

/// `text.lines()` (a line ends at `\n` or `\r\n`; a last line without one is kept), by
/// `split_inclusive_lf`.
pub fn lines(text: &str) -> impl Iterator<Item = &str> {
    split_inclusive_lf(text).map(|l| match l.strip_suffix('\n') {
        Some(l) => l.strip_suffix('\r').unwrap_or(l),
        None => l,
    })
}

/// Shorten `s` to at most `max` bytes, on a char boundary.
pub fn truncate(s: &mut String, max: usize) {
    let end = floor_char_boundary(s, max);
    s.truncate(end);
}

#[cfg(test)]
mod tests {
    use super::{crlf_to_lf_in_place, crlf_to_lf_into, floor_char_boundary, lines, lossy, split_inclusive_lf, truncate};

    /// The vectorized line splitters give what the standard library's do.
    #[test]
    fn line_splitters_are_the_standard_ones() {
        let mut rng = crate::test_support::Rng::new(0x9E37_79B9_7F4A_7C15);
        for _ in 0..10_000 {
            let raw = rng.string(&["\r", "\n", "\r\n", "a", " ", "é"], 40);
            let text = String::from_utf8(raw).unwrap();
            assert_eq!(lines(&text).collect::<Vec<_>>(), text.lines().collect::<Vec<_>>(), "{text:?}");
            assert_eq!(split_inclusive_lf(&text).collect::<Vec<_>>(), text.split_inclusive('\n').collect::<Vec<_>>(), "{text:?}");
        }
    }

    /// Copying and compacting in place give the same bytes and the same answer.
    #[test]
    fn crlf_to_lf_copy_is_in_place() {
        let mut rng = crate::test_support::Rng::new(0x2545_F491_4F6C_DD1D);
        for _ in 0..10_000 {
            let src = rng.string(&["\r", "\n", "\r\n", "a", "é"], 40);
            let (mut copied, mut compacted) = (b"x".to_vec(), src.clone());
            let lone_copied = crlf_to_lf_into(&src, &mut copied);
            let lone_compacted = crlf_to_lf_in_place(&mut compacted);
            assert_eq!((&copied[1..], lone_copied), (&compacted[..], lone_compacted), "{src:?}");
        }
    }

    #[test]
    fn lossy_is_from_utf8_lossy() {
        for b in [&b"plain"[..], b"caf\xc3\xa9", b"bad \xff byte", b"cut \xc3", b"", b"\xe2\x82"] {
            assert_eq!(lossy(b), String::from_utf8_lossy(b));
        }
        assert!(matches!(lossy(b"ok"), std::borrow::Cow::Borrowed("ok")));
    }

    #[test]
    fn never_inside_a_character() {
        assert_eq!(floor_char_boundary("aé", 2), 1);
        assert_eq!(floor_char_boundary("aé", 3), 3);
        assert_eq!(floor_char_boundary("aé", 99), 3);
        let mut s = String::from("ééé");
        truncate(&mut s, 5);
        assert_eq!(s, "éé");
        truncate(&mut s, 10);
        assert_eq!(s, "éé");
    }
}
