//! The one output convention of every listing command: `--format table|json|csv`, times in
//! RFC 3339 UTC (formatted by the store), tables that fit the terminal (`--wide` for all of
//! the text), and no raw control character ever printed (bounce texts and addresses come from
//! strangers: an escape sequence in them must not reach the operator's terminal).

use clap::ValueEnum;
use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};
use serde::Serialize;
use std::io::Write;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table for people (fits the terminal width; see --wide).
    #[default]
    Table,
    /// JSON: an array for a listing, one object for a single item.
    Json,
    /// CSV with a header line and every field.
    Csv,
}

/// `--format` and `--wide`, shared by every listing command.
#[derive(clap::Args, Debug, Clone, Copy, Default)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Tables: show every column in full instead of fitting the terminal width.
    #[arg(long)]
    pub wide: bool,
}

impl From<Format> for OutputArgs {
    fn from(format: Format) -> Self {
        OutputArgs { format, wide: false }
    }
}

/// Control characters (C0, DEL, C1) and the Unicode bidirectional overrides written as visible
/// escapes (`\n`, `\t`, `\u{1b}`…). Everything printed that came from a message goes through it.
pub fn escape(s: &str) -> String {
    if !s.chars().any(needs_escape) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Pretty JSON with the bidirectional overrides written `\uXXXX` too (serde_json already
/// escapes the control characters): the same text, harmless on a terminal.
pub fn json<T: Serialize + ?Sized>(v: &T) -> serde_json::Result<String> {
    let s = serde_json::to_string_pretty(v)?;
    if !s.chars().any(is_bidi) {
        return Ok(s);
    }
    // Outside strings JSON has no such characters, so every one found is inside a string.
    Ok(s.chars().map(|c| if is_bidi(c) { format!("\\u{:04x}", c as u32) } else { c.to_string() }).collect())
}

fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn needs_escape(c: char) -> bool {
    c.is_control() || is_bidi(c)
}

/// Whether colours may be used on a stream: a terminal, and `NO_COLOR` unset or empty
/// (<https://no-color.org>).
pub fn colours(is_terminal: bool) -> bool {
    colours_with(is_terminal, std::env::var_os("NO_COLOR"))
}

fn colours_with(is_terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// The width tables must fit: `$COLUMNS` when set, else the terminal's, else none (a pipe or
/// a file gets the full text).
pub fn terminal_width() -> Option<usize> {
    if let Some(c) = std::env::var("COLUMNS").ok().and_then(|c| c.trim().parse::<usize>().ok()).filter(|&c| c > 0) {
        return Some(c);
    }
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return None;
    }
    // SAFETY: TIOCGWINSZ fills a winsize struct for the terminal on fd 1; nothing else is read.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    (ok && ws.ws_col > 0).then_some(ws.ws_col as usize)
}

/// Print rows: a table with the given columns, a JSON array, or CSV with every field.
pub fn print<T: Serialize>(rows: &[T], columns: &[&str], out: impl Into<OutputArgs>) -> anyhow::Result<()> {
    let out = out.into();
    let values: Vec<serde_json::Value> = rows.iter().map(serde_json::to_value).collect::<Result<_, _>>()?;
    let stdout = std::io::stdout();
    let mut w = stdout.lock();
    match out.format {
        // serde_json escapes every control character.
        Format::Json => writeln!(w, "{}", json(&values)?)?,
        Format::Csv => {
            // The table's columns first, in their order, then every other field.
            let mut keys: Vec<String> = columns.iter().map(|s| s.to_string()).collect();
            if let Some(serde_json::Value::Object(m)) = values.first() {
                keys.retain(|k| m.contains_key(k));
                keys.extend(m.keys().filter(|k| !columns.contains(&k.as_str())).cloned());
            }
            let mut csv = csv::Writer::from_writer(&mut w);
            csv.write_record(&keys)?;
            for v in &values {
                csv.write_record(keys.iter().map(|k| cell(&v[k.as_str()])))?;
            }
            csv.flush()?;
        }
        Format::Table => {
            let cells: Vec<Vec<String>> = values.iter().map(|v| columns.iter().map(|c| cell(&v[*c])).collect()).collect();
            let width = if out.wide { None } else { terminal_width() };
            let header: Vec<&str> = columns.iter().map(|c| short_header(c)).collect();
            writeln!(w, "{}", table(&header, cells, width))?;
            writeln!(w, "{} row(s)", values.len())?;
        }
    }
    Ok(())
}

/// Table headers for the longer field names (JSON and CSV keep the field names).
fn short_header(column: &str) -> &str {
    match column {
        "failure_type" => "type",
        "failure_reason" => "reason",
        "occurrences" => "count",
        "error_count" => "errors",
        "last_modified" => "modified",
        "qualification_id" => "row",
        other => other,
    }
}

/// A table of escaped cells; with a width, the widest columns are cut (ending in `…`) until
/// the table fits it, never below their header's width.
pub fn table(header: &[&str], mut rows: Vec<Vec<String>>, width: Option<usize>) -> String {
    let n = header.len();
    let len = |s: &str| s.chars().count();
    let mut widths: Vec<usize> = header.iter().map(|h| len(h)).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate().take(n) {
            widths[i] = widths[i].max(len(c));
        }
    }
    if let Some(max) = width {
        // Borders and padding of UTF8_FULL_CONDENSED: "│ a │ b │" is 3 per column plus 1.
        let budget = max.saturating_sub(3 * n + 1);
        // The widest column gives way first; short columns (statuses, times, counts) keep up to
        // 20 characters while long text can give, and only then go down to their header.
        let natural = widths.clone();
        for (floor, keep_header) in [(20, true), (0, true), (3, false)] {
            let floor: Vec<usize> =
                header.iter().zip(&natural).map(|(h, w)| (*w).min(if keep_header { len(h) } else { 0 }.max(3).max(floor))).collect();
            while widths.iter().sum::<usize>() > budget {
                let Some((i, _)) = widths.iter().enumerate().filter(|(i, w)| **w > floor[*i]).max_by_key(|(_, w)| **w) else { break };
                widths[i] -= 1;
            }
        }
    }
    for r in &mut rows {
        for (i, c) in r.iter_mut().enumerate().take(n) {
            if len(c) > widths[i] {
                let mut t: String = c.chars().take(widths[i].saturating_sub(1)).collect();
                t.push('…');
                *c = t;
            }
        }
    }
    let cut = |c: &str, w: usize| if len(c) > w { c.chars().take(w.saturating_sub(1)).chain(['…']).collect() } else { c.to_string() };
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Disabled).force_no_tty();
    t.set_header(header.iter().zip(&widths).map(|(h, w)| cut(h, *w)).collect::<Vec<_>>());
    for r in rows {
        t.add_row(r);
    }
    t.to_string()
}

