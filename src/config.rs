//! The configuration file (TOML). Every key is optional; see `contrib/inmail.example.toml`.

use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// SQLite database file (default `inmail.db` in the current folder).
    pub db: Option<PathBuf>,
    /// Group of a database created by inmail (mode 0640); without it the database is 0600.
    pub db_group: Option<String>,
    /// The user's own rules file, read before the shipped defaults; inmail never writes it.
    pub rules_file: Option<PathBuf>,
    /// Daemon settings (`inmail run`).
    #[serde(default)]
    pub daemon: DaemonConfig,
    /// IMAP mailboxes watched by `inmail run`, each independently.
    #[serde(default)]
    pub mailbox: Vec<MailboxConfig>,
    /// `[quarantine]`: thresholds and periods of the per-address quarantine.
    #[serde(default)]
    pub quarantine: QuarantineConfig,
    /// `[linkage]`: how a bounce is linked to the delivery it concerns.
    #[serde(default)]
    pub linkage: LinkageConfig,
    /// `[sms]`: SMS status reports (extended generic SMPP).
    #[serde(default)]
    pub sms: SmsConfig,
    /// `[http]`: the web console, JSON API and metrics (`inmail serve`, and `inmail run` when
    /// `listen` is set).
    #[serde(default)]
    pub http: HttpConfig,
}

/// `[http]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address to listen on, e.g. "127.0.0.1:8025" (`inmail serve` defaults to it; `inmail run`
    /// serves only when it is set).
    pub listen: Option<String>,
    /// The users file (TOML `[[user]]` entries: name, role, password and/or token). Required:
    /// every page and API call is authenticated.
    pub users_file: Option<PathBuf>,
}

/// `[quarantine]` section. Periods are in days and are compared with event times, so a replay
/// of old mail reaches the state live processing would have reached.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuarantineConfig {
    /// Soft errors that put an address in Quarantine (default 5).
    pub threshold: i64,
    /// An address With errors whose last error is more than this many days old goes back to
    /// Valid with its counter reset (default 10; 0 disables the rule).
    pub reset_after_days: i64,
    /// An address With errors because of "Mailbox full" goes back to Valid this many days after
    /// the last error (default 30; 0 disables the rule).
    pub mailbox_full_release_days: i64,
    /// Compare addresses case-insensitively (default true): entries are keyed by the lowercased
    /// address. Adobe Campaign is case-sensitive; set false to behave like it.
    pub case_insensitive: bool,
    /// Count delay notices (`Action: delayed`: the MTA still retries) as Soft errors (default
    /// false: a delay is recorded, but moves no address toward quarantine).
    pub count_delays: bool,
}

impl Default for QuarantineConfig {
    fn default() -> Self {
        QuarantineConfig { threshold: 5, reset_after_days: 10, mailbox_full_release_days: 30, case_insensitive: true, count_delays: false }
    }
}

/// `[linkage]` section: extractors over the returned original message's headers (and, for
/// VERP, the bounce text). Each regex may name the groups `delivery` and `log`; the first
/// extractor that yields a value wins for each of the two identifiers.
///
/// ```toml
/// [linkage]
/// message_id = '<(?P<log>[0-9a-f]+)\.(?P<delivery>\d+)@mta\.example\.com>'
/// delivery_header = "X-Delivery-Id"
/// log_header = "X-Delivery-Log-Id"
/// verp = 'bounce\+(?P<delivery>\d+)-(?P<log>\d+)@'
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinkageConfig {
    /// Regex over the original message's Message-ID header (named groups `delivery`, `log`).
    pub message_id: Option<String>,
    /// Header of the original message whose whole value is the delivery id (e.g. X-Delivery-Id).
    pub delivery_header: Option<String>,
    /// Header of the original message whose whole value is the delivery-log id.
    pub log_header: Option<String>,
    /// VERP regex over the original Return-Path, else the whole original header block and the
    /// bounce's diagnostic (named groups `delivery`, `log`).
    pub verp: Option<String>,
}

