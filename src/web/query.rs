//! Pages of the qualification table and of the quarantine, filtered and sorted in SQL so that
//! one page over a million rows is read from an index in its sort order (migration
//! 0005_console), never by loading the table.

use crate::model::{FailureReason, FailureType};
use crate::quarantine::{Entry, QStatus};
use crate::store::qualification::{QualRow, QualStatus};
use crate::store::Result;
use rusqlite::{params_from_iter, types::Value, Connection};
use serde::Serialize;

/// Rows counted for a list's total, at most: beyond it the page says "more than 10,000"
/// (an exact count of a million rows costs more than the page itself).
pub const COUNT_CAP: i64 = 10_000;
/// Rows per page, at most.
pub const MAX_PER_PAGE: u64 = 500;

#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub rows: Vec<T>,
    pub page: u64,
    pub per_page: u64,
    /// Rows matching, up to [`COUNT_CAP`]; `total_capped` when there are more.
    pub total: i64,
    pub total_capped: bool,
    pub more: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QualSort {
    #[default]
    Occurrences,
    LastSeen,
    FirstSeen,
}

impl QualSort {
    pub fn parse(s: &str) -> Option<QualSort> {
        match s.replace('_', "-").as_str() {
            "occurrences" => Some(QualSort::Occurrences),
            "last-seen" => Some(QualSort::LastSeen),
            "first-seen" => Some(QualSort::FirstSeen),
            _ => None,
        }
    }
    pub fn slug(self) -> &'static str {
        match self {
            QualSort::Occurrences => "occurrences",
            QualSort::LastSeen => "last-seen",
            QualSort::FirstSeen => "first-seen",
        }
    }
    fn column(self) -> &'static str {
        match self {
            QualSort::Occurrences => "occurrences",
            QualSort::LastSeen => "last_seen",
            QualSort::FirstSeen => "first_seen",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct QualQuery {
    pub status: Option<QualStatus>,
    pub failure_type: Option<FailureType>,
    pub reason: Option<FailureReason>,
    pub channel: Option<String>,
    pub rule: Option<String>,
    /// Substring of the Text or the First text (case-insensitive for ASCII).
    pub text: Option<String>,
    pub sort: QualSort,
    pub ascending: bool,
    pub page: u64,
    pub per_page: u64,
}

/// `%…%` for LIKE with `\` as the escape character.
fn like(s: &str) -> String {
    let mut o = String::from("%");
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            o.push('\\');
        }
        o.push(c);
    }
    o.push('%');
    o
}

#[allow(clippy::too_many_arguments)]
fn paged<T>(
    conn: &Connection,
    select: &str,
    from: &str,
    clauses: &[String],
    args: &[Value],
    order: &str,
    page: u64,
    per_page: u64,
    known_total: Option<(i64, bool)>,
    map: impl Fn(&rusqlite::Row) -> rusqlite::Result<T>,
) -> Result<Page<T>> {
    let per_page = per_page.clamp(1, MAX_PER_PAGE);
    let page = page.max(1);
    let filter = if clauses.is_empty() { String::new() } else { format!(" WHERE {}", clauses.join(" AND ")) };
    let sql = format!("SELECT {select} FROM {from}{filter} ORDER BY {order} LIMIT {} OFFSET {}", per_page + 1, (page - 1) * per_page);
    let mut st = conn.prepare_cached(&sql)?;
    let mut rows = st.query_map(params_from_iter(args.iter()), map)?.collect::<rusqlite::Result<Vec<_>>>()?;
    let more = rows.len() as u64 > per_page;
    rows.truncate(per_page as usize);
    let (total, total_capped) = match known_total {
        Some(k) => k,
        None => {
            let count_sql = format!("SELECT COUNT(*) FROM (SELECT 1 FROM {from}{filter} LIMIT {})", COUNT_CAP + 1);
            let n: i64 = conn.prepare_cached(&count_sql)?.query_row(params_from_iter(args.iter()), |r| r.get(0))?;
            (n.min(COUNT_CAP), n > COUNT_CAP)
        }
    };
    Ok(Page { rows, page, per_page, total, total_capped, more })
}

