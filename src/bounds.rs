//! Cutting text to a byte bound without splitting a UTF-8 character: every size limit on
//! parsed text (parts, diagnostics, normalized Text) goes through here.

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

/// Shorten `s` to at most `max` bytes, on a char boundary.
pub fn truncate(s: &mut String, max: usize) {
    let end = floor_char_boundary(s, max);
    s.truncate(end);
}

#[cfg(test)]
mod tests {
    use super::{floor_char_boundary, truncate};

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
