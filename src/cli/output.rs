//! Table / JSON / CSV output of serializable rows.

use clap::ValueEnum;
use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};
use serde::Serialize;

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum Format {
    #[default]
    Table,
    Json,
    Csv,
}

/// Print rows: a table with the given columns, JSON Lines-free array, or CSV with all fields.
pub fn print<T: Serialize>(rows: &[T], columns: &[&str], format: Format) -> anyhow::Result<()> {
    let values: Vec<serde_json::Value> = rows.iter().map(serde_json::to_value).collect::<Result<_, _>>()?;
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&values)?),
        Format::Csv => {
            let mut w = csv::Writer::from_writer(std::io::stdout());
            let keys: Vec<String> = match values.first() {
                Some(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
                _ => columns.iter().map(|s| s.to_string()).collect(),
            };
            w.write_record(&keys)?;
            for v in &values {
                w.write_record(keys.iter().map(|k| cell(&v[k.as_str()], usize::MAX)))?;
            }
            w.flush()?;
        }
        Format::Table => {
            let mut t = Table::new();
            t.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic);
            t.set_header(columns.to_vec());
            for v in &values {
                t.add_row(columns.iter().map(|c| cell(&v[*c], 80)));
            }
            println!("{t}");
            println!("{} row(s)", values.len());
        }
    }
    Ok(())
}

fn cell(v: &serde_json::Value, max: usize) -> String {
    let s = match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    if s.chars().count() > max {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    } else {
        s
    }
}
