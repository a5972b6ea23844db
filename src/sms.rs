//! SMS status reports (extended generic SMPP), read from a file by `replay --sr` / `parse --sr`.
//!
//! Line format (UTF-8, one report per line; blank lines and lines starting with `#` skipped):
//!
//! ```text
//! PHONE<TAB>SMSC-NAME<TAB>REPORT
//! PHONE<TAB>REPORT                       (SMSC name from the config's [sms] smsc_name)
//! TIME<TAB>PHONE<TAB>SMSC-NAME<TAB>REPORT (TIME: RFC 3339, YYYY-MM-DD or unix seconds)
//! ```
//!
//! REPORT is the status-report text, e.g. SMPP 3.4 appendix B:
//! `id:123 sub:001 dlvrd:000 submit date:2601021200 done date:2601021201 stat:UNDELIV err:034 text:Hello`.
//! `stat` and `err` are found by configurable regexes (group 1). The event time is the report's
//! `done date:` (YYMMDDhhmm[ss], UTC), else the TIME column, else now.
//!
//! Each report is filed under the Text `SR <smsc-name> <stat> <err>|#MESSAGE#` (First text keeps
//! the report after the `|`). A stat starting with `DELIV` is a success; anything else is Hard,
//! Refused, "To qualify" until an operator qualifies the row (manual rows win, as for email).

use crate::config::SmsConfig;
use crate::model::{Bounce, FailureReason, FailureType, Kind, Qualification};
use crate::pipeline::Record;
use crate::qualify::Verdict;
use regex::Regex;
use std::sync::LazyLock;

/// One parsed status report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    pub phone: String,
    pub smsc: String,
    pub stat: String,
    pub err: String,
    /// The report text (kept in First text only).
    pub free_text: String,
    pub time: Option<i64>,
}

impl StatusReport {
    pub fn text(&self) -> String {
        format!("SR {} {} {}|#MESSAGE#", self.smsc, self.stat, self.err)
    }
    pub fn first_text(&self) -> String {
        format!("SR {} {} {}|{}", self.smsc, self.stat, self.err, self.free_text)
    }
    pub fn delivered(&self) -> bool {
        self.stat.to_ascii_uppercase().starts_with("DELIV")
    }
    /// As a pipeline record, so it goes through the same qualification table and quarantine.
    pub fn record(&self) -> Record {
        let (qualification, rule) = if self.delivered() {
            (Qualification::DELIVERED, "sr:delivered".to_string())
        } else {
            // Hard by default, Refused until qualified: the row starts "To qualify" (no rule).
            (Qualification::new(FailureType::Hard, FailureReason::Refused), String::new())
        };
        Record {
            index: 1,
            kind: Kind::Text,
            bounce: Bounce {
                recipient: self.phone.clone(),
                status: self.stat.clone(),
                reply_code: self.err.clone(),
                action: if self.delivered() { "delivered".into() } else { "failed".into() },
                remote_mta: self.smsc.clone(),
                diagnostic: self.first_text(),
                time: self.time,
                ..Default::default()
            },
            verdict: Verdict { text: self.text(), qualification, detail: crate::model::Detail::Undefined, rule },
        }
    }
}

/// Compiled `[sms]` settings.
#[derive(Debug, Clone)]
pub struct SrParser {
    smsc_default: String,
    stat: Regex,
    err: Regex,
}

static DONE_DATE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)done date:(\d{10}(?:\d{2})?)").unwrap());

fn smpp_date(d: &str) -> Option<i64> {
    let n = |i: usize| d.get(i..i + 2).and_then(|s| s.parse::<u8>().ok());
    let month = time::Month::try_from(n(2)?).ok()?;
    let date = time::Date::from_calendar_date(2000 + n(0)? as i32, month, n(4)?).ok()?;
    let t = time::Time::from_hms(n(6)?, n(8)?, if d.len() >= 12 { n(10)? } else { 0 }).ok()?;
    Some(time::PrimitiveDateTime::new(date, t).assume_utc().unix_timestamp())
}

/// Phone numbers are kept as digits with an optional leading `+`.
pub fn normalize_phone(s: &str) -> Option<String> {
    let t: String = s.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')')).collect();
    let digits = t.strip_prefix('+').unwrap_or(&t);
    (!digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())).then_some(t)
}

impl SrParser {
    pub fn new(cfg: &SmsConfig) -> anyhow::Result<SrParser> {
        let re = |name: &str, s: &str| Regex::new(s).map_err(|e| anyhow::anyhow!("[sms] {name}: invalid regex: {e}"));
        let smsc = cfg.smsc_name.trim();
        if smsc.is_empty() || smsc.contains(char::is_whitespace) {
            anyhow::bail!("[sms] smsc_name must be one non-empty word, got {:?}", cfg.smsc_name);
        }
        Ok(SrParser { smsc_default: smsc.to_string(), stat: re("stat_regex", &cfg.stat_regex)?, err: re("err_regex", &cfg.err_regex)? })
    }

