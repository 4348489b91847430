//! `Verifier::readiness`: one answer for a readiness probe. Not ready
//! before the keys are fetched, nor once the key set in use is older than
//! `jwks_max_staleness` (the key source gone), ready again when it returns;
//! an idle verifier that is probed keeps its keys fresh.

mod common;

use std::time::{Duration, Instant};

use cognito_verify::testing::LocalIssuer;
use cognito_verify::{NotReady, Verifier};
use common::access;

const MAX_STALENESS: Duration = Duration::from_millis(800);

/// A verifier whose keys live 200 ms and may be used up to
/// `MAX_STALENESS` old, with fetches that give up after 200 ms.
fn verifier(issuer: &LocalIssuer) -> Verifier {
    Verifier::builder()
        .pool(access(issuer.pool_config()))
        .jwks_ttl(Duration::from_millis(200))
        .jwks_ttl_bounds(Duration::from_millis(200), Duration::from_millis(200))
        .jwks_max_staleness(MAX_STALENESS)
        .jwks_timeout(Duration::from_millis(200))
        .jwks_connect_timeout(Duration::from_millis(200))
        .jwks_backoff(Duration::from_millis(50), Duration::from_millis(100))
        .build()
        .unwrap()
}

/// Probes every 50 ms until `done` says yes, at most 5 s; what it saw last.
async fn probe_until(
    verifier: &Verifier,
    done: impl Fn(&Result<(), NotReady>) -> bool,
) -> Result<(), NotReady> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let readiness = verifier.readiness();
        if done(&readiness) || Instant::now() > deadline {
            return readiness;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn not_ready_until_the_keys_are_fetched() {
    let issuer = LocalIssuer::start().await.unwrap();
    let verifier = verifier(&issuer);
    // (The probe starts a fetch: its answer is read once.)
    let readiness = verifier.readiness();
    assert_eq!(
        readiness,
        Err(NotReady::KeysNotFetched {
            jwks_url: issuer.jwks_url().to_owned()
        })
    );
    assert_eq!(readiness.unwrap_err().kind(), "keys_not_fetched");
    verifier.hydrate().await.unwrap();
    assert_eq!(verifier.readiness(), Ok(()));
}

#[tokio::test]
async fn not_ready_past_the_staleness_bound_and_ready_when_the_source_returns() {
    let issuer = LocalIssuer::start().await.unwrap();
    let verifier = verifier(&issuer);
    verifier.hydrate().await.unwrap();
    assert_eq!(verifier.readiness(), Ok(()));
    // The key server stops answering in time: the set ages.
    let gone = Instant::now();
    issuer.delay_jwks(Duration::from_secs(30));
    let stale = probe_until(&verifier, Result::is_err).await;
    let waited = gone.elapsed();
    match &stale {
        Err(NotReady::KeysStale {
            jwks_url,
            fetched_ago,
            max_staleness,
        }) => {
            assert_eq!(jwks_url, issuer.jwks_url());
            assert!(*fetched_ago > MAX_STALENESS, "{fetched_ago:?}");
            assert_eq!(*max_staleness, MAX_STALENESS);
        }
        other => panic!("stale keys: {other:?}"),
    }
    assert!(
        waited >= MAX_STALENESS - Duration::from_millis(250),
        "{waited:?}"
    );
    assert_eq!(stale.unwrap_err().kind(), "keys_stale");
    // Back: the probe itself fetches again, and the verifier is ready.
    issuer.delay_jwks(Duration::ZERO);
    assert_eq!(probe_until(&verifier, Result::is_ok).await, Ok(()));
}

#[tokio::test]
async fn an_idle_verifier_that_is_probed_stays_ready() {
    let issuer = LocalIssuer::start().await.unwrap();
    let verifier = verifier(&issuer);
    verifier.hydrate().await.unwrap();
    // No token for three times the staleness bound: the probes alone keep
    // the keys fresh while the source answers.
    let until = Instant::now() + 3 * MAX_STALENESS;
    while Instant::now() < until {
        assert_eq!(verifier.readiness(), Ok(()));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn keys_from_a_document_are_always_ready() {
    let issuer = LocalIssuer::start().await.unwrap();
    let verifier = Verifier::builder()
        .pool(
            access(issuer.pool_config())
                .jwks_document(issuer.jwks().to_string())
                .offline(),
        )
        .jwks_max_staleness(MAX_STALENESS)
        .build()
        .unwrap();
    assert_eq!(verifier.readiness(), Ok(()));
    tokio::time::sleep(MAX_STALENESS + Duration::from_millis(100)).await;
    assert_eq!(verifier.readiness(), Ok(()));
}

#[tokio::test]
async fn keys_are_refreshed_before_they_grow_stale_when_the_bound_is_below_the_ttl() {
    let issuer = LocalIssuer::start().await.unwrap();
    // The default TTL (one hour) is far above the bound: the set must be
    // refreshed before it reaches the bound, not at 90% of the TTL.
    let verifier = Verifier::builder()
        .pool(access(issuer.pool_config()))
        .jwks_max_staleness(MAX_STALENESS)
        .build()
        .unwrap();
    verifier.hydrate().await.unwrap();
    let until = Instant::now() + 3 * MAX_STALENESS;
    while Instant::now() < until {
        assert_eq!(verifier.readiness(), Ok(()));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_probe_fetches_the_keys_hydrate_could_not() {
    let issuer = LocalIssuer::start().await.unwrap();
    let verifier = verifier(&issuer);
    // The key source is down at start: hydrate fails.
    issuer.delay_jwks(Duration::from_secs(30));
    assert!(verifier.hydrate().await.is_err());
    assert_eq!(verifier.readiness().unwrap_err().kind(), "keys_not_fetched");
    // No token arrives (a load balancer sends none to a replica that is
    // not ready): the probes alone must fetch the keys once it is back.
    issuer.delay_jwks(Duration::ZERO);
    assert_eq!(probe_until(&verifier, Result::is_ok).await, Ok(()));
}