/// `[sms]` section: status reports read by `replay --sr` / `parse --sr`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmsConfig {
    /// SMSC implementation name used when a line does not give one (default "Generic").
    pub smsc_name: String,
    /// Regex extracting the status; group 1 (default SMPP 3.4 appendix B `stat:(\S+)`).
    pub stat_regex: String,
    /// Regex extracting the error code; group 1 (default `err:(\S+)`).
    pub err_regex: String,
}

impl Default for SmsConfig {
    fn default() -> Self {
        SmsConfig { smsc_name: "Generic".into(), stat_regex: r"stat:(\S+)".into(), err_regex: r"err:(\S+)".into() }
    }
}

/// `[daemon]`: settings of `inmail run` that are not per mailbox.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DaemonConfig {
    /// Seconds between database maintenance runs (WAL checkpoint, `PRAGMA optimize`).
    pub maintain_interval: u64,
    /// Log format on stderr: "text" or "json" (`--log-format` wins).
    pub log_format: LogFormat,
    /// Analysis threads per batch (0 = number of cores).
    pub threads: usize,
    /// Seconds a database error (read-only, corrupt, disk full) may last, retried, before the
    /// daemon stops with a failure status (default 60).
    pub database_retry: u64,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig { maintain_interval: 3600, log_format: LogFormat::Text, threads: 0, database_retry: 60 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// How to reach the IMAP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// TLS from the first byte (port 993).
    Implicit,
    /// Plain connection upgraded with STARTTLS before login (port 143).
    Starttls,
    /// No TLS: only to a loopback host unless `allow_insecure = true`.
    None,
}

/// What to do with a message once it is recorded in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum After {
    /// Bounces to `processed_folder`, non-bounces to `other_folder`, unparsable to `error_folder`.
    Move,
    /// Bounces deleted (expunged); non-bounces and unparsable messages moved as with `move`.
    Delete,
    /// Everything stays in `folder`, flagged \Seen.
    Seen,
}

/// `[[mailbox]]`: one IMAP folder to watch.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailboxConfig {
    /// Name used in logs and in the database's checkpoint table; unique.
    pub name: String,
    pub host: String,
    /// Default: 993 for implicit TLS, 143 otherwise.
    pub port: Option<u16>,
    #[serde(default = "default_tls")]
    pub tls: TlsMode,
    /// PEM file of the CA(s) to trust instead of the built-in web PKI roots.
    pub ca_file: Option<PathBuf>,
    pub username: String,
    /// File holding the password (first line; trailing newline ignored).
    pub password_file: Option<PathBuf>,
    /// Name of the environment variable holding the password.
    pub password_env: Option<String>,
    /// Name of a systemd credential holding the password (`LoadCredential=NAME:FILE` in the
    /// unit): the file `$CREDENTIALS_DIRECTORY/NAME`, first line.
    pub password_credential: Option<String>,
    #[serde(default = "default_folder")]
    pub folder: String,
    #[serde(default = "default_processed")]
    pub processed_folder: String,
    #[serde(default = "default_other")]
    pub other_folder: String,
    #[serde(default = "default_error")]
    pub error_folder: String,
    #[serde(default = "default_after")]
    pub after: After,
    /// Messages fetched and recorded per transaction, at most.
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Bytes of mail per batch, roughly: the batch shrinks when messages are large. Fetch,
    /// analysis and commit each hold a batch, one fetched batch waits for the analysis and two
    /// analyzed ones for the commit: up to six batches are in memory, which this bounds.
    #[serde(default = "default_batch_bytes")]
    pub batch_bytes: usize,
    /// Committed messages that may wait before they are moved (flagged, deleted): moves happen
    /// between two FETCH commands once this many wait, and when the folder is drained. A crash
    /// leaves at most this many, plus the batches in flight, to fetch again.
    #[serde(default = "default_move_every")]
    pub move_every: usize,
    /// Seconds between polls when IDLE is off or not supported.
    #[serde(default = "default_poll")]
    pub poll_interval: u64,
    /// Use IMAP IDLE when the server supports it.
    #[serde(default = "default_true")]
    pub idle: bool,
    /// Seconds before an IDLE is re-issued (kept under the 29 minutes of RFC 2177).
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout: u64,
    /// Allow `tls = "none"` to a host that is not loopback.
    #[serde(default)]
    pub allow_insecure: bool,
    /// Upper bound, in seconds, of the reconnection backoff.
    #[serde(default = "default_backoff_max")]
    pub reconnect_max: u64,
    /// Seconds allowed for one IMAP command (connect, fetch of a batch, move…).
    #[serde(default = "default_timeout")]
    pub timeout: u64,
}