/// A field as text: strings escaped, null empty.
pub fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => escape(s),
        serde_json::Value::Null => String::new(),
        other => escape(&other.to_string()),
    }
}

/// One item as `key  value` lines (the table form of a `show` command).
pub fn print_fields<T: Serialize>(item: &T) -> anyhow::Result<()> {
    if let serde_json::Value::Object(m) = serde_json::to_value(item)? {
        let key_width = m.keys().map(|k| k.len()).max().unwrap_or(0);
        for (k, v) in m {
            println!("{k:<key_width$}  {}", cell(&v));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape("a\x1b[31mred\x07\n\u{202e}x"), "a\\u{1b}[31mred\\u{7}\\n\\u{202e}x");
        assert_eq!(escape("plain é"), "plain é");
    }

    #[test]
    fn colours_only_on_a_terminal_without_no_color() {
        assert!(colours_with(true, None));
        assert!(colours_with(true, Some("".into())));
        assert!(!colours_with(true, Some("1".into())));
        assert!(!colours_with(false, None));
    }

    #[test]
    fn json_escapes_bidi_overrides_losslessly() {
        let v = serde_json::json!({"t": "a\u{202e}b\x1b"});
        let s = json(&v).unwrap();
        assert!(s.contains("a\\u202eb\\u001b"), "{s}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&s).unwrap(), v);
    }

    #[test]
    fn tables_fit_the_width() {
        let long = "x".repeat(300);
        let rows = vec![vec!["1".to_string(), "Keep".into(), long.clone()]];
        let t = table(&["id", "status", "text"], rows.clone(), Some(80));
        assert!(t.lines().all(|l| l.chars().count() <= 80), "{t}");
        assert!(t.contains('…'));
        let wide = table(&["id", "status", "text"], rows, None);
        assert!(wide.contains(&long));
    }
}
