//! Shared helpers of the integration tests.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cognito_verify::testing::LocalIssuer;
use cognito_verify::{PoolConfig, TokenUse, Verifier, VerifierBuilder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub const CLIENT: &str = "test-client";

/// A local issuer and a verifier for its access tokens issued to [`CLIENT`].
pub async fn access_setup() -> (LocalIssuer, Verifier) {
    setup(|p| p.client_id(CLIENT).token_use(TokenUse::Access), |b| b).await
}

/// A local issuer and a verifier built from the given pool and builder tweaks.
pub async fn setup(
    pool: impl FnOnce(PoolConfig) -> PoolConfig,
    builder: impl FnOnce(VerifierBuilder) -> VerifierBuilder,
) -> (LocalIssuer, Verifier) {
    let issuer = LocalIssuer::start().await.expect("local issuer");
    let verifier = builder(Verifier::builder().pool(pool(issuer.pool_config())))
        .build()
        .expect("verifier");
    (issuer, verifier)
}

/// The error kind of a verification that must fail.
pub async fn kind_of(verifier: &Verifier, token: &str) -> &'static str {
    match verifier.verify(token).await {
        Ok(claims) => panic!("token verified unexpectedly: sub {}", claims.sub()),
        Err(e) => e.kind(),
    }
}

/// One canned HTTP response.
#[derive(Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    /// Waited before the response is written.
    pub delay: Duration,
}

impl Reply {
    pub fn ok(body: impl Into<Vec<u8>>) -> Self {
        Reply {
            status: 200,
            body: body.into(),
            delay: Duration::ZERO,
        }
    }
}

/// An HTTP/1.1 server on 127.0.0.1 that answers every request with the
/// reply `respond` gives for the request's number (0, 1, …), and counts
/// requests. Stops when dropped.
pub struct FixedServer {
    pub url: String,
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl FixedServer {
    pub async fn start(respond: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        let respond = Arc::new(respond);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    continue;
                };
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let reply = respond(n);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 8192];
                    let mut seen = Vec::new();
                    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => seen.extend_from_slice(&buf[..n]),
                        }
                    }
                    tokio::time::sleep(reply.delay).await;
                    let head = format!(
                        "HTTP/1.1 {} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        reply.status,
                        reply.body.len()
                    );
                    let _ = stream.write_all(head.as_bytes()).await;
                    let _ = stream.write_all(&reply.body).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        FixedServer {
            url,
            requests,
            task,
        }
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for FixedServer {
    fn drop(&mut self) {
        self.task.abort();
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
