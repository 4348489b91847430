//! An outage of the JWKS endpoint past the TTL: stale keys keep verifying,
//! one warning is logged, fetch attempts follow the backoff, and the first
//! refresh after the endpoint returns clears the failure.
//!
//! Alone in its test binary: it captures log events with a thread-local
//! subscriber, which tests running in parallel would interfere with.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cognito_verify::Verifier;
use cognito_verify::testing::LocalIssuer;
use common::{CLIENT, FixedServer, Reply, access};

const CONNECT_TIMEOUT: Duration = Duration::from_millis(300);
const TIMEOUT: Duration = Duration::from_millis(700);

/// Collects the events logged at WARN and INFO by the verifier.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
    fn count(&self, needle: &str) -> usize {
        self.text().matches(needle).count()
    }
}

/// Verifies `token` every 20 ms for `span`; every verification must pass.
async fn keep_verifying(verifier: &Verifier, token: &str, span: Duration) {
    let until = Instant::now() + span;
    while Instant::now() < until {
        verifier.verify(token).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_outage_past_the_ttl_keeps_verifying_with_stale_keys_then_recovers() {
    // A current-thread runtime: the background refreshes log on this thread.
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let issuer = LocalIssuer::start().await.unwrap();
    let jwks = issuer.jwks().to_string();
    let mut server = FixedServer::start(move |_| Reply::ok(jwks.clone())).await;
    let verifier = common::verifier(
        &issuer,
        |p| access(p).jwks_url(server.url.clone()),
        |b| {
            b.jwks_connect_timeout(CONNECT_TIMEOUT)
                .jwks_timeout(TIMEOUT)
                .jwks_ttl(Duration::from_millis(300))
                .jwks_ttl_bounds(Duration::from_millis(100), Duration::from_secs(1))
                .jwks_backoff(Duration::from_millis(200), Duration::from_millis(400))
                .token_cache_capacity(0)
        },
    );
    let token = issuer.access_token(CLIENT).sign();
    verifier.verify(&token).await.unwrap();

    server.stop();
    // Past the TTL, for 1.5 s: every verification passes on the stale keys.
    keep_verifying(&verifier, &token, Duration::from_millis(1500)).await;
    let status = &verifier.status().jwks[0];
    assert_eq!(
        status.last_error.as_ref().map(|e| e.kind()),
        Some("jwks_unavailable")
    );
    assert!(
        status.fetched_ago.unwrap() > status.ttl.unwrap(),
        "the keys are stale"
    );
    // Attempts follow the backoff: the first at 270 ms (90% of the TTL),
    // then at most one per step of at least 100, 200, 200… ms.
    let failures = status.counters.failures;
    assert!(
        (2..=8).contains(&failures),
        "{failures} failed attempts in 1.5 s"
    );
    assert_eq!(status.failures_in_a_row as u64, failures);
    assert_eq!(
        logs.count("JWKS fetch failed;"),
        1,
        "one warning per failure streak:\n{}",
        logs.text()
    );

    server.restart().await;
    keep_verifying(&verifier, &token, Duration::from_millis(800)).await;
    let status = &verifier.status().jwks[0];
    assert_eq!(status.last_error, None, "the next refresh succeeded");
    assert_eq!(status.failures_in_a_row, 0);
    assert!(status.fetched_ago.unwrap() < Duration::from_millis(800));
    assert_eq!(logs.count("JWKS fetch recovered"), 1, "{}", logs.text());
}
