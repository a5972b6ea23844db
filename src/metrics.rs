//! Process metrics of the daemon (messages fetched and moved per mailbox, batch commit
//! latency) and the Prometheus text exposition format. What the database already counts
//! (records, parse errors, quarantine, rows to qualify, last poll) is read from it when scraped
//! (`web::metrics`), so those counters equal the database's counts by construction and survive
//! restarts; only what leaves no trace in the database is counted here, in memory.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Upper bounds (seconds) of the batch commit latency histogram.
pub const COMMIT_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Debug, Default, Clone)]
pub struct MailboxCounters {
    pub fetched: u64,
    pub moved: u64,
}

#[derive(Debug, Clone)]
pub struct Histogram {
    pub counts: Vec<u64>,
    pub sum: f64,
    pub count: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram { counts: vec![0; COMMIT_BUCKETS.len()], sum: 0.0, count: 0 }
    }
}

impl Histogram {
    pub fn observe(&mut self, v: f64) {
        for (i, b) in COMMIT_BUCKETS.iter().enumerate() {
            if v <= *b {
                self.counts[i] += 1;
            }
        }
        self.sum += v;
        self.count += 1;
    }
}

/// The daemon's in-memory counters. `active` is set by `inmail run`: a console started by
/// `inmail serve` fetches nothing and does not pretend to.
#[derive(Debug, Default)]
pub struct Registry {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default, Clone)]
pub struct Inner {
    pub active: bool,
    pub mailboxes: BTreeMap<String, MailboxCounters>,
    pub commit: Histogram,
}

static GLOBAL: once_cell::sync::Lazy<Registry> = once_cell::sync::Lazy::new(Registry::default);

pub fn global() -> &'static Registry {
    &GLOBAL
}

impl Registry {
    fn with(&self, f: impl FnOnce(&mut Inner)) {
        // A panic elsewhere while holding the lock must not stop the counting.
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut g)
    }
    /// Called by the daemon for each watched mailbox at start: its series exist from 0.
    pub fn watch(&self, mailbox: &str) {
        self.with(|i| {
            i.active = true;
            i.mailboxes.entry(mailbox.to_string()).or_default();
        })
    }
    pub fn fetched(&self, mailbox: &str, n: u64) {
        self.with(|i| i.mailboxes.entry(mailbox.to_string()).or_default().fetched += n)
    }
    pub fn moved(&self, mailbox: &str, n: u64) {
        self.with(|i| i.mailboxes.entry(mailbox.to_string()).or_default().moved += n)
    }
    pub fn commit_seconds(&self, secs: f64) {
        self.with(|i| i.commit.observe(secs))
    }
    pub fn snapshot(&self) -> Inner {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A Prometheus text-format (0.0.4) document, written family by family.
#[derive(Debug, Default)]
pub struct Exposition {
    pub out: String,
}

fn escape_label(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

impl Exposition {
    /// `# HELP` and `# TYPE` of a family (`kind`: counter, gauge or histogram).
    pub fn family(&mut self, name: &str, kind: &str, help: &str) {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape_label(v));
            }
            self.out.push('}');
        }
        if value.is_finite() && value.fract() == 0.0 && value.abs() < 1e15 {
            let _ = writeln!(self.out, " {}", value as i64);
        } else {
            let _ = writeln!(self.out, " {value}");
        }
    }
    pub fn histogram(&mut self, name: &str, help: &str, h: &Histogram) {
        self.family(name, "histogram", help);
        for (i, b) in COMMIT_BUCKETS.iter().enumerate() {
            self.sample(&format!("{name}_bucket"), &[("le", &b.to_string())], h.counts[i] as f64);
        }
        self.sample(&format!("{name}_bucket"), &[("le", "+Inf")], h.count as f64);
        self.sample(&format!("{name}_sum"), &[], h.sum);
        self.sample(&format!("{name}_count"), &[], h.count as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let mut h = Histogram::default();
        h.observe(0.003);
        h.observe(0.2);
        h.observe(30.0);
        assert_eq!(h.counts[0], 0);
        assert_eq!(h.counts[2], 1); // le 0.005
        assert_eq!(h.counts[7], 2); // le 0.25
        assert_eq!(*h.counts.last().unwrap(), 2);
        assert_eq!(h.count, 3);
    }

    #[test]
    fn labels_are_escaped() {
        let mut e = Exposition::default();
        e.family("x_total", "counter", "a\nb");
        e.sample("x_total", &[("mailbox", "a\"b\\c\nd")], 3.0);
        assert_eq!(e.out, "# HELP x_total a\\nb\n# TYPE x_total counter\nx_total{mailbox=\"a\\\"b\\\\c\\nd\"} 3\n");
    }
}
