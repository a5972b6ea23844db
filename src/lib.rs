//! inmail — inbound bounce-mailbox processor.
//!
//! The pipeline, one module per stage:
//! [`source`] (mbox, Maildir, files) → [`extract`] (DSN, ARF, auto-reply, plain text) →
//! [`normalize`] → [`rules`] / [`status`] → [`qualify`] → [`store`] (SQLite).

pub mod alloc;
pub mod bounds;
pub mod extract;
pub mod imap;
pub mod ingest;
pub mod model;
pub mod normalize;
pub mod pipeline;
pub mod quarantine;
pub mod linkage;
pub mod sms;
pub mod report;
pub mod qualify;
pub mod rules;
pub mod source;
pub mod stages;
pub mod status;
pub mod store;
#[cfg(test)]
mod test_support;

pub mod config;
pub mod cli;
pub mod metrics;
pub mod web;
