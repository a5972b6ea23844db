//! Plain-text bounces (qmail, Exim, Sendmail, Postfix, Exchange, Notes, webmail providers…):
//! servers that send no DSN, or that put the real reason in prose. Finds the failed
//! recipients and the lines that explain each failure.

use super::address::{find_all, is_system};
use super::view::MailView;
use crate::model::Bounce;
use crate::status::{find_reply_code, find_status};
use regex::Regex;
use std::sync::LazyLock;

/// Lines diagnostics are taken from at most, per recipient.
const MAX_DIAG_LINES: usize = 8;
/// Most recipients read from one plain-text bounce (prose names a handful; more is a quoted
/// list, not a report). Reaching it is logged.
const MAX_RECIPIENTS: usize = 10_000;

static BOUNCE_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)undeliver|undelivered|delivery (?:status notification|failure|report|notification|problem|has failed)|failure notice|returned mail|mail delivery (?:failed|failure|system|subsystem)|non[- ]?deliver|nicht zustellbar|unzustellbar|could not be delivered|delivery failed|mail (?:could not|failed)|rejected|bounce|message not delivered|permanent error|warning: could not send|mail system error|error sending message|returned to sender|nondeliverable|delayed mail|delivery delayed|unable to deliver|message you sent|user unknown|spam|blocked|failed|エラー通知|配信(?:不能|エラー|失敗)|送信(?:エラー|失敗)|不達|返送",
    )
    .unwrap()
});

static BOUNCE_FROM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:mailer[-_]?daemon|post[-_]?master|mail[-_ ]?delivery|mdaemon|bounce[s]?|nobody|root|daemon|mail[-_]?administrator|msexchange|mailadmin|internet mail delivery|systemadministrator)\b").unwrap()
});

/// Marks where a copy of the original message starts in a single-part bounce.
static ORIGINAL_MARK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?im)^\s*(?:-+\s*)?(?:below this line is a copy of the message|this is a copy of the message|original message(?: follows| headers)?|the original message was (?:included|attached|enclosed)|unsent message below|-+ ?original message ?-+|-+ ?message (?:text|headers?) follows|-+ ?returned message|content-type: message/rfc822|--- the header of the original message is following|original message header|message headers follow|\*\*\*\* *original|included is a copy of the original|reporting-mta:|final-recipient:)",
    )
    .unwrap()
});

/// Where the sending side's own address shows up in a transcript (MAIL FROM:<sender>).
static SENDER_CONTEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:mail from:?|envelope-from|sender:?|from:|return-path:?|reply-to:?|message-id:|in-reply-to:|references:|list-[a-z]+:|mailto:|contact(?: us at)?|write to|e-?mail us at|report (?:it |this )?to|complaints? to|removal requests? to|send (?:an )?e-?mail to|questions? to)\s*<?\s*$").unwrap()
});

/// A header-like field of a summary of the returned message, just before an address.
static SUMMARY_FIELD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)^\s*(?:to|cc|bcc|an|à|a):\s*<?\s*$").unwrap());

/// A delay notice: the MTA still tries, nothing has failed yet (RFC 3464 `Action: delayed`,
/// written in prose). Sendmail: "THIS IS A WARNING MESSAGE ONLY"; Exim: "No action is required
/// on your part"; Postfix: "Delayed Mail (still being retried)"; OpenSMTPD: "only a temporary
/// failure report"; qmail-style and others: "will continue to try", "not yet been delivered".
static DELAY_NOTICE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)this is a warning message only|no action is required on your part|still being retried|only a temporary failure report|(?:will|shall) (?:continue|keep) (?:to try|trying)|will be retried|not yet been delivered|has not (?:yet )?been delivered yet|still trying|do not need to re-?send|warning: could not send message for past|delivery (?:status notification \(delay\)|delayed|is delayed)|delayed mail").unwrap()
});

/// Whether the message reports a delay rather than a failure.
pub fn is_delay_notice(v: &MailView, human: &str) -> bool {
    DELAY_NOTICE.is_match(&v.subject) || DELAY_NOTICE.is_match(human)
}

/// The first failure status (4.x.x or 5.x.x) in a text, else any status: a transcript shows the
/// accepted commands' `250 2.1.5` before the refusal.
pub fn failure_status(text: &str) -> Option<&str> {
    let mut first = None;
    let mut rest = text;
    let mut base = 0;
    while let Some(st) = find_status(rest) {
        if st.starts_with('4') || st.starts_with('5') {
            return Some(st);
        }
        first.get_or_insert(st);
        let at = st.as_ptr() as usize - rest.as_ptr() as usize + st.len();
        base += at;
        rest = &text[base..];
    }
    first
}