fn default_tls() -> TlsMode {
    TlsMode::Implicit
}
fn default_folder() -> String {
    "INBOX".into()
}
fn default_processed() -> String {
    "Processed".into()
}
fn default_other() -> String {
    "Other".into()
}
fn default_error() -> String {
    "Errors".into()
}
fn default_after() -> After {
    After::Move
}
fn default_batch() -> usize {
    1000
}
fn default_batch_bytes() -> usize {
    8 * 1024 * 1024
}
fn default_move_every() -> usize {
    10_000
}
fn default_poll() -> u64 {
    60
}
fn default_true() -> bool {
    true
}
fn default_idle_timeout() -> u64 {
    25 * 60
}
fn default_backoff_max() -> u64 {
    300
}
fn default_timeout() -> u64 {
    120
}

impl MailboxConfig {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(if self.tls == TlsMode::Implicit { 993 } else { 143 })
    }

    /// Reject settings that cannot work or are unsafe.
    pub fn validate(&self) -> anyhow::Result<()> {
        let n = &self.name;
        anyhow::ensure!(!n.is_empty(), "a [[mailbox]] has an empty name");
        anyhow::ensure!(!self.host.is_empty(), "mailbox {n}: host is empty");
        let sources = [self.password_file.is_some(), self.password_env.is_some(), self.password_credential.is_some()];
        anyhow::ensure!(
            sources.iter().filter(|s| **s).count() == 1,
            "mailbox {n}: set exactly one of password_file, password_env and password_credential"
        );
        if let Some(c) = &self.password_credential {
            // A credential name is a file name in the credentials directory, nothing more.
            anyhow::ensure!(
                !c.is_empty() && !c.contains('/') && c != "." && c != "..",
                "mailbox {n}: password_credential must be a credential name (no '/'), got {c:?}"
            );
        }
        anyhow::ensure!(self.batch_size >= 1, "mailbox {n}: batch_size must be at least 1");
        anyhow::ensure!(self.batch_bytes >= 1, "mailbox {n}: batch_bytes must be at least 1");
        anyhow::ensure!(self.move_every >= 1, "mailbox {n}: move_every must be at least 1");
        anyhow::ensure!(self.poll_interval >= 1, "mailbox {n}: poll_interval must be at least 1 second");
        anyhow::ensure!(
            (1..=29 * 60).contains(&self.idle_timeout),
            "mailbox {n}: idle_timeout must be between 1 and 1740 seconds"
        );
        if self.tls == TlsMode::None && !self.allow_insecure && !is_loopback(&self.host) {
            anyhow::bail!(
                "mailbox {n}: tls = \"none\" to {} would send the password in clear; use TLS, or set allow_insecure = true",
                self.host
            );
        }
        if self.after != After::Seen {
            for f in [&self.processed_folder, &self.other_folder, &self.error_folder] {
                anyhow::ensure!(f != &self.folder, "mailbox {n}: a destination folder is the watched folder {f}");
            }
        }
        Ok(())
    }

    /// The password, from its file, environment variable or systemd credential. Never logged.
    pub fn password(&self) -> anyhow::Result<String> {
        if let Some(p) = &self.password_file {
            let s = std::fs::read_to_string(p)
                .map_err(|e| anyhow::anyhow!("mailbox {}: cannot read password_file {}: {e}", self.name, p.display()))?;
            return Ok(s.lines().next().unwrap_or("").to_string());
        }
        if let Some(c) = &self.password_credential {
            let dir = std::env::var_os("CREDENTIALS_DIRECTORY").ok_or_else(|| {
                anyhow::anyhow!(
                    "mailbox {}: password_credential {c:?} but CREDENTIALS_DIRECTORY is not set (run under systemd with LoadCredential={c}:FILE)",
                    self.name
                )
            })?;
            let p = Path::new(&dir).join(c);
            let s = std::fs::read_to_string(&p)
                .map_err(|e| anyhow::anyhow!("mailbox {}: cannot read credential {}: {e}", self.name, p.display()))?;
            return Ok(s.lines().next().unwrap_or("").to_string());
        }
        if let Some(v) = &self.password_env {
            return std::env::var(v)
                .map_err(|_| anyhow::anyhow!("mailbox {}: environment variable {v} is not set", self.name));
        }
        anyhow::bail!("mailbox {}: no password_file, password_env or password_credential", self.name)
    }
}

