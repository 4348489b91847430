//! The ALB verifier end to end: tokens shaped like `x-amzn-oidc-data`,
//! signed with P-256 at test time, their public keys served as PEM over
//! real HTTP by `LocalAlb`. Each refusal changes one thing of a valid token.

use std::time::Duration;

use cognito_verify::testing::LocalAlb;
use cognito_verify::{AlbVerifier, Error};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn kind(verifier: &AlbVerifier, token: &str) -> &'static str {
    verifier
        .verify(token)
        .await
        .err()
        .map_or("ok", |e| e.kind())
}

#[tokio::test]
async fn a_valid_token_verifies_and_its_key_is_fetched_once() {
    let alb = LocalAlb::start().await.unwrap();
    let verifier = alb.verifier_builder().build().unwrap();
    let token = alb
        .token()
        .sub("alice")
        .claim("email", json!("alice@example.com"))
        .claim("name", json!("Alice"))
        .sign();
    assert!(token.contains('='), "ALB pads its segments: {token}");
    assert!(
        verifier.try_verify_cached(&token).is_none(),
        "the key is not cached yet"
    );
    let claims = verifier.verify(&token).await.unwrap();
    assert_eq!(claims.sub(), "alice");
    assert_eq!(claims.email(), Some("alice@example.com"));
    assert_eq!(claims.name(), Some("Alice"));
    assert_eq!(claims.claim("email_verified"), Some(&json!("true")));
    assert_eq!(claims.load_balancer_arn(), alb.arn());
    assert_eq!(claims.client_id(), alb.client_id());
    assert_eq!(claims.issuer(), alb.issuer());
    assert_eq!(claims.kid(), alb.current_kid());
    // Another token with the same kid: from the cached key, no fetch.
    let bob = alb.token().sub("bob").sign();
    assert_eq!(
        verifier.try_verify_cached(&bob).unwrap().unwrap().sub(),
        "bob"
    );
    assert_eq!(verifier.verify(&token).await.unwrap().sub(), "alice");
    assert_eq!(alb.key_requests(), 1);
    // A rotated key is fetched when a token first names it.
    alb.rotate_key();
    let carol = alb.token().sub("carol").sign();
    assert_eq!(verifier.verify(&carol).await.unwrap().sub(), "carol");
    assert_eq!(alb.key_requests(), 2);
}

#[tokio::test]
async fn each_check_refuses_for_its_own_reason() {
    let alb = LocalAlb::start().await.unwrap();
    let verifier = alb.verifier_builder().build().unwrap();
    let other_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/other/0123456789abcdef";
    let cases = [
        ("ok", alb.token().sign()),
        (
            "invalid_signer",
            alb.token().header("signer", json!(other_arn)).sign(),
        ),
        (
            "invalid_client_id",
            alb.token().header("client", json!("another-client")).sign(),
        ),
        (
            "invalid_issuer",
            alb.token()
                .header("iss", json!("https://evil.example"))
                .sign(),
        ),
        (
            "invalid_issuer",
            alb.token()
                .claim("iss", json!("https://evil.example"))
                .sign(),
        ),
        ("expired", alb.token().expires_in(-60).sign()),
        (
            "expired",
            alb.token()
                .claim("exp", json!(cognito_verify::unix_now() - 60))
                .sign(),
        ),
        (
            "not_yet_valid",
            alb.token()
                .claim("nbf", json!(cognito_verify::unix_now() + 600))
                .sign(),
        ),
        (
            "invalid_signature",
            alb.token().signed_with_another_key().sign(),
        ),
        (
            "unsupported_algorithm",
            alb.token().header("alg", json!("RS256")).sign(),
        ),
        (
            "unsupported_algorithm",
            alb.token().header("alg", json!("none")).sign(),
        ),
        (
            "malformed_token",
            alb.token().header("kid", json!("../../keys/evil")).sign(),
        ),
        ("missing_kid", alb.token().header("kid", json!(7)).sign()),
        (
            "malformed_token",
            alb.token().header("exp", json!("soon")).sign(),
        ),
        (
            "malformed_token",
            alb.token().claim("sub", json!("")).sign(),
        ),
        (
            "unknown_kid",
            alb.token()
                .header("kid", json!("00000000-0000-4000-8000-000000000000"))
                .sign(),
        ),
    ];
    for (expected, token) in &cases {
        assert_eq!(kind(&verifier, token).await, *expected, "{token}");
    }
}

