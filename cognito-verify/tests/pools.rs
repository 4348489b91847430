//! Pool configuration: validation at build time, several pools, both issuer
//! forms of a Cognito pool, and the issuer and JWKS URL overrides.

mod common;

use cognito_verify::testing::LocalIssuer;
use cognito_verify::{IssuerType, PoolConfig, TokenUse, Verifier};
use common::{CLIENT, access, kind_of};
use serde_json::json;

/// A pool `us-east-1_abc` accepting any client and token use.
fn any_client_pool() -> PoolConfig {
    PoolConfig::new("us-east-1_abc")
        .any_client()
        .any_token_use()
}

fn build_err(pool: PoolConfig) -> String {
    let err = Verifier::builder().pool(pool).build().unwrap_err();
    assert_eq!(err.kind(), "invalid_config");
    err.to_string()
}

#[test]
fn refuses_a_malformed_pool_id_at_build_time_with_an_example() {
    let msg = build_err(
        PoolConfig::new("us-east-1")
            .client_id("c")
            .token_use(TokenUse::Access),
    );
    assert!(msg.contains("us-east-1_Ynsi6EIT0"), "{msg}");
}

#[test]
fn refuses_unset_client_ids_and_token_use() {
    let msg = build_err(PoolConfig::new("us-east-1_abc").token_use(TokenUse::Access));
    assert!(
        msg.contains("client_id") && msg.contains("any_client"),
        "{msg}"
    );
    let msg = build_err(PoolConfig::new("us-east-1_abc").client_id("c"));
    assert!(msg.contains("token_use"), "{msg}");
    let msg = build_err(
        PoolConfig::new("us-east-1_abc")
            .client_id("")
            .token_use(TokenUse::Id),
    );
    assert!(msg.contains("empty"), "{msg}");
    let msg = build_err(
        PoolConfig::new("us-east-1_abc")
            .client_ids(Vec::<String>::new())
            .token_use(TokenUse::Id),
    );
    assert!(msg.contains("client id"), "{msg}");
    let msg = build_err(
        PoolConfig::new("us-east-1_abc")
            .any_client()
            .token_use(TokenUse::Id)
            .scope("a b"),
    );
    assert!(msg.contains("white space"), "{msg}");
}

#[test]
fn refuses_an_empty_group_or_scope_list_instead_of_requiring_nothing() {
    let pool = || {
        PoolConfig::new("us-east-1_abc")
            .client_id("c")
            .token_use(TokenUse::Access)
    };
    // The shape of `.groups(env::var("GROUPS").unwrap_or_default().split_terminator(','))`.
    let unset = "";
    let msg = build_err(pool().groups(unset.split_terminator(',')));
    assert!(msg.contains("list of required groups is empty"), "{msg}");
    let msg = build_err(pool().scopes(Vec::<String>::new()));
    assert!(msg.contains("list of required scopes is empty"), "{msg}");
    // A list given in parts is one list: an empty part adds nothing.
    Verifier::builder()
        .pool(
            pool()
                .groups(["admin"])
                .groups(Vec::<String>::new())
                .scopes(["a"]),
        )
        .build()
        .unwrap();
    // Not calling them requires nothing.
    Verifier::builder().pool(pool()).build().unwrap();
}

#[test]
fn issuer_type_chooses_the_accepted_issuers_of_a_pool_id_only() {
    let base = || {
        PoolConfig::new("eu-west-1_abc")
            .any_client()
            .any_token_use()
    };
    let issuers = |pool: PoolConfig| {
        Verifier::builder()
            .pool(pool)
            .build()
            .unwrap()
            .issuers()
            .to_vec()
    };
    let original = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc";
    let updated = "https://issuer-cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc";
    assert_eq!(issuers(base()), [original, updated]);
    assert_eq!(
        issuers(base().issuer_type(IssuerType::Both)),
        [original, updated]
    );
    assert_eq!(
        issuers(base().issuer_type(IssuerType::Original)),
        [original]
    );
    assert_eq!(issuers(base().issuer_type(IssuerType::Updated)), [updated]);
    let msg = build_err(
        PoolConfig::issuer("http://127.0.0.1:9229/local_abc")
            .any_client()
            .any_token_use()
            .issuer_type(IssuerType::Original),
    );
    assert!(msg.contains("issuer_type"), "{msg}");
}

