//! Revocations shared through a real `redis-server` (Debian's package),
//! which each test starts on a free port so that it can stop and restart
//! it: propagation between replicas, catching up, Redis restarted empty,
//! the staleness policy, TLS with an ACL user, and hostile messages.
//! Without `redis-server` the tests say so and pass, except under
//! `CI=true`, where they fail.

mod common;

use std::time::{Duration, Instant};

use cognito_verify::revocation::redis::RedisStore;
use cognito_verify::revocation::{RevocationEntry, StoreState};
use cognito_verify::testing::{LocalIssuer, LocalRedis, RedisOptions};
use cognito_verify::{Revocations, RevocationsBuilder, Revoked, Verifier};
use common::{CLIENT, access, outcome};
use redis::AsyncCommands;

/// False (after saying why) when the tests cannot run here.
fn redis_here() -> bool {
    if LocalRedis::available() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "redis-server is missing under CI=true: .ci/run installs it"
    );
    eprintln!("skipped: no redis-server here (Debian's package redis-server)");
    false
}

/// A replica: a list following `redis` and a verifier of `issuer`'s tokens.
async fn replica(
    issuer: &LocalIssuer,
    store: RedisStore,
    tweak: impl FnOnce(RevocationsBuilder) -> RevocationsBuilder,
) -> Verifier {
    let list = tweak(Revocations::builder().store(store)).build().unwrap();
    Verifier::builder()
        .pool(access(issuer.pool_config()))
        .revocations(list)
        .build()
        .unwrap()
}

async fn plain(issuer: &LocalIssuer, redis: &LocalRedis) -> Verifier {
    let v = replica(issuer, RedisStore::new(&redis.url()).unwrap(), |b| {
        b.max_staleness(Duration::from_secs(1))
    })
    .await;
    assert!(v.revocations().wait_ready(Duration::from_secs(10)).await);
    v
}