#[tokio::test]
async fn padding_is_taken_exactly_where_alb_writes_it() {
    let alb = LocalAlb::start().await.unwrap();
    let verifier = alb.verifier_builder().build().unwrap();
    // Find a token with padding in a segment, then strip it.
    let token = (0..20)
        .map(|i| alb.token().sub(&"u".repeat(i + 1)).sign())
        .find(|t| t.split('.').nth(1).is_some_and(|p| p.ends_with('=')))
        .unwrap();
    assert_eq!(kind(&verifier, &token).await, "ok");
    let stripped = token.replace('=', "");
    assert_eq!(kind(&verifier, &stripped).await, "malformed_token");
    // Padding added where none belongs.
    let mut segments: Vec<String> = token.split('.').map(str::to_owned).collect();
    segments[0].push_str("====");
    assert_eq!(
        kind(&verifier, &segments.join(".")).await,
        "malformed_token"
    );
}

#[tokio::test]
async fn nothing_is_fetched_for_a_foreign_signer_or_a_kid_that_is_no_uuid() {
    let alb = LocalAlb::start().await.unwrap();
    let verifier = alb.verifier_builder().build().unwrap();
    let foreign = alb
        .token()
        .header(
            "signer",
            json!("arn:aws:elasticloadbalancing:us-east-1:999999999999:loadbalancer/app/x/y"),
        )
        .sign();
    assert_eq!(kind(&verifier, &foreign).await, "invalid_signer");
    let path = alb.token().header("kid", json!("..%2f..%2fadmin")).sign();
    assert_eq!(kind(&verifier, &path).await, "malformed_token");
    assert_eq!(alb.key_requests(), 0);
}

#[tokio::test]
async fn fetches_of_new_kids_are_rate_limited_and_failures_remembered() {
    let alb = LocalAlb::start().await.unwrap();
    let verifier = alb.verifier_builder().build().unwrap();
    for i in 0..10 {
        let kid = format!("00000000-0000-4000-8000-{i:012}");
        let token = alb.token().header("kid", json!(kid)).sign();
        assert_eq!(kind(&verifier, &token).await, "unknown_kid");
        // Asked again: remembered, not fetched again.
        assert_eq!(kind(&verifier, &token).await, "unknown_kid");
    }
    assert_eq!(
        alb.key_requests(),
        4,
        "four new kids per interval, each once"
    );
}

/// A made-up key id, unique per `(round, i)`.
fn forged_kid(round: usize, i: usize) -> String {
    format!("{round:08x}-0000-4000-8000-{i:012x}")
}

/// A verifier of `alb`'s tokens whose new-kid budget renews every 50 ms.
fn with_short_interval(alb: &LocalAlb) -> (AlbVerifier, Duration) {
    let interval = Duration::from_millis(50);
    let verifier = alb
        .verifier_builder()
        .key_min_refetch_interval(interval)
        .build()
        .unwrap();
    (verifier, interval)
}

#[tokio::test]
async fn forged_kids_never_push_out_the_load_balancers_real_key() {
    // Anyone who knows the load balancer's ARN can send tokens with fresh
    // UUID kids (no valid signature needed). 40 rounds of 8 such tokens:
    // 160 of them are fetched, far more than the keys kept, and each round
    // spends the whole new-kid budget before a real user's token comes.
    let alb = LocalAlb::start().await.unwrap();
    let (verifier, interval) = with_short_interval(&alb);
    let real = |n: usize| alb.token().sub(&format!("user-{n}")).sign();
    assert_eq!(kind(&verifier, &real(0)).await, "ok");
    for round in 0..40 {
        for i in 0..8 {
            let forged = alb
                .token()
                .header("kid", json!(forged_kid(round, i)))
                .sign();
            assert_eq!(kind(&verifier, &forged).await, "unknown_kid");
        }
        assert_eq!(
            kind(&verifier, &real(round + 1)).await,
            "ok",
            "a real token in round {round}"
        );
        tokio::time::sleep(interval + Duration::from_millis(5)).await;
    }
    assert!(
        alb.key_requests() >= 100,
        "the forged kids were fetched: {}",
        alb.key_requests()
    );
}