#[test]
fn refuses_replica_regions_and_dns_suffixes_that_cannot_be_right() {
    let pool = any_client_pool;
    for (config, needle) in [
        (pool().replica_regions(["us-east-1"]), "own region"),
        (
            pool().replica_regions(["us-gov-west-1"]),
            "another partition",
        ),
        (pool().replica_regions(["cn-north-1"]), "another partition"),
        (pool().replica_regions(["west-2"]), "not an AWS region"),
        (pool().replica_regions(["us-west-2", "us-west-2"]), "twice"),
        (
            pool()
                .replica_regions(["us-west-2"])
                .issuer_type(IssuerType::Updated),
            "ORIGINAL",
        ),
        (pool().dns_suffix("amazonaws"), "DNS suffix"),
        (pool().dns_suffix("Amazonaws.com"), "DNS suffix"),
        (pool().dns_suffix("a..com"), "DNS suffix"),
        (pool().dns_suffix("evil.com/x"), "DNS suffix"),
        (pool().dns_suffix("example.123"), "DNS suffix"),
        (
            PoolConfig::issuer("https://idp.example.com")
                .any_client()
                .any_token_use()
                .replica_regions(["us-west-2"]),
            "pool given by id",
        ),
    ] {
        let msg = build_err(config);
        assert!(msg.contains(needle), "{needle}: {msg}");
    }
    let verifier = Verifier::builder()
        .pool(pool().replica_regions(["us-west-2", "eu-west-1"]))
        .build()
        .unwrap();
    assert!(
        verifier
            .issuers()
            .contains(&"https://cognito-idp.us-west-2.amazonaws.com/us-east-1_abc".to_owned())
    );
    assert_eq!(verifier.issuers().len(), 4);
}

#[test]
fn refuses_absurd_durations_at_build_time() {
    use std::time::Duration;
    let pool = any_client_pool;
    let huge = Duration::MAX;
    let year_and_a_day = Duration::from_secs(366 * 86_400);
    type Tweak = fn(cognito_verify::VerifierBuilder, Duration) -> cognito_verify::VerifierBuilder;
    let settings: [(&str, Tweak); 9] = [
        ("leeway", |b, d| b.leeway(d)),
        ("future_tolerance", |b, d| b.future_tolerance(d)),
        ("jwks_connect_timeout", |b, d| b.jwks_connect_timeout(d)),
        ("jwks_timeout", |b, d| b.jwks_timeout(d)),
        ("jwks_min_refetch_interval", |b, d| {
            b.jwks_min_refetch_interval(d)
        }),
        ("jwks_ttl", |b, d| b.jwks_ttl(d)),
        ("jwks_ttl_bounds", |b, d| {
            b.jwks_ttl_bounds(Duration::from_secs(1), d)
        }),
        ("jwks_max_staleness", |b, d| b.jwks_max_staleness(d)),
        ("jwks_backoff", |b, d| {
            b.jwks_backoff(Duration::from_secs(1), d)
        }),
    ];
    for (name, tweak) in settings {
        for d in [huge, year_and_a_day] {
            let err = tweak(Verifier::builder().pool(pool()), d)
                .build()
                .unwrap_err();
            assert_eq!(err.kind(), "invalid_config", "{name}");
            assert!(err.to_string().contains(name), "{name}: {err}");
        }
        tweak(
            Verifier::builder().pool(pool()),
            Duration::from_secs(365 * 86_400),
        )
        .build()
        .unwrap_or_else(|e| panic!("{name}: a year is allowed: {e}"));
    }
}

#[test]
fn refuses_client_ids_together_with_any_client() {
    for pool in [
        PoolConfig::new("us-east-1_abc")
            .client_id("c1")
            .any_client(),
        PoolConfig::new("us-east-1_abc")
            .any_client()
            .client_id("c1"),
    ] {
        let err = Verifier::builder()
            .pool(pool.token_use(TokenUse::Access))
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), "invalid_config");
        let text = err.to_string();
        assert!(
            text.contains("client_id(..)") && text.contains("any_client()"),
            "{text}"
        );
    }
}

#[test]
fn refuses_no_pool_duplicate_issuers_and_bad_urls() {
    let err = Verifier::builder().build().unwrap_err();
    assert_eq!(err.kind(), "invalid_config");
    let pool = any_client_pool;
    let err = Verifier::builder()
        .pool(pool())
        .pool(pool())
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("two pools"), "{err}");
    for url in [
        "ftp://x/jwks",
        "not a url",
        "http://user:pw@host/jwks",
        "https://host/jwks?x=1",
        "file:///etc/passwd",
    ] {
        let msg = build_err(pool().jwks_url(url));
        assert!(msg.contains("jwks_url"), "{msg}");
        let msg = build_err(PoolConfig::issuer(url).any_client().any_token_use());
        assert!(msg.contains("issuer"), "{msg}");
    }
    let zero = Verifier::builder()
        .pool(pool())
        .max_token_bytes(0)
        .build()
        .unwrap_err();
    assert!(zero.to_string().contains("max_token_bytes"));
}

#[test]
fn derives_both_issuers_and_their_jwks_urls_from_a_pool_id() {
    let verifier = Verifier::builder()
        .pool(
            PoolConfig::new("eu-west-1_AbC123")
                .any_client()
                .token_use(TokenUse::Access),
        )
        .build()
        .unwrap();
    assert_eq!(
        verifier.issuers(),
        [
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123",
            "https://issuer-cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123",
        ]
    );
    let urls: Vec<String> = verifier.status().jwks.into_iter().map(|s| s.url).collect();
    assert_eq!(
        urls,
        [
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123/.well-known/jwks.json",
            "https://issuer-cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123/.well-known/jwks.json",
        ]
    );
}

