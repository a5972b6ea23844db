//! Connecting and logging in: implicit TLS, STARTTLS or (loopback only, unless allowed) plain.
//! Certificates are checked against the configured CA file or the built-in web PKI roots.

use crate::config::{MailboxConfig, TlsMode};
use async_imap::{Client, Session};
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::rustls::{self, pki_types::ServerName};
use tokio_rustls::TlsConnector;

/// Any byte stream a session can run on (TLS or plain TCP).
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Debug> Io for T {}

pub type Stream = Box<dyn Io>;
pub type ImapSession = Session<Stream>;

/// Bytes read from the socket at most at once (see `connect`).
const READ_BUFFER: usize = 64 * 1024;

/// The server's capabilities that change what we do.
#[derive(Debug, Clone, Copy, Default)]
pub struct Caps {
    pub idle: bool,
    pub moves: bool,
    pub uidplus: bool,
}

/// TLS settings built once per mailbox.
pub fn tls_connector(m: &MailboxConfig) -> anyhow::Result<Option<TlsConnector>> {
    if m.tls == TlsMode::None {
        return Ok(None);
    }
    let mut roots = rustls::RootCertStore::empty();
    match &m.ca_file {
        Some(path) => {
            use rustls::pki_types::{pem::PemObject, CertificateDer};
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .map_err(|e| anyhow::anyhow!("mailbox {}: ca_file {}: {e}", m.name, path.display()))?
                .collect::<Result<_, _>>()
                .map_err(|e| anyhow::anyhow!("mailbox {}: ca_file {}: {e}", m.name, path.display()))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            anyhow::ensure!(added > 0, "mailbox {}: no usable certificate in ca_file {}", m.name, path.display());
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Some(TlsConnector::from(Arc::new(config))))
}

async fn within<T, E: Into<anyhow::Error>>(
    limit: Duration,
    what: &str,
    f: impl std::future::Future<Output = Result<T, E>>,
) -> anyhow::Result<T> {
    match tokio::time::timeout(limit, f).await {
        Ok(r) => r.map_err(|e| e.into().context(what.to_string())),
        Err(_) => anyhow::bail!("{what}: timed out after {} s", limit.as_secs()),
    }
}

async fn greeting(client: &mut Client<Stream>, limit: Duration) -> anyhow::Result<()> {
    match tokio::time::timeout(limit, client.read_response()).await {
        Ok(Ok(Some(_))) => Ok(()),
        Ok(Ok(None)) => anyhow::bail!("server closed the connection before its greeting"),
        Ok(Err(e)) => Err(anyhow::Error::from(e).context("reading the greeting")),
        Err(_) => anyhow::bail!("no greeting within {} s", limit.as_secs()),
    }
}

/// Connect, secure, log in. The password is only sent to the server, never logged.
pub async fn connect(m: &MailboxConfig, tls: Option<&TlsConnector>, password: &str) -> anyhow::Result<(ImapSession, Caps)> {
    let limit = Duration::from_secs(m.timeout.max(1));
    let addr = (m.host.as_str(), m.port());
    let tcp = within(limit, "connect", TcpStream::connect(addr)).await?;
    let _ = tcp.set_nodelay(true);
    // Reads of the socket go through a 64 KiB buffer (writes pass straight through): the IMAP
    // parser asks for a few KiB at a time, and a FETCH streams megabytes, so without it every
    // message cost several read system calls here and as many wake-ups of the server's writer.
    let tcp = BufReader::with_capacity(READ_BUFFER, tcp);
    let server_name = || {
        ServerName::try_from(m.host.trim_matches(|c| c == '[' || c == ']').to_string())
            .map_err(|e| anyhow::anyhow!("invalid host name {}: {e}", m.host))
    };
    let client: Client<Stream> = match (m.tls, tls) {
        (TlsMode::Implicit, Some(c)) => {
            let s = within(limit, "TLS handshake", c.connect(server_name()?, tcp)).await?;
            let mut client = Client::new(Box::new(s) as Stream);
            greeting(&mut client, limit).await?;
            client
        }
        (TlsMode::Starttls, Some(c)) => {
            let mut client = Client::new(Box::new(tcp) as Stream);
            greeting(&mut client, limit).await?;
            within(limit, "STARTTLS", client.run_command_and_check_ok("STARTTLS", None)).await?;
            let inner = client.into_inner();
            // The plain stream is the buffered TcpStream boxed above: TLS wraps the boxed stream.
            // Its buffer is empty here: after its OK to STARTTLS the server waits for the
            // handshake, and bytes it had sent ahead would be read as TLS records, and fail.
            let s = within(limit, "TLS handshake", c.connect(server_name()?, inner)).await?;
            Client::new(Box::new(s) as Stream)
        }
        (TlsMode::None, _) => {
            let mut client = Client::new(Box::new(tcp) as Stream);
            greeting(&mut client, limit).await?;
            client
        }
        (_, None) => anyhow::bail!("TLS requested but no TLS settings"),
    };
    let mut session = match tokio::time::timeout(limit, client.login(&m.username, password)).await {
        Ok(Ok(s)) => s,
        Ok(Err((e, _))) => anyhow::bail!("login as {} failed: {e}", m.username),
        Err(_) => anyhow::bail!("login: timed out after {} s", limit.as_secs()),
    };
    let caps = within(limit, "CAPABILITY", session.capabilities()).await?;
    let caps = Caps { idle: caps.has_str("IDLE"), moves: caps.has_str("MOVE"), uidplus: caps.has_str("UIDPLUS") };
    Ok((session, caps))
}
