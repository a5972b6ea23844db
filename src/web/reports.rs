//! Reports with charts: bounces per day by type, by reason, per recipient domain, the
//! quarantine by status over time, the rows that gained most in the last day. The window ends
//! at the latest bounce recorded (so a replayed archive shows its own period) or at `end`.

use super::layout::{cut, page};
use super::params::Params;
use super::svg::{self, Series};
use super::{state, CurrentUser, Shared, WebError, WebResult};
use axum::extract::{RawQuery, State};
use maud::{html, Markup};
use std::collections::BTreeMap;

const DAY: i64 = 86_400;
pub const TYPES: &[(&str, &str)] = &[("Hard", "#c0392b"), ("Soft", "#e08e0b"), ("Ignored", "#8e9aaf"), ("Undefined", "#4a5568")];
/// Colours of the reasons per day (the most frequent reasons; the rest is "Other").
const REASON_COLORS: &[&str] = &["#c0392b", "#e08e0b", "#1f5fbf", "#2e8b57", "#6c3483", "#8e9aaf"];
const QSTATUS: &[(&str, &str)] = &[("With errors", "#e08e0b"), ("Quarantine", "#c0392b"), ("Denylisted", "#6c3483"), ("Valid", "#2e8b57")];

pub struct Figures {
    pub days: Vec<String>,
    /// Per type (TYPES order), per day.
    pub per_day: Vec<Vec<f64>>,
    /// Hard and Soft bounces per reason (the most frequent first, the rest as "Other"), per day.
    pub reasons_per_day: Vec<(String, Vec<f64>)>,
    pub report: crate::report::Report,
    /// Per status (QSTATUS order), per day: entries in that status at the end of the day.
    pub quarantine: Vec<Vec<f64>>,
    /// (row id, text, bounces in the last day, occurrences)
    pub gained: Vec<(i64, String, i64, i64)>,
    pub end: Option<String>,
}

fn day_label(d: i64) -> String {
    crate::store::format_time(d * DAY).get(..10).unwrap_or("").to_string()
}