#[tokio::test]
async fn a_key_that_verified_before_is_refetched_outside_the_new_kid_budget() {
    let alb = LocalAlb::start().await.unwrap();
    let (verifier, interval) = with_short_interval(&alb);
    let first_kid = alb.current_kid();
    let with_kid = |kid: &str| alb.token().header("kid", json!(kid)).sign();
    assert_eq!(kind(&verifier, &with_kid(&first_kid)).await, "ok");
    // 64 more real keys, each verifying a token: the first key, the
    // oldest, leaves the cache.
    for n in 0..64 {
        let kid = alb.rotate_key();
        if n % 4 == 3 {
            tokio::time::sleep(interval + Duration::from_millis(5)).await;
        }
        assert_eq!(kind(&verifier, &with_kid(&kid)).await, "ok", "key {n}");
    }
    tokio::time::sleep(interval + Duration::from_millis(5)).await;
    let before = alb.key_requests();
    // The budget for new kids is spent...
    for i in 0..4 {
        let forged = with_kid(&forged_kid(99, i));
        assert_eq!(kind(&verifier, &forged).await, "unknown_kid");
    }
    let spent = with_kid(&forged_kid(99, 4));
    assert_eq!(kind(&verifier, &spent).await, "unknown_kid");
    assert_eq!(alb.key_requests(), before + 4, "the fifth was not fetched");
    // ...and the first key, good before, is fetched all the same.
    assert_eq!(kind(&verifier, &with_kid(&first_kid)).await, "ok");
    assert_eq!(alb.key_requests(), before + 5);
}

#[tokio::test]
async fn any_client_is_an_explicit_choice() {
    let alb = LocalAlb::start().await.unwrap();
    let token = alb.token().header("client", json!("another-client")).sign();
    let any = AlbVerifier::builder()
        .load_balancer_arn(alb.arn())
        .issuer(alb.issuer())
        .any_client()
        .key_url(alb.key_url())
        .build()
        .unwrap();
    assert_eq!(kind(&any, &token).await, "ok");
    let unset = AlbVerifier::builder()
        .load_balancer_arn(alb.arn())
        .issuer(alb.issuer())
        .key_url(alb.key_url())
        .build()
        .unwrap_err();
    assert_eq!(unset.kind(), "invalid_config");
    assert!(unset.to_string().contains("any_client"), "{unset}");
}

#[tokio::test]
async fn time_claims_must_be_numeric_dates_and_may_have_a_fraction() {
    let alb = LocalAlb::start().await.unwrap();
    let verifier = alb.verifier_builder().build().unwrap();
    let now = cognito_verify::unix_now();
    let ahead = now + 12 * 3600;
    // The same instant as a number is refused for the time, as a string
    // for the type: never accepted.
    let cases = [
        (
            "not_yet_valid",
            alb.token().claim("nbf", json!(ahead)).sign(),
        ),
        (
            "malformed_token",
            alb.token().claim("nbf", json!(ahead.to_string())).sign(),
        ),
        (
            "malformed_token",
            alb.token().claim("iat", json!(now.to_string())).sign(),
        ),
        (
            "malformed_token",
            alb.token()
                .claim("exp", json!((now + 60).to_string()))
                .sign(),
        ),
        ("ok", alb.token().claim("iat", json!(now)).sign()),
        // One rule for fractions in both verifiers (RFC 7519 §2: a
        // NumericDate is a JSON number, integer or not).
        (
            "ok",
            alb.token().header("exp", json!(now as f64 + 60.5)).sign(),
        ),
        (
            "expired",
            alb.token().header("exp", json!(now as f64 - 0.5)).sign(),
        ),
        (
            "not_yet_valid",
            alb.token().claim("nbf", json!(now as f64 + 30.5)).sign(),
        ),
    ];
    for (expected, token) in cases {
        assert_eq!(kind(&verifier, &token).await, expected, "{token}");
    }
}

#[test]
fn client_ids_together_with_any_client_are_refused_in_either_order() {
    let arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/a/b";
    let base = || AlbVerifier::builder().load_balancer_arn(arn).issuer("i");
    for builder in [
        base().client_id("c1").any_client(),
        base().any_client().client_id("c1"),
    ] {
        let err = builder.build().unwrap_err();
        assert_eq!(err.kind(), "invalid_config");
        let text = err.to_string();
        assert!(
            text.contains("client_id(..)") && text.contains("any_client()"),
            "names both settings: {text}"
        );
        assert!(
            text.contains("--alb-client-id") && text.contains("--alb-any-client"),
            "and both flags: {text}"
        );
    }
}