#[tokio::test]
async fn a_pool_with_a_jwks_override_keeps_the_real_issuer_check() {
    // The moto shape: tokens carry the AWS issuer, keys come from 127.0.0.1.
    let issuer = LocalIssuer::start_for_pool("us-east-1_TestPool1")
        .await
        .unwrap();
    assert_eq!(
        issuer.issuer(),
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool1"
    );
    let verifier = common::verifier(&issuer, access, |b| b);
    let claims = verifier
        .verify(&issuer.access_token(CLIENT).sign())
        .await
        .unwrap();
    assert_eq!(claims.iss(), issuer.issuer());
    // The multi-region issuer of the same pool is accepted too.
    let multi = "https://issuer-cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool1";
    let claims = verifier
        .verify(
            &issuer
                .access_token(CLIENT)
                .claim("iss", json!(multi))
                .sign(),
        )
        .await
        .unwrap();
    assert_eq!(claims.iss(), multi);
    // Another pool's issuer in the same region is not.
    let other = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_OtherPool";
    assert_eq!(
        kind_of(
            &verifier,
            &issuer
                .access_token(CLIENT)
                .claim("iss", json!(other))
                .sign()
        )
        .await,
        "invalid_issuer"
    );
    // Both issuers share the overridden JWKS: one fetch.
    assert_eq!(issuer.jwks_requests(), 1);
    assert_eq!(verifier.status().jwks.len(), 1);
}

#[tokio::test]
async fn a_custom_issuer_fetches_from_its_own_well_known_path() {
    let issuer = LocalIssuer::start().await.unwrap();
    assert!(issuer.issuer().starts_with("http://127.0.0.1:"));
    let verifier = Verifier::builder()
        .pool(
            PoolConfig::issuer(issuer.issuer())
                .client_id(CLIENT)
                .token_use(TokenUse::Access),
        )
        .build()
        .unwrap();
    assert_eq!(verifier.status().jwks[0].url, issuer.jwks_url());
    verifier
        .verify(&issuer.access_token(CLIENT).sign())
        .await
        .unwrap();
    assert_eq!(issuer.jwks_requests(), 1);
}

#[tokio::test]
async fn selects_the_pool_by_issuer_among_several() {
    let a = LocalIssuer::start().await.unwrap();
    let b = LocalIssuer::start_for_pool("ap-southeast-2_PoolB")
        .await
        .unwrap();
    let verifier = Verifier::builder()
        .pool(
            a.pool_config()
                .client_id("client-a")
                .token_use(TokenUse::Access),
        )
        .pool(
            b.pool_config()
                .client_id("client-b")
                .token_use(TokenUse::Id)
                .group("staff"),
        )
        .build()
        .unwrap();
    verifier
        .verify(&a.access_token("client-a").sign())
        .await
        .unwrap();
    verifier
        .verify(&b.id_token("client-b").groups(["staff"]).sign())
        .await
        .unwrap();
    // Each pool's own rules apply to its tokens.
    assert_eq!(
        kind_of(&verifier, &a.access_token("client-b").sign()).await,
        "invalid_client_id"
    );
    assert_eq!(
        kind_of(&verifier, &b.id_token("client-b").sign()).await,
        "missing_group"
    );
    assert_eq!(
        kind_of(
            &verifier,
            &b.access_token("client-b").groups(["staff"]).sign()
        )
        .await,
        "invalid_token_use"
    );
    // A token of pool B's issuer signed by pool A's key fails the signature.
    let header = format!(r#"{{"alg":"RS256","kid":"{}"}}"#, b.current_kid());
    let payload =
        serde_json::Value::Object(b.id_token("client-b").groups(["staff"]).claims().clone())
            .to_string();
    let cross = a.sign_raw(header.as_bytes(), payload.as_bytes(), None);
    assert_eq!(kind_of(&verifier, &cross).await, "invalid_signature");
    // And a token naming pool A's kid under pool B's issuer is looked up in B's keys only.
    let a_kid_under_b = b
        .id_token("client-b")
        .groups(["staff"])
        .header("kid", json!(a.current_kid()))
        .sign();
    assert_eq!(kind_of(&verifier, &a_kid_under_b).await, "unknown_kid");
    assert_eq!((a.jwks_requests(), b.jwks_requests() >= 1), (1, true));
}

#[tokio::test]
async fn hydrate_fetches_every_pool_and_enables_verify_cached() {
    let a = LocalIssuer::start().await.unwrap();
    let b = LocalIssuer::start().await.unwrap();
    let verifier = common::verifier(&a, access, |builder| {
        builder.pool(
            b.pool_config()
                .client_id(CLIENT)
                .token_use(TokenUse::Access),
        )
    });
    let (ta, tb) = (a.access_token(CLIENT).sign(), b.access_token(CLIENT).sign());
    assert_eq!(
        verifier.verify_cached(&ta).unwrap_err().kind(),
        "jwks_not_cached"
    );
    verifier.hydrate().await.unwrap();
    verifier.verify_cached(&ta).unwrap();
    verifier.verify_cached(&tb).unwrap();
    assert_eq!((a.jwks_requests(), b.jwks_requests()), (1, 1));
    assert!(
        verifier
            .status()
            .jwks
            .iter()
            .all(|s| s.fetched_ago.is_some() && s.kids.len() == 1)
    );
}
