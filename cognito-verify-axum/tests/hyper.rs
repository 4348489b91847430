//! The layer under plain hyper (no axum): a hyper 1 server on 127.0.0.1
//! whose service answers `http::Response<Full<Bytes>>`, wrapped in
//! `CognitoAuthLayer` (and `Require` on one path), called over real HTTP.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use cognito_verify::testing::LocalIssuer;
use cognito_verify::{CognitoClaims, Verifier};
use cognito_verify_axum::{CognitoAuthLayer, OnRejection, Require};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tower::{Layer, ServiceExt, service_fn};

const CLIENT: &str = "hyper-client";

/// The handler: it reads the verified claims from the request extensions.
async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let text = match req.extensions().get::<Arc<CognitoClaims>>() {
        Some(claims) => format!("hello {}", claims.sub()),
        None => "no claims".to_owned(),
    };
    Ok(Response::new(Full::new(Bytes::from(text))))
}

/// Serves `layer` around a small router (`/admin` requires the group
/// `admin`) on 127.0.0.1; returns the address.
async fn serve<R: OnRejection<Full<Bytes>>>(layer: CognitoAuthLayer<R>) -> SocketAddr {
    let admin = Require::any_group(["admin"])
        .unwrap()
        .layer(service_fn(hello));
    let router = service_fn(move |req: Request<Incoming>| {
        let admin = admin.clone();
        async move {
            match req.uri().path() {
                "/admin" => admin.oneshot(req).await,
                _ => hello(req).await,
            }
        }
    });
    let service = layer.layer(router);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    addr
}

fn verifier(issuer: &LocalIssuer) -> Verifier {
    Verifier::builder()
        .pool(issuer.pool_config().client_id(CLIENT).any_token_use())
        .build()
        .unwrap()
}

async fn get(
    addr: SocketAddr,
    path: &str,
    token: Option<&str>,
) -> (StatusCode, http::HeaderMap, String) {
    let mut request = reqwest::Client::new().get(format!("http://{addr}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

fn challenge(headers: &http::HeaderMap) -> &str {
    headers
        .get("www-authenticate")
        .map_or("", |v| v.to_str().unwrap())
}

#[tokio::test]
async fn hyper_handlers_see_only_verified_claims() {
    let issuer = LocalIssuer::start().await.unwrap();
    let addr = serve(CognitoAuthLayer::new(verifier(&issuer)).realm("hyper")).await;

    // The first request waits for the keys; the next ones use the cache.
    let alice = issuer.access_token(CLIENT).sub("alice").sign();
    assert_eq!(
        get(addr, "/", Some(&alice)).await.2,
        "hello alice",
        "verified on fetched keys"
    );
    assert_eq!(get(addr, "/", Some(&alice)).await.2, "hello alice");
    assert_eq!(issuer.jwks_requests(), 1);

    let (status, headers, body) = get(addr, "/", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenge(&headers), r#"Bearer realm="hyper""#);
    assert_eq!(
        headers["content-type"], "application/problem+json",
        "the problem body is written in the service's own body type"
    );
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["kind"], "missing_token");

    let expired = issuer.access_token(CLIENT).expires_in(-600).sign();
    let (status, headers, _) = get(addr, "/", Some(&expired)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge(&headers),
        r#"Bearer realm="hyper", error="invalid_token", error_description="expired""#
    );

    // Require under hyper: the group decides.
    let (status, headers, _) = get(addr, "/admin", Some(&alice)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(challenge(&headers).contains(r#"error_description="missing_group""#));
    let admin = issuer
        .access_token(CLIENT)
        .sub("root")
        .groups(["admin"])
        .sign();
    assert_eq!(get(addr, "/admin", Some(&admin)).await.2, "hello root");
}

#[tokio::test]
async fn hyper_gets_503_when_keys_cannot_be_fetched() {
    let issuer = LocalIssuer::start().await.unwrap();
    let token = issuer.access_token(CLIENT).sign();
    let addr = serve(CognitoAuthLayer::new(verifier(&issuer))).await;
    issuer.shutdown();
    let (status, headers, body) = get(addr, "/", Some(&token)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(headers["retry-after"], "5");
    assert!(headers.get("www-authenticate").is_none());
}

#[tokio::test]
async fn the_service_exposes_its_inner_service_and_debug() {
    let issuer = LocalIssuer::start().await.unwrap();
    let layer = CognitoAuthLayer::new(verifier(&issuer)).realm("dbg");
    let shown = format!("{layer:?}");
    assert!(
        shown.contains("CognitoAuthLayer") && shown.contains("dbg"),
        "{shown}"
    );
    let mut service = layer.layer(7u8);
    assert_eq!(*service.get_ref(), 7);
    *service.get_mut() = 8;
    assert!(format!("{service:?}").contains("inner: 8"));
    assert_eq!(service.into_inner(), 8);
}

#[tokio::test]
async fn a_custom_rejection_answers_for_the_layer_and_the_requirements() {
    let issuer = LocalIssuer::start().await.unwrap();
    // A handler in hyper's body type answers hyper's refusals.
    let plain = |r: cognito_verify_axum::Rejection| {
        let mut response = Response::new(Full::new(Bytes::from(format!("no: {}", r.kind()))));
        *response.status_mut() = r.status();
        response
    };
    let addr = serve(CognitoAuthLayer::new(verifier(&issuer)).on_rejection(plain)).await;
    let (status, _, body) = get(addr, "/", None).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::UNAUTHORIZED, "no: missing_token")
    );
    let alice = issuer.access_token(CLIENT).sub("alice").sign();
    let (status, _, body) = get(addr, "/admin", Some(&alice)).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::FORBIDDEN, "no: missing_group"),
        "the requirement layer answers with the same handler"
    );

    // One written for another body type (axum's) does not compile here:
    // see the compile_fail example of `CognitoAuthLayer::on_rejection`.
}
