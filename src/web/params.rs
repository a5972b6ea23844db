//! Query strings and form bodies as ordered (name, value) pairs: repeated names (several
//! statuses, the previewed addresses) are kept, which serde's urlencoded maps cannot do.

#[derive(Debug, Default, Clone)]
pub struct Params(pub Vec<(String, String)>);

/// Bound on the pairs read from one request (a bulk release form carries one per address).
pub const MAX_PAIRS: usize = 20_000;

impl Params {
    pub fn parse(raw: &[u8]) -> Params {
        Params(form_urlencoded::parse(raw).take(MAX_PAIRS).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
    }
    /// A form body: refused (400) when it holds [`MAX_PAIRS`] fields or more, rather than cut.
    pub fn form(raw: &[u8]) -> Result<Params, super::WebError> {
        let p = Params::parse(raw);
        if p.0.len() >= MAX_PAIRS {
            tracing::warn!("form refused: {} fields or more", MAX_PAIRS);
            return Err(super::WebError::BadRequest(format!("too many fields in the form (at most {})", MAX_PAIRS - 1)));
        }
        Ok(p)
    }
    pub fn query(q: &Option<String>) -> Params {
        q.as_deref().map(|q| Params::parse(q.as_bytes())).unwrap_or_default()
    }
    /// The first non-blank value of `name`, trimmed.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.trim()).find(|v| !v.is_empty())
    }
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty()).collect()
    }
    pub fn num(&self, name: &str) -> Option<u64> {
        self.get(name).and_then(|v| v.parse().ok())
    }
    /// The pairs as a query string, without `skip`ped names (links to other pages of a list).
    pub fn to_query(&self, skip: &[&str]) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.0 {
            if !skip.contains(&k.as_str()) && !v.trim().is_empty() {
                s.append_pair(k, v);
            }
        }
        s.finish()
    }
    pub fn with(&self, name: &str, value: &str) -> Params {
        let mut p = Params(self.0.iter().filter(|(k, _)| k != name).cloned().collect());
        p.0.push((name.to_string(), value.to_string()));
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_and_blank() {
        let p = Params::parse(b"status=quarantine&status=with-errors&q=+&page=3&a=x%26y");
        assert_eq!(p.all("status"), vec!["quarantine", "with-errors"]);
        assert_eq!(p.get("q"), None);
        assert_eq!(p.num("page"), Some(3));
        assert_eq!(p.get("a"), Some("x&y"));
        assert_eq!(p.with("page", "4").to_query(&[]), "status=quarantine&status=with-errors&a=x%26y&page=4");
    }
}
