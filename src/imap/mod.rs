//! The IMAP daemon behind `inmail run`: one task per `[[mailbox]]` (connect, SELECT, fetch new
//! messages in batches, record them, then move them), one database thread that owns the SQLite
//! store and does the CPU work, signals and systemd notifications in `cli::run`.
//!
//! Exactly once: a batch is committed to the database *before* any message of it is moved,
//! flagged or deleted. After a crash anywhere, the messages still in the folder are fetched again;
//! their fingerprints are known, so they are `Duplicate`s that are only moved. The UID checkpoint
//! is an optimisation, never the source of truth.

pub mod client;
pub mod db;
pub mod fault;
pub mod worker;

use tokio::sync::watch;

/// Tells every task that the daemon is stopping.
#[derive(Clone)]
pub struct Shutdown(pub watch::Receiver<bool>);

impl Shutdown {
    pub fn requested(&self) -> bool {
        *self.0.borrow()
    }
    /// Resolves when shutdown is requested (at once if it already was).
    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|v| *v).await;
    }
}
