//! The configuration file (TOML). Every key is optional; see `contrib/inmail.example.toml`.

use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// SQLite database file (default `inmail.db` in the current folder).
    pub db: Option<PathBuf>,
    /// The user's own rules file, read before the shipped defaults; inmail never writes it.
    pub rules_file: Option<PathBuf>,
    /// `[quarantine]`: thresholds and periods of the per-address quarantine.
    #[serde(default)]
    pub quarantine: QuarantineConfig,
    /// `[linkage]`: how a bounce is linked to the delivery it concerns.
    #[serde(default)]
    pub linkage: LinkageConfig,
    /// `[sms]`: SMS status reports (extended generic SMPP).
    #[serde(default)]
    pub sms: SmsConfig,
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
}

impl Default for QuarantineConfig {
    fn default() -> Self {
        QuarantineConfig { threshold: 5, reset_after_days: 10, mailbox_full_release_days: 30, case_insensitive: true }
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
        for p in [&mut cfg.db, &mut cfg.rules_file].into_iter().flatten() {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        Ok(cfg)
    }
}
