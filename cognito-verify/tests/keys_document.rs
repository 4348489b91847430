//! Keys from a JWKS document given at build time: verification with no
//! fetch (cold starts, networks that cannot reach Cognito), refreshed over
//! the network afterwards unless the pool is offline.

mod common;

use std::time::Duration;

use cognito_verify::testing::LocalIssuer;
use cognito_verify::{PoolConfig, TokenUse, Verifier};
use common::{CLIENT, kind_of};
use serde_json::json;

fn pool(issuer: &LocalIssuer) -> PoolConfig {
    issuer
        .pool_config()
        .client_id(CLIENT)
        .token_use(TokenUse::Access)
}

#[tokio::test]
async fn an_offline_pool_verifies_with_the_documents_keys_only() {
    let issuer = LocalIssuer::start().await.unwrap();
    let document = issuer.jwks().to_string();
    let verifier = Verifier::builder()
        .pool(pool(&issuer).jwks_document(document).offline())
        .jwks_max_staleness(Duration::from_millis(1))
        .build()
        .unwrap();
    let token = issuer.access_token(CLIENT).sub("u1").sign();
    // At once, synchronously, with no fetch.
    assert_eq!(verifier.verify_cached(&token).unwrap().sub(), "u1");
    verifier.hydrate().await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        verifier.verify(&token).await.unwrap().sub(),
        "u1",
        "never stale"
    );
    // Another kid is unknown, and nothing is fetched for it.
    issuer.rotate_key();
    let rotated = issuer.access_token(CLIENT).sign();
    assert_eq!(kind_of(&verifier, &rotated).await, "unknown_kid");
    assert_eq!(issuer.jwks_requests(), 0);
    let status = &verifier.status().jwks[0];
    assert!(status.in_use && status.counters.fetches == 0, "{status:?}");
}

#[tokio::test]
async fn a_documents_keys_are_refreshed_over_the_network_unless_offline() {
    let issuer = LocalIssuer::start().await.unwrap();
    let document = issuer.jwks().to_string();
    let verifier = Verifier::builder()
        .pool(pool(&issuer).jwks_document(document))
        .jwks_ttl(Duration::from_millis(200))
        .jwks_min_refetch_interval(Duration::ZERO)
        .build()
        .unwrap();
    let token = issuer.access_token(CLIENT).sign();
    verifier.verify_cached(&token).unwrap();
    assert_eq!(issuer.jwks_requests(), 0);
    // A new kid is fetched, as for keys that came from the network.
    issuer.rotate_key();
    verifier
        .verify(&issuer.access_token(CLIENT).sign())
        .await
        .unwrap();
    assert_eq!(issuer.jwks_requests(), 1);
}

#[tokio::test]
async fn a_jwks_file_is_read_at_build_time() {
    let issuer = LocalIssuer::start().await.unwrap();
    let path =
        std::env::temp_dir().join(format!("cognito-verify-test-{}.json", std::process::id()));
    std::fs::write(&path, issuer.jwks().to_string()).unwrap();
    let verifier = Verifier::builder()
        .pool(pool(&issuer).jwks_file(&path).offline())
        .build()
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    verifier
        .verify_cached(issuer.access_token(CLIENT).sign())
        .unwrap();
}

#[tokio::test]
async fn unusable_documents_are_configuration_errors() {
    let issuer = LocalIssuer::start().await.unwrap();
    let missing = std::env::temp_dir().join("cognito-verify-test-no-such-file.json");
    for (config, needle) in [
        (pool(&issuer).offline(), "jwks_document"),
        (pool(&issuer).jwks_file(&missing), "cannot read"),
        (pool(&issuer).jwks_document("not json"), "JWKS document"),
        (
            pool(&issuer).jwks_document(json!({"keys": 1}).to_string()),
            "JWKS document",
        ),
        (pool(&issuer).jwks_file("/dev/null"), "not a regular file"),
        (
            pool(&issuer).jwks_document(" ".repeat(70_000)),
            "larger than",
        ),
    ] {
        let err = Verifier::builder().pool(config).build().unwrap_err();
        assert_eq!(err.kind(), "invalid_config");
        assert!(err.to_string().contains(needle), "{needle}: {err}");
    }
}

#[tokio::test]
async fn pools_sharing_a_jwks_url_must_share_its_key_source() {
    let issuer = LocalIssuer::start().await.unwrap();
    let other = LocalIssuer::start().await.unwrap();
    let shared_url = issuer.jwks_url().to_owned();
    // Another issuer whose keys are said to come from the same URL, but
    // from a document: its document would verify the first pool's tokens.
    let online = pool(&issuer);
    let offline = PoolConfig::issuer(other.issuer())
        .client_id(CLIENT)
        .token_use(TokenUse::Access)
        .jwks_url(shared_url.clone())
        .jwks_document(other.jwks().to_string())
        .offline();
    for (first, second) in [(online.clone(), offline.clone()), (offline, online)] {
        let err = Verifier::builder()
            .pool(first)
            .pool(second)
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), "invalid_config");
        assert!(err.to_string().contains("another pool's too"), "{err}");
    }
    // The same source is fine.
    let same = PoolConfig::issuer(other.issuer())
        .client_id(CLIENT)
        .token_use(TokenUse::Access)
        .jwks_url(shared_url);
    Verifier::builder()
        .pool(pool(&issuer))
        .pool(same)
        .build()
        .unwrap();
}
