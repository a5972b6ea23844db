//! RFC 822-style "Name: value" field blocks as found in delivery-status and feedback-report
//! parts (and pasted inline into text bodies): unfolded, grouped by blank lines.

/// One block of fields, names lowercased, values trimmed and unfolded.
#[derive(Debug, Default, Clone)]
pub struct FieldBlock {
    pub fields: Vec<(String, String)>,
}

impl FieldBlock {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str())
    }
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// Split text into field blocks. Lines that are not fields end nothing: they are skipped, so
/// prose around an inline report does not break it. A blank line ends a block.
pub fn parse_blocks(text: &str, max_blocks: usize) -> Vec<FieldBlock> {
    let mut blocks = Vec::new();
    let mut cur = FieldBlock::default();
    for line in crate::bounds::lines(text) {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            if !cur.fields.is_empty() {
                blocks.push(std::mem::take(&mut cur));
                if blocks.len() >= max_blocks {
                    return blocks;
                }
            }
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some((_, v)) = cur.fields.last_mut() {
                if v.len() < 8192 {
                    v.push(' ');
                    v.push_str(line.trim());
                }
            }
            continue;
        }
        if let Some((name, value)) = split_field(line) {
            let name = name.to_ascii_lowercase();
            // Recipient blocks run together without the blank line between them: a second
            // Final-/Original-Recipient starts the next recipient's block.
            if (name == "final-recipient" || name == "original-recipient") && cur.has(&name) {
                blocks.push(std::mem::take(&mut cur));
                if blocks.len() >= max_blocks {
                    return blocks;
                }
            }
            cur.fields.push((name, value.trim().to_string()));
        }
    }
    if !cur.fields.is_empty() {
        blocks.push(cur);
    }
    blocks
}

fn split_field(line: &str) -> Option<(&str, &str)> {
    let colon = line.find(':')?;
    let name = &line[..colon];
    if name.is_empty() || name.len() > 40 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return None;
    }
    Some((name, &line[colon + 1..]))
}

/// "rfc822; <A@B.c>" → "a@b.c" (the address type prefix and brackets removed, lowercased).
pub fn address_value(v: &str) -> String {
    let v = match v.find(';') {
        Some(i) => &v[i + 1..],
        None => v,
    };
    let v = v.trim().trim_start_matches('<').trim_end_matches('>').trim();
    // A quoted local part may hold spaces: `"john doe"@example.com` is one address.
    let v = if v.starts_with('"') {
        match v[1..].find('"') {
            Some(q) => {
                let end = v[q + 2..].find(|c: char| c.is_whitespace() || c == '>').map_or(v.len(), |e| q + 2 + e);
                &v[..end]
            }
            None => v.split_whitespace().next().unwrap_or(""),
        }
    } else {
        v.split_whitespace().next().unwrap_or("")
    };
    let v = v.trim_matches(|c| c == '<' || c == '>' || c == '\'');
    // Quotes stay only around a quoted local part (RFC 5321 §4.1.2): `"a b"@x`.
    let v = if v.starts_with('"') && v.contains("\"@") { v } else { v.trim_matches('"') };
    strip_route_prefix(v).to_ascii_lowercase()
}

/// An address written with a transport prefix (`smtp=user@host`, `SMTP:user@host`, `rfc822:`):
/// the address is what follows it.
pub fn strip_route_prefix(v: &str) -> &str {
    for p in ["smtp=", "smtp:", "rfc822:", "rfc822=", "mailto:"] {
        if v.len() > p.len() && v[..p.len()].eq_ignore_ascii_case(p) {
            return &v[p.len()..];
        }
    }
    v
}

/// "smtp; 550 5.1.1 ..." → "550 5.1.1 ..." (the diagnostic type prefix removed).
pub fn diagnostic_value(v: &str) -> &str {
    let t = v.trim_start();
    if let Some(i) = t.find(';') {
        let ty = &t[..i];
        if !ty.is_empty() && ty.len() <= 12 && ty.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return t[i + 1..].trim();
        }
    }
    t.trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_local_parts_and_prefixes() {
        assert_eq!(address_value("rfc822; \"john.doe\"@Example.com"), "\"john.doe\"@example.com");
        assert_eq!(address_value("rfc822; <\"john doe\"@example.com>"), "\"john doe\"@example.com");
        assert_eq!(address_value("rfc822; smtp=lena.m@example.com"), "lena.m@example.com");
        assert_eq!(address_value("rfc822;<kim@example.com>"), "kim@example.com");
        assert_eq!(address_value("\"kim@example.com\""), "kim@example.com");
    }

    #[test]
    fn blocks_without_blank_line_between() {
        let t = "Final-Recipient: rfc822; a@example.com\nAction: failed\nStatus: 5.2.2\nFinal-Recipient: rfc822; b@example.com\nAction: failed\nStatus: 5.1.1\n";
        let b = parse_blocks(t, 10);
        assert_eq!(b.len(), 2);
        assert_eq!(b[1].get("status"), Some("5.1.1"));
    }

    #[test]
    fn blocks_unfold_and_split() {
        let b = parse_blocks("Reporting-MTA: dns; mx.example\n\nFinal-Recipient: rfc822; <A@Example.com>\nAction: failed\nDiagnostic-Code: smtp; 550 5.1.1\n   user unknown\n", 10);
        assert_eq!(b.len(), 2);
        assert_eq!(b[1].get("diagnostic-code"), Some("smtp; 550 5.1.1 user unknown"));
        assert_eq!(address_value(b[1].get("final-recipient").unwrap()), "a@example.com");
        assert_eq!(diagnostic_value("smtp; 550 x"), "550 x");
        assert_eq!(diagnostic_value("550 x; y"), "550 x; y");
    }
}
