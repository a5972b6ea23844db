//! Who may use the console: the users file, basic auth and bearer tokens, roles, CSRF tokens.
//!
//! The users file (never the command line) is TOML:
//! ```toml
//! [[user]]
//! name = "alice"
//! role = "admin"          # admin | read-only
//! password = "…"          # basic auth (user name + password), for browsers
//! token = "…"             # Authorization: Bearer …, for the API and Prometheus
//! ```
//! Secrets are compared through their BLAKE3 hashes in constant time. A form's CSRF token is a
//! keyed hash of the user name under a key drawn at start: a page of another site cannot know
//! it, a restart invalidates open forms.

use super::{Shared, WebError};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;
use std::path::Path;
use subtle::ConstantTimeEq;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Everything, including edits and releases.
    Admin,
    /// Pages, API and metrics; no edit, no release (403).
    ReadOnly,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::ReadOnly => "read-only",
        }
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub role: Role,
}

impl User {
    pub fn require_admin(&self) -> Result<(), WebError> {
        if self.role == Role::Admin {
            Ok(())
        } else {
            Err(WebError::Forbidden(format!("{} is read-only: edits and releases need the admin role", self.name)))
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserEntry {
    name: String,
    role: Role,
    password: Option<String>,
    token: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    #[serde(default)]
    user: Vec<UserEntry>,
}

struct Account {
    user: User,
    password: Option<[u8; 32]>,
    token: Option<[u8; 32]>,
}

pub struct Users {
    accounts: Vec<Account>,
}

fn digest(s: &str) -> [u8; 32] {
    *blake3::hash(s.as_bytes()).as_bytes()
}

/// Shortest secret accepted: a guessable password on a console that can release addresses is
/// not.
const MIN_SECRET: usize = 12;

impl Users {
    pub fn load(path: &Path) -> anyhow::Result<Users> {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read users file {}: {e}", path.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if let Ok(m) = std::fs::metadata(path) {
                if m.permissions().mode() & 0o077 != 0 {
                    tracing::warn!(file = %path.display(), "the users file is readable by other users: chmod 600 it");
                }
            }
        }
        Users::parse(&text).map_err(|e| anyhow::anyhow!("users file {}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> anyhow::Result<Users> {
        let f: UsersFile = toml::from_str(text)?;
        let mut accounts = Vec::new();
        for u in f.user {
            anyhow::ensure!(!u.name.is_empty() && !u.name.contains(':'), "user name {:?}: empty or contains ':'", u.name);
            anyhow::ensure!(u.password.is_some() || u.token.is_some(), "user {}: give a password and/or a token", u.name);
            for s in [&u.password, &u.token].into_iter().flatten() {
                anyhow::ensure!(s.chars().count() >= MIN_SECRET, "user {}: secrets must be at least {MIN_SECRET} characters", u.name);
            }
            anyhow::ensure!(!accounts.iter().any(|a: &Account| a.user.name == u.name), "user {} is defined twice", u.name);
            accounts.push(Account {
                user: User { name: u.name, role: u.role },
                password: u.password.as_deref().map(digest),
                token: u.token.as_deref().map(digest),
            });
        }
        anyhow::ensure!(!accounts.is_empty(), "no [[user]]: nobody could log in");
        Ok(Users { accounts })
    }

    /// The user an `Authorization` header value names, if its secret is right.
    pub fn authenticate(&self, authorization: &str) -> Option<User> {
        let (scheme, rest) = authorization.trim().split_once(' ')?;
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            let d = digest(rest);
            // Every account is compared (no early exit): the time does not tell which matched.
            let mut found = None;
            for a in &self.accounts {
                if let Some(t) = &a.token {
                    if bool::from(t.ct_eq(&d)) {
                        found = Some(a.user.clone());
                    }
                }
            }
            found
        } else if scheme.eq_ignore_ascii_case("basic") {
            let raw = base64::engine::general_purpose::STANDARD.decode(rest).ok()?;
            let raw = String::from_utf8(raw).ok()?;
            let (name, password) = raw.split_once(':')?;
            let d = digest(password);
            let a = self.accounts.iter().find(|a| a.user.name == name)?;
            let p = a.password.as_ref()?;
            bool::from(p.ct_eq(&d)).then(|| a.user.clone())
        } else {
            None
        }
    }
}

impl super::App {
    /// The CSRF token of a user's forms.
    pub fn csrf_token(&self, user: &User) -> String {
        blake3::keyed_hash(&self.csrf_key, format!("csrf\0{}", user.name).as_bytes()).to_hex().to_string()
    }

    /// Refuse (403) a form without this user's CSRF token.
    pub fn check_csrf(&self, user: &User, given: Option<&str>) -> Result<(), WebError> {
        let want = self.csrf_token(user);
        match given {
            Some(g) if bool::from(g.as_bytes().ct_eq(want.as_bytes())) => Ok(()),
            Some(_) => Err(WebError::Forbidden("wrong CSRF token: reload the form and submit it again".into())),
            None => Err(WebError::Forbidden("missing CSRF token: submit the console's own form".into())),
        }
    }
}

/// Middleware: 401 (with a basic-auth challenge) unless the request carries a known user.
pub async fn require_user(State(app): State<Shared>, mut req: Request, next: Next) -> Response {
    let user = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| app.users.authenticate(v));
    match user {
        Some(u) => {
            req.extensions_mut().insert(u);
            next.run(req).await
        }
        None => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Basic realm=\"inmail\", charset=\"UTF-8\""), (header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "authentication required: basic auth or a bearer token of the users file\n",
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[[user]]
name = "alice"
role = "admin"
password = "correct horse battery"
token = "tok-0123456789abcdef"

[[user]]
name = "bob"
role = "read-only"
password = "another long secret"
"#;

    fn basic(u: &str, p: &str) -> String {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}")))
    }

    #[test]
    fn basic_and_bearer() {
        let users = Users::parse(FILE).unwrap();
        assert_eq!(users.authenticate(&basic("alice", "correct horse battery")).unwrap().role, Role::Admin);
        assert_eq!(users.authenticate(&basic("bob", "another long secret")).unwrap().role, Role::ReadOnly);
        assert!(users.authenticate(&basic("bob", "correct horse battery")).is_none());
        assert!(users.authenticate(&basic("carol", "x")).is_none());
        assert_eq!(users.authenticate("Bearer tok-0123456789abcdef").unwrap().name, "alice");
        assert!(users.authenticate("Bearer tok-0123456789abcdeF").is_none());
        assert!(users.authenticate("Digest x").is_none());
        assert!(users.authenticate("").is_none());
    }

    #[test]
    fn weak_or_empty_files_are_refused() {
        assert!(Users::parse("").is_err());
        assert!(Users::parse("[[user]]\nname='a'\nrole='admin'\npassword='short'\n").is_err());
        assert!(Users::parse("[[user]]\nname='a'\nrole='admin'\n").is_err());
        assert!(Users::parse("[[user]]\nname='a'\nrole='root'\npassword='long enough secret'\n").is_err());
    }
}
