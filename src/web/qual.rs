//! The qualification table: list (filters, sort, pages), a row's page, and its edit with the
//! semantics of `qual set` (history with the user; releasing the addresses it quarantined,
//! previewed first).

use super::layout::{badge, cut, page, qual_badge, short_time};
use super::params::Params;
use super::query::{self, QualQuery, QualSort};
use super::{state, CurrentUser, Shared, WebError, WebResult};
use crate::model::{FailureReason, FailureType};
use crate::quarantine::{self, Audit, Filter, QStatus};
use crate::store::qualification as qual_history;
use crate::store::qualification::{self, Change, QualStatus};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};

pub(crate) const TYPES: &[&str] = &["Hard", "Soft", "Ignored", "Undefined"];
pub(crate) const STATUSES: &[&str] = &["To qualify", "Keep", "Ignore"];

/// A list query from the page's (or the API's) parameters; bad values are refused (400).
pub fn parse_query(p: &Params) -> WebResult<QualQuery> {
    let bad = |what: &str, v: &str| WebError::BadRequest(format!("unknown {what} {v:?}"));
    Ok(QualQuery {
        status: p.get("status").map(|s| QualStatus::parse(s).ok_or_else(|| bad("status", s))).transpose()?,
        failure_type: p.get("type").map(|s| s.parse::<FailureType>().map_err(|_| bad("type", s))).transpose()?,
        reason: p.get("reason").map(|s| FailureReason::parse(s).ok_or_else(|| bad("reason", s))).transpose()?,
        channel: p.get("channel").map(str::to_string),
        rule: p.get("rule").map(str::to_string),
        text: p.get("q").map(str::to_string),
        sort: p.get("sort").map(|s| QualSort::parse(s).ok_or_else(|| bad("sort", s))).transpose()?.unwrap_or_default(),
        ascending: p.get("dir") == Some("asc"),
        page: p.num("page").unwrap_or(1),
        per_page: p.num("per_page").unwrap_or(50),
    })
}

fn select(name: &str, options: &[&str], current: Option<&str>, any: &str) -> Markup {
    html! {
        select name=(name) {
            option value="" { (any) }
            @for o in options {
                option value=(o) selected[current.is_some_and(|c| c.eq_ignore_ascii_case(o))] { (o) }
            }
        }
    }
}

pub(crate) fn reason_labels() -> Vec<&'static str> {
    FailureReason::all().map(|r| r.label()).collect()
}

/// The rows of a page as a table (shared by the list and the front page).
pub fn rows_table(rows: &[qualification::QualRow]) -> Markup {
    html! {
        table {
            thead { tr {
                th.num { "id" } th { "Status" } th { "Type" } th { "Reason" } th.num { "Occurrences" }
                th { "Last seen" } th { "First seen" } th { "Rule" } th { "Channel" } th { "Text" }
            } }
            tbody {
                @for r in rows {
                    tr {
                        td.num { a href={"/qual/" (r.id)} { (r.id) } }
                        td { (qual_badge(r.status.label())) }
                        td { (badge(&r.failure_type)) }
                        td { (r.failure_reason) }
                        td.num { (r.occurrences) }
                        td.t { (short_time(&r.last_seen)) }
                        td.t { (short_time(&r.first_seen)) }
                        td { (r.rule) }
                        td { (r.channel) }
                        td.text { a href={"/qual/" (r.id)} { (cut(&r.text, 160)) } }
                    }
                }
            }
        }
    }
}

pub fn pager<T>(p: &query::Page<T>, params: &Params, base: &str) -> Markup {
    let total = if p.total_capped { format!("more than {}", p.total) } else { p.total.to_string() };
    html! {
        div.pager {
            span { (total) " row(s) · page " (p.page) }
            @if p.page > 1 { a href={(base) "?" (params.with("page", &(p.page - 1).to_string()).to_query(&[]))} { "← previous" } }
            @if p.more { a href={(base) "?" (params.with("page", &(p.page + 1).to_string()).to_query(&[]))} { "next →" } }
        }
    }
}

