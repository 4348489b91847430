//! The JWKS cache and the verified-token cache, over real HTTP.

mod common;

use std::sync::Arc;
use std::time::Duration;

use cognito_verify::TokenUse;
use common::{CLIENT, FixedServer, Reply, access, kind_of, setup};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_fetch_serves_100_concurrent_cold_verifies() {
    let (issuer, verifier) = setup(
        |p| p.client_id(CLIENT).token_use(TokenUse::Access),
        |b| b.token_cache_capacity(0),
    )
    .await;
    let tokens: Vec<String> = (0..100)
        .map(|i| issuer.access_token(CLIENT).sub(&format!("u{i}")).sign())
        .collect();
    let barrier = Arc::new(tokio::sync::Barrier::new(100));
    let tasks: Vec<_> = tokens
        .into_iter()
        .map(|token| {
            let (verifier, barrier) = (verifier.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                verifier.verify(&token).await.map(|c| c.sub().to_owned())
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(issuer.jwks_requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_cold_verifies_share_one_failure() {
    // A slow, failing endpoint: all callers wait on the one request and get its error.
    let server =
        FixedServer::start(|_| Reply::status(503).delayed(Duration::from_millis(200))).await;
    let (issuer, _) = setup(access, |b| b).await;
    let verifier = common::verifier(&issuer, |p| access(p).jwks_url(server.url.clone()), |b| b);
    let token = issuer.access_token(CLIENT).sign();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (verifier, token) = (verifier.clone(), token.clone());
            tokio::spawn(async move { verifier.verify(&token).await.unwrap_err().kind() })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), "jwks_unavailable");
    }
    assert!(server.requests() <= 2, "{} requests", server.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_unknown_kids_causes_at_most_one_refetch() {
    let (issuer, verifier) = setup(access, |b| b).await;
    verifier.hydrate().await.unwrap();
    assert_eq!(issuer.jwks_requests(), 1);
    let tasks: Vec<_> = (0..1000)
        .map(|i| {
            let token = issuer
                .access_token(CLIENT)
                .header("kid", json!(format!("random-{i}")))
                .sign();
            let verifier = verifier.clone();
            tokio::spawn(async move { verifier.verify(&token).await.unwrap_err().kind() })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), "unknown_kid");
    }
    assert!(
        issuer.jwks_requests() <= 2,
        "{} JWKS requests",
        issuer.jwks_requests()
    );
    // Known keys kept verifying throughout.
    verifier
        .verify(&issuer.access_token(CLIENT).sign())
        .await
        .unwrap();
}

#[tokio::test]
async fn unknown_kids_inside_the_interval_fail_without_fetching() {
    let (issuer, verifier) = setup(
        |p| p.client_id(CLIENT).token_use(TokenUse::Access),
        |b| b.jwks_min_refetch_interval(Duration::from_millis(300)),
    )
    .await;
    verifier.hydrate().await.unwrap();
    let unknown = |kid: &str| issuer.access_token(CLIENT).header("kid", json!(kid)).sign();
    assert_eq!(kind_of(&verifier, &unknown("a")).await, "unknown_kid");
    assert_eq!(issuer.jwks_requests(), 2, "the first unknown kid refetches");
    assert_eq!(kind_of(&verifier, &unknown("b")).await, "unknown_kid");
    assert_eq!(issuer.jwks_requests(), 2, "inside the interval: no fetch");
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(kind_of(&verifier, &unknown("c")).await, "unknown_kid");
    assert_eq!(issuer.jwks_requests(), 3, "after the interval: one more");
}

#[tokio::test]
async fn picks_up_a_new_key_and_drops_a_removed_one() {
    let (issuer, verifier) = setup(
        |p| p.client_id(CLIENT).token_use(TokenUse::Access),
        |b| b.jwks_min_refetch_interval(Duration::ZERO),
    )
    .await;
    let old_kid = issuer.current_kid();
    let old_token = issuer.access_token(CLIENT).sign();
    verifier.verify(&old_token).await.unwrap();

    let new_kid = issuer.rotate_key();
    let new_token = issuer.access_token(CLIENT).sign();
    verifier.verify(&new_token).await.unwrap();
    assert_eq!(issuer.jwks_requests(), 2, "the new kid caused one refetch");
    verifier.verify(&old_token).await.unwrap();

    issuer.remove_key(&old_kid);
    // Another new kid forces a refetch, which replaces the set.
    let newest_kid = issuer.rotate_key();
    verifier
        .verify(&issuer.access_token(CLIENT).sign())
        .await
        .unwrap();
    let status = verifier.status().jwks;
    assert_eq!(status[0].kids, {
        let mut k = vec![new_kid, newest_kid];
        k.sort();
        k
    });

    // The old token was in the token cache; it is refused now all the same.
    assert_eq!(kind_of(&verifier, &old_token).await, "unknown_kid");
    let fresh_old = issuer.access_token(CLIENT).signed_by(&old_kid).sign();
    assert_eq!(kind_of(&verifier, &fresh_old).await, "unknown_kid");
}

/// Verifies `token` every 20 ms until it is refused, and returns the kind
/// and how long that took; fails past `limit`.
async fn until_refused(
    verifier: &cognito_verify::Verifier,
    token: &str,
    limit: Duration,
) -> (&'static str, Duration) {
    let started = std::time::Instant::now();
    loop {
        if let Err(e) = verifier.verify(token).await {
            return (e.kind(), started.elapsed());
        }
        assert!(
            started.elapsed() < limit,
            "still verifying after {limit:?}: no refresh replaced the key set"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verify_cancelled_mid_refetch_leaves_the_refresh_working() {
    const TTL: Duration = Duration::from_millis(400);
    let (issuer, verifier) = setup(
        |p| p.client_id(CLIENT).token_use(TokenUse::Access),
        |b| b.jwks_ttl(TTL).jwks_min_refetch_interval(Duration::ZERO),
    )
    .await;
    let old_kid = issuer.current_kid();
    let old_token = issuer.access_token(CLIENT).sign();
    verifier.verify(&old_token).await.unwrap();

    // An unknown kid causes a refetch; the key server is slow, and the caller
    // gives up mid-fetch (a client that hangs up, a timeout layer).
    issuer.delay_jwks(Duration::from_millis(600));
    let unknown = issuer
        .access_token(CLIENT)
        .header("kid", json!("no-such-kid"))
        .sign();
    let cancelled =
        tokio::time::timeout(Duration::from_millis(100), verifier.verify(&unknown)).await;
    assert!(cancelled.is_err(), "the verify was cancelled mid-fetch");
    let fetches = issuer.jwks_requests();
    tokio::time::sleep(Duration::from_millis(800)).await;
    // The fetch it started went on without it, and its set was stored.
    assert_eq!(
        issuer.jwks_requests(),
        fetches + 1,
        "the slow fetch was answered"
    );
    let status = &verifier.status().jwks[0];
    assert_eq!(
        (
            status.counters.fetches,
            status.counters.failures,
            status.counters.unknown_kid_refetches
        ),
        (2, 0, 1)
    );
    assert!(
        status.fetched_ago.unwrap() < Duration::from_millis(400),
        "{status:?}"
    );
    issuer.delay_jwks(Duration::ZERO);

    // The key is removed upstream: the next background refresh drops it.
    issuer.rotate_key();
    issuer.remove_key(&old_kid);
    let (kind, after) = until_refused(&verifier, &old_token, TTL * 5).await;
    assert_eq!(kind, "unknown_kid");
    eprintln!("removed key refused {after:?} after its removal (TTL {TTL:?})");
    assert!(verifier.status().jwks[0].counters.background_refreshes >= 1);
}

#[tokio::test]
async fn the_token_cache_skips_the_key_but_not_the_checks() {
    let (issuer, verifier) = setup(access, |b| b).await;
    let token = issuer
        .access_token(CLIENT)
        .sub("cached")
        .claim("exp", json!(now() + 2))
        .sign();
    verifier.verify(&token).await.unwrap();
    // Cached at its second verification.
    let second = verifier.verify(&token).await.unwrap();
    // The issuer's server goes away: a cache hit needs no key fetch and no RSA work.
    issuer.shutdown();
    let third = verifier.verify(&token).await.unwrap();
    assert!(Arc::ptr_eq(&second, &third), "served from the token cache");
    assert_eq!(verifier.verify_cached(&token).unwrap().sub(), "cached");
    // Time is re-checked on every hit.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(kind_of(&verifier, &token).await, "expired");
}

#[tokio::test]
async fn cache_hits_rerun_the_custom_check() {
    // A revocation list consulted by the custom check: a revoked token is
    // refused even though it verified (and was cached) before.
    let revoked = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let list = revoked.clone();
    let (issuer, verifier) = setup(
        move |p| {
            p.client_id(CLIENT)
                .token_use(TokenUse::Access)
                .custom_check(move |c| match c.jti() {
                    Some(jti) if list.lock().unwrap().iter().any(|r| r == jti) => {
                        Err("revoked".into())
                    }
                    _ => Ok(()),
                })
        },
        |b| b,
    )
    .await;
    let token = issuer
        .access_token(CLIENT)
        .claim("jti", json!("jti-1"))
        .sign();
    verifier.verify(&token).await.unwrap();
    let second = verifier.verify(&token).await.unwrap();
    let third = verifier.verify(&token).await.unwrap();
    assert!(
        Arc::ptr_eq(&second, &third),
        "the third call was a cache hit"
    );
    revoked.lock().unwrap().push("jti-1".into());
    assert_eq!(kind_of(&verifier, &token).await, "custom_check_failed");
}

#[tokio::test]
async fn a_token_is_cached_when_it_verifies_a_second_time() {
    let (issuer, verifier) = setup(access, |b| b).await;
    let token = issuer.access_token(CLIENT).sign();
    let first = verifier.verify(&token).await.unwrap();
    let stats = verifier.status().token_cache;
    assert_eq!((stats.hits, stats.misses, stats.entries), (0, 1, 0));
    let second = verifier.verify(&token).await.unwrap();
    assert!(!Arc::ptr_eq(&first, &second), "verified again");
    let third = verifier.verify(&token).await.unwrap();
    assert!(Arc::ptr_eq(&second, &third), "then served from the cache");
    let stats = verifier.status().token_cache;
    assert_eq!((stats.hits, stats.misses), (1, 2));
    // Tokens seen once are never cached, however many there are.
    for i in 0..50 {
        let once = issuer.access_token(CLIENT).sub(&format!("u{i}")).sign();
        verifier.verify(&once).await.unwrap();
    }
    assert_eq!(verifier.status().token_cache.hits, 1);
}

#[tokio::test]
async fn a_cached_token_with_another_signature_is_not_a_hit() {
    // Same header and payload, another signature segment: not byte-identical,
    // so it is verified (and refused), never answered from the cache.
    let (issuer, verifier) = setup(access, |b| b).await;
    let token = issuer.access_token(CLIENT).sign();
    for _ in 0..3 {
        verifier.verify(&token).await.unwrap();
    }
    let (signing_input, signature) = token.rsplit_once('.').unwrap();
    let flipped = if signature.ends_with('A') { 'Q' } else { 'A' };
    let other = format!(
        "{signing_input}.{}{flipped}",
        &signature[..signature.len() - 1]
    );
    assert_ne!(other, token);
    assert_eq!(kind_of(&verifier, &other).await, "invalid_signature");
}

#[tokio::test]
async fn failed_tokens_are_never_cached() {
    let (issuer, verifier) = setup(access, |b| b).await;
    let valid = issuer.access_token(CLIENT).sign();
    let (signing_input, _) = valid.rsplit_once('.').unwrap();
    let forged = format!("{signing_input}.{}", "A".repeat(342));
    for _ in 0..3 {
        assert_eq!(kind_of(&verifier, &forged).await, "invalid_signature");
    }
    verifier.verify(&valid).await.unwrap();
    assert_eq!(kind_of(&verifier, &forged).await, "invalid_signature");
}

#[tokio::test]
async fn the_token_cache_can_be_turned_off() {
    let (issuer, verifier) = setup(
        |p| p.client_id(CLIENT).token_use(TokenUse::Access),
        |b| b.token_cache_capacity(0),
    )
    .await;
    let token = issuer.access_token(CLIENT).sign();
    let a = verifier.verify(&token).await.unwrap();
    let b = verifier.verify(&token).await.unwrap();
    assert!(!Arc::ptr_eq(&a, &b), "verified twice");
    assert_eq!(a, b);
}

fn now() -> i64 {
    cognito_verify::unix_now()
}

#[tokio::test]
async fn try_verify_cached_decides_only_what_the_cached_keys_can() {
    let (issuer, verifier) = setup(access, |b| b).await;
    let token = issuer.access_token(CLIENT).sub("u-1").sign();
    assert!(
        verifier.try_verify_cached(&token).is_none(),
        "nothing cached yet"
    );
    assert_eq!(issuer.jwks_requests(), 0, "and nothing fetched");
    verifier.hydrate().await.unwrap();
    let claims = verifier.try_verify_cached(&token).unwrap().unwrap();
    assert_eq!(claims.sub(), "u-1");
    let expired = issuer.access_token(CLIENT).expires_in(-60).sign();
    let err = verifier.try_verify_cached(&expired).unwrap().unwrap_err();
    assert_eq!(err.kind(), "expired");
    assert_eq!(
        verifier
            .try_verify_cached("not a token")
            .unwrap()
            .unwrap_err()
            .kind(),
        "malformed_token"
    );
    // A kid the cached set lacks is left to `verify`, which refetches.
    issuer.rotate_key();
    let rotated = issuer.access_token(CLIENT).sub("u-2").sign();
    assert!(verifier.try_verify_cached(&rotated).is_none());
    assert_eq!(issuer.jwks_requests(), 1);
    assert_eq!(verifier.verify(&rotated).await.unwrap().sub(), "u-2");
    assert_eq!(issuer.jwks_requests(), 2);
    assert!(verifier.try_verify_cached(&rotated).unwrap().is_ok());
}

#[tokio::test]
async fn cached_tokens_stop_verifying_once_the_keys_are_too_stale() {
    // Staleness reached after the refresh point (refreshes failing), and
    // before it (a TTL longer than the staleness bound).
    for (ttl_ms, stale_ms) in [(200, 600), (1_000, 400)] {
        let issuer = cognito_verify::testing::LocalIssuer::start().await.unwrap();
        let jwks = issuer.jwks().to_string();
        let server = FixedServer::start(move |_| Reply::ok(jwks.clone())).await;
        let verifier = common::verifier(
            &issuer,
            |p| access(p).jwks_url(server.url.clone()),
            |b| {
                b.jwks_ttl(Duration::from_millis(ttl_ms))
                    .jwks_ttl_bounds(Duration::from_millis(100), Duration::from_secs(2))
                    .jwks_max_staleness(Duration::from_millis(stale_ms))
                    .jwks_connect_timeout(Duration::from_millis(300))
                    .jwks_timeout(Duration::from_millis(300))
                    .jwks_backoff(Duration::from_millis(100), Duration::from_millis(200))
            },
        );
        let token = issuer.access_token(CLIENT).sign();
        let fetched = std::time::Instant::now();
        verifier.verify(&token).await.unwrap();
        verifier.verify(&token).await.unwrap();
        server.stop();

        // Inside the staleness bound: the cached token verifies.
        tokio::time::sleep(Duration::from_millis(stale_ms / 2)).await;
        assert!(verifier.verify_cached(&token).is_ok(), "ttl {ttl_ms} ms");
        assert!(
            fetched.elapsed() < Duration::from_millis(stale_ms - 50),
            "too slow to check"
        );
        assert!(verifier.status().token_cache.hits >= 1);

        // Past it: the keys are unusable, for cached tokens too.
        let past = Duration::from_millis(stale_ms + 100);
        tokio::time::sleep(past.saturating_sub(fetched.elapsed())).await;
        let err = verifier.verify_cached(&token).unwrap_err();
        assert_eq!(err.kind(), "jwks_not_cached", "ttl {ttl_ms} ms");
        assert_eq!(kind_of(&verifier, &token).await, "jwks_unavailable");
    }
}

#[test]
fn a_refresh_due_while_the_runtime_shuts_down_never_deadlocks() {
    let common::Hydrated {
        runtime,
        issuer,
        verifier,
    } = common::hydrated(|issuer| {
        common::verifier(issuer, access, |b| b.jwks_ttl(Duration::from_millis(50)))
    });
    let token = issuer.access_token(CLIENT).sign();
    std::thread::sleep(Duration::from_millis(100)); // a refresh is due now
    let handle = runtime.handle().clone();
    runtime.shutdown_background();
    // A caller still inside the runtime's context (a blocking thread that
    // outlives it): the refresh it starts cannot run, and must not hang it.
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _context = handle.enter();
        let first = verifier.verify_cached(&token).map(|c| c.sub().to_owned());
        let second = verifier.verify_cached(&token).map(|c| c.sub().to_owned());
        let _ = done.send((first, second));
    });
    let (first, second) = finished
        .recv_timeout(Duration::from_secs(10))
        .expect("verify_cached returned instead of deadlocking");
    assert!(first.is_ok() && second.is_ok(), "{first:?} {second:?}");
    drop(issuer);
}