#[tokio::test]
async fn the_cache_rechecks_expiry_and_leeway_applies() {
    let alb = LocalAlb::start().await.unwrap();
    let verifier = alb
        .verifier_builder()
        .leeway(Duration::from_secs(30))
        .build()
        .unwrap();
    let recent = alb.token().expires_in(-10).sign();
    assert_eq!(kind(&verifier, &recent).await, "ok", "within the leeway");
    let old = alb.token().expires_in(-60).sign();
    assert_eq!(kind(&verifier, &old).await, "expired");
    // Twice (cached at the second), then expired by the clock on a hit.
    let short = alb.token().expires_in(-29).sign();
    for _ in 0..3 {
        assert_eq!(kind(&verifier, &short).await, "ok");
    }
    let hits = |v: &AlbVerifier| v.token_cache_stats().unwrap().hits;
    assert_eq!(
        hits(&verifier),
        1,
        "cached at the second verification, hit at the third"
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(kind(&verifier, &short).await, "expired");
    assert_eq!(
        hits(&verifier),
        2,
        "refused on a hit: the expiry is checked again"
    );
    assert_eq!(kind(&verifier, &short).await, "expired");
    assert_eq!(hits(&verifier), 2, "and the entry is gone");
}

#[test]
fn configuration_mistakes_are_invalid_config() {
    let arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/a/b";
    let china = "arn:aws-cn:elasticloadbalancing:cn-north-1:123456789012:loadbalancer/app/a/b";
    let builds = [
        AlbVerifier::builder().issuer("i").client_id("c"),
        AlbVerifier::builder()
            .load_balancer_arn("not-an-arn")
            .issuer("i")
            .client_id("c"),
        AlbVerifier::builder().load_balancer_arn(arn).client_id("c"),
        AlbVerifier::builder()
            .load_balancer_arn(arn)
            .issuer("i")
            .client_id(""),
        AlbVerifier::builder()
            .load_balancer_arn(china)
            .issuer("i")
            .client_id("c"),
        AlbVerifier::builder()
            .load_balancer_arn(arn)
            .issuer("i")
            .client_id("c")
            .key_url("ftp://x"),
        AlbVerifier::builder()
            .load_balancer_arn(arn)
            .issuer("i")
            .client_id("c")
            .key_fetch_timeout(Duration::ZERO),
    ];
    for builder in builds {
        let shown = format!("{builder:?}");
        assert_eq!(
            builder.build().unwrap_err().kind(),
            "invalid_config",
            "{shown}"
        );
    }
    // China works once the key host is given.
    AlbVerifier::builder()
        .load_balancer_arn(china)
        .issuer("i")
        .client_id("c")
        .key_url("https://keys.example.cn")
        .build()
        .unwrap();
}

/// A key server that answers every request with `response`, as raw HTTP.
async fn hostile_key_server(response: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf).await;
            let _ = stream.write_all(response.as_bytes()).await;
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn hostile_or_dead_key_servers_are_typed_errors() {
    let alb = LocalAlb::start().await.unwrap();
    let token = alb.token().sign();
    let with_keys_at = |url: String| alb.verifier_builder().key_url(url).build().unwrap();
    let not_p256 = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
    let rsa_pem = {
        use aws_lc_rs::encoding::AsDer;
        use aws_lc_rs::signature::KeyPair;
        use base64::Engine;
        let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let der = pair.public_key().as_der().unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
        format!("-----BEGIN PUBLIC KEY-----\n{b64}\n-----END PUBLIC KEY-----\n").leak()
    };
    for (status, body, expected) in [
        ("200 OK", "not a pem", "invalid_key"),
        ("200 OK", not_p256, "invalid_key"),
        ("200 OK", rsa_pem, "invalid_key"),
        ("500 Oops", "", "jwks_unavailable"),
        (
            "302 Found\r\nlocation: http://example.com/",
            "",
            "jwks_unavailable",
        ),
        ("404 Not Found", "", "unknown_kid"),
    ] {
        let response = format!(
            "HTTP/1.1 {status}\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        let verifier = with_keys_at(hostile_key_server(response.leak()).await);
        assert_eq!(kind(&verifier, &token).await, expected, "{status} {body}");
    }
    // A body larger than the cap, announced.
    let huge = "HTTP/1.1 200 OK\r\ncontent-length: 9999999\r\n\r\n";
    let verifier = with_keys_at(hostile_key_server(huge).await);
    assert_eq!(kind(&verifier, &token).await, "invalid_key");
    let dead = with_keys_at("http://127.0.0.1:9".into());
    let err: Error = dead.verify(&token).await.unwrap_err();
    assert_eq!(err.kind(), "jwks_unavailable", "{err}");
}
