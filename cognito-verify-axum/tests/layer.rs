//! The layer, the requirement layers and the extractors, each case run twice:
//! through `tower::ServiceExt::oneshot` on the router, and over real HTTP
//! (an axum server on 127.0.0.1 and a reqwest client).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use cognito_verify::testing::LocalIssuer;
use cognito_verify::{TokenUse, Verifier};
use cognito_verify_axum::{
    AccessToken, AppClient, Claims, ClaimsAs, CognitoAuthLayer, IdToken, OnRejection,
    OptionalClaims, Rejection, Require, Subject, User,
};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const CLIENT: &str = "web-client";

async fn me(claims: Claims) -> Json<Value> {
    Json(json!({
        "sub": claims.sub(),
        "token_use": claims.token_use().as_str(),
        "groups": claims.groups(),
    }))
}

async fn echo_user_header(Subject(sub): Subject, headers: HeaderMap) -> Json<Value> {
    let spoofed = headers
        .get("x-user-id")
        .map(|v| v.to_str().unwrap().to_owned());
    Json(json!({ "sub": sub, "x-user-id": spoofed }))
}

#[derive(serde::Deserialize)]
struct Tenant {
    #[serde(rename = "custom:tenant")]
    tenant: String,
}

fn routes() -> Router {
    Router::new()
        .route(
            "/me",
            get(me).options(|| async { "preflight reached the route" }),
        )
        .route("/subject", get(echo_user_header))
        .route("/id", get(|t: IdToken| async move { t.sub().to_owned() }))
        .route(
            "/access",
            get(|t: AccessToken| async move { t.sub().to_owned() }),
        )
        .route(
            "/tenant",
            get(|ClaimsAs(t): ClaimsAs<Tenant>| async move { t.tenant }),
        )
        .route(
            "/admin",
            get(|| async { "admin area" }).layer(Require::any_group(["admin"]).unwrap()),
        )
        .route(
            "/write",
            get(|| async { "writer" }).layer(Require::any_scope(["videos/write"]).unwrap()),
        )
        .route(
            "/access-only",
            get(|| async { "access" }).layer(Require::token_use(TokenUse::Access)),
        )
        .route("/user", get(|u: User| async move { u.sub }))
        .route(
            "/machine",
            get(|AppClient(id): AppClient| async move { id }),
        )
        .route(
            "/users-only",
            get(|| async { "users" }).layer(Require::user()),
        )
        .route(
            "/machines-only",
            get(|| async { "machines" }).layer(Require::app_client()),
        )
}

/// A verifier of `issuer`'s tokens of [`CLIENT`], either use, left to be
/// finished.
fn verifier_builder(issuer: &LocalIssuer) -> cognito_verify::VerifierBuilder {
    Verifier::builder().pool(issuer.pool_config().client_id(CLIENT).any_token_use())
}

fn verifier(issuer: &LocalIssuer) -> Verifier {
    verifier_builder(issuer).build().unwrap()
}

/// The protected router, plus an unprotected route that wrongly uses an extractor.
fn app<R: OnRejection<Body>>(layer: CognitoAuthLayer<R>) -> Router {
    routes()
        .layer(layer)
        .route(
            "/forgot-the-layer",
            get(|c: Claims| async move { c.sub().to_owned() }),
        )
        .route(
            "/forgot-the-layer-too",
            get(|| async { "x" }).layer(Require::any_group(["a"]).unwrap()),
        )
        .route("/healthz", get(|| async { "ok" }))
}

struct Harness {
    router: Router,
    base: String,
    client: reqwest::Client,
    _server: tokio::task::JoinHandle<()>,
}

#[derive(Debug)]
struct Answer {
    status: StatusCode,
    www_authenticate: Option<String>,
    retry_after: Option<String>,
    content_type: Option<String>,
    body: String,
}