pub fn qual_page(conn: &Connection, q: &QualQuery) -> Result<Page<QualRow>> {
    let mut clauses = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    let mut known_total = None;
    if let Some(s) = q.status {
        clauses.push("status = ?".to_string());
        args.push(Value::Text(s.label().into()));
    }
    if let Some(t) = q.failure_type {
        clauses.push("failure_type = ?".into());
        args.push(Value::Text(t.label().into()));
    }
    if let Some(r) = q.reason {
        clauses.push("failure_reason = ?".into());
        args.push(Value::Integer(r.code()));
    }
    if let Some(c) = &q.channel {
        // Two channels: the (channel, text) index would select half the table and leave it to
        // sort; `+` keeps the planner on the sort order's index.
        clauses.push("+channel = ?".into());
        args.push(Value::Text(c.clone()));
    }
    if let Some(r) = &q.rule {
        clauses.push("rule = ?".into());
        args.push(Value::Text(r.clone()));
    }
    if let Some(t) = &q.text {
        // The trigram index (migration 0005) finds the rows holding a substring of 3 characters
        // or more (a quoted string is a substring search). When it holds more than COUNT_CAP
        // rows, reading them all to sort them costs more than scanning the sort order's index,
        // where matches are then frequent: the plain LIKE is used.
        let phrase = format!("\"{}\"", t.replace('"', "\"\""));
        let rare = t.chars().count() >= 3 && {
            let sql = format!("SELECT COUNT(*) FROM (SELECT 1 FROM qualification_text WHERE qualification_text MATCH ?1 LIMIT {})", COUNT_CAP + 1);
            conn.prepare_cached(&sql)?.query_row([&phrase], |r| r.get::<_, i64>(0))? <= COUNT_CAP
        };
        if rare {
            clauses.push("id IN (SELECT rowid FROM qualification_text WHERE qualification_text MATCH ?)".into());
            args.push(Value::Text(phrase));
        } else {
            clauses.push("(text LIKE ? ESCAPE '\\' OR first_text LIKE ? ESCAPE '\\')".into());
            args.push(Value::Text(like(t)));
            args.push(Value::Text(like(t)));
            if t.chars().count() >= 3 && clauses.len() == 1 {
                // The index counted more than COUNT_CAP rows holding it and no other filter
                // narrows them: counting them again by a scan would cost more than the page.
                known_total = Some((COUNT_CAP, true));
            }
        }
    }
    let dir = if q.ascending { "ASC" } else { "DESC" };
    let order = format!("{} {dir}, id {dir}", q.sort.column());
    paged(conn, crate::store::qualification::COLUMNS, "qualification", &clauses, &args, &order, q.page, q.per_page, known_total, crate::store::qualification::from_row)
}

#[derive(Debug, Clone, Default)]
pub struct QuarQuery {
    /// A whole address (contains `@`) or the start of one.
    pub address: Option<String>,
    pub domain: Option<String>,
    pub statuses: Vec<QStatus>,
    pub reason: Option<FailureReason>,
    /// Substring of the last error's text.
    pub text: Option<String>,
    /// Last modified at or after / at or before (unix seconds).
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub qualification_id: Option<i64>,
    pub page: u64,
    pub per_page: u64,
}

fn quarantine_filter(q: &QuarQuery, cfg: &crate::config::QuarantineConfig) -> (Vec<String>, Vec<Value>) {
    let mut clauses = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    if let Some(a) = &q.address {
        let k = crate::quarantine::key(a, cfg);
        if k.contains('@') {
            clauses.push("address = ?".to_string());
            args.push(Value::Text(k));
        } else {
            // A prefix, as a range of the address index.
            clauses.push("address >= ? AND address < ?".into());
            args.push(Value::Text(k.clone()));
            args.push(Value::Text(format!("{k}{}", char::MAX)));
        }
    }
    if let Some(d) = &q.domain {
        let d = d.trim().trim_start_matches('@');
        let d = if cfg.case_insensitive { d.to_lowercase() } else { d.to_string() };
        clauses.push("substr(address, instr(address, '@') + 1) = ?".into());
        args.push(Value::Text(d));
    }
    if !q.statuses.is_empty() {
        clauses.push(format!("status IN ({})", vec!["?"; q.statuses.len()].join(", ")));
        args.extend(q.statuses.iter().map(|s| Value::Text(s.label().into())));
    }
    if let Some(r) = q.reason {
        clauses.push("failure_reason = ?".into());
        args.push(Value::Integer(r.code()));
    }
    if let Some(t) = &q.text {
        clauses.push("error_text LIKE ? ESCAPE '\\'".into());
        args.push(Value::Text(like(t)));
    }
    if let Some(f) = q.from {
        clauses.push("last_modified >= ?".into());
        args.push(Value::Integer(f));
    }
    if let Some(t) = q.to {
        clauses.push("last_modified <= ?".into());
        args.push(Value::Integer(t));
    }
    if let Some(id) = q.qualification_id {
        clauses.push("qualification_id = ?".into());
        args.push(Value::Integer(id));
    }
    (clauses, args)
}

pub fn quarantine_page(conn: &Connection, q: &QuarQuery, cfg: &crate::config::QuarantineConfig) -> Result<Page<Entry>> {
    let (clauses, args) = quarantine_filter(q, cfg);
    paged(conn, crate::quarantine::COLUMNS, "quarantine", &clauses, &args, "last_modified DESC, id DESC", q.page, q.per_page, None, crate::quarantine::entry_from_row)
}

/// Every entry matching (no page), in list order, one at a time (the CSV export).
pub fn quarantine_each(
    conn: &Connection,
    q: &QuarQuery,
    cfg: &crate::config::QuarantineConfig,
    mut f: impl FnMut(Entry) -> std::result::Result<(), String>,
) -> Result<()> {
    let (clauses, args) = quarantine_filter(q, cfg);
    let filter = if clauses.is_empty() { String::new() } else { format!(" WHERE {}", clauses.join(" AND ")) };
    let sql = format!("SELECT {} FROM quarantine{filter} ORDER BY last_modified DESC, id DESC", crate::quarantine::COLUMNS);
    let mut st = conn.prepare(&sql)?;
    let mut rows = st.query(params_from_iter(args.iter()))?;
    while let Some(r) = rows.next()? {
        f(crate::quarantine::entry_from_row(r)?).map_err(crate::store::StoreError::Invalid)?;
    }
    Ok(())
}

