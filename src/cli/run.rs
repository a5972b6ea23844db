//! `inmail run`: the IMAP daemon. Watches every `[[mailbox]]` of the config, each in its own task;
//! SIGTERM/SIGINT stop it cleanly (exit 0), SIGHUP reloads the rules; systemd notifications
//! (READY=1, WATCHDOG=1) when started by systemd with `Type=notify`.

use super::{open_store, Cli, DbArg};
use crate::config::{Config, LogFormat};
use crate::imap::{db::Db, worker, Shutdown};
use clap::Args;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// Log format on stderr [default: the config's daemon.log_format, else text]
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
}

/// Time allowed to the mailbox tasks to finish their batch and log out after SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(8);

pub fn run(cli: &Cli, a: &RunArgs) -> anyhow::Result<ExitCode> {
    let cfg = Config::load(cli.config.as_deref())?;
    let format = a.log_format.unwrap_or(cfg.daemon.log_format);
    init_logging(cli.log_level.as_deref().unwrap_or("info"), format);
    anyhow::ensure!(!cfg.mailbox.is_empty(), "no [[mailbox]] in the configuration: nothing to watch");
    let mut names = std::collections::HashSet::new();
    for m in &cfg.mailbox {
        m.validate()?;
        anyhow::ensure!(names.insert(m.name.clone()), "two mailboxes are named {}", m.name);
        m.password()?; // fail now, not in a retry loop, when the secret is missing
    }
    let (_, rules) = super::load_rules(cli)?;
    let store = open_store(&cfg, &a.db)?;
    store.check_writable().map_err(|e| anyhow::anyhow!("database error: the database cannot be written: {e}"))?;
    // The console (`[http] listen`): its own connections to the same database file.
    let console = match &cfg.http.listen {
        Some(listen) => Some((listen.clone(), crate::web::app_from_config(&cfg, super::serve::db_path(&cfg, &a.db), rules.clone())?)),
        None => None,
    };
    let (db, db_thread) = Db::start(store, rules, cfg.clone())?;
    db.warm_up();

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let code = rt.block_on(daemon(cli, &cfg, db, console))?;
    rt.shutdown_timeout(Duration::from_secs(1));
    if db_thread.join().is_err() {
        tracing::error!("database thread panicked");
    }
    tracing::info!("stopped");
    Ok(code)
}

async fn daemon(cli: &Cli, cfg: &Config, db: Db, console: Option<(String, crate::web::Shared)>) -> anyhow::Result<ExitCode> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    let retry = Duration::from_secs(cfg.daemon.database_retry);
    for m in &cfg.mailbox {
        crate::metrics::global().watch(&m.name);
        tasks.spawn(worker::run(m.clone(), db.clone(), Shutdown(stop_rx.clone()), retry));
    }
    let mut code = ExitCode::SUCCESS;
    let mut web = None;
    let console_app = console.as_ref().map(|c| c.1.clone());
    if let Some((listen, app)) = console {
        let listener = crate::web::bind(&listen).await?;
        tracing::info!(addr = %listener.local_addr()?, "web console listening");
        let mut stop = Shutdown(stop_rx.clone());
        web = Some(tokio::spawn(crate::web::serve(listener, app, async move { stop.wait().await })));
    }
    tracing::info!(mailboxes = cfg.mailbox.len(), "inmail daemon started");
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
    let watchdog = sd_notify::watchdog_enabled().map(|d| d / 2);
    let mut ping = tokio::time::interval(watchdog.unwrap_or(Duration::from_secs(3600)));
    loop {
        tokio::select! {
            _ = term.recv() => { tracing::info!("SIGTERM: stopping"); break; }
            _ = int.recv() => { tracing::info!("SIGINT: stopping"); break; }
            _ = hup.recv() => reload_rules(cli, &db, console_app.as_deref()),
            _ = ping.tick() => if watchdog.is_some() { let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]); },
            r = tasks.join_next() => match r {
                None => { tracing::error!("every mailbox stopped"); break; }
                // A persistent database error: stop everything, with a failure status.
                Some(Ok(Err(_))) => { code = ExitCode::FAILURE; break; }
                Some(_) => {}
            },
        }
    }
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
    let _ = stop_tx.send(true);
    let all_done = tokio::time::timeout(STOP_GRACE, async { while tasks.join_next().await.is_some() {} }).await;
    if all_done.is_err() {
        tracing::warn!("a mailbox did not stop in time; its current batch is abandoned (it stays in the mailbox)");
        tasks.abort_all();
    }
    if let Some(w) = web {
        let _ = tokio::time::timeout(Duration::from_secs(2), w).await;
    }
    drop(db);
    Ok(code)
}

/// SIGHUP: load the rules again; a broken file is reported and the running rules kept.
fn reload_rules(cli: &Cli, db: &Db, console: Option<&crate::web::App>) {
    match super::load_rules(cli) {
        Ok((_, rules)) => {
            if let Some(app) = console {
                app.set_rules(rules.clone());
            }
            db.set_rules(rules);
            tracing::info!("SIGHUP: rules reloaded");
        }
        Err(e) => tracing::error!(error = %format!("{e:#}"), "SIGHUP: rules not reloaded, the previous rules stay in force"),
    }
}

fn init_logging(level: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    // Colours only on a terminal, and never with NO_COLOR (a journal or a log file gets none).
    let ansi = super::output::colours(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let b = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    let _ = match format {
        LogFormat::Json => b.json().try_init(),
        LogFormat::Text => b.try_init(),
    };
}
