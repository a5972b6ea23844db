//! The command line: a thin layer over the library. One module per command group.

mod output;
mod parse;
mod qual;
mod quarantine;
mod replay;
mod rules_cmd;
mod rules_suggest;
mod run;
mod serve;
mod status;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(name = "inmail", version, about = "Inbound bounce-mailbox processor: parse bounces, qualify them with rules, keep the delivery-log qualification table and the quarantine in SQLite.", long_about = None)]
pub struct Cli {
    /// Configuration file (TOML). Default: ./inmail.toml when it exists.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log verbosity (error, warn, info, debug, trace); also RUST_LOG [default: warn; info for run]
    #[arg(long, global = true, value_name = "LEVEL")]
    pub log_level: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Parse messages and print one JSON object per record; no database.
    ///
    /// Example: inmail parse --json bounces.mbox Maildir/ one.eml
    Parse(parse::ParseArgs),
    /// Replay mbox / Maildir / message files into the database and print a summary.
    ///
    /// Example: inmail replay --db inmail.db archive.mbox
    Replay(replay::ReplayArgs),
    /// Inspect and correct the delivery log qualification table.
    ///
    /// Example: inmail qual list --status to-qualify --limit 20
    #[command(subcommand)]
    Qual(qual::QualCmd),
    /// Re-run the rules on every qualification row not set by hand.
    ///
    /// Example: inmail requalify --db inmail.db
    Requalify(qual::RequalifyArgs),
    /// Validate rules files or try the rules on a diagnostic.
    ///
    /// Example: inmail rules test "550 5.1.1 <a@example.com>: user unknown"
    #[command(subcommand)]
    Rules(rules_cmd::RulesCmd),
    /// Inspect the per-address quarantine, release, import and export addresses.
    ///
    /// Example: inmail quarantine list --status quarantine --domain example.com
    #[command(subcommand)]
    Quarantine(quarantine::QuarantineCmd),
    /// Apply the quarantine's time rules (counter reset after 10 days, Mailbox full after 30)
    /// as of now or `--now`; the daemon runs this periodically.
    ///
    /// Example: inmail maintain --db inmail.db --now 2026-02-01T00:00:00Z
    Maintain(quarantine::MaintainArgs),
    /// Report bounces by type and reason, quarantine by status, failures by domain and the
    /// rows waiting for qualification.
    ///
    /// Example: inmail report --since 2026-01-01 --format json
    Report(quarantine::ReportArgs),
    /// Watch the IMAP mailboxes of the config: record every message, then move it.
    ///
    /// Example: inmail run --config /etc/inmail/inmail.toml
    Run(run::RunArgs),
    /// The web console, JSON API and Prometheus metrics (authenticated; see [http] users_file).
    ///
    /// Example: inmail serve --db /var/lib/inmail/inmail.db --listen 127.0.0.1:8025
    Serve(serve::ServeArgs),
    /// Show, per watched mailbox, the last poll, last UID, messages processed and last error.
    ///
    /// Example: inmail status --db /var/lib/inmail/inmail.db
    Status(status::StatusArgs),
    /// Print a shell completion script for bash, zsh, fish, elvish or powershell.
    ///
    /// Example: inmail completions bash > /etc/bash_completion.d/inmail
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), or write one page per command into a directory.
    ///
    /// Example: inmail man --dir /usr/local/share/man/man1 && man inmail-qual-list
    Man {
        /// Write inmail.1 and a page per subcommand (inmail-qual-list.1…) into this directory
        /// instead of printing inmail.1.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// The `--db` option shared by every command that uses the database.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct DbArg {
    /// SQLite database file [default: the config's `db`, else ./inmail.db]
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
}

fn db_path(cfg: &crate::config::Config, db: &DbArg) -> PathBuf {
    db.db.clone().or_else(|| cfg.db.clone()).unwrap_or_else(|| PathBuf::from("inmail.db"))
}

/// The input paths that can be read, after an error on standard error naming each one that
/// does not exist or cannot be read (`-`, standard input, is always kept). The caller
/// processes the others, then fails when any was reported.
pub(crate) fn readable_inputs(paths: &[PathBuf]) -> (Vec<PathBuf>, usize) {
    let mut ok = Vec::with_capacity(paths.len());
    let mut bad = 0;
    for p in paths {
        if p.as_os_str() == "-" {
            ok.push(p.clone());
            continue;
        }
        let check = std::fs::metadata(p).and_then(|m| if m.is_dir() { std::fs::read_dir(p).map(drop) } else { std::fs::File::open(p).map(drop) });
        match check {
            Ok(()) => ok.push(p.clone()),
            Err(e) => {
                eprintln!("inmail: error: cannot read {}: {e}", output::escape(&p.display().to_string()));
                bad += 1;
            }
        }
    }
    (ok, bad)
}