pub fn figures(c: &rusqlite::Connection, days: i64, end: Option<i64>) -> crate::store::Result<Figures> {
    let end = match end {
        Some(e) => Some(e),
        None => c.query_row("SELECT MAX(event_time) FROM bounce_event", [], |r| r.get::<_, Option<i64>>(0))?,
    };
    let Some(end) = end else {
        return Ok(Figures { days: vec![], per_day: vec![], reasons_per_day: vec![], report: crate::report::build(c, None, 15)?, quarantine: vec![], gained: vec![], end: None });
    };
    let last_day = end.div_euclid(DAY);
    let first_day = last_day - days + 1;
    let start = first_day * DAY;
    let labels: Vec<String> = (first_day..=last_day).map(day_label).collect();
    let mut per_day = vec![vec![0.0; labels.len()]; TYPES.len()];
    let mut st = c.prepare_cached(
        "SELECT event_time / 86400, failure_type, COUNT(*) FROM bounce_event WHERE event_time >= ?1 AND event_time < ?2 GROUP BY 1, 2",
    )?;
    for r in st.query_map([start, (last_day + 1) * DAY], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))? {
        let (d, t, n) = r?;
        if let (Some(ti), Ok(di)) = (TYPES.iter().position(|(x, _)| *x == t), usize::try_from(d - first_day)) {
            if di < labels.len() {
                per_day[ti][di] = n as f64;
            }
        }
    }
    let mut by_reason: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut st = c.prepare_cached(
        "SELECT event_time / 86400, failure_reason, COUNT(*) FROM bounce_event
         WHERE event_time >= ?1 AND event_time < ?2 AND failure_type IN ('Hard', 'Soft') GROUP BY 1, 2",
    )?;
    for r in st.query_map([start, (last_day + 1) * DAY], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?, r.get::<_, i64>(2)?)))? {
        let (d, code, n) = r?;
        let label = code.and_then(crate::model::FailureReason::from_code).map(|r| r.label()).unwrap_or("Undefined").to_string();
        if let Ok(di) = usize::try_from(d - first_day) {
            if di < labels.len() {
                by_reason.entry(label).or_insert_with(|| vec![0.0; labels.len()])[di] += n as f64;
            }
        }
    }
    let mut reasons_per_day: Vec<(String, Vec<f64>)> = by_reason.into_iter().collect();
    reasons_per_day.sort_by(|a, b| b.1.iter().sum::<f64>().total_cmp(&a.1.iter().sum::<f64>()).then_with(|| a.0.cmp(&b.0)));
    if reasons_per_day.len() > REASON_COLORS.len() {
        let rest = reasons_per_day.split_off(REASON_COLORS.len() - 1);
        let mut other = vec![0.0; labels.len()];
        for (_, v) in rest {
            for (o, x) in other.iter_mut().zip(v) {
                *o += x;
            }
        }
        reasons_per_day.push(("Other".into(), other));
    }
    let report = crate::report::build(c, Some(start), 15)?;
    // Entries per status at the end of each day, from the history (every status change of
    // every entry is in it, from its creation): counts before the window, then day by day.
    let mut quarantine = vec![vec![0.0; labels.len()]; QSTATUS.len()];
    let mut level: BTreeMap<String, i64> = BTreeMap::new();
    let mut st = c.prepare_cached("SELECT at / 86400, old_status, new_status, COUNT(*) FROM quarantine_history WHERE at < ?1 GROUP BY 1, 2, 3 ORDER BY 1")?;
    let changes = st
        .query_map([(last_day + 1) * DAY], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(3)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut it = changes.iter().peekable();
    for (di, day) in (first_day..=last_day).enumerate() {
        while let Some((d, old, new, n)) = it.peek() {
            if *d > day {
                break;
            }
            if let Some(o) = old {
                *level.entry(o.clone()).or_default() -= n;
            }
            *level.entry(new.clone()).or_default() += n;
            it.next();
        }
        for (si, (s, _)) in QSTATUS.iter().enumerate() {
            quarantine[si][di] = level.get(*s).copied().unwrap_or(0) as f64;
        }
    }
    let mut st = c.prepare_cached(
        "SELECT q.id, q.text, g.n, q.occurrences FROM (SELECT qualification_id AS id, COUNT(*) AS n FROM bounce_event
           WHERE event_time > ?1 AND event_time <= ?2 AND qualification_id IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10) g
         JOIN qualification q ON q.id = g.id ORDER BY g.n DESC, q.id",
    )?;
    let gained = st.query_map([end - DAY, end], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Figures { days: labels, per_day, reasons_per_day, report, quarantine, gained, end: Some(crate::store::format_time(end)) })
}

