//! `inmail serve`: the web console, JSON API and metrics on their own (the daemon serves the
//! same when its config has `[http] listen`).

use super::{Cli, DbArg};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// Address to listen on [default: the config's http.listen, else 127.0.0.1:8025]; port 0
    /// picks a free port (the address is printed on standard error).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8025";

/// The database file of the console: it must exist (the console does not create an empty one
/// by mistake); it is migrated like any other command's.
pub(crate) fn console_db(cfg: &crate::config::Config, db: &DbArg) -> anyhow::Result<PathBuf> {
    let path = db_path(cfg, db);
    anyhow::ensure!(path.exists(), "database {} does not exist (replay or run first, or give --db)", path.display());
    crate::store::Store::open(&path).map_err(|e| anyhow::anyhow!("cannot open database {}: {e}", path.display()))?;
    Ok(path)
}

/// `--db`, else the config's `db`, else ./inmail.db (as every command).
pub(crate) fn db_path(cfg: &crate::config::Config, db: &DbArg) -> PathBuf {
    db.db.clone().or_else(|| cfg.db.clone()).unwrap_or_else(|| PathBuf::from("inmail.db"))
}

pub fn run(cli: &Cli, a: &ServeArgs) -> anyhow::Result<ExitCode> {
    let (cfg, rules) = super::load_rules(cli)?;
    let path = console_db(&cfg, &a.db)?;
    let app = crate::web::app_from_config(&cfg, path, rules)?;
    let listen = a.listen.clone().or_else(|| cfg.http.listen.clone()).unwrap_or_else(|| DEFAULT_LISTEN.to_string());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let listener = crate::web::bind(&listen).await?;
        let addr = listener.local_addr()?;
        if !addr.ip().is_loopback() {
            tracing::warn!(%addr, "the console listens beyond loopback: put it behind TLS (a reverse proxy)");
        }
        eprintln!("inmail: console on http://{addr}/");
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let stop = async move {
            tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
        };
        crate::web::serve(listener, app, stop).await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
