//! Shared helpers of the integration tests.
#![allow(dead_code)]

pub mod tls;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cognito_verify::testing::LocalIssuer;
use cognito_verify::{PoolConfig, TokenUse, Verifier, VerifierBuilder};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

pub const CLIENT: &str = "test-client";

/// The usual pool: access tokens issued to [`CLIENT`].
pub fn access(pool: PoolConfig) -> PoolConfig {
    pool.client_id(CLIENT).token_use(TokenUse::Access)
}

/// A verifier of `issuer`'s tokens: its pool shaped by `pool` (say,
/// [`access`]), the builder by `builder`.
pub fn verifier(
    issuer: &LocalIssuer,
    pool: impl FnOnce(PoolConfig) -> PoolConfig,
    builder: impl FnOnce(VerifierBuilder) -> VerifierBuilder,
) -> Verifier {
    builder(Verifier::builder().pool(pool(issuer.pool_config())))
        .build()
        .expect("verifier")
}

/// A local issuer, and a [`verifier`] of its tokens.
pub async fn setup(
    pool: impl FnOnce(PoolConfig) -> PoolConfig,
    builder: impl FnOnce(VerifierBuilder) -> VerifierBuilder,
) -> (LocalIssuer, Verifier) {
    let issuer = LocalIssuer::start().await.expect("local issuer");
    let verifier = verifier(&issuer, pool, builder);
    (issuer, verifier)
}

/// A runtime serving a local issuer, and a verifier that has fetched its
/// keys: for synchronous tests that call `verify_cached`.
pub struct Hydrated {
    pub runtime: tokio::runtime::Runtime,
    pub issuer: LocalIssuer,
    pub verifier: Verifier,
}

pub fn hydrated(make: impl FnOnce(&LocalIssuer) -> Verifier) -> Hydrated {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let issuer = runtime
        .block_on(LocalIssuer::start())
        .expect("local issuer");
    let verifier = make(&issuer);
    runtime.block_on(verifier.hydrate()).expect("keys fetched");
    Hydrated {
        runtime,
        issuer,
        verifier,
    }
}

/// "ok", or the kind of the refusal.
pub async fn outcome(verifier: &Verifier, token: &str) -> &'static str {
    verifier
        .verify(token)
        .await
        .err()
        .map_or("ok", |e| e.kind())
}

/// The error kind of a verification that must fail.
pub async fn kind_of(verifier: &Verifier, token: &str) -> &'static str {
    match verifier.verify(token).await {
        Ok(claims) => panic!("token verified unexpectedly: sub {}", claims.sub()),
        Err(e) => e.kind(),
    }
}

/// What the test server does with one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A complete response, after `delay` (before the status line).
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        delay: Duration,
    },
    /// A 200 whose body (with its `content-length`) comes one byte at a time.
    Trickle { body: Vec<u8>, per_byte: Duration },
    /// A 200 that announces `body` but closes the connection halfway through it.
    CloseMidBody { body: Vec<u8> },
    /// A 200 with no `content-length` streaming up to `total` bytes of JSON
    /// white space in 64 KiB chunks, for as long as the client reads.
    Stream { total: usize },
}

