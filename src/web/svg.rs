//! Charts drawn on the server as inline SVG (no script, no external asset). Each takes its
//! numbers already computed; the page shows the same numbers in a table beside the chart.

use maud::{html, Markup};

pub struct Series<'a> {
    pub name: &'a str,
    pub color: &'a str,
    pub values: Vec<f64>,
}

fn nice_max(m: f64) -> f64 {
    if m <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(m.log10().floor());
    for f in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if f * p >= m {
            return f * p;
        }
    }
    10.0 * p
}

fn fmt(v: f64) -> String {
    if v.fract() == 0.0 { format!("{}", v as i64) } else { format!("{v:.1}") }
}

/// The positive parts of a stack, each with the sum of the parts before it.
fn stack<K>(parts: impl Iterator<Item = (K, f64)>) -> Vec<(K, f64, f64)> {
    let mut below = 0.0;
    parts
        .filter(|(_, v)| *v > 0.0)
        .map(|(k, v)| {
            let b = below;
            below += v;
            (k, b, v)
        })
        .collect()
}

/// Legend items laid out left to right, wrapping at `width`: their positions and the height.
fn legend_layout(series: &[Series], x0: f64, width: f64) -> (Vec<(f64, f64)>, f64) {
    let (mut x, mut y) = (x0, 4.0);
    let mut at = Vec::new();
    for s in series {
        let w = 26.0 + 6.2 * s.name.chars().count() as f64;
        if x + w > width && x > x0 {
            x = x0;
            y += 16.0;
        }
        at.push((x, y));
        x += w;
    }
    (at, y + 16.0)
}

fn legend(series: &[Series], x0: f64, width: f64) -> (Markup, f64) {
    let (at, h) = legend_layout(series, x0, width);
    let m = html! {
        @for (s, (x, y)) in series.iter().zip(&at) {
            rect x=(x) y=(y) width="10" height="10" fill=(s.color) {}
            text x=(x + 14.0) y=(y + 9.0) font-size="11" fill="#1d2330" { (s.name) }
        }
    };
    (m, h)
}

/// Stacked vertical bars, one per label (days), a colour per series.
pub fn stacked_bars(title: &str, labels: &[String], series: &[Series], width: f64, height: f64) -> Markup {
    let (left, right, bottom) = (44.0, 8.0, 34.0);
    let (legend_m, top) = legend(series, left, width - right);
    let top = top + 6.0;
    let n = labels.len().max(1) as f64;
    let plot_w = width - left - right;
    let plot_h = height - top - bottom;
    let totals: Vec<f64> = (0..labels.len()).map(|i| series.iter().map(|s| s.values.get(i).copied().unwrap_or(0.0)).sum()).collect();
    let max = nice_max(totals.iter().cloned().fold(0.0, f64::max));
    let bw = plot_w / n;
    let step = (labels.len() / 6).max(1);
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(width) height=(height) viewBox={"0 0 " (width) " " (height)} role="img" aria-label=(title) {
            title { (title) }
            (legend_m)
            @for k in 0..=4 {
                @let v = max * k as f64 / 4.0;
                @let y = top + plot_h - plot_h * k as f64 / 4.0;
                line x1=(left) x2=(width - right) y1=(y) y2=(y) stroke="#e3e6ec" {}
                text x=(left - 4.0) y=(y + 4.0) font-size="10" text-anchor="end" fill="#5b6475" { (fmt(v)) }
            }
            @for (i, label) in labels.iter().enumerate() {
                @let x = left + i as f64 * bw;
                @for (s, below, v) in stack(series.iter().map(|s| (s, s.values.get(i).copied().unwrap_or(0.0)))) {
                    @let h = plot_h * v / max;
                    @let y = top + plot_h - plot_h * below / max - h;
                    rect x=(x + bw * 0.1) y=(y) width=(bw * 0.8) height=(h) fill=(s.color) { title { (label) " " (s.name) ": " (fmt(v)) } }
                }
                @if i % step == 0 {
                    text x=(x + bw / 2.0) y=(height - bottom + 14.0) font-size="10" text-anchor="middle" fill="#5b6475" { (label.get(5..).unwrap_or(label)) }
                }
            }
            line x1=(left) x2=(width - right) y1=(top + plot_h) y2=(top + plot_h) stroke="#9aa3b2" {}
        }
    }
}

