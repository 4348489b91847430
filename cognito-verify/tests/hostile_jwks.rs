//! A JWKS endpoint that is slow, down, or lying: every failure is the right
//! error kind within the configured time, memory stays bounded, good keys
//! already cached keep working, and nothing panics.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cognito_verify::testing::LocalIssuer;
use cognito_verify::{TokenUse, Verifier, VerifierBuilder};
use common::{CLIENT, FixedServer, Reply, access, dead_url, kind_of};
use serde_json::{Value, json};

const CONNECT_TIMEOUT: Duration = Duration::from_millis(300);
const TIMEOUT: Duration = Duration::from_millis(700);
/// What "within the configured time" means here: the whole-request timeout
/// plus scheduling slack.
const BOUND: Duration = Duration::from_secs(3);

fn quick(builder: VerifierBuilder) -> VerifierBuilder {
    builder
        .jwks_connect_timeout(CONNECT_TIMEOUT)
        .jwks_timeout(TIMEOUT)
        .token_cache_capacity(0)
        .jwks_min_refetch_interval(Duration::ZERO)
        .jwks_backoff(Duration::from_millis(1), Duration::from_millis(1))
}

fn verifier_for(issuer: &LocalIssuer, url: &str) -> Verifier {
    quick(Verifier::builder())
        .pool(
            issuer
                .pool_config()
                .client_id(CLIENT)
                .token_use(TokenUse::Access)
                .jwks_url(url),
        )
        .build()
        .unwrap()
}

/// A JWKS with an RSA key whose `n` is another modulus, under `kid`.
fn jwk_like(issuer: &LocalIssuer, kid: &str) -> Value {
    let mut jwk = issuer.current_jwk();
    jwk["kid"] = json!(kid);
    jwk
}

fn other_modulus_jwk(kid: &str) -> Value {
    let mut n = vec![0xB5u8; 256];
    n[255] |= 1;
    json!({"kid": kid, "kty": "RSA", "alg": "RS256", "use": "sig", "n": URL_SAFE_NO_PAD.encode(n), "e": "AQAB"})
}

