//! The quarantine: search (address, domain, status, reason, error text, time window), an
//! entry's page with its history and bounces, manual and bulk release (the list previewed,
//! then exactly that list released), CSV export.

use super::layout::{badge, cut, page, short_time};
use super::params::Params;
use super::qual::{pager, urlencode, MAX_RELEASE};
use super::query::{self, QuarQuery};
use super::{state, CurrentUser, Shared, WebError, WebResult};
use crate::model::FailureReason;
use crate::quarantine::{self, Audit, Entry, Filter, QStatus};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};

const QSTATUSES: &[(&str, &str)] = &[("valid", "Valid"), ("with-errors", "With errors"), ("quarantine", "Quarantine"), ("denylisted", "Denylisted")];

fn time_param(p: &Params, name: &str, end_of_day: bool) -> WebResult<Option<i64>> {
    let Some(v) = p.get(name) else { return Ok(None) };
    let t = crate::store::parse_time(v).ok_or_else(|| WebError::BadRequest(format!("bad time {v:?}: use YYYY-MM-DD, RFC 3339 or unix seconds")))?;
    // A bare date as the end of a window means the whole day.
    let date_only = v.len() == 10 && v.as_bytes()[4] == b'-';
    Ok(Some(if end_of_day && date_only { t + 86_399 } else { t }))
}

pub fn parse_query(p: &Params) -> WebResult<QuarQuery> {
    let statuses = p
        .all("status")
        .into_iter()
        .map(|s| QStatus::parse(s).ok_or_else(|| WebError::BadRequest(format!("unknown status {s:?}"))))
        .collect::<WebResult<Vec<_>>>()?;
    Ok(QuarQuery {
        address: p.get("address").map(str::to_string),
        domain: p.get("domain").map(str::to_string),
        statuses,
        reason: p.get("reason").map(|s| FailureReason::parse(s).ok_or_else(|| WebError::BadRequest(format!("unknown reason {s:?}")))).transpose()?,
        text: p.get("q").map(str::to_string),
        from: time_param(p, "from", false)?,
        to: time_param(p, "to", true)?,
        qualification_id: p.get("qualification").map(|v| v.parse().map_err(|_| WebError::BadRequest(format!("bad row id {v:?}")))).transpose()?,
        page: p.num("page").unwrap_or(1),
        per_page: p.num("per_page").unwrap_or(50),
    })
}

pub fn entries_table(rows: &[Entry], checkboxes: bool) -> Markup {
    html! {
        table {
            thead { tr {
                @if checkboxes { th { "" } }
                th { "Address" } th { "Status" } th.num { "Errors" } th { "Type" } th { "Reason" } th { "Last error" } th { "Modified" } th { "Error text" }
            } }
            tbody { @for e in rows { tr {
                @if checkboxes { td { input type="checkbox" name="address" value=(e.address); } }
                td { a href={"/quarantine/entry?address=" (urlencode(&e.address))} { (e.address) } }
                td { (badge(e.status.label())) }
                td.num { (e.error_count) }
                td { (e.failure_type.as_deref().unwrap_or("")) }
                td { (e.failure_reason.as_deref().unwrap_or("")) }
                td.t { (e.last_error.as_deref().map(short_time).unwrap_or_default()) }
                td.t { (short_time(&e.last_modified)) }
                td.text { (cut(&e.error_text, 140)) }
            } } }
        }
    }
}

fn filter_form(p: &Params) -> Markup {
    let statuses = p.all("status");
    html! {
        form.filters method="get" action="/quarantine" {
            label { "Address (or its start)" input type="search" name="address" value=[p.get("address")] size="24"; }
            label { "Domain" input type="text" name="domain" value=[p.get("domain")] size="16"; }
            label { "Status"
                select name="status" multiple size="4" {
                    @for (slug, label) in QSTATUSES {
                        option value=(slug) selected[statuses.iter().any(|s| QStatus::parse(s).map(|x| x.label()) == Some(label))] { (label) }
                    }
                }
            }
            label { "Reason"
                select name="reason" {
                    option value="" { "any" }
                    @for r in super::qual::reason_labels() { option value=(r) selected[p.get("reason").is_some_and(|x| FailureReason::parse(x).map(|y| y.label()) == Some(r))] { (r) } }
                }
            }
            label { "Error text contains" input type="search" name="q" value=[p.get("q")] size="18"; }
            label { "Modified from" input type="date" name="from" value=[p.get("from")]; }
            label { "to" input type="date" name="to" value=[p.get("to")]; }
            @if let Some(q) = p.get("qualification") { input type="hidden" name="qualification" value=(q); }
            button type="submit" { "Search" }
            a href="/quarantine" { "reset" }
        }
    }
}

