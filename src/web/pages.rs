//! The front page (the "To qualify" queue) and the rules page (the list in order, and a box to
//! try a diagnostic as `inmail rules test` does).

use super::layout::page;
use super::params::Params;
use super::query::{self, QualQuery};
use super::{state, CurrentUser, Shared, WebResult};
use crate::model::{Bounce, Kind};
use crate::store::qualification::QualStatus;
use axum::extract::{RawQuery, State};
use maud::{html, Markup};

pub async fn front(s: State<Shared>, user: CurrentUser) -> WebResult<Markup> {
    let app = state(s);
    let (summary, queue) = app
        .db(|c| {
            let q = QualQuery { status: Some(QualStatus::ToQualify), per_page: 25, page: 1, ..Default::default() };
            Ok((query::summary(c)?, query::qual_page(c, &q)?))
        })
        .await?;
    let body = html! {
        div.cards {
            div.card { div.n { (summary.to_qualify.to_string()) } div.l { "rows to qualify" } }
            div.card { div.n { (summary.rows.to_string()) } div.l { "qualification rows" } }
            @for (status, n) in &summary.quarantine {
                div.card { div.n { (n.to_string()) } div.l { "addresses " (status) } }
            }
        }
        h1 { "To qualify" }
        @if queue.rows.is_empty() {
            p.done { "Nothing to qualify: every row has a rule or an operator's decision." }
        } @else {
            p.muted { "Rows no rule decided, most frequent first. Open one to set its type and reason." }
            (super::qual::rows_table(&queue.rows))
            @if queue.more { p { a href="/qual?status=to-qualify" { "all " (queue.total) @if queue.total_capped { "+" } " rows to qualify →" } } }
        }
    };
    Ok(page("To qualify", "/", &user, body))
}

/// What `rules test` prints, for the page and the API.
#[derive(Debug, serde::Serialize)]
pub struct RuleTest {
    pub text: String,
    pub rule: String,
    pub also_matching: Vec<String>,
    pub status: String,
    pub failure_type: String,
    pub failure_reason: String,
}

pub fn rule_test(rules: &crate::rules::RuleSet, diagnostic: &str, status: Option<&str>) -> RuleTest {
    let b = Bounce {
        status: status.map(str::to_string).or_else(|| crate::status::find_status(diagnostic).map(str::to_string)).unwrap_or_default(),
        reply_code: crate::status::find_reply_code(diagnostic).unwrap_or("").to_string(),
        diagnostic: diagnostic.to_string(),
        ..Default::default()
    };
    let v = crate::qualify::qualify(rules, Kind::Text, &b);
    let also = rules.all_matches(&crate::rules::Evidence::of(&b)).into_iter().map(|r| r.name.clone()).filter(|n| *n != v.rule).collect();
    RuleTest {
        text: v.text.to_string(),
        rule: v.rule.to_string(),
        also_matching: also,
        status: b.status.clone(),
        failure_type: v.qualification.failure_type.label().to_string(),
        failure_reason: v.qualification.reason_label().to_string(),
    }
}

pub async fn rules(s: State<Shared>, user: CurrentUser, RawQuery(q): RawQuery) -> WebResult<Markup> {
    let app = state(s);
    let p = Params::query(&q);
    let diagnostic = p.get("diagnostic");
    let rules = app.rules();
    let tested = diagnostic.map(|d| rule_test(&rules, d, p.get("status")));
    let body = html! {
        h1 { "Try a diagnostic" }
        form.filters method="get" action="/rules" {
            label { "Diagnostic" textarea name="diagnostic" rows="2" cols="90" { (diagnostic.unwrap_or("")) } }
            label { "Enhanced status (optional)" input type="text" name="status" size="8" value=[p.get("status")]; }
            button type="submit" { "Test" }
        }
        @if let Some(t) = &tested {
            dl.row {
                dt { "Text" } dd.text { (t.text) }
                dt { "Rule" } dd { @if t.rule.is_empty() { "(none: To qualify)" } @else { (t.rule) } }
                dt { "Status" } dd { (t.status) }
                dt { "Type" } dd { (t.failure_type) }
                dt { "Reason" } dd { (t.failure_reason) }
                @if !t.also_matching.is_empty() { dt { "Also matching" } dd { (t.also_matching.join(", ")) " (later, so not used)" } }
            }
        }
        h1 { "Rules, in the order they are tried" }
        table {
            thead { tr { th.num { "#" } th { "Name" } th { "Type" } th { "Reason" } th { "Match" } th { "Status" } th { "File" } } }
            tbody { @for (i, r) in rules.rules().iter().enumerate() { tr {
                td.num { (i + 1) } td { (r.name) } td { (r.qualification.failure_type.label()) } td { (r.qualification.reason_label()) }
                td.text { (r.pattern) } td.text { (r.status_filter().map(|x| x.as_str()).unwrap_or("")) } td { (r.file) }
            } } }
        }
    };
    Ok(page("Rules", "/rules", &user, body))
}