pub fn looks_like_bounce(v: &MailView) -> bool {
    if v.header("x-failed-recipients").is_some() {
        return true;
    }
    let from_local = v.from.split('@').next().unwrap_or("");
    let display_from = v.header("from").unwrap_or("");
    BOUNCE_FROM.is_match(from_local)
        || BOUNCE_FROM.is_match(display_from.trim_start_matches('"'))
        || BOUNCE_SUBJECT.is_match(&v.subject)
        || v.report_type == "delivery-status"
        || returns_a_message(v)
}

/// Sent with the null reverse path (RFC 5321 §4.5.5, as delivery reports are) and carrying a
/// copy of a message: a bounce whatever its wording, unless it says it is an automatic reply.
fn returns_a_message(v: &MailView) -> bool {
    v.header("return-path").is_some_and(|r| r.trim() == "<>") && !v.original_headers.trim().is_empty() && !super::autoreply::is_autoreply(v)
}

/// Prose up to the copy of the original message.
pub fn human_part(prose: &str) -> &str {
    let mark = match ORIGINAL_MARK.find(prose) {
        Some(m) if m.start() > 0 => m.start(),
        _ => prose.len(),
    };
    let end = header_run(&prose[..mark]).unwrap_or(mark);
    &prose[..end]
}

static HEADER_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:received|return-path|message-id|dkim-signature|x-[a-z0-9-]+|from|to|cc|subject|date|mime-version|content-type|content-transfer-encoding|reply-to|sender|delivered-to|authentication-results|arc-[a-z-]+):[ \t]").unwrap()
});

/// Can `HEADER_LINE` match this line? Its first letter must start one of the field names, in
/// either case, or be non-ASCII (Unicode case folding: `ſ` is an `s`). Most prose lines fail
/// here, without the cost of a regex call.
fn could_be_header(line: &str) -> bool {
    line.as_bytes().first().is_some_and(|&c| c >= 0x80 || matches!(c.to_ascii_lowercase(), b'r' | b'm' | b'd' | b'x' | b'f' | b't' | b'c' | b's' | b'a'))
}

/// Start of the first run of three header fields in a row (continuation lines allowed): a
/// copy of the original message's header pasted into the bounce without a marker line.
fn header_run(text: &str) -> Option<usize> {
    let mut run_start: Option<usize> = None;
    let mut run = 0;
    let mut off = 0;
    for line in crate::bounds::split_inclusive_lf(text) {
        let l = line.trim_end();
        if run > 0 && (l.starts_with(' ') || l.starts_with('\t')) && !l.trim().is_empty() {
            // folded continuation of the previous field
        } else if could_be_header(l) && HEADER_LINE.is_match(l) {
            if run == 0 {
                run_start = Some(off);
            }
            run += 1;
            if run >= 3 {
                return run_start;
            }
        } else {
            run = 0;
        }
        off += line.len();
    }
    None
}

