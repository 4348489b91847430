//! The layer's metric (feature `metrics`): every refusal counted once, by
//! protocol and status, whoever made it (the layer, a requirement layer,
//! an extractor, a route without the layer) and whatever answered it.

use std::collections::HashMap;

use axum::Router;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cognito_verify::Verifier;
use cognito_verify::testing::LocalIssuer;
use cognito_verify_axum::{Claims, CognitoAuthLayer, Rejection, Require};
use http::{Request, StatusCode};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use tower::ServiceExt;

const CLIENT: &str = "telemetry-client";
const REFUSALS: &str = "cognito_verify.layer.refusals";

/// (protocol, status) of each refusal count, and every other name seen.
fn refusals_under_a_recorder(traffic: impl AsyncFnOnce()) -> HashMap<(String, String), u64> {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(traffic());
    });
    let mut counts = HashMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let key = key.key();
        if key.name() != REFUSALS {
            continue;
        }
        let mut labels: HashMap<&str, &str> = key.labels().map(|l| (l.key(), l.value())).collect();
        let protocol = labels.remove("protocol").unwrap().to_owned();
        let status = labels.remove("status").unwrap().to_owned();
        assert!(labels.is_empty(), "only protocol and status: {labels:?}");
        let DebugValue::Counter(n) = value else {
            panic!("{REFUSALS} is a counter: {value:?}");
        };
        counts.insert((protocol, status), n);
    }
    counts
}

async fn call(app: &Router, path: &str, token: Option<&str>, grpc: bool) -> Response {
    let mut request = Request::get(path);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    if grpc {
        request = request.header("content-type", "application/grpc");
    }
    app.clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

fn app(verifier: Verifier) -> Router {
    Router::new()
        .route(
            "/admin",
            get(|| async { "admin" }).layer(Require::any_group(["admin"]).unwrap()),
        )
        .route(
            "/me",
            get(|claims: Claims| async move { claims.sub().to_owned() }),
        )
        .layer(CognitoAuthLayer::new(verifier))
        .route(
            "/unlayered",
            get(|claims: Claims| async move { claims.sub().to_owned() }),
        )
}

fn count(counts: &HashMap<(String, String), u64>, protocol: &str, status: &str) -> u64 {
    counts
        .get(&(protocol.to_owned(), status.to_owned()))
        .copied()
        .unwrap_or(0)
}

#[test]
fn every_refusal_is_counted_once_by_protocol_and_status() {
    let counts = refusals_under_a_recorder(async || {
        let issuer = LocalIssuer::start().await.unwrap();
        let verifier = Verifier::builder()
            .pool(issuer.pool_config().client_id(CLIENT).any_token_use())
            .build()
            .unwrap();
        let app = app(verifier);
        let alice = issuer.access_token(CLIENT).sub("alice").sign();
        let expired = issuer.access_token(CLIENT).expires_in(-60).sign();
        let cases = [
            ("/me", Some(alice.as_str()), false, StatusCode::OK),
            ("/me", Some(alice.as_str()), false, StatusCode::OK),
            ("/me", None, false, StatusCode::UNAUTHORIZED),
            (
                "/me",
                Some(expired.as_str()),
                false,
                StatusCode::UNAUTHORIZED,
            ),
            ("/me", Some("not a token"), false, StatusCode::BAD_REQUEST),
            ("/admin", Some(alice.as_str()), false, StatusCode::FORBIDDEN),
            ("/unlayered", None, false, StatusCode::INTERNAL_SERVER_ERROR),
            ("/me", None, true, StatusCode::OK),
            ("/admin", Some(alice.as_str()), true, StatusCode::OK),
        ];
        for (path, token, grpc, status) in cases {
            let response = call(&app, path, token, grpc).await;
            assert_eq!(response.status(), status, "{path} {token:?} grpc={grpc}");
        }
    });
    let expected = [
        (("http", "401"), 2),
        (("http", "400"), 1),
        (("http", "403"), 1),
        (("http", "500"), 1),
        (("grpc", "UNAUTHENTICATED"), 1),
        (("grpc", "PERMISSION_DENIED"), 1),
    ];
    for ((protocol, status), n) in expected {
        assert_eq!(
            count(&counts, protocol, status),
            n,
            "{protocol} {status}: {counts:?}"
        );
    }
    assert_eq!(counts.len(), expected.len(), "nothing else: {counts:?}");
}

#[test]
fn a_custom_answer_is_counted_by_the_refusal_status() {
    let counts = refusals_under_a_recorder(async || {
        let issuer = LocalIssuer::start().await.unwrap();
        let verifier = Verifier::builder()
            .pool(issuer.pool_config().client_id(CLIENT).any_token_use())
            .build()
            .unwrap();
        let app = Router::new().route("/me", get(|| async { "me" })).layer(
            CognitoAuthLayer::new(verifier).on_rejection(|_: Rejection| {
                (StatusCode::SEE_OTHER, [("location", "/signin")]).into_response()
            }),
        );
        let response = call(&app, "/me", None, false).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
    });
    assert_eq!(count(&counts, "http", "401"), 1, "{counts:?}");
    assert_eq!(counts.len(), 1, "{counts:?}");
}
