//! GET /metrics: Prometheus text format. Database figures are read at each scrape (so they
//! equal the database's counts, whichever process wrote them); the daemon's in-memory counters
//! (`crate::metrics`) are added when this process runs mailboxes.

use super::{state, CurrentUser, Shared, WebResult};
use crate::metrics::{global, Exposition};
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

pub async fn metrics(s: State<Shared>, _u: CurrentUser) -> WebResult<impl IntoResponse> {
    let app = state(s);
    let text = app.db(|c| Ok(render(c)?)).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text))
}

fn rows<T>(c: &rusqlite::Connection, sql: &str, f: impl Fn(&rusqlite::Row) -> rusqlite::Result<T>) -> rusqlite::Result<Vec<T>> {
    let mut st = c.prepare_cached(sql)?;
    let v = st.query_map([], f)?.collect();
    v
}

pub fn render(c: &rusqlite::Connection) -> rusqlite::Result<String> {
    let mut e = Exposition::default();
    let reason = |code: Option<i64>| match code {
        None => "None".to_string(),
        Some(c) => crate::model::FailureReason::from_code(c).map(|r| r.label()).unwrap_or("Undefined").to_string(),
    };

    e.family("inmail_messages_total", "counter", "Messages recorded in the database, by kind (error: could not be parsed).");
    for (kind, n) in rows(c, "SELECT kind, COUNT(*) FROM message GROUP BY kind ORDER BY kind", |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        e.sample("inmail_messages_total", &[("kind", &kind)], n as f64);
    }
    let errors: i64 = c.query_row("SELECT COUNT(*) FROM message WHERE error IS NOT NULL", [], |r| r.get(0))?;
    e.family("inmail_parse_errors_total", "counter", "Messages that could not be parsed (kept in the database with their error).");
    e.sample("inmail_parse_errors_total", &[], errors as f64);

    e.family("inmail_records_total", "counter", "Bounce records (one per recipient per message), by kind, failure type and reason.");
    let recs = rows(
        c,
        "SELECT kind, failure_type, failure_reason, COUNT(*) FROM bounce_event GROUP BY kind, failure_type, failure_reason ORDER BY 1, 2, 3",
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<i64>>(2)?, r.get::<_, i64>(3)?)),
    )?;
    // Two reason codes may share the Undefined label: their counts are added.
    let mut by_label: std::collections::BTreeMap<(String, String, String), i64> = Default::default();
    for (kind, t, r, n) in recs {
        *by_label.entry((kind, t, reason(r))).or_default() += n;
    }
    for ((kind, t, r), n) in by_label {
        e.sample("inmail_records_total", &[("kind", &kind), ("type", &t), ("reason", &r)], n as f64);
    }

    let mailboxes = rows(
        c,
        "SELECT mailbox, SUM(processed), MAX(last_poll) FROM imap_state GROUP BY mailbox ORDER BY mailbox",
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, Option<i64>>(2)?)),
    )?;
    e.family("inmail_mailbox_messages_recorded_total", "counter", "New messages recorded from each watched IMAP mailbox.");
    for (m, n, _) in &mailboxes {
        e.sample("inmail_mailbox_messages_recorded_total", &[("mailbox", m)], *n as f64);
    }
    e.family("inmail_mailbox_last_poll_timestamp_seconds", "gauge", "Unix time of the last successful poll of each watched IMAP mailbox.");
    for (m, _, t) in &mailboxes {
        if let Some(t) = t {
            e.sample("inmail_mailbox_last_poll_timestamp_seconds", &[("mailbox", m)], *t as f64);
        }
    }

    let proc = global().snapshot();
    if proc.active {
        e.family("inmail_mailbox_messages_fetched_total", "counter", "Messages fetched from each IMAP mailbox by this process.");
        for (m, k) in &proc.mailboxes {
            e.sample("inmail_mailbox_messages_fetched_total", &[("mailbox", m)], k.fetched as f64);
        }
        e.family("inmail_mailbox_messages_moved_total", "counter", "Messages moved, flagged or deleted in each IMAP mailbox by this process, after their commit.");
        for (m, k) in &proc.mailboxes {
            e.sample("inmail_mailbox_messages_moved_total", &[("mailbox", m)], k.moved as f64);
        }
        e.histogram("inmail_batch_commit_duration_seconds", "Time to commit one batch of messages to the database (this process).", &proc.commit);
    }

    e.family("inmail_quarantine_entries", "gauge", "Quarantine entries (addresses and phone numbers) by status.");
    let q = rows(c, "SELECT status, COUNT(*) FROM quarantine GROUP BY status", |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    for status in ["Valid", "With errors", "Quarantine", "Denylisted"] {
        let n = q.iter().find(|(s, _)| s == status).map(|x| x.1).unwrap_or(0);
        e.sample("inmail_quarantine_entries", &[("status", status)], n as f64);
    }
    e.family("inmail_qualification_rows", "gauge", "Rows of the delivery log qualification table, by status.");
    let qr = rows(c, "SELECT status, COUNT(*) FROM qualification GROUP BY status", |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    for status in ["To qualify", "Keep", "Ignore"] {
        let n = qr.iter().find(|(s, _)| s == status).map(|x| x.1).unwrap_or(0);
        e.sample("inmail_qualification_rows", &[("status", status)], n as f64);
    }
    e.family("inmail_rows_to_qualify", "gauge", "Qualification rows no rule decided, waiting for an operator.");
    let tq = qr.iter().find(|(s, _)| s == "To qualify").map(|x| x.1).unwrap_or(0);
    e.sample("inmail_rows_to_qualify", &[], tq as f64);
    Ok(e.out)
}