/// Candidate recipients in the prose, in order, with the byte offset of first mention.
fn recipients(v: &MailView, text: &str) -> Vec<(usize, String)> {
    let mut excluded: Vec<String> = v.to.clone();
    excluded.push(v.from.clone());
    // The sending side's own addresses, as the returned message names them: its author, its
    // sender, its reply and list addresses. Reporting them would quarantine the list itself.
    excluded.extend(super::arf::original_senders(&v.original_headers));
    let mut out: Vec<(usize, String)> = Vec::new();
    if let Some(h) = v.header("x-failed-recipients") {
        for (_, a) in find_all(h) {
            if !out.iter().any(|(_, x)| *x == a) {
                let pos = text.to_ascii_lowercase().find(&a).unwrap_or(usize::MAX);
                out.push((pos, a));
            }
        }
        if !out.is_empty() {
            return out;
        }
    }
    for (pos, a) in find_all(text) {
        if out.len() >= MAX_RECIPIENTS {
            break;
        }
        if excluded.contains(&a) || is_system(&a) || out.iter().any(|(_, x)| *x == a) {
            continue;
        }
        let line_start = text[..pos].rfind('\n').map(|i| i + 1).unwrap_or(0);
        let before = &text[line_start..pos];
        if SENDER_CONTEXT.is_match(before) {
            continue;
        }
        // A summary of the returned message ("To: a@b" under "Your message") names the
        // recipient, but its reason is written where the address comes again.
        let pos = if SUMMARY_FIELD.is_match(before) {
            let lower = text[pos + a.len()..].to_ascii_lowercase();
            memchr::memmem::find(lower.as_bytes(), a.as_bytes()).map_or(pos, |i| pos + a.len() + i)
        } else {
            pos
        };
        out.push((pos, a));
    }
    if out.is_empty() {
        // A test message to a remote postmaster: the role address is the recipient when it
        // belongs to neither party of the bounce (ours would be "contact postmaster@ours").
        let own: Vec<&str> = v.to.iter().filter_map(|a| a.rsplit_once('@').map(|(_, d)| d)).collect();
        for (pos, a) in find_all(text) {
            let domain = a.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
            let ours = own.iter().any(|d| !d.is_empty() && (domain == *d || domain.ends_with(&format!(".{d}")) || d.ends_with(&format!(".{domain}"))));
            if is_system(&a) && !ours && !excluded.contains(&a) && !out.iter().any(|(_, x)| *x == a) && out.len() < MAX_RECIPIENTS {
                let line_start = text[..pos].rfind('\n').map(|i| i + 1).unwrap_or(0);
                if !SENDER_CONTEXT.is_match(&text[line_start..pos]) {
                    out.push((pos, a));
                }
            }
        }
    }
    out
}

/// Addresses written alone on a line (`<a@example.com>:`, `a@example.com:`), as qmail and Exim
/// list the failed recipients, whoever they are.
fn address_lines(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    for (pos, a) in find_all(text) {
        if out.len() >= MAX_RECIPIENTS {
            break;
        }
        let line_start = text[..pos].rfind('\n').map(|i| i + 1).unwrap_or(0);
        let line_end = text[pos..].find('\n').map(|i| pos + i).unwrap_or(text.len());
        let line = text[line_start..line_end].trim().trim_end_matches(':').trim_start_matches('<').trim_end_matches('>');
        if line.eq_ignore_ascii_case(&a) && !is_system(&a) && !out.iter().any(|(_, x)| *x == a) {
            out.push((pos, a));
        }
    }
    out
}

/// The diagnostic lines for a recipient first mentioned at `pos`.
fn diagnostic_at(text: &str, pos: usize, others: &[(usize, String)]) -> String {
    if pos >= text.len() {
        return fallback_diagnostic(text);
    }
    let line_start = text[..pos].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let mut lines: Vec<&str> = Vec::new();
    // A line naming a recipient mentioned later ends this one's diagnostic (unless it is a
    // parenthesized aside). Each line is lower-cased once, and only when there is such a one.
    let later: Vec<&str> = others.iter().filter(|(p, _)| *p > pos).map(|(_, a)| a.as_str()).collect();
    for (i, line) in crate::bounds::lines(&text[line_start..]).enumerate() {
        let t = line.trim();
        if i > 0 && !lines.is_empty() && !t.starts_with('(') && !later.is_empty() {
            let lower = line.to_ascii_lowercase();
            if later.iter().any(|a| lower.contains(a)) {
                break;
            }
        }
        if t.is_empty() {
            // A paragraph that ends announcing what follows ("For the following reason:")
            // gives its reason in the next one.
            if substantive(&lines) && !lines.last().is_some_and(|l| l.ends_with(':')) {
                break;
            }
            continue;
        }
        lines.push(t);
        if lines.len() >= MAX_DIAG_LINES {
            break;
        }
    }
    if substantive(&lines) {
        let mut d = lines.join(" ");
        if !has_code(&d) {
            // "There was an error delivering your mail to <x>." then, a paragraph below, the
            // server's reply: the paragraph that carries the SMTP reply belongs to this recipient.
            if let Some(p) = coded_paragraph_after(text, line_start, pos, others).or_else(|| short_paragraph_after(text, line_start, pos, others)) {
                d.push(' ');
                d.push_str(&p);
            }
        }
        d
    } else if let Some(p) = paragraph_around(text, line_start) {
        // The reason is written above the address (Lotus Notes: "User not listed in …\n<addr>").
        p
    } else {
        fallback_diagnostic(text)
    }
}

