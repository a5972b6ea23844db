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