pub async fn list(s: State<Shared>, user: CurrentUser, RawQuery(q): RawQuery) -> WebResult<Markup> {
    let app = state(s);
    let p = Params::query(&q);
    let query = parse_query(&p)?;
    let cfg = app.cfg.quarantine.clone();
    let rows = app.db(move |c| Ok(query::quarantine_page(c, &query, &cfg)?)).await?;
    let csrf = app.csrf_token(&user);
    let admin = user.role == super::Role::Admin;
    let body = html! {
        h1 { "Quarantine" }
        (filter_form(&p))
        p {
            a href={"/quarantine/export.csv?" (p.to_query(&["page", "per_page"]))} { "Export these entries as CSV" }
            @if p.get("qualification").is_some() { " · only the addresses of row " (p.get("qualification").unwrap_or("")) }
        }
        @if admin {
            form method="post" action="/quarantine/release" {
                input type="hidden" name="csrf" value=(csrf);
                @for (k, v) in &p.0 { @if k != "page" && k != "csrf" && !v.trim().is_empty() { input type="hidden" name={"f_" (k)} value=(v); } }
                div.pager {
                    button type="submit" name="scope" value="selected" { "Release selected…" }
                    button.secondary type="submit" name="scope" value="all" { "Release all matching…" }
                    span.muted { "Both show the list for confirmation first." }
                }
                (entries_table(&rows.rows, true))
            }
        } @else {
            (entries_table(&rows.rows, false))
        }
        (pager(&rows, &p, "/quarantine"))
    };
    Ok(page("Quarantine", "/quarantine", &user, body))
}

pub async fn show(s: State<Shared>, user: CurrentUser, RawQuery(q): RawQuery) -> WebResult<Markup> {
    let app = state(s);
    let p = Params::query(&q);
    let address = p.get("address").ok_or_else(|| WebError::BadRequest("give ?address=".into()))?.to_string();
    let cfg = app.cfg.quarantine.clone();
    let a = address.clone();
    let (entry, history, bounces) = app
        .db(move |c| {
            let entry = quarantine::get(c, &a, &cfg)?;
            Ok((entry, quarantine::history_of(c, &a, &cfg)?, quarantine::bounces(c, &a, &cfg)?))
        })
        .await?;
    let Some(entry) = entry else { return Err(WebError::NotFound(format!("{address} is not in the quarantine table (never bounced)"))) };
    let csrf = app.csrf_token(&user);
    let body = html! {
        h1 { (entry.address) " " (badge(entry.status.label())) }
        dl.row {
            dt { "Channel" } dd { (entry.channel) }
            dt { "Errors" } dd { (entry.error_count) }
            dt { "Type / reason" } dd { (entry.failure_type.as_deref().unwrap_or("")) " / " (entry.failure_reason.as_deref().unwrap_or("")) }
            dt { "Error text" } dd.text { (entry.error_text) }
            dt { "First error" } dd { (entry.first_error.as_deref().unwrap_or("")) }
            dt { "Last error" } dd { (entry.last_error.as_deref().unwrap_or("")) }
            dt { "Last modified" } dd { (entry.last_modified) }
            dt { "Qualification row" } dd { @if let Some(q) = entry.qualification_id { a href={"/qual/" (q)} { (q) } } }
            dt { "Delivery" } dd { (entry.delivery_id.as_deref().unwrap_or("")) " " (entry.delivery_log_id.as_deref().unwrap_or("")) }
        }
        @if user.role == super::Role::Admin && entry.status != QStatus::Valid {
            form.filters method="post" action="/quarantine/release" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="address" value=(entry.address);
                input type="hidden" name="scope" value="selected";
                button type="submit" { "Release…" }
            }
        }
        h2 { "History" }
        table {
            thead { tr { th { "When" } th { "From" } th { "To" } th { "Action" } th { "By" } th { "Why" } } }
            tbody { @for h in &history { tr {
                td { (short_time(&h.at)) } td { (h.old_status.as_deref().unwrap_or("")) } td { (h.new_status) }
                td { (h.action) } td { (h.by) } td { (h.reason) }
            } } }
        }
        h2 { "Bounces" }
        table {
            thead { tr { th { "Time" } th { "Kind" } th { "Type" } th { "Reason" } th { "Row" } th { "Diagnostic" } } }
            tbody { @for b in &bounces { tr {
                td { (short_time(&b.event_time)) } td { (b.kind) } td { (b.failure_type) } td { (b.failure_reason.as_deref().unwrap_or("")) }
                td { @if let Some(q) = b.qualification_id { a href={"/qual/" (q)} { (q) } } }
                td.text { (cut(&b.diagnostic, 300)) }
            } } }
        }
    };
    Ok(page(&entry.address, "/quarantine", &user, body))
}