/// The paragraph holding the line that starts at `line_start`, when it has a few lines of
/// prose (banner lines of dashes or stars left out) besides the address line.
fn paragraph_around(text: &str, line_start: usize) -> Option<String> {
    let start = text[..line_start].trim_end_matches('\n').rfind("\n\n").map(|i| i + 2).unwrap_or(0);
    if line_start.saturating_sub(start) > 2048 {
        return None;
    }
    let end = text[line_start..].find("\n\n").map(|i| line_start + i).unwrap_or(text.len());
    let lines: Vec<&str> = crate::bounds::lines(&text[start..end])
        .map(str::trim)
        .filter(|l| !l.is_empty() && l.chars().any(char::is_alphanumeric) && !l.starts_with("---") && !l.starts_with("***"))
        .take(MAX_DIAG_LINES)
        .collect();
    substantive(&lines).then(|| lines.join(" "))
}

fn has_code(s: &str) -> bool {
    find_status(s).is_some() || find_reply_code(s).is_some_and(|c| c.starts_with('5') || c.starts_with('4'))
}

/// Among the two paragraphs following the one at `from`, the first that carries an SMTP reply
/// or status code and names no other recipient, joined onto one line.
fn coded_paragraph_after(text: &str, from: usize, pos: usize, others: &[(usize, String)]) -> Option<String> {
    let rest = &text[from..];
    let mut paras = rest.split("\n\n").map(str::trim).filter(|p| !p.is_empty()).skip(1).take(2);
    paras.find_map(|p| {
        let low = p.to_ascii_lowercase();
        if others.iter().any(|(q, a)| *q > pos && low.contains(a.as_str())) {
            return None;
        }
        has_code(p).then(|| crate::bounds::lines(p).take(MAX_DIAG_LINES).map(str::trim).collect::<Vec<_>>().join(" "))
    })
}

/// The paragraph right after the one at `from` when it is a short statement (at most three
/// lines) naming no other recipient: "There was an error delivering your mail to <x>." then
/// "DNS lookup failure: host example.org not found".
fn short_paragraph_after(text: &str, from: usize, pos: usize, others: &[(usize, String)]) -> Option<String> {
    let p = text[from..].split("\n\n").map(str::trim).filter(|p| !p.is_empty()).nth(1)?;
    let lines: Vec<&str> = crate::bounds::lines(p).map(str::trim).collect();
    let low = p.to_ascii_lowercase();
    if lines.len() > 3 || lines.iter().any(|l| is_banner(l)) || others.iter().any(|(q, a)| *q > pos && low.contains(a.as_str())) {
        return None;
    }
    Some(lines.join(" "))
}

/// Enough words besides the address to explain something. Banner lines
/// (`----- Non-delivered information -----`) announce an explanation but give none.
fn substantive(lines: &[&str]) -> bool {
    let words = lines
        .iter()
        .filter(|l| !is_banner(l))
        .flat_map(|l| l.split_whitespace())
        .filter(|w| !w.contains('@'))
        .count();
    words >= 3
}

/// A line framed by runs of `-`, `=`, `*` or `#`: a section title, not a diagnostic.
fn is_banner(line: &str) -> bool {
    let t = line.trim();
    t.len() >= 6 && ["--", "==", "**", "##"].iter().any(|f| t.starts_with(f) && t.ends_with(f))
}

/// Without a per-recipient paragraph, the lines that carry an SMTP reply or status code,
/// else the first paragraph of the prose.
fn fallback_diagnostic(text: &str) -> String {
    let coded = coded_lines(text);
    if !coded.is_empty() {
        return coded;
    }
    text.split("\n\n")
        .map(|p| crate::bounds::lines(p).map(str::trim).filter(|l| !l.is_empty() && !is_banner(l)).take(MAX_DIAG_LINES).collect::<Vec<_>>())
        .find(|lines| lines.iter().flat_map(|l| l.split_whitespace()).count() >= 3)
        .unwrap_or_default()
        .join(" ")
}