    /// Parse one line; `Ok(None)` for blank and comment lines.
    pub fn parse_line(&self, line: &str) -> Result<Option<StatusReport>, String> {
        let line = line.trim_end_matches(['\r', '\n']);
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            return Ok(None);
        }
        let f: Vec<&str> = line.split('\t').collect();
        let (time, phone, smsc, report) = match f.as_slice() {
            [p, r] => (None, *p, "", *r),
            [p, s, r] => (None, *p, *s, *r),
            [t, p, s, r] => {
                let t = crate::store::parse_time(t).ok_or_else(|| format!("bad time {t:?} (RFC 3339, YYYY-MM-DD or unix seconds)"))?;
                (Some(t), *p, *s, *r)
            }
            _ => return Err("expected PHONE<TAB>[SMSC-NAME<TAB>]REPORT or TIME<TAB>PHONE<TAB>SMSC-NAME<TAB>REPORT".into()),
        };
        let phone = normalize_phone(phone).ok_or_else(|| format!("not a phone number: {phone:?}"))?;
        let smsc = match smsc.trim() {
            "" => self.smsc_default.clone(),
            s if s.contains(char::is_whitespace) => return Err(format!("SMSC name must be one word: {s:?}")),
            s => s.to_string(),
        };
        let grab = |re: &Regex| re.captures(report).and_then(|c| c.get(1).or(c.get(0))).map(|m| m.as_str().to_string());
        let stat = grab(&self.stat).ok_or_else(|| format!("no status (stat) found in report {report:?}"))?;
        let err = grab(&self.err).unwrap_or_else(|| "000".to_string());
        let done = DONE_DATE.captures(report).and_then(|c| smpp_date(&c[1]));
        Ok(Some(StatusReport { phone, smsc, stat, err, free_text: report.trim().to_string(), time: done.or(time) }))
    }
}

/// What an `--sr` replay did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct SmsStats {
    pub lines: u64,
    pub recorded: u64,
    pub duplicates: u64,
    pub delivered: u64,
    pub failed_reports: u64,
    pub new_rows: u64,
    pub quarantine_changes: u64,
    /// (source, error) of every line that could not be read.
    pub errors: Vec<(String, String)>,
}

/// Record the status reports of `text` (named `name` in sources) in one transaction and apply
/// the quarantine to them.
pub fn ingest(
    store: &mut crate::store::Store,
    parser: &SrParser,
    qcfg: &crate::config::QuarantineConfig,
    name: &str,
    text: &str,
) -> anyhow::Result<SmsStats> {
    let mut stats = SmsStats::default();
    let mut batch = store.batch()?;
    for (i, line) in text.lines().enumerate() {
        let source = format!("{name}:{}", i + 1);
        match parser.parse_line(line) {
            Ok(None) => continue,
            Err(e) => {
                stats.lines += 1;
                stats.errors.push((source, e));
            }
            Ok(Some(sr)) => {
                stats.lines += 1;
                let fp = crate::pipeline::fingerprint(format!("sr\0{}", line.trim_end()).as_bytes());
                let meta = crate::store::MessageMeta { source, fingerprint: fp, size: line.len() as u64 };
                match batch.record_sms(&meta, &sr)? {
                    crate::store::Outcome::Duplicate => stats.duplicates += 1,
                    crate::store::Outcome::Recorded { new_rows, .. } => {
                        stats.recorded += 1;
                        stats.new_rows += new_rows as u64;
                        if sr.delivered() {
                            stats.delivered += 1;
                        } else {
                            stats.failed_reports += 1;
                        }
                    }
                    crate::store::Outcome::Failed => {}
                }
            }
        }
    }
    stats.quarantine_changes = crate::quarantine::apply_events(batch.tx(), qcfg, batch.events())? as u64;
    batch.commit()?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parser() -> SrParser {
        SrParser::new(&SmsConfig::default()).unwrap()
    }

    #[test]
    fn smpp_appendix_b() {
        let sr = parser()
            .parse_line("+33 6 12 34 56 78\tAcme\tid:1 sub:001 dlvrd:000 submit date:2601021200 done date:2601021201 stat:UNDELIV err:034 text:Hi")
            .unwrap()
            .unwrap();
        assert_eq!(sr.phone, "+33612345678");
        assert_eq!(sr.text(), "SR Acme UNDELIV 034|#MESSAGE#");
        assert!(sr.first_text().ends_with("text:Hi"));
        assert_eq!(sr.time, crate::store::parse_time("2026-01-02T12:01:00Z"));
        let r = sr.record();
        assert_eq!(r.verdict.qualification, Qualification::new(FailureType::Hard, FailureReason::Refused));
        assert!(!r.verdict.is_qualified());
    }

    #[test]
    fn default_smsc_and_delivered() {
        let sr = parser().parse_line("0612345678\tstat:DELIVRD err:000").unwrap().unwrap();
        assert_eq!(sr.text(), "SR Generic DELIVRD 000|#MESSAGE#");
        assert_eq!(sr.record().verdict.qualification, Qualification::DELIVERED);
    }

    #[test]
    fn bad_lines() {
        let p = parser();
        assert_eq!(p.parse_line("# comment"), Ok(None));
        assert_eq!(p.parse_line("   "), Ok(None));
        assert!(p.parse_line("not-a-phone\tstat:X").is_err());
        assert!(p.parse_line("0612\tno status here").is_err());
        assert!(p.parse_line("only one field").is_err());
        assert!(p.parse_line("yesterday\t0612\tG\tstat:X").is_err());
        assert!(SrParser::new(&SmsConfig { stat_regex: "(".into(), ..Default::default() }).is_err());
    }
}