/// "localhost" or a loopback IP address.
pub fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.trim_matches(|c| c == '[' || c == ']').parse::<std::net::IpAddr>().map(|ip| ip.is_loopback()).unwrap_or(false)
}

/// File names tried when `--config` is not given.
pub const DEFAULT_CONFIG: &str = "inmail.toml";

impl Config {
    /// Load `path`, or `./inmail.toml` when present, or defaults.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let path = match path {
            Some(p) => p.to_path_buf(),
            None => {
                let p = PathBuf::from(DEFAULT_CONFIG);
                if !p.exists() {
                    return Ok(Config::default());
                }
                p
            }
        };
        let text = std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("cannot read config {}: {e}", path.display()))?;
        let mut cfg: Config = toml::from_str(&text).map_err(|e| anyhow::anyhow!("config {}: {e}", path.display()))?;
        // Relative paths in a config file are relative to the file's folder.
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        for p in [&mut cfg.db, &mut cfg.rules_file, &mut cfg.http.users_file].into_iter().flatten() {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        for m in &mut cfg.mailbox {
            for p in [&mut m.ca_file, &mut m.password_file].into_iter().flatten() {
                if p.is_relative() {
                    *p = base.join(&*p);
                }
            }
        }
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_parses_and_validates() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/inmail.example.toml");
        let cfg = Config::load(Some(&p)).expect("example config");
        assert_eq!(cfg.mailbox.len(), 1);
        let m = &cfg.mailbox[0];
        m.validate().expect("valid");
        assert_eq!(m.port(), 993);
        assert_eq!(m.after, After::Move);
        assert_eq!(cfg.daemon.log_format, LogFormat::Text);
    }

    #[test]
    fn password_from_a_systemd_credential() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("imap-password"), "s3cret\nignored\n").unwrap();
        let cfg: Config = toml::from_str(
            "[[mailbox]]\nname = \"a\"\nhost = \"h\"\nusername = \"u\"\npassword_credential = \"imap-password\"\n",
        )
        .unwrap();
        let m = &cfg.mailbox[0];
        m.validate().unwrap();
        // The only test of the crate that touches this variable.
        std::env::set_var("CREDENTIALS_DIRECTORY", dir.path());
        assert_eq!(m.password().unwrap(), "s3cret");
        std::env::remove_var("CREDENTIALS_DIRECTORY");
        let e = m.password().unwrap_err().to_string();
        assert!(e.contains("CREDENTIALS_DIRECTORY") && e.contains("LoadCredential"), "{e}");
    }

    #[test]
    fn mailbox_defaults_and_insecure_rules() {
        let cfg: Config = toml::from_str(
            "[[mailbox]]\nname = \"a\"\nhost = \"127.0.0.1\"\ntls = \"none\"\nusername = \"u\"\npassword_env = \"X\"\n",
        )
        .unwrap();
        let m = &cfg.mailbox[0];
        assert_eq!((m.port(), m.folder.as_str(), m.batch_size, m.idle), (143, "INBOX", 1000, true));
        m.validate().expect("plaintext to loopback is allowed");
        let mut remote = m.clone();
        remote.host = "imap.example.com".into();
        assert!(remote.validate().is_err());
        remote.allow_insecure = true;
        remote.validate().expect("allowed explicitly");
        let mut both = m.clone();
        both.password_file = Some("x".into());
        assert!(both.validate().is_err(), "password_file and password_env together");
        let mut cred = m.clone();
        (cred.password_env, cred.password_credential) = (None, Some("imap-password".into()));
        cred.validate().expect("a credential alone");
        cred.password_credential = Some("../etc/shadow".into());
        assert!(cred.validate().is_err(), "a credential name is not a path");
        assert!(is_loopback("::1") && is_loopback("localhost") && !is_loopback("10.0.0.1"));
    }
}
