//! The page frame: navigation, the user, the stylesheet; helpers shared by the pages.

use super::User;
use maud::{html, Markup, DOCTYPE};

pub fn page(title: &str, current: &str, user: &User, body: Markup) -> Markup {
    let nav = [("/", "To qualify"), ("/qual", "Qualification"), ("/quarantine", "Quarantine"), ("/reports", "Reports"), ("/rules", "Rules")];
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · inmail" }
                link rel="stylesheet" href="/static/style.css";
            }
            body {
                header {
                    span.brand { "inmail" }
                    nav {
                        @for (href, label) in nav {
                            a href=(href) class=[(href == current).then_some("on")] { (label) }
                        }
                    }
                    span.who { (user.name) " · " (user.role.label()) }
                }
                main { (body) }
            }
        }
    }
}

/// The CSS class of a status or type label ("To qualify" → "to-qualify").
pub fn class_of(label: &str) -> String {
    label.replace(' ', "-")
}

pub fn badge(label: &str) -> Markup {
    html! { span class={"badge " (class_of(label))} { (label) } }
}

/// Status slugs of the qualification table, for class names and links.
pub fn qual_badge(label: &str) -> Markup {
    html! { span class={"badge " (label.to_ascii_lowercase().replace(' ', "-"))} { (label) } }
}

/// "2026-03-01T10:00:00Z" → "2026-03-01 10:00".
pub fn short_time(t: &str) -> String {
    if t.len() >= 16 {
        format!("{}\u{a0}{}", &t[..10], &t[11..16])
    } else {
        t.to_string()
    }
}

/// A text cut to `n` characters with an ellipsis (the full text is on the row's page).
pub fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n).collect();
        t.push('…');
        t
    }
}