/// One bounce behind a qualification row.
#[derive(Debug, Clone, Serialize)]
pub struct RowBounce {
    pub event_id: i64,
    pub event_time: String,
    pub recipient: String,
    pub kind: String,
    pub status: String,
    pub diagnostic: String,
    pub source: String,
}

/// The latest recorded bounces of a row (by id, so read backwards from the row's index).
pub fn row_bounces(conn: &Connection, id: i64, limit: u64) -> Result<Vec<RowBounce>> {
    let mut st = conn.prepare_cached(
        "SELECT id, event_time, recipient, kind, status, diagnostic, source FROM bounce_event
         WHERE qualification_id = ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = st
        .query_map(rusqlite::params![id, limit as i64], |r| {
            Ok(RowBounce {
                event_id: r.get(0)?,
                event_time: crate::store::format_time(r.get(1)?),
                recipient: r.get(2)?,
                kind: r.get(3)?,
                status: r.get(4)?,
                diagnostic: r.get(5)?,
                source: r.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// A count up to [`COUNT_CAP`]: (count, more than the cap).
#[derive(Debug, Clone, Copy, Serialize, Default)]
pub struct Capped(pub i64, pub bool);

impl std::fmt::Display for Capped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.1 {
            write!(f, "{}+", self.0)
        } else {
            write!(f, "{}", self.0)
        }
    }
}

fn capped(conn: &Connection, from_where: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Capped> {
    let sql = format!("SELECT COUNT(*) FROM (SELECT 1 FROM {from_where} LIMIT {})", COUNT_CAP + 1);
    let n: i64 = conn.prepare_cached(&sql)?.query_row(args, |r| r.get(0))?;
    Ok(Capped(n.min(COUNT_CAP), n > COUNT_CAP))
}

/// Counts for the front page, each up to [`COUNT_CAP`] (exact figures: `/metrics`, reports).
#[derive(Debug, Clone, Serialize, Default)]
pub struct Summary {
    pub to_qualify: Capped,
    pub rows: Capped,
    pub quarantine: Vec<(&'static str, Capped)>,
}

pub fn summary(conn: &Connection) -> Result<Summary> {
    let to_qualify = capped(conn, "qualification WHERE status = ?1", &[&"To qualify"])?;
    let rows = capped(conn, "qualification", &[])?;
    let mut quarantine = Vec::new();
    for s in ["With errors", "Quarantine", "Denylisted"] {
        quarantine.push((s, capped(conn, "quarantine WHERE status = ?1", &[&s])?));
    }
    Ok(Summary { to_qualify, rows, quarantine })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_search_finds_what_a_scan_finds() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = crate::store::Store::open(&dir.path().join("t.db")).unwrap();
        let c = store.conn_mut();
        let texts = ["550 User Unknown <*>", "452 mailbox FULL", "Relay says \"no\" 100% <b>", "ab", "quota exceeded: mailbox full"];
        for (i, t) in texts.iter().enumerate() {
            c.execute(
                "INSERT INTO qualification (channel, text, first_text, failure_type, failure_reason, status, occurrences,
                    first_seen, last_seen, updated_at) VALUES ('email', ?1, ?2, 'Soft', 5, 'Keep', ?3, 1, 2, 2)",
                rusqlite::params![t, format!("first {t} x{i}"), i as i64],
            )
            .unwrap();
        }
        let ids = |q: &str| -> Vec<i64> {
            let page = qual_page(c, &QualQuery { text: Some(q.into()), per_page: 50, ..Default::default() }).unwrap();
            let mut v: Vec<i64> = page.rows.iter().map(|r| r.id).collect();
            v.sort();
            v
        };
        assert_eq!(ids("mailbox full"), vec![2, 5], "case-insensitive substring");
        assert_eq!(ids("user unknown <*"), vec![1]);
        assert_eq!(ids("\"no\" 100%"), vec![3], "quotes and wildcards are text");
        assert_eq!(ids("x4"), vec![5], "short: a scan");
        assert_eq!(ids("first"), vec![1, 2, 3, 4, 5], "First text too");
        assert!(ids("nothing like it").is_empty());
        c.execute("UPDATE qualification SET occurrences = occurrences + 1, last_seen = 9 WHERE id = 2", []).unwrap();
        c.execute("DELETE FROM qualification WHERE id = 5", []).unwrap();
        assert_eq!(ids("mailbox full"), vec![2], "the index follows deletions");
    }

    #[test]
    fn like_escapes_wildcards() {
        assert_eq!(like("a%b_c\\"), "%a\\%b\\_c\\\\%");
    }
}