/// Polls until `verifier` answers `kind` for `token` (at most 10 s); how
/// long it took.
async fn until_kind(verifier: &Verifier, token: &str, kind: &str) -> Duration {
    let started = Instant::now();
    while outcome(verifier, token).await != kind {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still {} after 10 s, waiting for {kind}",
            outcome(verifier, token).await
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    started.elapsed()
}

async fn until_state(
    verifier: &Verifier,
    want: impl Fn(&cognito_verify::RevocationStatus) -> bool,
) {
    let started = Instant::now();
    while !want(&verifier.revocations().status()) {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{:?}",
            verifier.revocations().status()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn session_token(issuer: &LocalIssuer, session: &str) -> String {
    issuer
        .access_token(CLIENT)
        .claim("origin_jti", serde_json::json!(session))
        .sign()
}

#[tokio::test]
async fn a_revocation_on_one_replica_is_refused_on_the_others_and_by_late_starters() {
    if !redis_here() {
        return;
    }
    let redis = LocalRedis::start().unwrap();
    let issuer = LocalIssuer::start().await.unwrap();
    let (a, b) = (plain(&issuer, &redis).await, plain(&issuer, &redis).await);
    let token = session_token(&issuer, "s-1");
    assert_eq!(outcome(&b, &token).await, "ok");
    a.revocations()
        .revoke(Revoked::Session {
            origin_jti: "s-1".into(),
        })
        .await
        .unwrap();
    assert_eq!(outcome(&a, &token).await, "revoked", "at once where made");
    let took = until_kind(&b, &token, "revoked").await;
    eprintln!("propagated to the other replica in {took:?}");
    let lag = b.revocations().status().last_lag;
    assert!(lag.is_some(), "{:?}", b.revocations().status());
    // A replica that starts now loads the list.
    let late = plain(&issuer, &redis).await;
    assert_eq!(outcome(&late, &token).await, "revoked");
    assert_eq!(late.revocations().status().entries, 1);
    assert_eq!(late.revocations().status().store, StoreState::Connected);
}

#[tokio::test]
async fn a_replica_that_lost_redis_serves_within_max_staleness_then_refuses() {
    if !redis_here() {
        return;
    }
    let redis = LocalRedis::start().unwrap();
    let issuer = LocalIssuer::start().await.unwrap();
    let strict = plain(&issuer, &redis).await;
    let open = replica(&issuer, RedisStore::new(&redis.url()).unwrap(), |b| {
        b.max_staleness(Duration::from_secs(1)).fail_open()
    })
    .await;
    assert!(open.revocations().wait_ready(Duration::from_secs(10)).await);
    let token = issuer.access_token(CLIENT).sign();
    redis.stop();
    assert_eq!(outcome(&strict, &token).await, "ok", "within max_staleness");
    until_state(&strict, |s| !s.current).await;
    assert_eq!(
        strict.revocations().status().store,
        StoreState::Disconnected
    );
    let refused = strict.verify(&token).await.unwrap_err();
    assert_eq!(refused.kind(), "revocations_unavailable");
    assert!(refused.to_string().contains("max_staleness"), "{refused}");
    assert_eq!(
        outcome(&open, &token).await,
        "ok",
        "fail-open keeps serving"
    );
    // Redis back: the replica catches up and serves again.
    redis.restart().unwrap();
    until_state(&strict, |s| s.current).await;
    assert_eq!(outcome(&strict, &token).await, "ok");
}

#[tokio::test]
async fn redis_restarted_empty_gets_the_entries_back_from_the_replicas() {
    if !redis_here() {
        return;
    }
    let redis = LocalRedis::start().unwrap();
    let issuer = LocalIssuer::start().await.unwrap();
    let a = plain(&issuer, &redis).await;
    let token = session_token(&issuer, "s-2");
    a.revocations()
        .revoke(Revoked::Session {
            origin_jti: "s-2".into(),
        })
        .await
        .unwrap();
    redis.restart().unwrap();
    // The replica reconnects, finds the set empty and writes its entry back.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let started = Instant::now();
    loop {
        let members: Vec<String> = conn
            .zrange("{cognito-verify}:revocations", 0, -1)
            .await
            .unwrap();
        if members.iter().any(|m| m.contains("s-2")) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "not written back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(outcome(&a, &token).await, "revoked");
    // And a replica started after the restart refuses the token too.
    let late = plain(&issuer, &redis).await;
    assert_eq!(outcome(&late, &token).await, "revoked");
    // Entries expire in Redis too: each has its expiry as its score.
    let scores: Vec<(String, i64)> = conn
        .zrange_withscores("{cognito-verify}:revocations", 0, -1)
        .await
        .unwrap();
    let entry = RevocationEntry::decode(scores[0].0.as_bytes()).unwrap();
    assert_eq!(scores[0].1, entry.expires_at);
    assert!(entry.expires_at <= cognito_verify::unix_now() + 86_400);
}

/// Connections the server has accepted so far.
async fn connections_received(redis: &LocalRedis) -> u64 {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let info: String = redis::cmd("INFO")
        .arg("stats")
        .query_async(&mut conn)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("total_connections_received:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_healthy_replica_keeps_its_connections_across_heartbeats() {
    if !redis_here() {
        return;
    }
    let redis = LocalRedis::start().unwrap();
    let issuer = LocalIssuer::start().await.unwrap();
    // max_staleness 1 s: a heartbeat every third of a second.
    let b = plain(&issuer, &redis).await;
    let before = connections_received(&redis).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let after = connections_received(&redis).await;
    // Only this test's own INFO connection is new.
    assert_eq!(after - before, 1, "the replica reconnected");
    assert_eq!(b.revocations().status().store, StoreState::Connected);
}

#[tokio::test]
async fn malformed_messages_on_the_channel_are_ignored_and_following_goes_on() {
    if !redis_here() {
        return;
    }
    let redis = LocalRedis::start().unwrap();
    let issuer = LocalIssuer::start().await.unwrap();
    let b = plain(&issuer, &redis).await;
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let channel = "{cognito-verify}:revocations:new";
    let huge = "x".repeat(1 << 20);
    let garbage: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"not json".to_vec(),
        vec![0xff, 0x00, 0xfe],
        br#"{"v":1,"kind":"everyone","id":"x","revoked_at_ms":1,"expires_at":99999999999}"#
            .to_vec(),
        br#"{"v":1,"kind":"user","id":"u","revoked_at_ms":1,"expires_at":99999999999}"#.to_vec(),
        format!(
            r#"{{"v":1,"kind":"token","id":"{huge}","revoked_at_ms":1,"expires_at":99999999999}}"#
        )
        .into_bytes(),
    ];
    for message in garbage {
        let _: () = conn.publish(channel, message).await.unwrap();
    }
    // A real entry after them still arrives, with its expiry held to at
    // most two lifetimes ahead.
    let entry = RevocationEntry::new(
        Revoked::Session {
            origin_jti: "s-3".into(),
        },
        1,
        i64::MAX,
    );
    let _: () = conn.publish(channel, entry.encode()).await.unwrap();
    let token = session_token(&issuer, "s-3");
    until_kind(&b, &token, "revoked").await;
    let status = b.revocations().status();
    assert_eq!((status.entries, status.store), (1, StoreState::Connected));
}

#[tokio::test]
async fn a_flood_past_max_entries_is_bounded_and_fails_closed() {
    if !redis_here() {
        return;
    }
    let redis = LocalRedis::start().unwrap();
    let issuer = LocalIssuer::start().await.unwrap();
    let small = replica(&issuer, RedisStore::new(&redis.url()).unwrap(), |b| {
        b.max_staleness(Duration::from_secs(1)).max_entries(1_000)
    })
    .await;
    assert!(
        small
            .revocations()
            .wait_ready(Duration::from_secs(10))
            .await
    );
    let publisher = Revocations::builder()
        .store(RedisStore::new(&redis.url()).unwrap())
        .build()
        .unwrap();
    assert!(publisher.wait_ready(Duration::from_secs(10)).await);
    for i in 0..3_000 {
        publisher
            .revoke(Revoked::Token {
                jti: format!("flood-{i}"),
            })
            .await
            .unwrap();
    }
    until_state(&small, |s| s.dropped > 0).await;
    let status = small.revocations().status();
    assert_eq!(status.entries, 1_000, "{status:?}");
    assert!(!status.current);
    let token = issuer.access_token(CLIENT).sign();
    assert_eq!(outcome(&small, &token).await, "revocations_unavailable");
}

#[tokio::test]
async fn tls_and_an_acl_user_work_and_a_wrong_password_never_serves() {
    if !redis_here() {
        return;
    }
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let ca = rcgen::Issuer::new(ca_params, ca_key);
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let dir = std::env::temp_dir().join(format!("cognito-verify-redis-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("server.pem"), dir.join("server.key"));
    std::fs::write(&cert, leaf.pem()).unwrap();
    std::fs::write(&key, leaf_key.serialize_pem()).unwrap();
    let mut options = RedisOptions::default();
    options.user = Some(("verifier".into(), "test-only-password".into()));
    options.tls = Some((cert, key));
    let redis = LocalRedis::start_with(options).unwrap();
    let url = redis.url();
    assert!(url.starts_with("rediss://verifier:"), "{url}");
    let issuer = LocalIssuer::start().await.unwrap();
    let root = ca_cert.pem();
    let store = || RedisStore::with_root_certificate(&url, root.as_bytes()).unwrap();
    let (a, b) = (
        replica(&issuer, store(), |b| b).await,
        replica(&issuer, store(), |b| b).await,
    );
    for v in [&a, &b] {
        assert!(v.revocations().wait_ready(Duration::from_secs(10)).await);
    }
    let token = issuer.access_token(CLIENT).sub("frank").sign();
    a.revocations()
        .revoke(Revoked::user_now("frank"))
        .await
        .unwrap();
    until_kind(&b, &token, "revoked").await;
    // A wrong password, and a server whose certificate is not trusted,
    // never make a usable copy.
    let wrong = url.replace("test-only-password", "wrong");
    let other_ca = rcgen::KeyPair::generate().unwrap();
    let mut other_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    other_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let untrusted_root = other_params.self_signed(&other_ca).unwrap().pem();
    for store in [
        RedisStore::with_root_certificate(&wrong, root.as_bytes()).unwrap(),
        RedisStore::with_root_certificate(&url, untrusted_root.as_bytes()).unwrap(),
    ] {
        let refused = replica(&issuer, store, |b| b).await;
        assert!(
            !refused
                .revocations()
                .wait_ready(Duration::from_secs(2))
                .await
        );
        assert_eq!(refused.revocations().status().store, StoreState::Connecting);
        let err = refused.verify(&token).await.unwrap_err();
        assert_eq!(err.kind(), "revocations_unavailable", "{err}");
        assert!(!err.to_string().contains("test-only-password"), "{err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