pub async fn page_handler(app: Shared, user: super::User, p: Params) -> WebResult<Markup> {
    let days = p.num("days").unwrap_or(30).clamp(1, 366) as i64;
    let end = p
        .get("end")
        .map(|v| crate::store::parse_time(v).map(|t| if v.len() == 10 { t + DAY - 1 } else { t }).ok_or_else(|| WebError::BadRequest(format!("bad time {v:?}"))))
        .transpose()?;
    let f = app.db(move |c| Ok(figures(c, days, end)?)).await?;
    let reason_series: Vec<Series> =
        f.reasons_per_day.iter().zip(REASON_COLORS).map(|((n, v), c)| Series { name: n, color: c, values: v.clone() }).collect();
    let type_series: Vec<Series> = TYPES.iter().zip(&f.per_day).map(|((n, c), v)| Series { name: n, color: c, values: v.clone() }).collect();
    let mut reasons: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for b in &f.report.bounces {
        let e = reasons.entry(b.failure_reason.clone()).or_default();
        match b.failure_type.as_str() {
            "Hard" => e.0 += b.count,
            "Soft" => e.1 += b.count,
            _ => {}
        }
    }
    let mut reasons: Vec<(String, Vec<f64>)> =
        reasons.into_iter().filter(|(_, (h, s))| h + s > 0).map(|(r, (h, s))| (r, vec![h as f64, s as f64])).collect();
    reasons.sort_by(|a, b| (b.1[0] + b.1[1]).total_cmp(&(a.1[0] + a.1[1])));
    let domains: Vec<(String, Vec<f64>)> = f.report.domains.iter().map(|d| (d.domain.clone(), vec![d.hard as f64, d.soft as f64])).collect();
    let q_series: Vec<Series> = QSTATUS.iter().take(3).zip(&f.quarantine).map(|((n, c), v)| Series { name: n, color: c, values: v.clone() }).collect();
    let gained: Vec<(String, Vec<f64>)> = f.gained.iter().map(|(id, text, n, _)| (format!("{id}: {text}"), vec![*n as f64])).collect();
    let hs = [("Hard", "#c0392b"), ("Soft", "#e08e0b")];
    let body = html! {
        h1 { "Reports" }
        form.filters method="get" action="/reports" {
            label { "Days" input type="number" name="days" min="1" max="366" value=(days); }
            label { "Ending (default: the latest bounce)" input type="date" name="end" value=[p.get("end")]; }
            button type="submit" { "Show" }
        }
        @if f.end.is_none() { p.notice { "No bounce recorded yet." } } @else {
        p.muted { (f.days.first().cloned().unwrap_or_default()) " to " (f.days.last().cloned().unwrap_or_default()) " (UTC)" }
        h2 { "Bounces per day, by type" }
        div.chart {
            (svg::stacked_bars("Bounces per day by type", &f.days, &type_series, 640.0, 260.0))
            table {
                thead { tr { th { "Day" } @for (t, _) in TYPES { th.num { (t) } } } }
                tbody { @for (i, d) in f.days.iter().enumerate() {
                    @if f.per_day.iter().any(|s| s[i] > 0.0) { tr { td { (d) } @for s in &f.per_day { td.num { (s[i]) } } } }
                } }
            }
        }
        h2 { "Bounces per day, by reason (Hard and Soft)" }
        div.chart {
            (svg::stacked_bars("Bounces per day by reason", &f.days, &reason_series, 640.0, 260.0))
            table {
                thead { tr { th { "Day" } @for (r, _) in &f.reasons_per_day { th.num { (r) } } } }
                tbody { @for (i, d) in f.days.iter().enumerate() {
                    @if f.reasons_per_day.iter().any(|s| s.1[i] > 0.0) { tr { td { (d) } @for (_, s) in &f.reasons_per_day { td.num { (s[i]) } } } }
                } }
            }
        }
        h2 { "Bounces by reason (Hard and Soft)" }
        div.chart {
            (svg::hbars("Bounces by reason", &reasons, &hs, 640.0))
            table {
                thead { tr { th { "Type" } th { "Reason" } th.num { "Bounces" } } }
                tbody { @for b in &f.report.bounces { tr { td { (b.failure_type) } td { (b.failure_reason) } td.num { (b.count) } } } }
            }
        }
        h2 { "Failures per recipient domain (top 15)" }
        div.chart {
            (svg::hbars("Failures per recipient domain", &domains, &hs, 640.0))
            table {
                thead { tr { th { "Domain" } th.num { "Hard" } th.num { "Soft" } th.num { "Total" } } }
                tbody { @for d in &f.report.domains { tr { td { (d.domain) } td.num { (d.hard) } td.num { (d.soft) } td.num { (d.total) } } } }
            }
        }
        h2 { "Quarantine by status over time" }
        div.chart {
            (svg::lines("Quarantine entries by status", &f.days, &q_series, 640.0, 260.0))
            table {
                thead { tr { th { "Day" } @for (s, _) in QSTATUS.iter().take(3) { th.num { (s) } } } }
                tbody { @for (i, d) in f.days.iter().enumerate().rev().take(14) {
                    tr { td { (d) } @for s in f.quarantine.iter().take(3) { td.num { (s[i]) } } }
                } }
            }
        }
        h2 { "Rows that gained most in the last day (to " (f.end.as_deref().unwrap_or("")) ")" }
        div.chart {
            (svg::hbars("Rows that gained most in the last day", &gained, &[("Bounces", "#1f5fbf")], 640.0))
            table {
                thead { tr { th.num { "Row" } th.num { "+ last day" } th.num { "Occurrences" } th { "Text" } } }
                tbody { @for (id, text, n, occ) in &f.gained { tr { td.num { a href={"/qual/" (id)} { (id) } } td.num { (n) } td.num { (occ) } td.text { (cut(text, 90)) } } } }
            }
        }
        }
    };
    Ok(page("Reports", "/reports", &user, body))
}

pub async fn page_route(s: State<Shared>, user: CurrentUser, RawQuery(q): RawQuery) -> WebResult<Markup> {
    page_handler(state(s), user.0, Params::query(&q)).await
}