/// Horizontal bars, one per item, each split in coloured parts.
pub fn hbars(title: &str, items: &[(String, Vec<f64>)], series: &[(&str, &str)], width: f64) -> Markup {
    let (label_w, top, row_h) = (190.0, 24.0, 20.0);
    let height = top + row_h * items.len().max(1) as f64 + 8.0;
    let max = nice_max(items.iter().map(|(_, v)| v.iter().sum::<f64>()).fold(0.0, f64::max));
    let plot_w = width - label_w - 50.0;
    let legend_series: Vec<Series> = series.iter().map(|(n, c)| Series { name: n, color: c, values: vec![] }).collect();
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(width) height=(height) viewBox={"0 0 " (width) " " (height)} role="img" aria-label=(title) {
            title { (title) }
            @if series.len() > 1 { (legend(&legend_series, label_w, width).0) }
            @for (i, (label, parts)) in items.iter().enumerate() {
                @let y = top + i as f64 * row_h;
                text x=(label_w - 6.0) y=(y + 13.0) font-size="11" text-anchor="end" fill="#1d2330" { (super::layout::cut(label, 30)) }
                @for (j, before, v) in stack(parts.iter().copied().enumerate()) {
                    rect x=(label_w + plot_w * before / max) y=(y + 3.0) width=(plot_w * v / max) height=(row_h - 6.0) fill=(series.get(j).map(|s| s.1).unwrap_or("#1f5fbf")) { title { (label) ": " (fmt(v)) } }
                }
                @let total: f64 = parts.iter().sum();
                text x=(label_w + plot_w * total / max + 4.0) y=(y + 13.0) font-size="10" fill="#5b6475" { (fmt(total)) }
            }
        }
    }
}

/// Lines over labels (days), one per series.
pub fn lines(title: &str, labels: &[String], series: &[Series], width: f64, height: f64) -> Markup {
    let (left, right, bottom) = (52.0, 8.0, 34.0);
    let (legend_m, top) = legend(series, left, width - right);
    let top = top + 6.0;
    let plot_w = width - left - right;
    let plot_h = height - top - bottom;
    let max = nice_max(series.iter().flat_map(|s| s.values.iter().cloned()).fold(0.0, f64::max));
    let n = labels.len();
    let x_of = |i: usize| left + if n > 1 { plot_w * i as f64 / (n - 1) as f64 } else { plot_w / 2.0 };
    let y_of = |v: f64| top + plot_h - plot_h * v / max;
    let step = (n / 6).max(1);
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(width) height=(height) viewBox={"0 0 " (width) " " (height)} role="img" aria-label=(title) {
            title { (title) }
            (legend_m)
            @for k in 0..=4 {
                @let v = max * k as f64 / 4.0;
                line x1=(left) x2=(width - right) y1=(y_of(v)) y2=(y_of(v)) stroke="#e3e6ec" {}
                text x=(left - 4.0) y=(y_of(v) + 4.0) font-size="10" text-anchor="end" fill="#5b6475" { (fmt(v)) }
            }
            @for s in series {
                @let pts: Vec<String> = s.values.iter().enumerate().map(|(i, v)| format!("{:.1},{:.1}", x_of(i), y_of(*v))).collect();
                polyline points=(pts.join(" ")) fill="none" stroke=(s.color) stroke-width="2" {}
            }
            @for (i, label) in labels.iter().enumerate() {
                @if i % step == 0 {
                    text x=(x_of(i)) y=(height - bottom + 14.0) font-size="10" text-anchor="middle" fill="#5b6475" { (label.get(5..).unwrap_or(label)) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_and_escapes() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(230.0), 250.0);
        let m = hbars("t", &[("<b>".into(), vec![2.0, 1.0])], &[("Hard", "#f00"), ("Soft", "#0f0")], 400.0).into_string();
        assert!(m.contains("&lt;b&gt;") && !m.contains("<b>"));
        let m = stacked_bars("t", &["2026-01-01".into()], &[Series { name: "Hard", color: "#f00", values: vec![3.0] }], 300.0, 200.0).into_string();
        assert!(m.contains("<rect") && m.contains("01-01"));
    }
}