/// The hostile cases: a name, what the server does, and the kind expected.
fn cases(issuer: &LocalIssuer) -> Vec<(&'static str, Reply, &'static str)> {
    let kid = issuer.current_kid();
    let good = issuer.jwks().to_string().into_bytes();
    let many: Vec<Value> = (0..10_000)
        .map(|i| other_modulus_jwk(&format!("k{i}")))
        .collect();
    vec![
        ("headers delayed past the timeout", Reply::ok(good.clone()).delayed(Duration::from_secs(3)), "jwks_unavailable"),
        ("body trickled one byte at a time", Reply::Trickle { body: good.clone(), per_byte: Duration::from_millis(5) }, "jwks_unavailable"),
        ("connection closed mid-body", Reply::CloseMidBody { body: good.clone() }, "jwks_unavailable"),
        ("HTTP 500", Reply::status(500), "jwks_unavailable"),
        ("HTTP 404", Reply::status(404), "jwks_unavailable"),
        ("HTTP 302 to another host", Reply::status(302).header("location", "http://other-host.invalid/jwks.json"), "jwks_unavailable"),
        ("invalid JSON", Reply::ok(&b"{\"keys\": [ {"[..]), "invalid_jwks"),
        ("a JSON array", Reply::ok(&b"[{\"kid\":\"x\"}]"[..]), "invalid_jwks"),
        ("keys is a number", Reply::ok(&b"{\"keys\": 1}"[..]), "invalid_jwks"),
        ("a 10 MB body with its length", Reply::ok(vec![b' '; 10 << 20]), "invalid_jwks"),
        ("a 10 MB body streamed without a length", Reply::Stream { total: 10 << 20 }, "invalid_jwks"),
        ("10,000 keys", Reply::ok(json!({ "keys": many }).to_string()), "invalid_jwks"),
        (
            "duplicate kids with different keys",
            Reply::ok(json!({"keys": [jwk_like(issuer, &kid), other_modulus_jwk(&kid)]}).to_string()),
            "invalid_key",
        ),
        (
            "the token's key, another key, then the token's key again under one kid",
            Reply::ok(json!({"keys": [jwk_like(issuer, &kid), other_modulus_jwk(&kid), jwk_like(issuer, &kid)]}).to_string()),
            "invalid_key",
        ),
        (
            "the token's key without n and e",
            Reply::ok(json!({"keys": [{"kid": kid, "kty": "RSA", "alg": "RS256", "use": "sig"}]}).to_string()),
            "invalid_key",
        ),
        (
            "an oct key under the token's kid",
            Reply::ok(json!({"keys": [{"kid": kid, "kty": "oct", "k": URL_SAFE_NO_PAD.encode(b"secret")}]}).to_string()),
            "invalid_key",
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_verifier_gets_the_right_kind_in_time_for_every_hostile_reply() {
    let issuer = LocalIssuer::start().await.unwrap();
    let token = issuer.access_token(CLIENT).sign();
    for (name, reply, kind) in cases(&issuer) {
        let server = FixedServer::start(move |_| reply.clone()).await;
        let verifier = verifier_for(&issuer, &server.url);
        let started = Instant::now();
        let err = verifier.verify(&token).await.expect_err(name);
        let took = started.elapsed();
        assert_eq!(err.kind(), kind, "{name}: {err}");
        assert!(took < BOUND, "{name}: took {took:?}");
        if name.starts_with("a 10 MB") {
            let sent = server.bytes_sent.load(Ordering::SeqCst);
            assert!(
                sent < 4 << 20,
                "{name}: the server got {sent} bytes out; the cap must stop the read"
            );
        }
        eprintln!("{name}: {kind} in {took:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_good_keys_keep_working_through_every_hostile_refetch() {
    let issuer = LocalIssuer::start().await.unwrap();
    let good_token = issuer.access_token(CLIENT).sign();
    let good = issuer.jwks().to_string().into_bytes();
    for (name, reply, kind) in cases(&issuer) {
        let good = good.clone();
        // The first request gets the good key set, every later one the hostile reply.
        let server = FixedServer::start(move |n| {
            if n == 0 {
                Reply::ok(good.clone())
            } else {
                reply.clone()
            }
        })
        .await;
        let verifier = verifier_for(&issuer, &server.url);
        verifier.verify(&good_token).await.unwrap();
        // A token with an unknown kid makes the verifier refetch, into the hostile reply.
        let unknown = issuer
            .access_token(CLIENT)
            .header("kid", json!("rotated-in"))
            .sign();
        let started = Instant::now();
        let err = verifier.verify(&unknown).await.expect_err(name);
        assert!(started.elapsed() < BOUND, "{name}");
        let expected = if kind == "invalid_key" {
            "unknown_kid"
        } else {
            kind
        };
        assert_eq!(err.kind(), expected, "{name}: {err}");
        assert!(server.requests() >= 2, "{name}: the refetch happened");
        if kind == "invalid_key" {
            // The fetch succeeded: a key set that parses is the issuer's word and
            // replaces the old one, here leaving the token's kid unusable.
            assert_eq!(
                kind_of(&verifier, &good_token).await,
                "invalid_key",
                "{name}"
            );
        } else {
            // The fetch failed: the good set is still in use (the token cache is
            // off, so this is a real verification).
            verifier
                .verify(&good_token)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}

#[tokio::test]
async fn an_oct_key_never_displaces_the_rsa_key_of_the_same_kid() {
    let issuer = LocalIssuer::start().await.unwrap();
    let kid = issuer.current_kid();
    let body = json!({"keys": [
        {"kid": kid, "kty": "oct", "k": URL_SAFE_NO_PAD.encode(b"secret")},
        issuer.current_jwk(),
    ]})
    .to_string();
    let server = FixedServer::start(move |_| Reply::ok(body.clone())).await;
    let verifier = verifier_for(&issuer, &server.url);
    verifier
        .verify(&issuer.access_token(CLIENT).sign())
        .await
        .unwrap();
    let hs256 = issuer
        .access_token(CLIENT)
        .header("alg", json!("HS256"))
        .sign();
    assert_eq!(kind_of(&verifier, &hs256).await, "unsupported_algorithm");
}

#[tokio::test]
async fn a_cold_start_against_a_dead_endpoint_fails_fast_then_recovers() {
    let issuer = LocalIssuer::start().await.unwrap();
    let url = dead_url().await;
    let verifier = common::verifier(
        &issuer,
        |p| access(p).jwks_url(url.clone()),
        |b| {
            b.jwks_connect_timeout(CONNECT_TIMEOUT)
                .jwks_timeout(TIMEOUT)
                .jwks_backoff(Duration::from_millis(300), Duration::from_millis(300))
        },
    );
    let token = issuer.access_token(CLIENT).sign();
    for _ in 0..20 {
        let started = Instant::now();
        assert_eq!(kind_of(&verifier, &token).await, "jwks_unavailable");
        assert!(started.elapsed() < BOUND);
    }
    assert_eq!(
        verifier.status().jwks[0].counters.fetches,
        1,
        "one attempt per backoff step"
    );

    // The endpoint comes up on that address.
    let jwks = issuer.jwks().to_string();
    let addr: std::net::SocketAddr = url
        .trim_start_matches("http://")
        .trim_end_matches("/jwks.json")
        .parse()
        .unwrap();
    let _server = common::FixedServer::start_on(addr, move |_| Reply::ok(jwks.clone())).await;
    tokio::time::sleep(Duration::from_millis(350)).await;
    verifier.verify(&token).await.unwrap();
}

#[tokio::test]
async fn a_key_removed_upstream_stops_verifying_after_the_next_refresh() {
    let issuer = LocalIssuer::start().await.unwrap();
    let verifier = common::verifier(&issuer, access, |b| {
        b.jwks_ttl(Duration::from_millis(200))
            .jwks_ttl_bounds(Duration::from_millis(100), Duration::from_secs(1))
    });
    let old_kid = issuer.current_kid();
    let cached = issuer.access_token(CLIENT).sign();
    verifier.verify(&cached).await.unwrap();
    issuer.rotate_key();
    issuer.remove_key(&old_kid);
    // Until the refresh, the old key is still the cached one.
    verifier.verify(&cached).await.unwrap();
    tokio::time::sleep(Duration::from_millis(250)).await;
    // This call finds the set due and starts the refresh in the background.
    let _ = verifier.verify(&cached).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!verifier.status().jwks[0].kids.contains(&old_kid));
    assert_eq!(
        kind_of(&verifier, &cached).await,
        "unknown_kid",
        "the token cache dropped it too"
    );
    let fresh_old = issuer.access_token(CLIENT).signed_by(&old_kid).sign();
    assert_eq!(kind_of(&verifier, &fresh_old).await, "unknown_kid");
    verifier
        .verify(&issuer.access_token(CLIENT).sign())
        .await
        .unwrap();
}

#[tokio::test]
async fn cache_control_max_age_sets_the_ttl_within_bounds() {
    let issuer = LocalIssuer::start().await.unwrap();
    for (header, expected) in [
        (None, Duration::from_secs(7)),
        (Some("public, max-age=3"), Duration::from_secs(3)),
        (Some("max-age=0"), Duration::from_secs(1)),
        (Some("no-store"), Duration::from_secs(1)),
        (Some("max-age=999999"), Duration::from_secs(60)),
    ] {
        let jwks = issuer.jwks().to_string();
        let server = FixedServer::start(move |_| match header {
            Some(h) => Reply::ok(jwks.clone()).header("cache-control", h),
            None => Reply::ok(jwks.clone()),
        })
        .await;
        let verifier = common::verifier(
            &issuer,
            |p| access(p).jwks_url(server.url.clone()),
            |b| {
                b.jwks_ttl(Duration::from_secs(7))
                    .jwks_ttl_bounds(Duration::from_secs(1), Duration::from_secs(60))
            },
        );
        verifier.hydrate().await.unwrap();
        assert_eq!(verifier.status().jwks[0].ttl, Some(expected), "{header:?}");
    }
}

/// A token with a random-looking unknown kid, made without signing: only
/// its header differs from `token`.
fn with_kid(token: &str, kid: &str) -> String {
    let (_, rest) = token.split_once('.').unwrap();
    let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"RS256","kid":"{kid}"}}"#));
    format!("{header}.{rest}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_unknown_kids_against_a_live_endpoint_cause_at_most_two_fetches() {
    let issuer = LocalIssuer::start().await.unwrap();
    let verifier = common::verifier(&issuer, access, |b| b);
    verifier.hydrate().await.unwrap();
    let token = issuer.access_token(CLIENT).sign();
    let tasks: Vec<_> = (0..10_000)
        .map(|i| {
            let (verifier, forged) = (verifier.clone(), with_kid(&token, &format!("kid-{i:05}")));
            tokio::spawn(async move { verifier.verify(&forged).await.unwrap_err().kind() })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), "unknown_kid");
    }
    assert!(
        issuer.jwks_requests() <= 2,
        "{} fetches",
        issuer.jwks_requests()
    );
    let counters = verifier.status().jwks[0].counters;
    assert_eq!(
        counters.unknown_kid_refetches + counters.rate_limited,
        10_000
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_requests_against_a_dead_endpoint_follow_the_backoff() {
    let issuer = LocalIssuer::start().await.unwrap();
    let dead = dead_url().await;
    let verifier = common::verifier(
        &issuer,
        |p| access(p).jwks_url(dead),
        |b| {
            b.jwks_connect_timeout(CONNECT_TIMEOUT)
                .jwks_backoff(Duration::from_millis(100), Duration::from_secs(1))
        },
    );
    let token = issuer.access_token(CLIENT).sign();
    let started = Instant::now();
    let tasks: Vec<_> = (0..10_000)
        .map(|i| {
            let (verifier, forged) = (
                verifier.clone(),
                with_kid(&token, &format!("kid-{}", i % 7)),
            );
            tokio::spawn(async move { verifier.verify(&forged).await.unwrap_err().kind() })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), "jwks_unavailable");
    }
    let elapsed = started.elapsed();
    // Backoff steps of at least 50, 100, 200, 400, 500, 500… ms (jittered
    // halves): the attempts that fit in the elapsed time, plus the first.
    let mut budget = elapsed;
    let mut allowed = 1;
    let mut step = Duration::from_millis(50);
    while budget >= step {
        budget -= step;
        allowed += 1;
        step = (step * 2).min(Duration::from_millis(500));
    }
    let fetches = verifier.status().jwks[0].counters.fetches;
    assert!(
        fetches <= allowed,
        "{fetches} fetches in {elapsed:?}; the backoff allows {allowed}"
    );
    eprintln!("dead endpoint: 10,000 requests in {elapsed:?}, {fetches} fetch attempts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widest_settings_and_a_huge_max_age_never_overflow() {
    let year = Duration::from_secs(365 * 86_400);
    let issuer = LocalIssuer::start().await.unwrap();
    let good = issuer.jwks().to_string().into_bytes();
    let server = FixedServer::start(move |_| {
        Reply::ok(good.clone()).header("cache-control", "max-age=18446744073709551615")
    })
    .await;
    let verifier = common::verifier(
        &issuer,
        |p| access(p).jwks_url(server.url.clone()),
        |b| {
            b.leeway(year)
                .jwks_ttl(year)
                .jwks_ttl_bounds(Duration::from_secs(1), year)
                .jwks_max_staleness(year)
                .jwks_backoff(year, year)
                .jwks_min_refetch_interval(year)
        },
    );
    let token = issuer.access_token(CLIENT).sign();
    for _ in 0..3 {
        verifier.verify(&token).await.unwrap();
        verifier.verify_cached(&token).unwrap();
    }
    let far = issuer
        .access_token(CLIENT)
        .claim("exp", json!(i64::MAX))
        .sign();
    verifier.verify(&far).await.unwrap();
    verifier.verify(&far).await.unwrap();
    let unknown = issuer
        .access_token(CLIENT)
        .header("kid", json!("unknown"))
        .sign();
    for _ in 0..3 {
        assert_eq!(kind_of(&verifier, &unknown).await, "unknown_kid");
    }
    assert_eq!(
        verifier.status().jwks[0].ttl,
        Some(year),
        "max-age clamped to the bound"
    );
}
