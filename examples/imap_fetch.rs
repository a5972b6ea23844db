//! Baseline for the IMAP ingest benchmark (scripts/imap-bench.sh): one plain-text connection,
//! LOGIN, SELECT, then a single `UID FETCH 1:* BODY.PEEK[]`, consuming the whole response
//! stream and counting messages and body bytes. Prints one JSON line:
//! {"messages":N,"bytes":B,"fetch_s":T,"rate":N/T}; `fetch_s` times the FETCH only.
//!
//! usage: imap_fetch HOST PORT USER PASSWORD [FOLDER]

use futures::StreamExt;
use std::time::Instant;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!("usage: {} HOST PORT USER PASSWORD [FOLDER]", args[0]);
        std::process::exit(2);
    }
    let (host, port, user, pass) = (&args[1], args[2].parse::<u16>()?, &args[3], &args[4]);
    let folder = args.get(5).map(String::as_str).unwrap_or("INBOX");
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
    tcp.set_nodelay(true)?;
    // The same socket read buffer as the daemon's connection (src/imap/client.rs).
    let mut client = async_imap::Client::new(tokio::io::BufReader::with_capacity(64 * 1024, tcp));
    client.read_response().await?.ok_or_else(|| anyhow::anyhow!("no greeting"))?;
    let mut s = client.login(user, pass).await.map_err(|(e, _)| e)?;
    let mb = s.select(folder).await?;
    let t = Instant::now();
    let (mut messages, mut bytes) = (0u64, 0u64);
    {
        let mut st = s.uid_fetch("1:*", "BODY.PEEK[]").await?;
        while let Some(f) = st.next().await {
            let f = f?;
            if let Some(b) = f.body() {
                messages += 1;
                bytes += b.len() as u64;
            }
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let _ = s.logout().await;
    anyhow::ensure!(messages == mb.exists as u64, "fetched {messages} messages, folder has {}", mb.exists);
    println!(
        "{{\"messages\":{messages},\"bytes\":{bytes},\"fetch_s\":{secs:.3},\"rate\":{:.1}}}",
        messages as f64 / secs.max(1e-9)
    );
    Ok(())
}
