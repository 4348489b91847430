//! `AlbAuthLayer` over real HTTP: an axum server on 127.0.0.1 behind which
//! requests arrive as from an Application Load Balancer, with tokens signed
//! by `LocalAlb` (P-256, keys served as PEM) and, for the access token, by
//! `LocalIssuer`.

use axum::Json;
use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use cognito_verify::testing::{LocalAlb, LocalIssuer};
use cognito_verify::{TokenUse, Verifier};
use cognito_verify_axum::{AlbAuthLayer, AlbIdentity, Claims};
use serde_json::{Value, json};

/// The identity the handler sees, and the ALB headers that reached it.
async fn me(AlbIdentity(user): AlbIdentity, headers: HeaderMap) -> Json<Value> {
    let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    Json(json!({
        "sub": user.sub(),
        "email": user.email(),
        "identity_header": header("x-amzn-oidc-identity"),
        "access_token_header": header("x-amzn-oidc-accesstoken").is_some(),
        "other_oidc_header": header("x-amzn-oidc-magic"),
    }))
}

async fn groups(AlbIdentity(user): AlbIdentity, claims: Claims) -> Json<Value> {
    Json(json!({ "sub": user.sub(), "groups": claims.groups() }))
}

async fn serve(layer: AlbAuthLayer) -> String {
    let app = Router::new()
        .route("/me", get(me))
        .route("/groups", get(groups))
        .layer(layer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

struct Answer {
    status: StatusCode,
    challenge: String,
    body: Value,
}

async fn get_with(url: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = reqwest::Client::new().get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map_or(String::new(), |v| v.to_str().unwrap().to_owned());
    let body = serde_json::from_str(&response.text().await.unwrap()).unwrap_or(Value::Null);
    Answer {
        status,
        challenge,
        body,
    }
}

#[tokio::test]
async fn the_handler_sees_only_the_identity_the_load_balancer_signed() {
    let alb = LocalAlb::start().await.unwrap();
    let base = serve(AlbAuthLayer::new(alb.verifier_builder().build().unwrap())).await;
    let token = alb
        .token()
        .sub("alice")
        .claim("email", json!("alice@example.com"))
        .sign();
    let a = get_with(
        &format!("{base}/me"),
        &[
            ("x-amzn-oidc-data", token.as_str()),
            // Forged next to a valid data header: removed before the handler.
            ("x-amzn-oidc-identity", "mallory"),
            ("x-amzn-oidc-accesstoken", "forged"),
            ("x-amzn-oidc-magic", "forged"),
        ],
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(a.body["sub"], "alice");
    assert_eq!(a.body["email"], "alice@example.com");
    assert_eq!(a.body["identity_header"], Value::Null);
    assert_eq!(
        a.body["access_token_header"], false,
        "not verified, so removed"
    );
    assert_eq!(a.body["other_oidc_header"], Value::Null);
    assert_eq!(alb.key_requests(), 1);
}

#[tokio::test]
async fn refusals_name_their_reason() {
    let alb = LocalAlb::start().await.unwrap();
    // A quote or a control character cannot break out of the challenge.
    let layer = AlbAuthLayer::new(alb.verifier_builder().build().unwrap()).realm("vid\"eos\n");
    let base = serve(layer).await;
    let url = format!("{base}/me");
    let a = get_with(&url, &[("x-amzn-oidc-identity", "alice")]).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        a.body["kind"], "missing_token",
        "an identity header alone proves nothing"
    );
    assert_eq!(a.challenge, r#"Bearer realm="videos""#);

    let good = alb.token().sign();
    let a = get_with(
        &url,
        &[("x-amzn-oidc-data", &good), ("x-amzn-oidc-data", &good)],
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);

    let other = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/other/0123456789abcdef";
    for (token, kind) in [
        (
            alb.token().header("signer", json!(other)).sign(),
            "invalid_signer",
        ),
        (
            alb.token().header("client", json!("other")).sign(),
            "invalid_client_id",
        ),
        (alb.token().expires_in(-60).sign(), "expired"),
        (good.replace('=', ""), "malformed_token"),
        (
            alb.token().header("alg", json!("RS256")).sign(),
            "unsupported_algorithm",
        ),
        (
            alb.token().header("kid", json!("x/../y")).sign(),
            "malformed_token",
        ),
        (
            alb.token().signed_with_another_key().sign(),
            "invalid_signature",
        ),
    ] {
        let a = get_with(&url, &[("x-amzn-oidc-data", &token)]).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{kind}");
        assert_eq!(a.body["kind"], kind);
        assert!(
            a.challenge
                .contains(&format!(r#"error_description="{kind}""#))
        );
    }
    assert_eq!(alb.key_requests(), 1, "only the real kid was ever fetched");
}

#[tokio::test]
async fn unreachable_keys_are_503() {
    let alb = LocalAlb::start().await.unwrap();
    let token = alb.token().sign();
    let base = serve(AlbAuthLayer::new(alb.verifier_builder().build().unwrap())).await;
    alb.shutdown();
    let a = get_with(&format!("{base}/me"), &[("x-amzn-oidc-data", &token)]).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.body["kind"], "jwks_unavailable");
}

#[tokio::test]
async fn the_access_token_is_verified_too_when_asked() {
    let alb = LocalAlb::start().await.unwrap();
    let pool = LocalIssuer::start().await.unwrap();
    let access_verifier = Verifier::builder()
        .pool(
            pool.pool_config()
                .client_id("alb-client")
                .token_use(TokenUse::Access),
        )
        .build()
        .unwrap();
    let base = serve(
        AlbAuthLayer::new(alb.verifier_builder().build().unwrap()).access_token(access_verifier),
    )
    .await;
    let data = alb.token().sub("alice").sign();
    let access = pool
        .access_token("alb-client")
        .sub("alice")
        .groups(["editors"])
        .sign();
    let a = get_with(
        &format!("{base}/groups"),
        &[
            ("x-amzn-oidc-data", &data),
            ("x-amzn-oidc-accesstoken", &access),
        ],
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(a.body, json!({"sub": "alice", "groups": ["editors"]}));
    // Verified, so it reaches the handler.
    let a = get_with(
        &format!("{base}/me"),
        &[
            ("x-amzn-oidc-data", &data),
            ("x-amzn-oidc-accesstoken", &access),
        ],
    )
    .await;
    assert_eq!(a.body["access_token_header"], true);

    let missing = get_with(&format!("{base}/groups"), &[("x-amzn-oidc-data", &data)]).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(missing.body["kind"], "missing_token");
    let bobs = pool.access_token("alb-client").sub("bob").sign();
    let mixed = get_with(
        &format!("{base}/groups"),
        &[
            ("x-amzn-oidc-data", &data),
            ("x-amzn-oidc-accesstoken", &bobs),
        ],
    )
    .await;
    assert_eq!(mixed.status, StatusCode::UNAUTHORIZED);
    assert_eq!(mixed.body["kind"], "custom_check_failed");
    let expired = pool
        .access_token("alb-client")
        .sub("alice")
        .expires_in(-60)
        .sign();
    let a = get_with(
        &format!("{base}/groups"),
        &[
            ("x-amzn-oidc-data", &data),
            ("x-amzn-oidc-accesstoken", &expired),
        ],
    )
    .await;
    assert_eq!(a.body["kind"], "expired");
}