pub async fn list(s: State<Shared>, user: CurrentUser, RawQuery(q): RawQuery) -> WebResult<Markup> {
    let app = state(s);
    let p = Params::query(&q);
    let query = parse_query(&p)?;
    let qq = query.clone();
    let page_rows = app.db(move |c| Ok(query::qual_page(c, &qq)?)).await?;
    let sort_link = |sort: QualSort, label: &str| {
        let on = query.sort == sort;
        let dir = if on && !query.ascending { "asc" } else { "desc" };
        let arrow = if on { if query.ascending { " ↑" } else { " ↓" } } else { "" };
        html! { a href={"/qual?" (p.with("sort", sort.slug()).with("dir", dir).with("page", "1").to_query(&[]))} { (label) (arrow) } }
    };
    let body = html! {
        h1 { "Delivery log qualification" }
        form.filters method="get" action="/qual" {
            label { "Status" (select("status", STATUSES, query.status.map(|s| s.label()), "any")) }
            label { "Type" (select("type", TYPES, query.failure_type.map(|t| t.label()), "any")) }
            label { "Reason" (select("reason", &reason_labels(), query.reason.map(|r| r.label()), "any")) }
            label { "Channel" (select("channel", &["email", "sms"], query.channel.as_deref(), "any")) }
            label { "Rule" input type="text" name="rule" value=[query.rule.as_deref()] size="14"; }
            label { "Text contains" input type="search" name="q" value=[query.text.as_deref()] size="28"; }
            input type="hidden" name="sort" value=(query.sort.slug());
            button type="submit" { "Filter" }
            a href="/qual" { "reset" }
        }
        div.pager { "Sort: " (sort_link(QualSort::Occurrences, "occurrences")) " · " (sort_link(QualSort::LastSeen, "last seen")) " · " (sort_link(QualSort::FirstSeen, "first seen")) }
        (rows_table(&page_rows.rows))
        (pager(&page_rows, &p, "/qual"))
    };
    Ok(page("Qualification", "/qual", &user, body))
}

pub async fn show(s: State<Shared>, user: CurrentUser, Path(id): Path<i64>) -> WebResult<Markup> {
    let app = state(s);
    let cfg = app.cfg.quarantine.clone();
    let (row, history, bounces, affected) = app
        .db(move |c| {
            let row = qualification::get(c, id).map_err(|_| WebError::NotFound(format!("no qualification row with id {id}")))?;
            let history = qual_history::history(c, id)?;
            let bounces = query::row_bounces(c, id, 100)?;
            let q = query::QuarQuery { qualification_id: Some(id), statuses: vec![QStatus::WithErrors, QStatus::Quarantine], per_page: 1, ..Default::default() };
            let affected = query::quarantine_page(c, &q, &cfg)?;
            Ok((row, history, bounces, affected))
        })
        .await?;
    let csrf = app.csrf_token(&user);
    let body = html! {
        h1 { "Row " (row.id) " " (qual_badge(row.status.label())) }
        dl.row {
            dt { "Text" } dd.text { (row.text) }
            dt { "First text" } dd.text { (row.first_text) }
            dt { "Type" } dd { (badge(&row.failure_type)) }
            dt { "Reason" } dd { (row.failure_reason) " (" (row.reason_code) ")" }
            dt { "Occurrences" } dd { (row.occurrences) }
            dt { "First seen" } dd { (row.first_seen) }
            dt { "Last seen" } dd { (row.last_seen) }
            dt { "Rule" } dd { (row.rule) @if row.manual { " (set by hand: wins over the rules)" } }
            dt { "Channel" } dd { (row.channel) }
            dt { "Quarantined by it" } dd {
                a href={"/quarantine?qualification=" (row.id) "&status=with-errors&status=quarantine"} { (affected.total) @if affected.total_capped { "+" } " address(es)" }
                " in Quarantine or With errors"
            }
        }
        h2 { "Edit" }
        @if user.role == super::Role::Admin {
            form.filters.edit method="post" action={"/qual/" (row.id)} {
                input type="hidden" name="csrf" value=(csrf);
                label { "Status" (select("status", STATUSES, Some(row.status.label()), "(unchanged)")) }
                label { "Type" (select("type", TYPES, Some(&row.failure_type), "(unchanged)")) }
                label { "Reason" (select("reason", &reason_labels(), Some(&row.failure_reason), "(unchanged)")) }
                label { "Release the addresses it quarantined"
                    input type="checkbox" name="release_affected" value="1"; }
                button type="submit" { "Save" }
            }
            p.muted { "Saving makes the row manual: it wins over the rules for every later bounce with this Text. With the release box ticked, the addresses are listed for confirmation first." }
        } @else {
            p.muted { "Read-only: editing needs the admin role." }
        }
        h2 { "History" }
        @if history.is_empty() { p.muted { "No change by an operator." } } @else {
            table {
                thead { tr { th { "When" } th { "Who" } th { "Action" } th { "Before (type / reason / status)" } th { "After" } } }
                tbody { @for h in &history { tr {
                    td { (short_time(&h.at)) } td { (h.by) } td { (h.action) } td { (h.before) } td { (h.after) }
                } } }
            }
        }
        h2 { "Bounces (latest " (bounces.len()) ")" }
        table {
            thead { tr { th { "Time" } th { "Recipient" } th { "Kind" } th { "Status" } th { "Diagnostic" } th { "Source" } } }
            tbody { @for b in &bounces { tr {
                td { (short_time(&b.event_time)) }
                td { a href={"/quarantine/entry?address=" (urlencode(&b.recipient))} { (b.recipient) } }
                td { (b.kind) } td { (b.status) } td.text { (cut(&b.diagnostic, 300)) } td.text { (cut(&b.source, 80)) }
            } } }
        }
    };
    Ok(page(&format!("Row {}", row.id), "/qual", &user, body))
}