impl Answer {
    fn kind(&self) -> Option<String> {
        serde_json::from_str::<Value>(&self.body).ok()?["kind"]
            .as_str()
            .map(str::to_owned)
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

impl Answer {
    /// A refusal: the status, the challenge with `error` (none for a bare
    /// challenge) and `kind`, and the problem body.
    fn assert_refused(&self, status: StatusCode, error: Option<&str>, kind: &str, realm: &str) {
        assert_eq!(self.status, status, "{kind}");
        let challenge = match error {
            Some(error) => {
                format!(r#"Bearer realm="{realm}", error="{error}", error_description="{kind}""#)
            }
            None => format!(r#"Bearer realm="{realm}""#),
        };
        assert_eq!(
            self.www_authenticate.as_deref(),
            Some(challenge.as_str()),
            "{kind}"
        );
        let title = status.canonical_reason().unwrap();
        assert_eq!(
            self.json(),
            json!({"status": status.as_u16(), "title": title, "kind": kind})
        );
    }
}

impl Answer {
    /// A 400 for a token source that is there but unusable (RFC 6750 §3.1).
    fn assert_invalid_request(&self, realm: &str) {
        self.assert_refused(
            StatusCode::BAD_REQUEST,
            Some("invalid_request"),
            "invalid_request",
            realm,
        );
    }
}

impl Harness {
    async fn start(router: Router) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let served = router.clone();
        let server = tokio::spawn(async move {
            axum::serve(listener, served).await.unwrap();
        });
        Harness {
            router,
            base,
            client: reqwest::Client::new(),
            _server: server,
        }
    }

    /// Sends the request both ways, checks the two answers agree, returns one.
    async fn send(&self, method: Method, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut request = Request::builder().method(method.clone()).uri(path);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = self
            .router
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let header =
            |r: &HeaderMap, name: &str| r.get(name).map(|v| v.to_str().unwrap().to_owned());
        let local = Answer {
            status: response.status(),
            www_authenticate: header(response.headers(), "www-authenticate"),
            retry_after: header(response.headers(), "retry-after"),
            content_type: header(response.headers(), "content-type"),
            body: String::from_utf8(
                response
                    .into_body()
                    .collect()
                    .await
                    .unwrap()
                    .to_bytes()
                    .to_vec(),
            )
            .unwrap(),
        };

        let mut request = self.client.request(method, format!("{}{path}", self.base));
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = request.send().await.unwrap();
        let remote = Answer {
            status: response.status(),
            www_authenticate: header(response.headers(), "www-authenticate"),
            retry_after: header(response.headers(), "retry-after"),
            content_type: header(response.headers(), "content-type"),
            body: response.text().await.unwrap(),
        };
        assert_eq!(
            local.status, remote.status,
            "{path}: oneshot and HTTP disagree"
        );
        assert_eq!(local.www_authenticate, remote.www_authenticate);
        assert_eq!(local.body, remote.body);
        remote
    }

    async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        match token {
            Some(t) => {
                self.send(
                    Method::GET,
                    path,
                    &[("authorization", &format!("Bearer {t}"))],
                )
                .await
            }
            None => self.send(Method::GET, path, &[]).await,
        }
    }
}

async fn setup() -> (LocalIssuer, Harness) {
    let issuer = LocalIssuer::start().await.unwrap();
    let layer = CognitoAuthLayer::new(verifier(&issuer))
        .realm("videos")
        .strip_headers([http::HeaderName::from_static("x-user-id")]);
    let harness = Harness::start(app(layer)).await;
    (issuer, harness)
}

#[tokio::test]
async fn missing_token_is_401_with_a_bare_challenge() {
    let (_issuer, h) = setup().await;
    let a = h.get("/me", None).await;
    a.assert_refused(StatusCode::UNAUTHORIZED, None, "missing_token", "videos");
    assert_eq!(a.content_type.as_deref(), Some("application/problem+json"));
    assert_eq!(
        h.get("/healthz", None).await.status,
        StatusCode::OK,
        "routes outside the layer stay open"
    );
}

#[tokio::test]
async fn unusable_authorization_headers_are_400_invalid_request() {
    let (issuer, h) = setup().await;
    let token = issuer.access_token(CLIENT).sign();
    let bearer = format!("Bearer {token}");
    for headers in [
        vec![("authorization", "Bearer")],
        vec![("authorization", "Bearer ")],
        vec![
            ("authorization", bearer.as_str()),
            ("authorization", bearer.as_str()),
        ],
        // A token is visible ASCII without spaces (RFC 6750's b64token).
        vec![("authorization", "Bearer abc def")],
        vec![("authorization", "Bearer abc\tdef")],
    ] {
        h.send(Method::GET, "/me", &headers)
            .await
            .assert_invalid_request("videos");
    }
    // The scheme is case-insensitive, and spaces around the token are fine.
    let lower = format!("bearer   {token}  ");
    assert_eq!(
        h.send(Method::GET, "/me", &[("authorization", &lower)])
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn another_authentication_scheme_is_answered_as_no_token() {
    // RFC 6750 §3.1: a request with an unsupported authentication method
    // gets the challenge of a request without authentication, no error code.
    let (issuer, h) = setup().await;
    let token = issuer.access_token(CLIENT).sign();
    for scheme in [
        "Basic dXNlcjpwYXNz",
        "Digest username=\"u\"",
        "Negotiate",
        token.as_str(),
    ] {
        let a = h
            .send(Method::GET, "/me", &[("authorization", scheme)])
            .await;
        a.assert_refused(StatusCode::UNAUTHORIZED, None, "missing_token", "videos");
    }
}

#[tokio::test]
async fn two_token_cookies_or_two_token_headers_are_400_invalid_request() {
    let issuer = LocalIssuer::start().await.unwrap();
    let h = Harness::start(app(CognitoAuthLayer::new(verifier(&issuer))
        .realm("videos")
        .cookie("access_token")
        .header(http::HeaderName::from_static("x-access-token"))))
    .await;
    let real = issuer.access_token(CLIENT).sub("victim").sign();
    let tossed = issuer.access_token(CLIENT).sub("attacker").sign();
    let both = format!("access_token={tossed}; access_token={real}");
    let split_a = format!("access_token={tossed}");
    let split_b = format!("theme=dark; access_token={real}");
    for headers in [
        vec![("cookie", both.as_str())],
        vec![("cookie", split_a.as_str()), ("cookie", split_b.as_str())],
        vec![
            ("x-access-token", tossed.as_str()),
            ("x-access-token", real.as_str()),
        ],
    ] {
        h.send(Method::GET, "/me", &headers)
            .await
            .assert_invalid_request("videos");
    }
    // One of each still works.
    let a = h
        .send(Method::GET, "/me", &[("cookie", split_b.as_str())])
        .await;
    assert_eq!(a.json()["sub"], "victim");
    let a = h
        .send(Method::GET, "/me", &[("x-access-token", real.as_str())])
        .await;
    assert_eq!(a.json()["sub"], "victim");
}

#[tokio::test]
async fn each_token_error_is_401_invalid_token_with_its_kind() {
    let (issuer, h) = setup().await;
    let now = cognito_verify::unix_now();
    let valid = issuer.access_token(CLIENT).sign();
    let (signing_input, _) = valid.rsplit_once('.').unwrap();
    let jwk = issuer.current_jwk();
    issuer.add_jwk(
        json!({"kid": "enc-key", "kty": "RSA", "use": "enc", "n": jwk["n"], "e": jwk["e"]}),
    );
    let token = || issuer.access_token(CLIENT);
    let cases = [
        ("not-a-token".to_owned(), "malformed_token"),
        (
            token().header("kid", json!("enc-key")).sign(),
            "invalid_key",
        ),
        (
            token().claim("pad", json!("x".repeat(20_000))).sign(),
            "token_too_large",
        ),
        (
            token().header("alg", json!("HS256")).sign(),
            "unsupported_algorithm",
        ),
        (token().without_header("kid").sign(), "missing_kid"),
        (
            token().claim("iss", json!("https://evil.example")).sign(),
            "invalid_issuer",
        ),
        (token().header("kid", json!("nope")).sign(), "unknown_kid"),
        (
            format!("{signing_input}.{}", "A".repeat(342)),
            "invalid_signature",
        ),
        (token().expires_in(-10).sign(), "expired"),
        (
            token().claim("nbf", json!(now + 600)).sign(),
            "not_yet_valid",
        ),
        (
            token().claim("iat", json!(now + 600)).sign(),
            "issued_in_future",
        ),
        (
            issuer.access_token("someone-else").sign(),
            "invalid_client_id",
        ),
    ];
    for (token, kind) in cases {
        let a = h.get("/me", Some(&token)).await;
        a.assert_refused(
            StatusCode::UNAUTHORIZED,
            Some("invalid_token"),
            kind,
            "videos",
        );
        assert!(
            !a.body.contains(&token[token.len().saturating_sub(20)..]),
            "the body never echoes the token"
        );
    }
}

#[tokio::test]
async fn a_failed_custom_check_is_401_invalid_token() {
    let issuer = LocalIssuer::start().await.unwrap();
    let verifier = Verifier::builder()
        .pool(
            issuer
                .pool_config()
                .client_id(CLIENT)
                .any_token_use()
                .custom_check(|c| match c.get("custom:tier") {
                    Some(tier) if tier == "gold" => Ok(()),
                    _ => Err("gold tier only".into()),
                }),
        )
        .build()
        .unwrap();
    let h = Harness::start(app(CognitoAuthLayer::new(verifier).realm("videos"))).await;
    let a = h
        .get("/me", Some(&issuer.access_token(CLIENT).sign()))
        .await;
    a.assert_refused(
        StatusCode::UNAUTHORIZED,
        Some("invalid_token"),
        "custom_check_failed",
        "videos",
    );
    assert!(
        !a.body.contains("gold tier only"),
        "the check's reason stays in the logs"
    );
    let gold = issuer
        .access_token(CLIENT)
        .claim("custom:tier", json!("gold"))
        .sign();
    assert_eq!(h.get("/me", Some(&gold)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn valid_tokens_reach_the_handler_with_their_claims() {
    let (issuer, h) = setup().await;
    let access = issuer
        .access_token(CLIENT)
        .sub("u-access")
        .groups(["staff"])
        .sign();
    let a = h.get("/me", Some(&access)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        a.json(),
        json!({"sub": "u-access", "token_use": "access", "groups": ["staff"]})
    );
    let id = issuer.id_token(CLIENT).sub("u-id").sign();
    assert_eq!(h.get("/me", Some(&id)).await.json()["token_use"], "id");

    assert_eq!(h.get("/access", Some(&access)).await.body, "u-access");
    assert_eq!(h.get("/id", Some(&id)).await.body, "u-id");
    for (path, token) in [("/access", &id), ("/id", &access)] {
        let a = h.get(path, Some(token)).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(a.kind().as_deref(), Some("invalid_token_use"));
    }
    let tenant = issuer
        .access_token(CLIENT)
        .claim("custom:tenant", json!("acme"))
        .sign();
    assert_eq!(h.get("/tenant", Some(&tenant)).await.body, "acme");
    // Claims that do not fit the handler's type are the application's
    // fault, not the client's: 500, and no challenge to retry with.
    let a = h.get("/tenant", Some(&access)).await;
    assert_eq!(
        (a.status, a.kind().as_deref()),
        (StatusCode::INTERNAL_SERVER_ERROR, Some("claims_mismatch"))
    );
    assert_eq!(a.www_authenticate, None);
}

#[tokio::test]
async fn group_scope_and_token_use_requirements_are_403_insufficient_scope() {
    let (issuer, h) = setup().await;
    let admin = issuer.access_token(CLIENT).groups(["admin"]).sign();
    let viewer = issuer
        .access_token(CLIENT)
        .groups(["viewer"])
        .scopes(["videos/read"])
        .sign();
    let writer = issuer
        .access_token(CLIENT)
        .scopes(["openid", "videos/write"])
        .sign();
    assert_eq!(h.get("/admin", Some(&admin)).await.body, "admin area");
    assert_eq!(h.get("/write", Some(&writer)).await.body, "writer");
    for (path, token, kind) in [
        ("/admin", &viewer, "missing_group"),
        ("/admin", &writer, "missing_group"),
    ] {
        let a = h.get(path, Some(token)).await;
        a.assert_refused(
            StatusCode::FORBIDDEN,
            Some("insufficient_scope"),
            kind,
            "videos",
        );
    }
    // A missing scope names the scopes the route requires (RFC 6750 §3).
    let a = h.get("/write", Some(&viewer)).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(
        a.www_authenticate.as_deref(),
        Some(
            r#"Bearer realm="videos", error="insufficient_scope", error_description="missing_scope", scope="videos/write""#
        )
    );
    assert_eq!(a.kind().as_deref(), Some("missing_scope"));
    // Without a token the requirement never runs: the layer answers 401.
    assert_eq!(h.get("/admin", None).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn users_and_app_clients_are_told_apart() {
    let (issuer, h) = setup().await;
    let user = issuer.access_token(CLIENT).sub("user-1").sign();
    let machine = issuer.app_client_token(CLIENT, ["videos/read"]).sign();
    // A user's routes, and a machine's.
    assert_eq!(h.get("/subject", Some(&user)).await.json()["sub"], "user-1");
    assert_eq!(h.get("/user", Some(&user)).await.body, "user-1");
    assert_eq!(h.get("/users-only", Some(&user)).await.body, "users");
    assert_eq!(h.get("/machine", Some(&machine)).await.body, CLIENT);
    assert_eq!(
        h.get("/machines-only", Some(&machine)).await.body,
        "machines"
    );
    // Claims serve both.
    assert_eq!(h.get("/me", Some(&machine)).await.json()["sub"], CLIENT);
    // Subject is a user's id: a machine's token never passes for one.
    for (path, token, kind) in [
        ("/subject", &machine, "user_required"),
        ("/user", &machine, "user_required"),
        ("/users-only", &machine, "user_required"),
        ("/machine", &user, "app_client_required"),
        ("/machines-only", &user, "app_client_required"),
    ] {
        h.get(path, Some(token)).await.assert_refused(
            StatusCode::FORBIDDEN,
            Some("insufficient_scope"),
            kind,
            "videos",
        );
    }
}

#[tokio::test]
async fn pool_level_group_requirements_are_403_too() {
    let issuer = LocalIssuer::start().await.unwrap();
    let verifier = Verifier::builder()
        .pool(
            issuer
                .pool_config()
                .client_id(CLIENT)
                .token_use(TokenUse::Access)
                .group("admin"),
        )
        .build()
        .unwrap();
    let h = Harness::start(app(CognitoAuthLayer::new(verifier))).await;
    let a = h
        .get("/me", Some(&issuer.access_token(CLIENT).sign()))
        .await;
    a.assert_refused(
        StatusCode::FORBIDDEN,
        Some("insufficient_scope"),
        "missing_group",
        "api",
    );
}

#[tokio::test]
async fn a_revoked_token_is_401_invalid_token_with_its_kind() {
    let issuer = LocalIssuer::start().await.unwrap();
    let verifier = verifier(&issuer);
    let h = Harness::start(app(CognitoAuthLayer::new(verifier.clone()).realm("videos"))).await;
    let token = issuer.access_token(CLIENT).sub("alice");
    let jti = token.claims()["jti"].as_str().unwrap().to_owned();
    let token = token.sign();
    assert_eq!(h.get("/me", Some(&token)).await.status, StatusCode::OK);
    verifier
        .revocations()
        .revoke(cognito_verify::Revoked::Token { jti })
        .await
        .unwrap();
    h.get("/me", Some(&token)).await.assert_refused(
        StatusCode::UNAUTHORIZED,
        Some("invalid_token"),
        "revoked",
        "videos",
    );
}

/// A store that never answers: the list never loads.
struct Unreachable;

impl cognito_verify::revocation::RevocationStore for Unreachable {
    fn describe(&self) -> String {
        "an unreachable store".into()
    }

    fn publish<'a>(
        &'a self,
        _: &'a [cognito_verify::revocation::RevocationEntry],
    ) -> cognito_verify::revocation::BoxFuture<'a, Result<(), cognito_verify::revocation::StoreError>>
    {
        Box::pin(async { Err(cognito_verify::revocation::StoreError("unreachable".into())) })
    }

    fn follow<'a>(
        &'a self,
        _: &'a cognito_verify::revocation::Follower,
    ) -> cognito_verify::revocation::BoxFuture<'a, cognito_verify::revocation::StoreError> {
        Box::pin(async { cognito_verify::revocation::StoreError("unreachable".into()) })
    }
}

#[tokio::test]
async fn revocations_unavailable_is_503_with_retry_after() {
    let issuer = LocalIssuer::start().await.unwrap();
    let list = cognito_verify::Revocations::builder()
        .store(Unreachable)
        .build()
        .unwrap();
    let verifier = verifier_builder(&issuer).revocations(list).build().unwrap();
    let h = Harness::start(app(CognitoAuthLayer::new(verifier))).await;
    let token = issuer.access_token(CLIENT).sign();
    let a = h.get("/me", Some(&token)).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.retry_after.as_deref(), Some("5"));
    assert_eq!(a.kind().as_deref(), Some("revocations_unavailable"));
}

#[tokio::test]
async fn jwks_down_is_503_with_retry_after() {
    let issuer = LocalIssuer::start().await.unwrap();
    let h = Harness::start(app(CognitoAuthLayer::new(verifier(&issuer)))).await;
    let token = issuer.access_token(CLIENT).sign();
    issuer.shutdown();
    let a = h.get("/me", Some(&token)).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.retry_after.as_deref(), Some("5"));
    assert_eq!(a.www_authenticate, None);
    assert_eq!(a.kind().as_deref(), Some("jwks_unavailable"));
}

#[tokio::test]
async fn optional_mode_lets_anonymous_requests_through_but_not_bad_tokens() {
    let issuer = LocalIssuer::start().await.unwrap();
    let router = Router::new()
        .route(
            "/home",
            get(|OptionalClaims(c): OptionalClaims| async move {
                c.map_or("guest".to_owned(), |c| c.sub().to_owned())
            }),
        )
        .route("/needs-user", get(|s: Subject| async move { s.0 }))
        .layer(CognitoAuthLayer::new(verifier(&issuer)).optional());
    let h = Harness::start(router).await;
    assert_eq!(h.get("/home", None).await.body, "guest");
    assert_eq!(
        h.get("/home", Some(&issuer.access_token(CLIENT).sub("u1").sign()))
            .await
            .body,
        "u1"
    );
    let a = h
        .get(
            "/home",
            Some(&issuer.access_token(CLIENT).expires_in(-1).sign()),
        )
        .await;
    assert_eq!(
        (a.status, a.kind().as_deref()),
        (StatusCode::UNAUTHORIZED, Some("expired"))
    );
    // Another scheme carries no token: a guest, as RFC 6750 §3.1 treats it.
    let a = h
        .send(Method::GET, "/home", &[("authorization", "Basic x")])
        .await;
    assert_eq!((a.status, a.body.as_str()), (StatusCode::OK, "guest"));
    let a = h
        .send(Method::GET, "/home", &[("authorization", "Bearer a b")])
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    // A required extractor on an anonymous request is a 401, not a 500.
    let a = h.get("/needs-user", None).await;
    assert_eq!(
        (a.status, a.kind().as_deref()),
        (StatusCode::UNAUTHORIZED, Some("missing_token"))
    );
}

#[tokio::test]
async fn reads_the_token_from_a_configured_cookie() {
    let issuer = LocalIssuer::start().await.unwrap();
    let h = Harness::start(app(
        CognitoAuthLayer::new(verifier(&issuer)).cookie("access_token")
    ))
    .await;
    let token = issuer.access_token(CLIENT).sub("cookie-user").sign();
    let cookie = format!("theme=dark; access_token={token}");
    let a = h.send(Method::GET, "/me", &[("cookie", &cookie)]).await;
    assert_eq!(a.json()["sub"], "cookie-user");
    let a = h.send(Method::GET, "/me", &[("cookie", "other=1")]).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    // Never from the query string.
    let a = h.get(&format!("/me?access_token={token}"), None).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_preflight_never_reaches_a_handler_unauthenticated() {
    let issuer = LocalIssuer::start().await.unwrap();
    let reached = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = reached.clone();
    let handler = move || {
        let count = count.clone();
        async move {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            "handler ran"
        }
    };
    let routes = || {
        Router::new()
            .route("/any", axum::routing::any(handler.clone()))
            .route("/me", get(me).options(handler.clone()))
            .route(
                "/admin",
                get(|| async { "admin" })
                    .options(handler.clone())
                    .layer(Require::any_group(["admin"]).unwrap()),
            )
            .fallback(handler.clone())
    };
    let preflight = [
        ("access-control-request-method", "DELETE"),
        ("origin", "https://app.example"),
    ];
    // The auth layer alone: a preflight carries no token, so it is a 401.
    let alone = Harness::start(routes().layer(CognitoAuthLayer::new(verifier(&issuer)))).await;
    for path in ["/any", "/me", "/admin", "/nowhere"] {
        let a = alone.send(Method::OPTIONS, path, &preflight).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    // The documented arrangement: CorsLayer outside answers the preflight itself.
    let cors = tower_http::cors::CorsLayer::new()
        .allow_origin(http::HeaderValue::from_static("https://app.example"))
        .allow_methods([Method::GET, Method::DELETE])
        .allow_headers([http::header::AUTHORIZATION]);
    let with_cors = Harness::start(
        routes()
            .layer(CognitoAuthLayer::new(verifier(&issuer)))
            .layer(cors),
    )
    .await;
    for path in ["/any", "/me", "/admin", "/nowhere"] {
        let a = with_cors.send(Method::OPTIONS, path, &preflight).await;
        assert_eq!(a.status, StatusCode::OK, "{path}");
        assert_eq!(a.body, "", "{path}: answered by CorsLayer");
    }
    // A refusal still carries the CORS headers, so the page can read it.
    let refused = with_cors
        .client
        .get(format!("{}/me", with_cors.base))
        .header("origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    assert_eq!(reached.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[test]
fn an_empty_requirement_list_is_a_configuration_error() {
    for (name, result) in [
        ("groups", Require::any_group(Vec::<String>::new())),
        ("scopes", Require::any_scope("".split_terminator(','))),
        ("an empty group", Require::any_group([""])),
        ("a scope with a space", Require::any_scope(["a b"])),
    ] {
        let err = result.expect_err(name);
        assert_eq!(err.kind(), "invalid_config", "{name}");
    }
    assert!(Require::any_group(["admin"]).is_ok());
}

#[tokio::test]
async fn spoofed_identity_headers_are_removed() {
    let (issuer, h) = setup().await;
    let token = issuer.access_token(CLIENT).sub("real-user").sign();
    let auth = format!("Bearer {token}");
    let a = h
        .send(
            Method::GET,
            "/subject",
            &[
                ("authorization", &auth),
                ("x-user-id", "victim"),
                ("x-user-id", "v2"),
            ],
        )
        .await;
    assert_eq!(a.json(), json!({"sub": "real-user", "x-user-id": null}));
}

#[tokio::test]
async fn extractors_and_requirements_without_the_layer_are_500() {
    let (issuer, h) = setup().await;
    let token = issuer.access_token(CLIENT).groups(["a"]).sign();
    for path in ["/forgot-the-layer", "/forgot-the-layer-too"] {
        // Even with a valid token: the route itself is miswired.
        let a = h.get(path, Some(&token)).await;
        assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        assert_eq!(a.kind().as_deref(), Some("auth_layer_missing"));
    }
}

#[tokio::test]
async fn rejections_can_be_replaced() {
    let issuer = LocalIssuer::start().await.unwrap();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let layer = CognitoAuthLayer::new(verifier(&issuer)).on_rejection(move |r: Rejection| {
        log.lock().unwrap().push(r.kind());
        (r.status(), format!("nope: {}", r.kind())).into_response()
    });
    let h = Harness::start(app(layer)).await;
    let a = h.get("/me", None).await;
    assert_eq!(
        (a.status, a.body.as_str()),
        (StatusCode::UNAUTHORIZED, "nope: missing_token")
    );
    let viewer = issuer.access_token(CLIENT).sign();
    let a = h.get("/admin", Some(&viewer)).await;
    assert_eq!(
        (a.status, a.body.as_str()),
        (StatusCode::FORBIDDEN, "nope: missing_group")
    );
    let a = h.get("/id", Some(&viewer)).await;
    assert_eq!(a.body, "nope: invalid_token_use");
    assert!(seen.lock().unwrap().len() >= 3);
}

#[tokio::test]
async fn keys_are_fetched_when_needed_and_cached_keys_answer_the_rest() {
    let (issuer, h) = setup().await;
    let alice = issuer.access_token(CLIENT).sub("alice").sign();
    // Cold verifier: the request waits for the first fetch.
    assert_eq!(h.get("/me", Some(&alice)).await.json()["sub"], "alice");
    assert_eq!(issuer.jwks_requests(), 1);
    // Decided from the cached keys: a new token, a bad one, a repeated one.
    let bob = issuer.access_token(CLIENT).sub("bob").sign();
    assert_eq!(h.get("/me", Some(&bob)).await.json()["sub"], "bob");
    let expired = issuer.access_token(CLIENT).expires_in(-60).sign();
    h.get("/me", Some(&expired)).await.assert_refused(
        StatusCode::UNAUTHORIZED,
        Some("invalid_token"),
        "expired",
        "videos",
    );
    assert_eq!(h.get("/me", Some(&alice)).await.status, StatusCode::OK);
    assert_eq!(issuer.jwks_requests(), 1);
    // A token signed by a key the cached set lacks: one refetch, then it verifies.
    issuer.rotate_key();
    let carol = issuer.access_token(CLIENT).sub("carol").sign();
    assert_eq!(h.get("/me", Some(&carol)).await.json()["sub"], "carol");
    assert_eq!(issuer.jwks_requests(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_hanging_up_mid_refetch_leaves_the_refresh_working() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const TTL: std::time::Duration = std::time::Duration::from_millis(400);
    let ms = std::time::Duration::from_millis;
    let issuer = LocalIssuer::start().await.unwrap();
    let verifier = Verifier::builder()
        .pool(issuer.pool_config().client_id(CLIENT).any_token_use())
        .jwks_ttl(TTL)
        .jwks_min_refetch_interval(std::time::Duration::ZERO)
        .build()
        .unwrap();
    let h = Harness::start(app(CognitoAuthLayer::new(verifier).realm("videos"))).await;
    let old_kid = issuer.current_kid();
    let old = issuer.access_token(CLIENT).sub("old").sign();
    assert_eq!(h.get("/me", Some(&old)).await.json()["sub"], "old");

    // A token with an unknown kid makes the layer wait for a refetch from a
    // slow key server; the client hangs up while it waits.
    issuer.delay_jwks(ms(600));
    let unknown = issuer
        .access_token(CLIENT)
        .header("kid", json!("no-such-kid"))
        .sign();
    let addr = h.base.trim_start_matches("http://").to_owned();
    let mut client = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let request =
        format!("GET /me HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {unknown}\r\n\r\n");
    client.write_all(request.as_bytes()).await.unwrap();
    let mut buf = [0u8; 64];
    let answered = tokio::time::timeout(ms(100), client.read(&mut buf)).await;
    assert!(
        answered.is_err(),
        "the request is still waiting for the keys"
    );
    drop(client);
    tokio::time::sleep(ms(800)).await;
    issuer.delay_jwks(std::time::Duration::ZERO);

    // The key is removed upstream: within a few TTLs its tokens are refused.
    issuer.rotate_key();
    issuer.remove_key(&old_kid);
    let started = std::time::Instant::now();
    loop {
        // Over HTTP only: the key set may change between two requests.
        let response = h
            .client
            .get(format!("{}/me", h.base))
            .bearer_auth(&old)
            .send()
            .await
            .unwrap();
        if response.status() != StatusCode::OK {
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
            assert_eq!(body["kind"], "unknown_kid");
            break;
        }
        assert!(
            started.elapsed() < TTL * 5,
            "the removed key still verifies: no refresh after the client hung up"
        );
        tokio::time::sleep(ms(20)).await;
    }
}

#[tokio::test]
async fn a_wrong_token_use_is_refused_naming_the_expected_use() {
    let (issuer, h) = setup().await;
    let access = issuer.access_token(CLIENT).sign();
    let id = issuer.id_token(CLIENT).sign();
    for (path, token, expected) in [
        ("/access", &id, "an access token"),
        ("/access-only", &id, "an access token"),
        ("/id", &access, "an id token"),
    ] {
        let a = h.get(path, Some(token)).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(
            a.www_authenticate.as_deref(),
            Some(
                format!(
                    r#"Bearer realm="videos", error="insufficient_scope", error_description="invalid_token_use: expected {expected}""#
                )
                .as_str()
            ),
            "{path}"
        );
        assert_eq!(a.kind().as_deref(), Some("invalid_token_use"), "{path}");
    }

    // The pool's own check: a refresh token where any use is accepted, and
    // an access-token API given an id token.
    let refresh = issuer
        .access_token(CLIENT)
        .claim("token_use", json!("refresh"))
        .sign();
    let a = h.get("/me", Some(&refresh)).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        a.www_authenticate.as_deref(),
        Some(
            r#"Bearer realm="videos", error="invalid_token", error_description="invalid_token_use: expected an id or access token""#
        )
    );
    let pool_access_only = Verifier::builder()
        .pool(
            issuer
                .pool_config()
                .client_id(CLIENT)
                .token_use(TokenUse::Access),
        )
        .build()
        .unwrap();
    let h = Harness::start(app(CognitoAuthLayer::new(pool_access_only).realm("videos"))).await;
    let a = h.get("/me", Some(&id)).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        a.www_authenticate.as_deref(),
        Some(
            r#"Bearer realm="videos", error="invalid_token", error_description="invalid_token_use: expected an access token""#
        )
    );
}