/// Open the database for reading only: never creates, migrates or writes it.
pub(crate) fn open_store_read_only(cfg: &crate::config::Config, db: &DbArg) -> anyhow::Result<crate::store::Store> {
    let path = db_path(cfg, db);
    // The config is checked the same way for every command.
    let linker = crate::linkage::Linker::new(&cfg.linkage)?;
    let mut store =
        crate::store::Store::open_read_only(&path).map_err(|e| anyhow::anyhow!("cannot open database {}: {e}", path.display()))?;
    store.set_linker(linker);
    Ok(store)
}

/// Open the database for writing, creating and upgrading it as needed (replay, run and the
/// commands that change it).
pub(crate) fn open_store(cfg: &crate::config::Config, db: &DbArg) -> anyhow::Result<crate::store::Store> {
    let path = db_path(cfg, db);
    let mut store =
        crate::store::Store::open_as(&path, cfg.db_group.as_deref()).map_err(|e| anyhow::anyhow!("cannot open database {}: {e}", path.display()))?;
    store.set_linker(crate::linkage::Linker::new(&cfg.linkage)?);
    Ok(store)
}

/// The quarantine step run inside each ingestion transaction, after the batch's events are written.
pub(crate) fn quarantine_hook(
    cfg: &crate::config::Config,
) -> Option<impl FnMut(&crate::store::Batch<'_>, &[crate::store::StoredEvent]) -> crate::store::Result<()>> {
    let q = cfg.quarantine.clone();
    Some(move |b: &crate::store::Batch<'_>, events: &[crate::store::StoredEvent]| {
        crate::quarantine::apply_events(b.tx(), &q, events).map(|_| ())
    })
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Run(_)) {
        // A one-shot command piped into `head` ends quietly, as Unix tools do (the daemon keeps
        // Rust's default: a closed socket is an error to handle, not a signal).
        // SAFETY: restoring the default disposition of SIGPIPE before any thread is started.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
        init_logging(cli.log_level.as_deref().unwrap_or("warn"));
    }
    let result = match &cli.command {
        Command::Parse(a) => parse::run(&cli, a),
        Command::Replay(a) => replay::run(&cli, a),
        Command::Qual(c) => qual::run(&cli, c),
        Command::Requalify(a) => qual::requalify(&cli, a),
        Command::Rules(c) => rules_cmd::run(&cli, c),
        Command::Quarantine(c) => quarantine::run(&cli, c),
        Command::Maintain(a) => quarantine::maintain(&cli, a),
        Command::Report(a) => quarantine::report(&cli, a),
        Command::Run(a) => run::run(&cli, a),
        Command::Serve(a) => serve::run(&cli, a),
        Command::Status(a) => status::run(&cli, a),
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut <Cli as clap::CommandFactory>::command(), "inmail", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man { dir } => man(dir.as_deref()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // Errors quote inputs (addresses, file names, rule texts): escaped, line by line.
            let text = format!("{e:#}");
            let lines: Vec<String> = text.lines().map(output::escape).collect();
            eprintln!("inmail: error: {}", lines.join("\n"));
            ExitCode::from(1)
        }
    }
}

/// `inmail man`: the manual pages, generated from the same definition as `--help`.
fn man(dir: Option<&std::path::Path>) -> anyhow::Result<ExitCode> {
    let cmd = <Cli as clap::CommandFactory>::command();
    match dir {
        Some(d) => {
            std::fs::create_dir_all(d).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", d.display()))?;
            clap_mangen::generate_to(cmd, d).map_err(|e| anyhow::anyhow!("cannot write the pages into {}: {e}", d.display()))?;
            eprintln!("manual pages written into {}", d.display());
        }
        None => clap_mangen::Man::new(cmd).render(&mut std::io::stdout())?,
    }
    Ok(ExitCode::SUCCESS)
}

fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(output::colours(std::io::stderr().is_terminal()))
        .try_init();
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

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// Every argument and every command of the CLI says what it is for.
    #[test]
    fn every_argument_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for a in cmd.get_arguments() {
                let id = a.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                if a.get_help().is_none() && a.get_long_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                if sub.get_about().is_none() {
                    missing.push(format!("{path} {} (command)", sub.get_name()));
                }
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "inmail", &mut missing);
        assert!(missing.is_empty(), "arguments without help:\n{}", missing.join("\n"));
        Cli::command().debug_assert();
    }
}
