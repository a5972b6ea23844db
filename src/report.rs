//! `inmail report`: what came back and what it did — bounces by type and reason, quarantine by
//! status, failures by recipient domain, and the rows waiting for qualification.

use crate::model::FailureReason;
use crate::store::Result;
use rusqlite::{params, Connection};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct TypeReason {
    pub failure_type: String,
    pub failure_reason: String,
    pub count: i64,
}

/// Bounces by fine-grained reason (Sisimai's vocabulary).
#[derive(Debug, Clone, Serialize)]
pub struct DetailCount {
    pub detail: String,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusCount {
    pub status: String,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DomainFailures {
    pub domain: String,
    pub hard: i64,
    pub soft: i64,
    pub total: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ToQualify {
    pub id: i64,
    pub channel: String,
    pub occurrences: i64,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Unix seconds of `--since`, if given (event time).
    pub since: Option<String>,
    pub bounces: Vec<TypeReason>,
    pub details: Vec<DetailCount>,
    pub quarantine: Vec<StatusCount>,
    pub domains: Vec<DomainFailures>,
    pub to_qualify: Vec<ToQualify>,
}

pub fn build(conn: &Connection, since: Option<i64>, top: usize) -> Result<Report> {
    let since_v = since.unwrap_or(i64::MIN);
    let mut st = conn.prepare(
        "SELECT failure_type, failure_reason, COUNT(*) FROM bounce_event WHERE event_time >= ?1
         GROUP BY failure_type, failure_reason ORDER BY COUNT(*) DESC, failure_type, failure_reason",
    )?;
    let bounces = st
        .query_map([since_v], |r| {
            let reason: Option<i64> = r.get(1)?;
            Ok(TypeReason {
                failure_type: r.get(0)?,
                failure_reason: reason
                    .map(|c| FailureReason::from_code(c).map(|x| x.label()).unwrap_or("Undefined"))
                    .unwrap_or("None")
                    .to_string(),
                count: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut st = conn.prepare(
        "SELECT detail, COUNT(*) FROM bounce_event WHERE event_time >= ?1 AND detail != ''
         GROUP BY detail ORDER BY COUNT(*) DESC, detail",
    )?;
    let details =
        st.query_map([since_v], |r| Ok(DetailCount { detail: r.get(0)?, count: r.get(1)? }))?.collect::<rusqlite::Result<Vec<_>>>()?;
    let mut st = conn.prepare(
        "SELECT status, COUNT(*) FROM quarantine GROUP BY status
         ORDER BY CASE status WHEN 'Valid' THEN 0 WHEN 'With errors' THEN 1 WHEN 'Quarantine' THEN 2 ELSE 3 END",
    )?;
    let quarantine =
        st.query_map([], |r| Ok(StatusCount { status: r.get(0)?, count: r.get(1)? }))?.collect::<rusqlite::Result<Vec<_>>>()?;
    let mut st = conn.prepare(
        "SELECT lower(substr(recipient, instr(recipient, '@') + 1)) AS domain,
                SUM(failure_type = 'Hard'), SUM(failure_type = 'Soft'), COUNT(*)
         FROM bounce_event WHERE event_time >= ?1 AND failure_type IN ('Hard', 'Soft') AND instr(recipient, '@') > 0
         GROUP BY domain ORDER BY COUNT(*) DESC, domain LIMIT ?2",
    )?;
    let domains = st
        .query_map(params![since_v, top as i64], |r| {
            Ok(DomainFailures { domain: r.get(0)?, hard: r.get(1)?, soft: r.get(2)?, total: r.get(3)? })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut st = conn.prepare(
        "SELECT id, channel, occurrences, text FROM qualification WHERE status = 'To qualify' AND last_seen >= ?1
         ORDER BY occurrences DESC, last_seen DESC, id LIMIT ?2",
    )?;
    let to_qualify = st
        .query_map(params![since_v, top as i64], |r| {
            Ok(ToQualify { id: r.get(0)?, channel: r.get(1)?, occurrences: r.get(2)?, text: r.get(3)? })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Report { since: since.map(crate::store::format_time), bounces, details, quarantine, domains, to_qualify })
}
