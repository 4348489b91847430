//! The real Cognito URLs, served on 127.0.0.1 over TLS (a certificate
//! authority made at test time) and reached through
//! `VerifierBuilder::http_client`: a pool of either issuer type starts and
//! verifies, and a key set no token names is never fetched.

mod common;

use std::time::{Duration, Instant};

use cognito_verify::testing::LocalIssuer;
use cognito_verify::{IssuerType, PoolConfig, TokenUse, Verifier, VerifierBuilder};
use common::tls::Hosts;
use common::{CLIENT, Reply, kind_of};
use serde_json::json;

const POOL: &str = "us-east-1_RealHost1";
const ORIGINAL: &str = "cognito-idp.us-east-1.amazonaws.com";
const UPDATED: &str = "issuer-cognito-idp.us-east-1.amazonaws.com";

fn jwks_path() -> String {
    format!("/{POOL}/.well-known/jwks.json")
}

/// Both hosts of the pool: the ORIGINAL one serves the keys; the UPDATED
/// one serves them too when the pool has switched, else answers 403 as
/// Cognito does.
async fn pool_hosts(issuer: &LocalIssuer, switched: bool) -> Hosts {
    let jwks = issuer.jwks().to_string();
    Hosts::start(&[ORIGINAL, UPDATED], move |host, path| {
        match (host, path == jwks_path()) {
            (ORIGINAL, true) => Reply::ok(jwks.clone()),
            (UPDATED, true) if switched => Reply::ok(jwks.clone()),
            (UPDATED, _) => Reply::ok(r#"{"message":"Forbidden"}"#).status_code(403),
            _ => Reply::status(404),
        }
    })
    .await
}

fn verifier(
    hosts: &Hosts,
    pool: PoolConfig,
    tweak: impl FnOnce(VerifierBuilder) -> VerifierBuilder,
) -> Verifier {
    let pool = pool.client_id(CLIENT).token_use(TokenUse::Access);
    tweak(Verifier::builder().pool(pool).http_client(hosts.client()))
        .build()
        .unwrap()
}

fn updated_issuer() -> String {
    format!("https://{UPDATED}/{POOL}")
}

#[tokio::test]
async fn an_original_pool_starts_although_its_updated_endpoint_answers_403() {
    let issuer = LocalIssuer::start_for_pool(POOL).await.unwrap();
    let hosts = pool_hosts(&issuer, false).await;
    let verifier = verifier(&hosts, PoolConfig::new(POOL), |b| {
        b.jwks_backoff(Duration::from_secs(30), Duration::from_secs(60))
    });
    verifier.hydrate().await.unwrap();
    assert_eq!(
        (hosts.requests_to(ORIGINAL), hosts.requests_to(UPDATED)),
        (1, 0)
    );
    let token = issuer.access_token(CLIENT).sub("u1").sign();
    assert_eq!(
        verifier.verify(&token).await.unwrap().iss(),
        format!("https://{ORIGINAL}/{POOL}")
    );
    verifier.verify_cached(&token).unwrap();
    let status = verifier.status();
    let in_use: Vec<(bool, &str)> = status
        .jwks
        .iter()
        .map(|j| (j.in_use, j.url.as_str()))
        .collect();
    assert_eq!(
        in_use,
        [
            (true, format!("https://{ORIGINAL}{}", jwks_path()).as_str()),
            (false, format!("https://{UPDATED}{}", jwks_path()).as_str()),
        ]
    );

    // A token naming the UPDATED issuer makes one fetch, which fails (403);
    // more such tokens wait for the backoff instead of fetching again.
    let other = issuer
        .access_token(CLIENT)
        .claim("iss", json!(updated_issuer()))
        .sign();
    for _ in 0..5 {
        assert_eq!(kind_of(&verifier, &other).await, "jwks_unavailable");
    }
    assert_eq!(hosts.requests_to(UPDATED), 1);
    // The pool's own tokens are untouched, and start-up still succeeds.
    verifier
        .verify(&issuer.access_token(CLIENT).sign())
        .await
        .unwrap();
    verifier.hydrate().await.unwrap();
    assert_eq!(hosts.requests_to(UPDATED), 1);
}

#[tokio::test]
async fn an_updated_pool_verifies_tokens_of_its_updated_issuer() {
    let issuer = LocalIssuer::start_for_pool(POOL).await.unwrap();
    let hosts = pool_hosts(&issuer, true).await;
    let token = issuer
        .access_token(CLIENT)
        .claim("iss", json!(updated_issuer()))
        .sign();
    // Issuer type unknown (both): the UPDATED key set is fetched on first use.
    let both = verifier(&hosts, PoolConfig::new(POOL), |b| b);
    both.hydrate().await.unwrap();
    assert_eq!(hosts.requests_to(UPDATED), 0);
    assert_eq!(both.verify(&token).await.unwrap().iss(), updated_issuer());
    assert_eq!(hosts.requests_to(UPDATED), 1);
    assert!(both.status().jwks.iter().all(|j| j.in_use));

    // Issuer type UPDATED: only that issuer, only its keys.
    let updated = verifier(
        &hosts,
        PoolConfig::new(POOL).issuer_type(IssuerType::Updated),
        |b| b,
    );
    let original_before = hosts.requests_to(ORIGINAL);
    updated.hydrate().await.unwrap();
    updated.verify_cached(&token).unwrap();
    let original_token = issuer.access_token(CLIENT).sign();
    assert_eq!(kind_of(&updated, &original_token).await, "invalid_issuer");
    assert_eq!(
        hosts.requests_to(ORIGINAL),
        original_before,
        "never fetched"
    );
}

#[tokio::test]
async fn hydrate_falls_back_to_the_updated_keys_when_the_original_ones_are_missing() {
    let issuer = LocalIssuer::start_for_pool(POOL).await.unwrap();
    let jwks = issuer.jwks().to_string();
    let hosts = Hosts::start(&[ORIGINAL, UPDATED], move |host, path| {
        match (host, path == jwks_path()) {
            (UPDATED, true) => Reply::ok(jwks.clone()),
            _ => Reply::status(403),
        }
    })
    .await;
    let verifier = verifier(&hosts, PoolConfig::new(POOL), |b| b);
    verifier.hydrate().await.unwrap();
    assert_eq!(
        (hosts.requests_to(ORIGINAL), hosts.requests_to(UPDATED)),
        (1, 1)
    );
    let token = issuer
        .access_token(CLIENT)
        .claim("iss", json!(updated_issuer()))
        .sign();
    verifier.verify_cached(&token).unwrap();
    // Neither host: start-up fails with the ORIGINAL issuer's error.
    let dead = Hosts::start(&[ORIGINAL, UPDATED], |_, _| Reply::status(403)).await;
    let err = verifier_for_hosts(&dead).hydrate().await.unwrap_err();
    assert_eq!(err.kind(), "jwks_unavailable");
    assert!(err.to_string().contains(ORIGINAL), "{err}");
}

fn verifier_for_hosts(hosts: &Hosts) -> Verifier {
    verifier(hosts, PoolConfig::new(POOL), |b| b)
}

#[tokio::test]
async fn an_original_only_pool_refuses_the_updated_issuer_without_fetching() {
    let issuer = LocalIssuer::start_for_pool(POOL).await.unwrap();
    let hosts = pool_hosts(&issuer, true).await;
    let original = verifier(
        &hosts,
        PoolConfig::new(POOL).issuer_type(IssuerType::Original),
        |b| b,
    );
    original.hydrate().await.unwrap();
    original
        .verify(&issuer.access_token(CLIENT).sign())
        .await
        .unwrap();
    let token = issuer
        .access_token(CLIENT)
        .claim("iss", json!(updated_issuer()))
        .sign();
    assert_eq!(kind_of(&original, &token).await, "invalid_issuer");
    assert_eq!(hosts.requests_to(UPDATED), 0);
    assert_eq!(original.issuers(), [format!("https://{ORIGINAL}/{POOL}")]);
}

#[tokio::test]
async fn a_users_client_keeps_the_timeout_and_never_trusts_a_redirect() {
    let issuer = LocalIssuer::start_for_pool(POOL).await.unwrap();
    let jwks = issuer.jwks().to_string();
    let hosts = Hosts::start(&[ORIGINAL, UPDATED], move |host, path| match host {
        // The ORIGINAL host redirects to a copy of the keys elsewhere.
        ORIGINAL => Reply::status(302).header("location", &format!("https://{UPDATED}{path}")),
        _ => Reply::ok(jwks.clone()),
    })
    .await;
    let token = issuer.access_token(CLIENT).sign();
    // A client that follows redirects, as reqwest's default does.
    let following = hosts.client_builder().build().unwrap();
    let verifier = Verifier::builder()
        .pool(
            PoolConfig::new(POOL)
                .issuer_type(IssuerType::Original)
                .client_id(CLIENT)
                .token_use(TokenUse::Access),
        )
        .http_client(following)
        .build()
        .unwrap();
    let err = verifier.verify(&token).await.unwrap_err();
    assert_eq!(err.kind(), "jwks_unavailable");
    assert!(err.to_string().contains("redirect"), "{err}");
    assert_eq!(hosts.requests_to(UPDATED), 1, "the client did follow it");

    // A slow key server: the verifier's timeout holds on a client without one.
    let slow = Hosts::start(&[ORIGINAL], move |_, _| {
        Reply::status(200).delayed(Duration::from_secs(5))
    })
    .await;
    let verifier = verifier_with_timeout(&slow);
    let started = Instant::now();
    let err = verifier.verify(&token).await.unwrap_err();
    // The fetch itself timed out (not merely the caller's wait for it).
    assert!(err.to_string().contains("timed out"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

fn verifier_with_timeout(hosts: &Hosts) -> Verifier {
    verifier(
        hosts,
        PoolConfig::new(POOL).issuer_type(IssuerType::Original),
        |b| b.jwks_timeout(Duration::from_millis(400)),
    )
}

#[tokio::test]
async fn a_replica_regions_tokens_verify_only_when_that_region_is_configured() {
    const REPLICA: &str = "cognito-idp.us-west-2.amazonaws.com";
    let issuer = LocalIssuer::start_for_pool(POOL).await.unwrap();
    let jwks = issuer.jwks().to_string();
    let hosts = Hosts::start(&[ORIGINAL, UPDATED, REPLICA], move |host, path| {
        match (host, path == jwks_path()) {
            (ORIGINAL | REPLICA, true) => Reply::ok(jwks.clone()),
            _ => Reply::status(403),
        }
    })
    .await;
    let replica_issuer = format!("https://{REPLICA}/{POOL}");
    let token = issuer
        .access_token(CLIENT)
        .claim("iss", json!(replica_issuer))
        .sign();
    let without = verifier(&hosts, PoolConfig::new(POOL), |b| b);
    assert_eq!(kind_of(&without, &token).await, "invalid_issuer");
    let with = verifier(
        &hosts,
        PoolConfig::new(POOL).replica_regions(["us-west-2"]),
        |b| b,
    );
    let hydrated = with.hydrate().await.unwrap();
    assert!(hydrated.not_fetched.is_empty(), "{hydrated:?}");
    assert_eq!(hosts.requests_to(REPLICA), 1, "fetched at start-up");
    assert_eq!(with.verify_cached(&token).unwrap().iss(), replica_issuer);
    assert_eq!(hosts.requests_to(REPLICA), 1);
    // Another replica region is still refused.
    let other = issuer
        .access_token(CLIENT)
        .claim(
            "iss",
            json!(format!(
                "https://cognito-idp.eu-west-1.amazonaws.com/{POOL}"
            )),
        )
        .sign();
    assert_eq!(kind_of(&with, &other).await, "invalid_issuer");
}

#[tokio::test]
async fn china_and_european_sovereign_cloud_pools_use_their_partitions_hosts() {
    for (pool, host) in [
        (
            "cn-north-1_Partition1",
            "cognito-idp.cn-north-1.amazonaws.com.cn",
        ),
        (
            "eusc-de-east-1_Partition1",
            "cognito-idp.eusc-de-east-1.amazonaws.eu",
        ),
    ] {
        let issuer = LocalIssuer::start_for_pool(pool).await.unwrap();
        assert_eq!(issuer.issuer(), format!("https://{host}/{pool}"));
        let jwks = issuer.jwks().to_string();
        let path = format!("/{pool}/.well-known/jwks.json");
        let hosts = Hosts::start(&[host], move |_, p| match p == path {
            true => Reply::ok(jwks.clone()),
            false => Reply::status(404),
        })
        .await;
        let verifier = Verifier::builder()
            .pool(
                PoolConfig::new(pool)
                    .client_id(CLIENT)
                    .token_use(TokenUse::Access),
            )
            .http_client(hosts.client())
            .build()
            .unwrap();
        verifier.hydrate().await.unwrap();
        let claims = verifier
            .verify(&issuer.access_token(CLIENT).sign())
            .await
            .unwrap();
        assert_eq!(claims.iss(), issuer.issuer());
        assert_eq!(hosts.requests_to(host), 1, "{pool}");
    }
}

#[tokio::test]
async fn a_stated_dns_suffix_replaces_the_partitions_default() {
    // Should a partition's issuer host differ from its SDK suffix, the user
    // states it: here an eusc pool whose tokens name an amazonaws.com host.
    const POOL_EU: &str = "eusc-de-east-1_Stated1";
    const HOST: &str = "cognito-idp.eusc-de-east-1.amazonaws.com";
    let issuer = LocalIssuer::start_for_pool(POOL_EU).await.unwrap();
    let jwks = issuer.jwks().to_string();
    let hosts = Hosts::start(&[HOST], move |_, _| Reply::ok(jwks.clone())).await;
    let token = issuer
        .access_token(CLIENT)
        .claim("iss", json!(format!("https://{HOST}/{POOL_EU}")))
        .sign();
    let default = verifier(&hosts, PoolConfig::new(POOL_EU), |b| b);
    assert_eq!(kind_of(&default, &token).await, "invalid_issuer");
    let stated = verifier(
        &hosts,
        PoolConfig::new(POOL_EU).dns_suffix("amazonaws.com"),
        |b| b,
    );
    stated.hydrate().await.unwrap();
    stated.verify(&token).await.unwrap();
}

const REPLICA_WEST: &str = "cognito-idp.us-west-2.amazonaws.com";

/// The pool's hosts when its primary region is down (both issuers' hosts
/// answer 503) and its replica in us-west-2 serves the keys.
async fn primary_down_replica_up(issuer: &LocalIssuer) -> Hosts {
    let jwks = issuer.jwks().to_string();
    Hosts::start(
        &[ORIGINAL, UPDATED, REPLICA_WEST],
        move |host, path| match (host, path == jwks_path()) {
            (REPLICA_WEST, true) => Reply::ok(jwks.clone()),
            (REPLICA_WEST, false) => Reply::status(404),
            _ => Reply::ok("Service Unavailable").status_code(503),
        },
    )
    .await
}

#[tokio::test]
async fn a_pool_starts_while_a_replica_region_serves_keys_and_says_what_it_could_not_fetch() {
    let issuer = LocalIssuer::start_for_pool(POOL).await.unwrap();
    let hosts = primary_down_replica_up(&issuer).await;
    let verifier = verifier(
        &hosts,
        PoolConfig::new(POOL).replica_regions(["us-west-2"]),
        |b| b.jwks_backoff(Duration::from_secs(30), Duration::from_secs(60)),
    );
    // What the README's `verifier.hydrate().await?` does: it starts.
    let hydrated = verifier.hydrate().await.unwrap();
    let not_fetched: Vec<(&str, &str)> = hydrated
        .not_fetched
        .iter()
        .map(|n| (n.jwks_url.as_str(), n.error.kind()))
        .collect();
    let url = |host: &str| format!("https://{host}{}", jwks_path());
    assert_eq!(
        not_fetched,
        [
            (url(ORIGINAL).as_str(), "jwks_unavailable"),
            (url(UPDATED).as_str(), "jwks_unavailable"),
        ],
        "the primary region's key sets, the ORIGINAL one then its fallback"
    );
    // A replica's token verifies from the cache, with no fetch.
    let replica_token = issuer
        .access_token(CLIENT)
        .claim("iss", json!(format!("https://{REPLICA_WEST}/{POOL}")))
        .sign();
    assert_eq!(hosts.requests_to(REPLICA_WEST), 1);
    verifier.verify_cached(&replica_token).unwrap();
    assert_eq!(hosts.requests_to(REPLICA_WEST), 1);
    // A primary token cannot be verified from the cache; the error says why
    // and what fetches it.
    let primary_token = issuer.access_token(CLIENT).sign();
    let err = verifier.verify_cached(&primary_token).unwrap_err();
    assert_eq!(err.kind(), "jwks_not_cached");
    let text = err.to_string();
    assert!(
        text.contains("its fetch failed") && text.contains("verify()"),
        "{text}"
    );
}

#[tokio::test]
async fn hydrate_fails_when_no_region_of_the_pool_serves_keys() {
    let issuer = LocalIssuer::start_for_pool(POOL).await.unwrap();
    let hosts = Hosts::start(&[ORIGINAL, UPDATED, REPLICA_WEST], |_, _| {
        Reply::ok("Service Unavailable").status_code(503)
    })
    .await;
    let verifier = verifier(
        &hosts,
        PoolConfig::new(POOL).replica_regions(["us-west-2"]),
        |b| b,
    );
    let err = verifier.hydrate().await.unwrap_err();
    assert_eq!(err.kind(), "jwks_unavailable");
    assert_eq!(hosts.requests_to(REPLICA_WEST), 1, "the replica was tried");
    drop(issuer);
}

#[tokio::test]
async fn the_fallback_key_set_that_hydrate_skips_names_what_fetches_it() {
    let issuer = LocalIssuer::start_for_pool(POOL).await.unwrap();
    let hosts = pool_hosts(&issuer, true).await;
    let verifier = verifier(&hosts, PoolConfig::new(POOL), |b| b);
    verifier.hydrate().await.unwrap();
    let token = issuer
        .access_token(CLIENT)
        .claim("iss", json!(updated_issuer()))
        .sign();
    let err = verifier.verify_cached(&token).unwrap_err();
    assert_eq!(err.kind(), "jwks_not_cached");
    assert!(
        err.to_string()
            .contains("only when the pool's ORIGINAL key set cannot be fetched"),
        "{err}"
    );
    verifier.verify(&token).await.unwrap();
    verifier.verify_cached(&token).unwrap();
}