/// POST /quarantine/release. Without `confirm`: the preview, the exact list of addresses (those
/// ticked, or every non-Valid entry matching the list's filters, `f_*` fields). With `confirm`:
/// exactly the addresses of the preview are released (each only if still not Valid).
pub async fn release(s: State<Shared>, user: CurrentUser, body: Bytes) -> WebResult<Response> {
    let app = state(s);
    user.require_admin()?;
    let f = Params::form(&body)?;
    app.check_csrf(&user, f.get("csrf"))?;
    let cfg = app.cfg.quarantine.clone();
    let addresses: Vec<String> = f.all("address").into_iter().map(|a| quarantine::key(a, &cfg)).collect();
    if f.get("confirm").is_some() {
        if addresses.is_empty() {
            return Err(WebError::BadRequest("nothing to release".into()));
        }
        let audit = Audit {
            by: user.name.clone(),
            reason: f.get("reason").unwrap_or("released in the web console").to_string(),
            now: crate::store::now(),
        };
        let filter = Filter {
            statuses: vec![QStatus::WithErrors, QStatus::Quarantine, QStatus::Denylisted],
            addresses,
            ..Default::default()
        };
        let released = app.db(move |c| Ok(quarantine::release(c, &filter, &audit, false)?)).await?;
        let body = html! {
            h1 { "Released" }
            p.done { (released.len()) " address(es) released." }
            (entries_table(&released, false))
            p { a href="/quarantine" { "back to the quarantine" } }
        };
        return Ok(page("Released", "/quarantine", &user, body).into_response());
    }
    // The preview.
    let scope_all = f.get("scope") == Some("all");
    let filters = Params(f.0.iter().filter_map(|(k, v)| k.strip_prefix("f_").map(|k| (k.to_string(), v.clone()))).collect());
    let mut q = parse_query(&filters)?;
    let targets: Vec<Entry> = if scope_all {
        // A bulk release never lifts a denylisting unless the status filter asks for it.
        if q.statuses.is_empty() {
            q.statuses = vec![QStatus::WithErrors, QStatus::Quarantine];
        }
        q.statuses.retain(|s| *s != QStatus::Valid);
        if q.statuses.is_empty() {
            return Err(WebError::BadRequest("Valid entries have nothing to release".into()));
        }
        q.page = 1;
        q.per_page = query::MAX_PER_PAGE;
        let cfg2 = cfg.clone();
        app.db(move |c| {
            let mut all = Vec::new();
            loop {
                let p = query::quarantine_page(c, &q, &cfg2)?;
                all.extend(p.rows);
                if !p.more || all.len() > MAX_RELEASE {
                    break;
                }
                q.page += 1;
            }
            Ok(all)
        })
        .await?
    } else {
        if addresses.is_empty() {
            return Err(WebError::BadRequest("no address selected: tick some rows, or use “Release all matching”".into()));
        }
        let filter = Filter { statuses: vec![QStatus::WithErrors, QStatus::Quarantine, QStatus::Denylisted], addresses, ..Default::default() };
        app.db(move |c| Ok(quarantine::list(c, &filter)?)).await?
    };
    if targets.len() > MAX_RELEASE {
        tracing::warn!(user = %user.name, "bulk release refused: more than {MAX_RELEASE} addresses match");
        return Err(WebError::BadRequest(format!(
            "more than {MAX_RELEASE} addresses match: narrow the filters, or use `inmail quarantine release` with the same filters"
        )));
    }
    let csrf = app.csrf_token(&user);
    let body = html! {
        h1 { "Confirm the release" }
        @if targets.is_empty() {
            p.notice { "No entry to release: they are Valid already, or none matches." }
        } @else {
            p.notice { "These " (targets.len()) " address(es) will be released (→ Valid, counter reset), and only these. Nothing is changed until you confirm." }
            form.filters method="post" action="/quarantine/release" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="confirm" value="1";
                @for e in &targets { input type="hidden" name="address" value=(e.address); }
                label { "Why (kept in the history)" input type="text" name="reason" size="40" placeholder="e.g. ISP outage of 1 March"; }
                button type="submit" { "Confirm: release " (targets.len()) " address(es)" }
                a href="/quarantine" { "cancel" }
            }
        }
        (entries_table(&targets, false))
    };
    Ok(page("Confirm the release", "/quarantine", &user, body).into_response())
}

/// CSV of the entries matching the list's filters (every page).
pub async fn export(s: State<Shared>, _user: CurrentUser, RawQuery(q): RawQuery) -> WebResult<Response> {
    let app = state(s);
    let p = Params::query(&q);
    let query = parse_query(&p)?;
    let cfg = app.cfg.quarantine.clone();
    let csv = app
        .db(move |c| {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(["address", "channel", "status", "error_count", "failure_type", "failure_reason", "first_error", "last_error", "last_modified", "error_text"])
                .map_err(|e| WebError::Internal(e.to_string()))?;
            query::quarantine_each(c, &query, &cfg, |e| {
                let n = e.error_count.to_string();
                w.write_record([
                    e.address.as_str(),
                    &e.channel,
                    e.status.label(),
                    &n,
                    e.failure_type.as_deref().unwrap_or(""),
                    e.failure_reason.as_deref().unwrap_or(""),
                    e.first_error.as_deref().unwrap_or(""),
                    e.last_error.as_deref().unwrap_or(""),
                    &e.last_modified,
                    &e.error_text,
                ])
                .map_err(|e| e.to_string())
            })?;
            w.into_inner().map_err(|e| WebError::Internal(e.to_string()))
        })
        .await?;
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8"), (header::CONTENT_DISPOSITION, "attachment; filename=\"quarantine.csv\"")],
        csv,
    )
        .into_response())
}