pub(crate) fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Addresses previewed or released at once, at most (a longer list is refused with a message:
/// narrow the filters, or release in several steps).
pub const MAX_RELEASE: usize = 5000;

/// POST /qual/{id}: the change; with `release_affected` a preview of the addresses first, then
/// (with `confirm`) the change and the release of exactly the previewed addresses.
pub async fn edit(s: State<Shared>, user: CurrentUser, Path(id): Path<i64>, body: Bytes) -> WebResult<Response> {
    let app = state(s);
    user.require_admin()?;
    let f = Params::form(&body)?;
    app.check_csrf(&user, f.get("csrf"))?;
    let bad = |what: &str, v: &str| WebError::BadRequest(format!("unknown {what} {v:?}"));
    let change = Change {
        status: f.get("status").map(|s| QualStatus::parse(s).ok_or_else(|| bad("status", s))).transpose()?,
        failure_type: f.get("type").map(|s| s.parse::<FailureType>().map_err(|_| bad("type", s))).transpose()?,
        reason: f.get("reason").map(|s| FailureReason::parse(s).ok_or_else(|| bad("reason", s))).transpose()?,
    };
    if change.status.is_none() && change.failure_type.is_none() && change.reason.is_none() {
        return Err(WebError::BadRequest("nothing to change: choose a status, a type or a reason".into()));
    }
    let release = f.get("release_affected").is_some();
    let confirm = f.get("confirm").is_some();
    let cfg = app.cfg.quarantine.clone();
    if release && !confirm {
        // The preview: the row as it would be, and the addresses that would be released.
        let (row, affected) = app
            .db(move |c| {
                let row = qualification::get(c, id).map_err(|_| WebError::NotFound(format!("no qualification row with id {id}")))?;
                let statuses = vec![QStatus::WithErrors, QStatus::Quarantine];
                let all = quarantine::list(c, &Filter { qualification_id: Some(id), statuses, ..Default::default() })?;
                Ok((row, all))
            })
            .await?;
        if affected.len() > MAX_RELEASE {
            tracing::warn!(user = %user.name, row = id, "release preview refused: more than {MAX_RELEASE} addresses");
            return Err(WebError::BadRequest(format!(
                "{} addresses would be released, more than the {MAX_RELEASE} one confirmation may carry: use `inmail qual set {id} --release-affected`",
                affected.len()
            )));
        }
        let csrf = app.csrf_token(&user);
        let body = html! {
            h1 { "Confirm: row " (row.id) }
            p { "The row becomes: status " b { (change.status.map(|s| s.label()).unwrap_or(row.status.label())) }
                ", type " b { (change.failure_type.map(|t| t.label()).unwrap_or(&row.failure_type)) }
                ", reason " b { (change.reason.map(|r| r.label()).unwrap_or(&row.failure_reason)) } "." }
            p.notice { (affected.len()) " address(es) it put in Quarantine or With errors will be released (→ Valid). Nothing is changed until you confirm." }
            form method="post" action={"/qual/" (row.id)} {
                input type="hidden" name="csrf" value=(csrf);
                @for (k, v) in [("status", change.status.map(|s| s.label())), ("type", change.failure_type.map(|t| t.label())), ("reason", change.reason.map(|r| r.label()))] {
                    @if let Some(v) = v { input type="hidden" name=(k) value=(v); }
                }
                input type="hidden" name="release_affected" value="1";
                input type="hidden" name="confirm" value="1";
                @for e in &affected { input type="hidden" name="address" value=(e.address); }
                button type="submit" { "Confirm: save and release " (affected.len()) " address(es)" }
                " " a href={"/qual/" (row.id)} { "cancel" }
            }
            h2 { "Addresses to release" }
            (super::quarantine::entries_table(&affected, false))
        };
        return Ok(page("Confirm", "/qual", &user, body).into_response());
    }
    let by = user.name.clone();
    let addresses: Vec<String> = f.all("address").into_iter().map(|a| quarantine::key(a, &cfg)).collect();
    let (row, released) = app
        .db(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let row = qual_history::set_by(&tx, id, &change, &by)?;
            tx.commit()?;
            let mut released = Vec::new();
            if release && !addresses.is_empty() {
                let filter = Filter {
                    statuses: vec![QStatus::WithErrors, QStatus::Quarantine],
                    qualification_id: Some(id),
                    addresses,
                    ..Default::default()
                };
                let audit = Audit { by, reason: format!("qualification row {id} set to {}", row.status.label()), now: crate::store::now() };
                released = quarantine::release(c, &filter, &audit, false)?;
            }
            Ok((row, released))
        })
        .await?;
    if !release {
        return Ok(Redirect::to(&format!("/qual/{}", row.id)).into_response());
    }
    let body = html! {
        h1 { "Row " (row.id) " saved" }
        p.done { "Status " (row.status.label()) ", type " (row.failure_type) ", reason " (row.failure_reason) ". "
                 (released.len()) " address(es) released." }
        (super::quarantine::entries_table(&released, false))
        p { a href={"/qual/" (row.id)} { "back to the row" } }
    };
    Ok(page("Saved", "/qual", &user, body).into_response())
}