impl Reply {
    pub fn ok(body: impl Into<Vec<u8>>) -> Self {
        Reply::Respond {
            status: 200,
            headers: Vec::new(),
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    pub fn status(status: u16) -> Self {
        Reply::Respond {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            delay: Duration::ZERO,
        }
    }

    /// The same reply with another status code.
    pub fn status_code(mut self, code: u16) -> Self {
        if let Reply::Respond { status, .. } = &mut self {
            *status = code;
        }
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let Reply::Respond { headers, .. } = &mut self {
            headers.push((name.to_owned(), value.to_owned()));
        }
        self
    }

    pub fn delayed(mut self, by: Duration) -> Self {
        if let Reply::Respond { delay, .. } = &mut self {
            *delay = by;
        }
        self
    }
}

type Responder = Arc<dyn Fn(usize) -> Reply + Send + Sync>;

/// An HTTP/1.1 server on 127.0.0.1 that answers request number n (0, 1, …)
/// with `respond(n)`, counts requests and the body bytes it managed to
/// send, and can be stopped and started again on the same port.
pub struct FixedServer {
    pub url: String,
    addr: std::net::SocketAddr,
    respond: Responder,
    requests: Arc<AtomicUsize>,
    pub bytes_sent: Arc<AtomicUsize>,
    tasks: Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl FixedServer {
    pub async fn start(respond: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Self {
        Self::start_at("127.0.0.1:0".parse().unwrap(), Arc::new(respond)).await
    }

    /// Listens on a given address (for an endpoint that comes up late).
    pub async fn start_on(
        addr: std::net::SocketAddr,
        respond: impl Fn(usize) -> Reply + Send + Sync + 'static,
    ) -> Self {
        Self::start_at(addr, Arc::new(respond)).await
    }

    async fn start_at(addr: std::net::SocketAddr, respond: Responder) -> Self {
        let mut server = FixedServer {
            url: String::new(),
            addr,
            respond,
            requests: Arc::new(AtomicUsize::new(0)),
            bytes_sent: Arc::new(AtomicUsize::new(0)),
            tasks: Arc::new(std::sync::Mutex::new(Vec::new())),
        };
        server.listen().await;
        server
    }

    async fn listen(&mut self) {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        // A small send buffer, so that a body the client stops reading
        // stops being sent (for the bounded-memory tests).
        socket.set_send_buffer_size(16 * 1024).unwrap();
        socket.bind(self.addr).unwrap();
        let listener = socket.listen(64).unwrap();
        self.addr = listener.local_addr().unwrap();
        self.url = format!("http://{}/jwks.json", self.addr);
        let (respond, counter, sent, tasks) = (
            self.respond.clone(),
            self.requests.clone(),
            self.bytes_sent.clone(),
            self.tasks.clone(),
        );
        let accept = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let reply = respond(counter.fetch_add(1, Ordering::SeqCst));
                let conn = tokio::spawn(serve_one(stream, reply, sent.clone()));
                tasks.lock().unwrap().push(conn.abort_handle());
            }
        });
        self.tasks.lock().unwrap().push(accept.abort_handle());
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Closes the listener and every connection: connections are refused.
    pub fn stop(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    /// Listens again on the same port.
    pub async fn restart(&mut self) {
        self.stop();
        tokio::task::yield_now().await;
        self.listen().await;
    }
}

async fn serve_one(mut stream: tokio::net::TcpStream, reply: Reply, sent: Arc<AtomicUsize>) {
    if read_head(&mut stream).await.is_some() {
        write_reply(&mut stream, reply, &sent).await;
    }
}

/// The head of an HTTP/1.1 request (up to the blank line), or `None` when
/// the connection ends first.
pub async fn read_head<S: AsyncRead + Unpin>(stream: &mut S) -> Option<String> {
    let mut buf = vec![0u8; 8192];
    let mut seen = Vec::new();
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    Some(String::from_utf8_lossy(&seen).into_owned())
}

/// Writes `reply` as an HTTP/1.1 response, counting the body bytes sent.
pub async fn write_reply<S: AsyncWrite + Unpin>(stream: &mut S, reply: Reply, sent: &AtomicUsize) {
    let head = |status: u16, len: Option<usize>, headers: &[(String, String)]| {
        let mut h = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\nconnection: close\r\n"
        );
        if let Some(len) = len {
            h.push_str(&format!("content-length: {len}\r\n"));
        }
        for (k, v) in headers {
            h.push_str(&format!("{k}: {v}\r\n"));
        }
        h + "\r\n"
    };
    match reply {
        Reply::Respond {
            status,
            headers,
            body,
            delay,
        } => {
            tokio::time::sleep(delay).await;
            let _ = stream
                .write_all(head(status, Some(body.len()), &headers).as_bytes())
                .await;
            if stream.write_all(&body).await.is_ok() {
                sent.fetch_add(body.len(), Ordering::SeqCst);
            }
        }
        Reply::Trickle { body, per_byte } => {
            let _ = stream
                .write_all(head(200, Some(body.len()), &[]).as_bytes())
                .await;
            for byte in body {
                if stream.write_all(&[byte]).await.is_err() {
                    return;
                }
                sent.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(per_byte).await;
            }
        }
        Reply::CloseMidBody { body } => {
            let _ = stream
                .write_all(head(200, Some(body.len()), &[]).as_bytes())
                .await;
            let half = &body[..body.len() / 2];
            let _ = stream.write_all(half).await;
            sent.fetch_add(half.len(), Ordering::SeqCst);
            return; // dropped: the connection closes mid-body
        }
        Reply::Stream { total } => {
            let _ = stream.write_all(head(200, None, &[]).as_bytes()).await;
            let chunk = vec![b' '; 64 * 1024];
            let mut left = total;
            while left > 0 {
                let n = left.min(chunk.len());
                if stream.write_all(&chunk[..n]).await.is_err() {
                    return;
                }
                sent.fetch_add(n, Ordering::SeqCst);
                left -= n;
            }
        }
    }
    let _ = stream.shutdown().await;
}

impl Drop for FixedServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A loopback URL where nothing listens.
pub async fn dead_url() -> String {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/jwks.json")
}

pub const SHORT: Duration = Duration::from_millis(500);
