//! The JSON API (`/api/v1/…`) for the sending platform and scripts: may I send to this address,
//! what changed since my cursor, the qualification rows, the report figures.

use super::params::Params;
use super::query;
use super::{state, CurrentUser, Shared, WebError, WebResult};
use crate::quarantine::{self, QStatus};
use crate::store::qualification;
use axum::extract::{Path, RawQuery, State};
use axum::Json;
use serde_json::{json, Value};

/// GET /api/v1/address/{address}: the quarantine status of one address. `send` is false for
/// Quarantine and Denylisted (an address never seen is Valid).
pub async fn address(s: State<Shared>, _u: CurrentUser, Path(address): Path<String>) -> WebResult<Json<Value>> {
    let app = state(s);
    let cfg = app.cfg.quarantine.clone();
    let a = address.clone();
    let entry = app.db(move |c| Ok(quarantine::get(c, &a, &cfg)?)).await?;
    let status = entry.as_ref().map(|e| e.status).unwrap_or(QStatus::Valid);
    Ok(Json(json!({
        "address": quarantine::key(&address, &app.cfg.quarantine),
        "known": entry.is_some(),
        "status": status.label(),
        "send": !matches!(status, QStatus::Quarantine | QStatus::Denylisted),
        "entry": entry,
    })))
}

/// Changes returned per call, at most (`limit`, default 1000).
const MAX_CHANGES: i64 = 10_000;

/// GET /api/v1/changes?since=CURSOR&limit=N: addresses whose status changed after the cursor,
/// oldest change first, with their current status; `next` is the cursor of the next call
/// (the history's id: it only grows). An address changed twice may appear twice; its current
/// status is the same in both.
pub async fn changes(s: State<Shared>, _u: CurrentUser, RawQuery(q): RawQuery) -> WebResult<Json<Value>> {
    let app = state(s);
    let p = Params::query(&q);
    let since: i64 = p.get("since").map(|v| v.parse().map_err(|_| WebError::BadRequest(format!("bad cursor {v:?}")))).transpose()?.unwrap_or(0);
    let limit = p.num("limit").map(|l| l as i64).unwrap_or(1000).clamp(1, MAX_CHANGES);
    let rows = app
        .db(move |c| {
            let mut st = c.prepare_cached(
                "SELECT h.id, h.address, h.at, h.new_status, q.status, q.channel FROM quarantine_history h
                 LEFT JOIN quarantine q ON q.address = h.address WHERE h.id > ?1 ORDER BY h.id LIMIT ?2",
            )?;
            let v = st
                .query_map(rusqlite::params![since, limit + 1], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, String>(3)?, r.get::<_, Option<String>>(4)?, r.get::<_, Option<String>>(5)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(v)
        })
        .await?;
    let more = rows.len() as i64 > limit;
    let rows = &rows[..rows.len().min(limit as usize)];
    let next = rows.last().map(|r| r.0).unwrap_or(since);
    let changes: Vec<Value> = rows
        .iter()
        .map(|(id, address, at, new_status, current, channel)| {
            let status = current.clone().unwrap_or_else(|| new_status.clone());
            let send = !matches!(QStatus::parse(&status), Some(QStatus::Quarantine | QStatus::Denylisted));
            json!({"cursor": id, "address": address, "channel": channel, "changed_at": crate::store::format_time(*at), "status": status, "send": send})
        })
        .collect();
    Ok(Json(json!({"since": since, "next": next, "more": more, "changes": changes})))
}

/// GET /api/v1/qualification: the table's rows, with the console's filters (`status`, `type`,
/// `reason`, `channel`, `rule`, `q`), `sort`, `dir`, `page`, `per_page`.
pub async fn qualification(s: State<Shared>, _u: CurrentUser, RawQuery(q): RawQuery) -> WebResult<Json<query::Page<qualification::QualRow>>> {
    let app = state(s);
    let query = super::qual::parse_query(&Params::query(&q))?;
    Ok(Json(app.db(move |c| Ok(query::qual_page(c, &query)?)).await?))
}

/// GET /api/v1/qualification/{id}: one row with its history.
pub async fn qualification_row(s: State<Shared>, _u: CurrentUser, Path(id): Path<i64>) -> WebResult<Json<Value>> {
    let app = state(s);
    let (row, history) = app
        .db(move |c| {
            let row = qualification::get(c, id).map_err(|_| WebError::NotFound(format!("no qualification row with id {id}")))?;
            Ok((row, crate::store::qualification::history(c, id)?))
        })
        .await?;
    Ok(Json(json!({"row": row, "history": history})))
}

/// GET /api/v1/report?since=T&top=N: the figures of `inmail report --format json`.
pub async fn report(s: State<Shared>, _u: CurrentUser, RawQuery(q): RawQuery) -> WebResult<Json<crate::report::Report>> {
    let app = state(s);
    let p = Params::query(&q);
    let since = p.get("since").map(|v| crate::store::parse_time(v).ok_or_else(|| WebError::BadRequest(format!("bad time {v:?}")))).transpose()?;
    let top = p.num("top").unwrap_or(10).clamp(1, 1000) as usize;
    Ok(Json(app.db(move |c| Ok(crate::report::build(c, since, top)?)).await?))
}
