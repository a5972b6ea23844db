//! Page times of the web console over a large database: fills a fresh SQLite file with N
//! distinct qualification rows and N distinct quarantine entries (each with a history line),
//! serves it with `inmail::web` on a loopback port, and requests each page many times, reading
//! the server's own time (`Server-Timing`) and the client's.
//!
//! cargo run --release --example console_bench -- [N=1000000] [REPEAT=20] [DB]
//!
//! With DB, the file is filled once and reused by later runs (filling a million rows of each
//! takes minutes).

use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: i64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let repeat: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(20);
    let dir = tempfile::tempdir()?;
    let path = args.get(3).map(std::path::PathBuf::from).unwrap_or_else(|| dir.path().join("bench.db"));
    if path.exists() {
        inmail::store::Store::open(&path)?; // migrated to this version's schema
        println!("reusing {}", path.display());
    } else {
        let t = Instant::now();
        fill(&path, n)?;
        println!("filled {n} qualification rows and {n} quarantine entries in {:.1} s ({} MiB)", t.elapsed().as_secs_f64(), std::fs::metadata(&path)?.len() >> 20);
    }

    let users = inmail::web::Users::parse("[[user]]\nname = \"bench\"\nrole = \"admin\"\ntoken = \"bench-token-0123456789\"\n")?;
    let rules = inmail::rules::RuleSet::load(None).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let app = std::sync::Arc::new(inmail::web::App::new(path.clone(), users, inmail::config::Config::default(), rules));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let listener = rt.block_on(inmail::web::bind("127.0.0.1:0"))?;
    let base = format!("http://{}", listener.local_addr()?);
    rt.spawn(inmail::web::serve(listener, app, std::future::pending()));

    let mid = n / 2;
    let pages = [
        "/".to_string(),
        "/qual".into(),
        "/qual?sort=last-seen".into(),
        "/qual?sort=first-seen&dir=asc".into(),
        "/qual?status=to-qualify".into(),
        "/qual?status=keep&sort=last-seen".into(),
        "/qual?type=Soft&reason=mailbox-full".into(),
        "/qual?channel=email&sort=first-seen".into(),
        "/qual?page=200".into(),
        format!("/qual?q=variant+{mid}+"),
        "/qual?q=code+X77".into(),
        "/qual?q=mailbox+unavailable".into(),
        "/qual?q=no+such+text".into(),
        format!("/qual/{mid}"),
        "/quarantine".into(),
        "/quarantine?status=quarantine".into(),
        "/quarantine?status=with-errors&status=quarantine".into(),
        "/quarantine?domain=d7.example".into(),
        "/quarantine?address=user12".into(),
        format!("/quarantine?address=user{mid}@d{}.example", mid % 50),
        "/quarantine?reason=user-unknown".into(),
        "/quarantine?from=2026-02-01&to=2026-02-03".into(),
        "/quarantine?page=200".into(),
        "/api/v1/qualification?status=to-qualify".into(),
        format!("/api/v1/address/user{mid}@d{}.example", mid % 50),
        format!("/api/v1/changes?since={}", n - 1000),
    ];
    let agent = ureq::AgentBuilder::new().build();
    println!("{:<52} {:>10} {:>10} {:>10} {:>12}", "page", "server p50", "server p95", "server max", "client p50");
    for p in &pages {
        let mut server = Vec::new();
        let mut client = Vec::new();
        for i in 0..=repeat {
            let t = Instant::now();
            let r = agent.get(&format!("{base}{p}")).set("Authorization", "Bearer bench-token-0123456789").call()?;
            let timing = r.header("server-timing").and_then(|v| v.split("dur=").nth(1)).and_then(|v| v.parse::<f64>().ok()).unwrap_or(f64::NAN);
            let _ = r.into_string()?;
            if i > 0 {
                // the first request warms the page cache and the statement cache
                server.push(timing);
                client.push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }
        server.sort_by(f64::total_cmp);
        client.sort_by(f64::total_cmp);
        let pct = |v: &[f64], q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
        println!("{p:<52} {:>8.2}ms {:>8.2}ms {:>8.2}ms {:>10.2}ms", pct(&server, 0.5), pct(&server, 0.95), server[server.len() - 1], pct(&client, 0.5));
    }
    Ok(())
}

/// N distinct rows and entries, spread over statuses, types, reasons, 50 domains and a year.
fn fill(path: &std::path::Path, n: i64) -> anyhow::Result<()> {
    let mut store = inmail::store::Store::open(path)?;
    let c = store.conn_mut();
    let tx = c.transaction()?;
    {
        let mut q = tx.prepare(
            "INSERT INTO qualification (id, channel, text, first_text, failure_type, failure_reason, status, occurrences,
                first_seen, last_seen, rule, manual, updated_at) VALUES (?1, 'email', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0, ?9)",
        )?;
        let types = ["Hard", "Soft", "Soft", "Ignored", "Undefined"];
        let reasons = [1, 5, 3, 25, 0];
        let base = 1_767_225_600; // 2026-01-01
        for i in 1..=n {
            let k = (i % 5) as usize;
            let status = if k == 4 { "To qualify" } else if i % 17 == 0 { "Ignore" } else { "Keep" };
            let first = base + (i * 7919) % (365 * 86_400);
            let last = first + (i * 104_729) % (30 * 86_400);
            q.execute(rusqlite::params![
                i,
                format!("550 5.1.1 <*>: mailbox unavailable variant {i} (code #ID#)"),
                format!("550 5.1.1 <u{i}@example.com>: mailbox unavailable variant {i} (code X{i})"),
                types[k],
                reasons[k],
                status,
                (i * 31) % 100_000,
                first,
                last,
                if k == 4 { "" } else { "rule-x" },
            ])?;
        }
        let mut e = tx.prepare(
            "INSERT INTO quarantine (address, channel, status, error_count, error_text, failure_type, failure_reason, first_error,
                last_error, last_modified, qualification_id) VALUES (?1, 'email', ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?7, ?8)",
        )?;
        let mut h = tx.prepare(
            "INSERT INTO quarantine_history (address, at, old_status, new_status, action, by) VALUES (?1, ?2, NULL, ?3, 'event', 'inmail')",
        )?;
        let statuses = ["Valid", "With errors", "Quarantine", "Quarantine", "Denylisted"];
        for i in 1..=n {
            let s = statuses[(i % 5) as usize];
            let addr = format!("user{i}@d{}.example", i % 50);
            let at = 1_767_225_600 + (i * 7919) % (365 * 86_400);
            e.execute(rusqlite::params![addr, s, i % 6, format!("550 5.1.1 <{addr}>: user unknown"), "Hard", [1, 5, 3][(i % 3) as usize], at, i])?;
            h.execute(rusqlite::params![addr, at, s])?;
        }
    }
    tx.commit()?;
    Ok(())
}