/// The lines of `text` that carry an SMTP failure reply or an enhanced status code, joined.
fn coded_lines(text: &str) -> String {
    crate::bounds::lines(text)
        .map(str::trim)
        .filter(|l| find_status(l).is_some() || find_reply_code(l).is_some_and(|c| c.starts_with('5') || c.starts_with('4')))
        .take(MAX_DIAG_LINES)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Gmail and Google Workspace put the remote server's answer in the paragraph after a
/// "The response was:" line (or on that line).
fn response_was(text: &str) -> Option<String> {
    const MARK: &[u8] = b"the response was:";
    let b = text.as_bytes();
    let at = b.windows(MARK.len()).position(|w| w.eq_ignore_ascii_case(MARK))? + MARK.len();
    let rest = text[at..].trim_start();
    let para = rest.split("\n\n").next().unwrap_or("");
    let lines: Vec<&str> = crate::bounds::lines(para).map(str::trim).filter(|l| !l.is_empty()).take(MAX_DIAG_LINES).collect();
    (!lines.is_empty()).then(|| lines.join(" "))
}

/// Records of a plain-text bounce; `None` when the message does not look like one. `start`
/// holds the dialect's markers (lower case) of where its report begins: the prose before is
/// greeting, often in another language. `known` says a dialect recognised the bounce.
pub fn extract(v: &MailView, start: &[&str], known: bool) -> Option<Vec<Bounce>> {
    if !known && !looks_like_bounce(v) {
        return None;
    }
    let human = v.human();
    let text = report_start(human, start).map_or(human, |i| &human[i..]);
    let mut rcpts = recipients(v, text);
    if rcpts.is_empty() && !std::ptr::eq(text, human) {
        rcpts = recipients(v, human);
    }
    if rcpts.is_empty() {
        // Mail sent to oneself: the failed address is also the bounce's To, which the search
        // above leaves out. Taken back only where it stands alone on its line (`<a@b>:`).
        rcpts = address_lines(text);
    }
    if rcpts.is_empty() {
        // The returned message's To: is the recipient when the prose names nobody: from its
        // attached header, else from the copy pasted below the prose.
        rcpts = super::arf::original_to(&v.original_headers).into_iter().map(|a| (usize::MAX, a)).collect();
        if rcpts.is_empty() {
            let pasted = v.prose()[human.len()..].trim_start_matches(|c: char| c != '\n');
            rcpts = super::arf::original_to(pasted.trim_start()).into_iter().map(|a| (usize::MAX, a)).collect();
        }
    }
    if rcpts.is_empty() {
        rcpts.push((usize::MAX, String::new()));
    }
    let action = if is_delay_notice(v, human) { "delayed" } else { "failed" };
    let single = rcpts.len() == 1;
    let out = rcpts
        .iter()
        .map(|(pos, r)| {
            let mut diagnostic = diagnostic_at(text, *pos, &rcpts);
            // One recipient, and the server's reply written away from the address (Apache
            // James: "Error message below: 550 …" above a "RCPT TO: <addr>" summary).
            if single && !has_code(&diagnostic) {
                let coded = coded_lines(text);
                if !coded.is_empty() {
                    diagnostic.push(' ');
                    diagnostic.push_str(&coded);
                } else if let Some(r) = response_was(text) {
                    diagnostic.push(' ');
                    diagnostic.push_str(&r);
                }
            }
            Bounce {
                recipient: r.clone(),
                status: failure_status(&diagnostic).unwrap_or("").to_string(),
                reply_code: find_reply_code(&diagnostic).unwrap_or("").to_string(),
                action: action.to_string(),
                diagnostic,
                time: v.date,
                ..Default::default()
            }
        })
        .collect();
    Some(out)
}

/// Where the dialect's report begins in the prose, when one of its markers is there.
fn report_start(human: &str, markers: &[&str]) -> Option<usize> {
    if markers.is_empty() {
        return None;
    }
    let lower = human.to_ascii_lowercase();
    markers.iter().filter_map(|m| memchr::memmem::find(lower.as_bytes(), m.as_bytes())).min()
}

/// The diagnostic prose for one recipient (first mentioned at `pos` of the human part), for
/// DSNs whose Diagnostic-Code is empty.
pub fn prose_at(human: &str, pos: Option<usize>) -> String {
    diagnostic_at(human, pos.unwrap_or(usize::MAX), &[])
}

/// The paragraph around byte `pos` of `text` (from the line holding `pos` to the next blank
/// line), bounded: where an MTA writes what happened to one recipient.
pub fn block_at(text: &str, pos: usize) -> String {
    if pos >= text.len() {
        return String::new();
    }
    let start = text[..pos].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let rest = &text[start..];
    let find = |needle: &[u8]| memchr::memmem::find(rest.as_bytes(), needle);
    let end = find(b"\n\n").or_else(|| find(b"\r\n\r\n")).unwrap_or(rest.len()).min(4096);
    let end = crate::bounds::floor_char_boundary(rest, end);
    rest[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first-letter test never turns away a line the header regex matches.
    #[test]
    fn header_prefilter_keeps_every_header_line() {
        let mut lines: Vec<String> = ["ſubject: x", "Subject: x", "X-Mailer: y", "arc-seal: z", "Kelvin: no"].map(String::from).to_vec();
        for p in crate::test_support::fixture_files() {
            lines.extend(String::from_utf8_lossy(&std::fs::read(p).unwrap()).lines().map(str::to_string));
        }
        let mut matched = 0;
        for l in &lines {
            if HEADER_LINE.is_match(l) {
                matched += 1;
                assert!(could_be_header(l), "{l:?}");
            }
        }
        assert!(matched > 100, "only {matched} header lines in the fixtures");
    }

    #[test]
    fn reason_above_the_address() {
        let t = "------- Failure Reasons  --------\n\nUser  not listed in public Name & Address Book\nkim@example.com\n\n------- Returned Message --------\n";
        let t = human_part(t);
        let pos = t.find("kim@").unwrap();
        assert_eq!(diagnostic_at(t, pos, &[]), "User not listed in public Name & Address Book kim@example.com".replace("User not", "User  not"));
    }

    #[test]
    fn reply_paragraph_below_the_address() {
        let t = "There was an error delivering your mail to <a@example.com>.\n\nmx.example.com [192.0.2.1] did not like our RCPT TO:\n550 5.1.1 <a@example.com>: User unknown\n";
        let d = diagnostic_at(t, t.find("a@").unwrap(), &[]);
        assert!(d.ends_with("550 5.1.1 <a@example.com>: User unknown"), "{d}");
    }

    #[test]
    fn banner_lines_are_not_a_reason() {
        assert!(is_banner("----- Non-delivered information -----"));
        assert!(is_banner("** Message not delivered **"));
        assert!(!is_banner("550 user unknown"));
        let t = "   ----- The following addresses had delivery problems -----\nann@example.com\n\n   ----- Non-delivered information -----\nThe number of messages in recipient's mailbox exceeded the local limit.\n";
        let d = diagnostic_at(t, t.find("ann@").unwrap(), &[]);
        assert!(d.contains("mailbox exceeded the local limit"), "{d}");
    }

    #[test]
    fn sendmail_received_at_line_is_not_the_copy() {
        let t = "THIS IS A WARNING MESSAGE ONLY.\n\nThe original message was received at Fri, 12 Dec 2014 03:49:58 -0800\nfrom a@example.org\n\n[Status: Error, Address: <b@example.com>, ResponseCode 421, , Host not reachable.]\n";
        assert!(human_part(t).contains("<b@example.com>"));
    }

    #[test]
    fn address_alone_on_its_line() {
        let t = "I'm afraid I wasn't able to deliver your message to the following addresses.\n\n<wendy@example.com>:\nRemote host said: 552 quota exceeded\nsee wendy@example.com for more\n";
        let r = address_lines(t);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].1, "wendy@example.com");
        assert!(address_lines("Your message to xavier@example.com failed").is_empty());
    }

    #[test]
    fn short_reason_paragraph_below_the_address() {
        let t = "There was an error delivering your mail to <zed@example.net>.\n\nDNS lookup failure: host example.net not found\n\n";
        let d = diagnostic_at(t, t.find("zed@").unwrap(), &[]);
        assert!(d.ends_with("DNS lookup failure: host example.net not found"), "{d}");
    }

    #[test]
    fn delivery_status_fields_end_the_prose() {
        let t = "kim... Deferred: Connection refused\n\nReporting-MTA: dns; mx.example.org\n\nFinal-Recipient: rfc822; kim@example.org\nStatus: 4.4.7\n";
        assert_eq!(human_part(t).trim_end(), "kim... Deferred: Connection refused");
    }

    #[test]
    fn google_response_paragraph() {
        let t = "** Message not delivered **\n\nThe settings are wrong.\n\nThe response was:\n\nSmtp server does not advertise AUTH capability\n";
        assert_eq!(response_was(t).as_deref(), Some("Smtp server does not advertise AUTH capability"));
        assert_eq!(response_was("nothing here"), None);
    }

    #[test]
    fn message_ids_are_not_recipients() {
        assert!(SENDER_CONTEXT.is_match("> Message-Id: <"));
        assert!(!SENDER_CONTEXT.is_match("could not deliver to <"));
    }

    #[test]
    fn pasted_headers_end_the_prose() {
        let t = "Delivery failed for x@example.com\n\nReceived: from a\nSubject: b\nMessage-Id: <m@example.org>\n";
        assert_eq!(human_part(t), "Delivery failed for x@example.com\n\n");
    }
}
