//! The command line: a thin layer over the library. One module per command group.

mod parse;
mod rules_cmd;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(name = "inmail", version, about = "Inbound bounce-mailbox processor: parse bounces, qualify them with rules, keep the delivery-log qualification table and the quarantine in SQLite.", long_about = None)]
pub struct Cli {
    /// Configuration file (TOML). Default: ./inmail.toml when it exists.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log verbosity (error, warn, info, debug, trace); also RUST_LOG.
    #[arg(long, global = true, default_value = "warn", value_name = "LEVEL")]
    pub log_level: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Parse messages and print one JSON object per record; no database.
    ///
    /// Example: inmail parse --json bounces.mbox Maildir/ one.eml
    Parse(parse::ParseArgs),
    /// Validate rules files or try the rules on a diagnostic.
    #[command(subcommand)]
    Rules(rules_cmd::RulesCmd),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.log_level);
    let result = match &cli.command {
        Command::Parse(a) => parse::run(&cli, a),
        Command::Rules(c) => rules_cmd::run(&cli, c),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("inmail: error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// Load the config and the rules it names; rule errors are printed one per line.
pub(crate) fn load_rules(cli: &Cli) -> anyhow::Result<(inmail_config::Config, inmail_rules::RuleSet)> {
    let cfg = inmail_config::Config::load(cli.config.as_deref())?;
    let rules = inmail_rules::RuleSet::load(cfg.rules_file.as_deref()).map_err(|errs| {
        anyhow::anyhow!("invalid rules:\n{}", errs.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))
    })?;
    Ok((cfg, rules))
}

use crate::config as inmail_config;
use crate::rules as inmail_rules;
