//! `inmail serve` (and `inmail run` with `[http] listen`): the operator's web console, the JSON
//! API for the sending platform and the Prometheus metrics, over axum on the tokio runtime.
//!
//! Pages are rendered on the server with maud (every value escaped); the one stylesheet is
//! compiled into the binary; no JavaScript. Every route but the stylesheet needs a user of the
//! users file (basic auth or bearer token); edits need the admin role and the form's CSRF token,
//! and are recorded with the user's name in the history. Database work runs on tokio's blocking
//! threads, one pooled SQLite connection each (WAL: readers never wait for the daemon's writer).

pub mod auth;
mod api;
mod layout;
mod metrics;
mod pages;
mod params;
pub mod query;
mod quarantine;
mod qual;
mod reports;
mod svg;

use crate::config::Config;
use crate::rules::RuleSet;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use rusqlite::Connection;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub use auth::{Role, User, Users};

/// Everything a request may need; shared by every handler.
pub struct App {
    pool: Pool,
    pub users: Users,
    csrf_key: [u8; 32],
    pub cfg: Config,
    /// Replaced when the daemon reloads its rules (SIGHUP).
    rules: std::sync::RwLock<Arc<RuleSet>>,
}

pub type Shared = Arc<App>;

impl App {
    /// The database must exist and be migrated (the caller opened it once with `Store::open`).
    pub fn new(db: PathBuf, users: Users, cfg: Config, rules: RuleSet) -> App {
        let mut csrf_key = [0u8; 32];
        rand::Rng::fill(&mut rand::rng(), &mut csrf_key);
        App { pool: Pool { path: db, idle: Mutex::new(Vec::new()) }, users, csrf_key, cfg, rules: std::sync::RwLock::new(Arc::new(rules)) }
    }

    pub fn rules(&self) -> Arc<RuleSet> {
        self.rules.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn set_rules(&self, rules: RuleSet) {
        *self.rules.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(rules);
    }

    /// Run `f` on a pooled connection, on a blocking thread.
    async fn db<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Connection) -> Result<T, WebError> + Send + 'static,
    ) -> Result<T, WebError> {
        let app = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = app.pool.take()?;
            let r = f(&mut c);
            app.pool.put(c);
            r
        })
        .await
        .map_err(|e| WebError::Internal(format!("database task: {e}")))?
    }
}

/// Idle connections, reused; at most `MAX_IDLE` are kept (more are opened under load and
/// closed after use).
struct Pool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

const MAX_IDLE: usize = 8;

impl Pool {
    fn take(&self) -> Result<Connection, WebError> {
        if let Some(c) = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            return Ok(c);
        }
        let c = Connection::open_with_flags(
            &self.path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        c.busy_timeout(std::time::Duration::from_secs(10))?;
        c.pragma_update(None, "foreign_keys", "ON")?;
        Ok(c)
    }
    fn put(&self, c: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(c);
        }
    }
}

/// What a handler can fail with; the body is plain text (details of internal errors are logged,
/// not shown).
#[derive(Debug)]
pub enum WebError {
    BadRequest(String),
    Forbidden(String),
    NotFound(String),
    Internal(String),
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (code, msg) = match self {
            WebError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            WebError::Forbidden(m) => (StatusCode::FORBIDDEN, m),
            WebError::NotFound(m) => (StatusCode::NOT_FOUND, m),
            WebError::Internal(m) => {
                tracing::error!(error = %m, "web request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error (see the server's log)".to_string())
            }
        };
        (code, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{msg}\n")).into_response()
    }
}

impl From<rusqlite::Error> for WebError {
    fn from(e: rusqlite::Error) -> Self {
        WebError::Internal(e.to_string())
    }
}

impl From<crate::store::StoreError> for WebError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Invalid(m) => WebError::BadRequest(m),
            e => WebError::Internal(e.to_string()),
        }
    }
}

impl From<std::fmt::Error> for WebError {
    fn from(e: std::fmt::Error) -> Self {
        WebError::Internal(e.to_string())
    }
}

pub type WebResult<T> = Result<T, WebError>;

const STYLE: &str = include_str!("style.css");

async fn style() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "max-age=3600")], STYLE)
}

/// The routes. Everything but `/static/` goes through authentication.
pub fn router(app: Shared) -> Router {
    let protected = Router::new()
        .route("/", get(pages::front))
        .route("/qual", get(qual::list))
        .route("/qual/{id}", get(qual::show).post(qual::edit))
        .route("/quarantine", get(quarantine::list))
        .route("/quarantine/export.csv", get(quarantine::export))
        .route("/quarantine/entry", get(quarantine::show))
        .route("/quarantine/release", post(quarantine::release))
        .route("/reports", get(reports::page_route))
        .route("/rules", get(pages::rules))
        .route("/api/v1/address/{address}", get(api::address))
        .route("/api/v1/changes", get(api::changes))
        .route("/api/v1/qualification", get(api::qualification))
        .route("/api/v1/qualification/{id}", get(api::qualification_row))
        .route("/api/v1/report", get(api::report))
        .route("/metrics", get(metrics::metrics))
        .route_layer(middleware::from_fn_with_state(app.clone(), auth::require_user));
    Router::new()
        .route("/static/style.css", get(style))
        .merge(protected)
        .layer(middleware::from_fn(headers))
        .with_state(app)
}

/// Security headers on every response, and the server time of the request (`Server-Timing`,
/// read by the benchmark; also logged at debug level).
async fn headers(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let path = req.uri().path().to_string();
    let mut resp = next.run(req).await;
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    tracing::debug!(path, status = resp.status().as_u16(), ms, "http");
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if !path.starts_with("/static/") {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Ok(v) = HeaderValue::from_str(&format!("app;dur={ms:.3}")) {
        h.insert("server-timing", v);
    }
    resp
}

/// Serve on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Shared,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(app)).with_graceful_shutdown(shutdown).await
}

/// Parse a listen address ("127.0.0.1:8025", "[::1]:8025", "localhost:8025") and bind it.
pub async fn bind(listen: &str) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(listen).await.map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))
}

/// Build the shared state from the configuration: users file required.
pub fn app_from_config(cfg: &Config, db: PathBuf, rules: RuleSet) -> anyhow::Result<Shared> {
    let Some(users_file) = &cfg.http.users_file else {
        anyhow::bail!("[http] users_file is not set: the console needs its users (see the README, section Web console)");
    };
    let users = Users::load(users_file)?;
    Ok(Arc::new(App::new(db, users, cfg.clone(), rules)))
}

/// Current user, for handlers (set by [`auth::require_user`]).
pub(crate) type CurrentUser = axum::Extension<User>;

pub(crate) fn state(s: State<Shared>) -> Shared {
    s.0
}
