//! Delivery linkage: find the sending platform's delivery and delivery-log identifiers in the
//! returned original message's headers (or, for VERP, the bounce text). Configured in `[linkage]`.

use crate::config::LinkageConfig;
use regex::Regex;

/// The identifiers found for one bounce.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Link {
    pub delivery_id: Option<String>,
    pub delivery_log_id: Option<String>,
}

/// Compiled extractors. An empty `Linker` finds nothing.
#[derive(Debug, Clone, Default)]
pub struct Linker {
    message_id: Option<Regex>,
    delivery_header: Option<String>,
    log_header: Option<String>,
    verp: Option<Regex>,
}

fn compile(name: &str, re: &Option<String>) -> anyhow::Result<Option<Regex>> {
    re.as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| Regex::new(s).map_err(|e| anyhow::anyhow!("[linkage] {name}: invalid regex: {e}")))
        .transpose()
}

/// Value of a header in a header block (case-insensitive name, folded lines joined).
pub fn header_value(block: &str, name: &str) -> Option<String> {
    let mut current: Option<String> = None;
    for line in crate::bounds::lines(block) {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(c) = current.as_mut() {
                c.push(' ');
                c.push_str(line.trim());
            }
            continue;
        }
        if current.is_some() {
            break;
        }
        if let Some((n, v)) = line.split_once(':') {
            if n.trim().eq_ignore_ascii_case(name) {
                current = Some(v.trim().to_string());
            }
        }
    }
    current.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

fn groups(re: &Regex, text: &str, link: &mut Link) {
    if let Some(c) = re.captures(text) {
        if link.delivery_id.is_none() {
            link.delivery_id = c.name("delivery").map(|m| m.as_str().to_string()).filter(|s| !s.is_empty());
        }
        if link.delivery_log_id.is_none() {
            link.delivery_log_id = c.name("log").map(|m| m.as_str().to_string()).filter(|s| !s.is_empty());
        }
    }
}

impl Linker {
    pub fn new(cfg: &LinkageConfig) -> anyhow::Result<Linker> {
        let l = Linker {
            message_id: compile("message_id", &cfg.message_id)?,
            delivery_header: cfg.delivery_header.clone().filter(|s| !s.trim().is_empty()),
            log_header: cfg.log_header.clone().filter(|s| !s.trim().is_empty()),
            verp: compile("verp", &cfg.verp)?,
        };
        for (name, re) in [("message_id", &l.message_id), ("verp", &l.verp)] {
            if let Some(re) = re {
                if !re.capture_names().flatten().any(|n| n == "delivery" || n == "log") {
                    anyhow::bail!("[linkage] {name}: the regex must name a group `delivery` or `log`, e.g. (?P<delivery>\\d+)");
                }
            }
        }
        Ok(l)
    }

    pub fn is_empty(&self) -> bool {
        self.message_id.is_none() && self.delivery_header.is_none() && self.log_header.is_none() && self.verp.is_none()
    }

    /// Identifiers from the original headers, then from the bounce text (VERP only).
    pub fn link(&self, original_headers: &str, bounce_text: &str) -> Link {
        let mut link = Link::default();
        if self.is_empty() {
            return link;
        }
        if let Some(h) = &self.delivery_header {
            link.delivery_id = header_value(original_headers, h);
        }
        if let Some(h) = &self.log_header {
            link.delivery_log_id = header_value(original_headers, h);
        }
        if let Some(re) = &self.message_id {
            if let Some(mid) = header_value(original_headers, "message-id") {
                groups(re, &mid, &mut link);
            }
        }
        if let Some(re) = &self.verp {
            for text in [header_value(original_headers, "return-path").unwrap_or_default().as_str(), original_headers, bounce_text] {
                if link.delivery_id.is_some() && link.delivery_log_id.is_some() {
                    break;
                }
                groups(re, text, &mut link);
            }
        }
        link
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADERS: &str = "Return-Path: <bounce+77-9001@mail.example.com>\nMessage-ID: <abc123.4242@mta.example.com>\nX-Delivery-Id:\n  D-555\nSubject: hi\n";

    #[test]
    fn header_extractor() {
        let l = Linker::new(&LinkageConfig { delivery_header: Some("x-delivery-id".into()), ..Default::default() }).unwrap();
        assert_eq!(l.link(HEADERS, ""), Link { delivery_id: Some("D-555".into()), delivery_log_id: None });
    }

    #[test]
    fn message_id_and_verp() {
        let l = Linker::new(&LinkageConfig {
            message_id: Some(r"<(?P<log>[0-9a-z]+)\.(?P<delivery>\d+)@mta\.example\.com>".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(l.link(HEADERS, ""), Link { delivery_id: Some("4242".into()), delivery_log_id: Some("abc123".into()) });
        let v = Linker::new(&LinkageConfig { verp: Some(r"bounce\+(?P<delivery>\d+)-(?P<log>\d+)@".into()), ..Default::default() }).unwrap();
        assert_eq!(v.link(HEADERS, ""), Link { delivery_id: Some("77".into()), delivery_log_id: Some("9001".into()) });
        assert_eq!(v.link("", "sent to bounce+1-2@x"), Link { delivery_id: Some("1".into()), delivery_log_id: Some("2".into()) });
        assert_eq!(v.link("", "nothing"), Link::default());
    }

    #[test]
    fn bad_config_is_an_error() {
        assert!(Linker::new(&LinkageConfig { verp: Some("(".into()), ..Default::default() }).is_err());
        assert!(Linker::new(&LinkageConfig { verp: Some("bounce".into()), ..Default::default() }).is_err());
    }
}
