//! The metrics (feature `metrics`) as a recorder sees them after known
//! traffic: every name of the table in `telemetry`, the counts, and label
//! values that never come from a request.

mod common;

use std::collections::HashMap;

use cognito_verify::testing::LocalIssuer;
use cognito_verify::{Revoked, TokenUse, Verifier};
use common::CLIENT;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};

/// Name and sorted labels, to the value recorded.
type Seen = HashMap<(String, Vec<(String, String)>), DebugValue>;

/// Runs `traffic` on a current-thread runtime under a recorder of its own,
/// and returns what it recorded.
fn recorded(traffic: impl AsyncFnOnce()) -> Seen {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(traffic());
    });
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let key = key.key();
            let mut labels: Vec<(String, String)> = key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            labels.sort();
            ((key.name().to_owned(), labels), value)
        })
        .collect()
}

fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut labels: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    labels.sort();
    labels
}

fn counter(seen: &Seen, name: &str, pairs: &[(&str, &str)]) -> u64 {
    match seen.get(&(name.to_owned(), labels(pairs))) {
        Some(DebugValue::Counter(n)) => *n,
        other => panic!("{name} {pairs:?}: {other:?}\nrecorded: {:#?}", seen.keys()),
    }
}

#[test]
fn known_traffic_gives_known_counts_with_bounded_labels() {
    let mut issuer_name = String::new();
    let mut secret_values = Vec::new();
    let seen = recorded(async || {
        let issuer = LocalIssuer::start().await.unwrap();
        issuer_name = issuer.issuer().to_owned();
        let verifier = Verifier::builder()
            .pool(
                issuer
                    .pool_config()
                    .client_id(CLIENT)
                    .token_use(TokenUse::Access),
            )
            .build()
            .unwrap();
        let token = issuer.access_token(CLIENT).sub("user-with-a-secret-name");
        secret_values.push(token.claims()["jti"].as_str().unwrap().to_owned());
        let token = token.sign();
        secret_values.push(issuer.current_kid());
        for _ in 0..4 {
            verifier.verify(&token).await.unwrap();
        }
        let expired = issuer.access_token(CLIENT).expires_in(-60).sign();
        verifier.verify(&expired).await.unwrap_err();
        verifier.verify("not a token").await.unwrap_err();
        verifier
            .revocations()
            .revoke(Revoked::user_now("user-with-a-secret-name"))
            .await
            .unwrap();
        verifier.verify(&token).await.unwrap_err();
    });
    let verifications = "cognito_verify.verifications";
    let verified = [
        ("verifier", "cognito"),
        ("outcome", "verified"),
        ("kind", "ok"),
        ("issuer", issuer_name.as_str()),
    ];
    assert_eq!(counter(&seen, verifications, &verified), 4);
    for (kind, count) in [("expired", 1), ("malformed_token", 1), ("revoked", 1)] {
        let refused = [
            ("verifier", "cognito"),
            ("outcome", "refused"),
            ("kind", kind),
            ("issuer", "-"),
        ];
        assert_eq!(counter(&seen, verifications, &refused), count, "{kind}");
    }
    let lookups = "cognito_verify.token_cache.lookups";
    // The first two verifications miss (the second admits the token), the
    // next two hit, the revoked one hits and is refused.
    assert_eq!(
        counter(
            &seen,
            lookups,
            &[("verifier", "cognito"), ("result", "hit")]
        ),
        3
    );
    assert_eq!(
        counter(
            &seen,
            lookups,
            &[("verifier", "cognito"), ("result", "miss")]
        ),
        3
    );
    assert_eq!(
        counter(
            &seen,
            "cognito_verify.token_cache.admissions",
            &[("verifier", "cognito")]
        ),
        1
    );
    let jwks_url = format!("{issuer_name}/.well-known/jwks.json");
    let url_is_local = seen
        .keys()
        .find_map(|(name, labels)| (name == "cognito_verify.jwks.fetches").then(|| labels.clone()));
    let fetch_labels = url_is_local.expect("a fetch was counted");
    let url = &fetch_labels
        .iter()
        .find(|(k, _)| k == "jwks_url")
        .unwrap()
        .1;
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "{url} (not {jwks_url})"
    );
    assert_eq!(
        counter(
            &seen,
            "cognito_verify.jwks.fetches",
            &[("jwks_url", url), ("outcome", "ok"), ("kind", "ok")]
        ),
        1
    );
    match seen.get(&(
        "cognito_verify.jwks.fetch.duration".to_owned(),
        labels(&[("jwks_url", url)]),
    )) {
        Some(DebugValue::Histogram(samples)) => assert_eq!(samples.len(), 1),
        other => panic!("{other:?}"),
    }
    match seen.get(&(
        "cognito_verify.jwks.fetched_at".to_owned(),
        labels(&[("jwks_url", url)]),
    )) {
        Some(DebugValue::Gauge(at)) => assert!(at.into_inner() > 1.7e9),
        other => panic!("{other:?}"),
    }
    match seen.get(&("cognito_verify.revocations.entries".to_owned(), vec![])) {
        Some(DebugValue::Gauge(n)) => assert_eq!(n.into_inner(), 1.0),
        other => panic!("{other:?}"),
    }
    // No label value comes from a token.
    for (name, labels) in seen.keys() {
        for (_, value) in labels {
            assert!(
                !value.contains("secret-name") && !secret_values.contains(value),
                "{name} carries {value}"
            );
        }
    }
}
