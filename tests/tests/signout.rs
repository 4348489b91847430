//! Sign-out that ends the tokens: `videos-api`'s `/auth/logout`,
//! `/auth/logout-everywhere` and `/admin/users/{sub}/sign-out` revoke them
//! in the revocation list, so a signed-out token is 401 `revoked` (in
//! development mode too), and at Cognito (MiniStack). Replicas share the
//! list through a real `redis-server` (started on a free port; the tests
//! that need it say so and pass without it, except under `CI=true`): a
//! sign-out on one is refused on the other, a replica rides out a Redis
//! outage for `max_staleness` and then answers 503, and a Redis restarted
//! empty gets the revocations written back.
//!
//! Each replica is a `videos-api` of its own (its own verifier, list and
//! Redis connections) in this test process; only Redis joins them.

mod common;

use std::time::{Duration, Instant};

use cognito_verify::testing::{LocalIssuer, LocalRedis};
use common::{ManagedLoginSetup, Service, emulator, redis_here};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use videos_api::signin::{ACCESS_COOKIE, REFRESH_COOKIE};

const CLIENT: &str = "videos-web";
const PAGE: (&str, &str) = ("x-videos-csrf", "1");

/// The status and `kind` (or `error`) of `GET /me` with `headers`.
async fn me(service: &Service, headers: &[(&str, &str)]) -> (StatusCode, String) {
    let (status, challenge, body) = service.call(Method::GET, "/me", None, headers, None).await;
    if status == StatusCode::UNAUTHORIZED {
        let challenge = challenge.unwrap_or_default();
        assert!(
            challenge.starts_with("Bearer ") && challenge.contains("error=\"invalid_token\""),
            "{challenge}"
        );
    }
    let what = body["kind"].as_str().or(body["sub"].as_str()).unwrap_or("");
    (status, what.to_owned())
}

async fn me_with_token(service: &Service, token: &str) -> (StatusCode, String) {
    let bearer = format!("Bearer {token}");
    me(service, &[("authorization", &bearer)]).await
}

/// Polls `GET /me` with `token` until it answers `status` (at most 10 s);
/// how long it took.
async fn until_status(service: &Service, token: &str, status: StatusCode) -> Duration {
    let started = Instant::now();
    loop {
        let (got, what) = me_with_token(service, token).await;
        if got == status {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still {got} {what} after 10 s, waiting for {status}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// A token from `POST /dev/token`.
async fn dev_token(service: &Service, request: Value) -> String {
    let (status, _, body) = service
        .call(Method::POST, "/dev/token", None, &[], Some(request))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

/// Signs a demo user in as the page does; the `Cookie` header's value.
async fn dev_session(service: &Service, username: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{}/auth/dev-login", service.base))
        .header(PAGE.0, PAGE.1)
        .header("content-type", "application/json")
        .body(json!({ "username": username }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    format!(
        "{ACCESS_COOKIE}={}",
        common::set_cookie(&response, ACCESS_COOKIE).unwrap()
    )
}

/// `POST <path>` as the page sends it (CSRF header) with `auth` (a
/// `Cookie` or `Authorization` header): the status and body.
async fn post_from_page(service: &Service, path: &str, auth: (&str, &str)) -> (StatusCode, Value) {
    let (status, _, body) = service
        .call(Method::POST, path, None, &[auth, PAGE], None)
        .await;
    (status, body)
}

fn decoded_claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn development_sign_out_revokes_the_session_and_only_it() {
    let service = Service::start(&["--dev"]).await;
    let cookie = dev_session(&service, "alice").await;
    let token = cookie.split_once('=').unwrap().1.to_owned();
    let claims = decoded_claims(&token);
    assert!(
        claims["jti"].is_string() && claims["origin_jti"].is_string(),
        "{claims}"
    );
    // Another sign-in of the same user (another origin_jti).
    let other = dev_token(&service, json!({ "username": "alice" })).await;
    assert_eq!(me(&service, &[("cookie", &cookie)]).await.0, StatusCode::OK);

    let (status, body) = post_from_page(&service, "/auth/logout", ("cookie", &cookie)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["redirect"], "/");

    // The old cookie, replayed, and the same token as a bearer token.
    let refused = (StatusCode::UNAUTHORIZED, "revoked".to_owned());
    assert_eq!(me(&service, &[("cookie", &cookie)]).await, refused);
    assert_eq!(me_with_token(&service, &token).await, refused);
    // The other sign-in goes on.
    assert_eq!(me_with_token(&service, &other).await.0, StatusCode::OK);
}

#[tokio::test]
async fn sign_out_everywhere_covers_tokens_without_origin_jti() {
    let service = Service::start(&["--dev"]).await;
    // As an app client with token revocation turned off issues them.
    let without = json!({ "username": "alice", "token_revocation": false });
    let first = dev_token(&service, without.clone()).await;
    let second = dev_token(&service, without).await;
    assert!(decoded_claims(&first)["origin_jti"].is_null());
    let bob = dev_token(&service, json!({ "username": "bob" })).await;

    // Plain sign-out revokes that token alone (its jti).
    let bearer = format!("Bearer {first}");
    let (status, body) = post_from_page(&service, "/auth/logout", ("authorization", &bearer)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(me_with_token(&service, &first).await.1, "revoked");
    assert_eq!(me_with_token(&service, &second).await.0, StatusCode::OK);

    // Everywhere: every token of the user, origin_jti or not.
    let cookie = dev_session(&service, "alice").await;
    let cross_site = service
        .call(
            Method::POST,
            "/auth/logout-everywhere",
            None,
            &[("cookie", &cookie), ("origin", "https://evil.example")],
            None,
        )
        .await;
    assert_eq!(cross_site.0, StatusCode::FORBIDDEN, "the CSRF guard");
    let (status, body) =
        post_from_page(&service, "/auth/logout-everywhere", ("cookie", &cookie)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for token in [&second, cookie.split_once('=').unwrap().1] {
        assert_eq!(
            me_with_token(&service, token).await,
            (StatusCode::UNAUTHORIZED, "revoked".to_owned())
        );
    }
    assert_eq!(me_with_token(&service, &bob).await.0, StatusCode::OK);
    // Without a valid token there is no one to sign out.
    let (status, _) = post_from_page(&service, "/auth/logout-everywhere", PAGE).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_admin_signs_a_user_out_by_sub() {
    let service = Service::start(&["--dev"]).await;
    let alice = dev_token(&service, json!({ "username": "alice" })).await;
    let bob = dev_token(&service, json!({ "username": "bob", "groups": ["admin"] })).await;
    let as_alice = format!("Bearer {alice}");
    let as_bob = format!("Bearer {bob}");

    let (status, _) = post_from_page(
        &service,
        "/admin/users/dev-bob/sign-out",
        ("authorization", &as_alice),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "alice is no admin");
    let too_long = format!("/admin/users/{}/sign-out", "x".repeat(2_000));
    let (status, body) = post_from_page(&service, &too_long, ("authorization", &as_bob)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    let (status, body) = post_from_page(
        &service,
        "/admin/users/dev-alice/sign-out",
        ("authorization", &as_bob),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["signed_out"], "dev-alice");
    assert_eq!(
        me_with_token(&service, &alice).await,
        (StatusCode::UNAUTHORIZED, "revoked".to_owned())
    );
    assert_eq!(me_with_token(&service, &bob).await.0, StatusCode::OK);
}

/// A replica verifying `issuer`'s tokens, sharing `redis`'s list.
async fn replica(issuer: &LocalIssuer, redis: &LocalRedis, staleness: &str) -> Service {
    Service::start(&[
        "--issuer",
        issuer.issuer(),
        "--client-id",
        CLIENT,
        "--revocations-url",
        &redis.url(),
        "--revocations-max-staleness",
        staleness,
    ])
    .await
}

/// `POST /auth/logout` with `token` as the bearer token.
async fn sign_out(service: &Service, token: &str) -> (StatusCode, Value) {
    let bearer = format!("Bearer {token}");
    post_from_page(service, "/auth/logout", ("authorization", &bearer)).await
}

#[tokio::test]
async fn a_replica_rides_out_a_redis_outage_then_refuses_and_catches_up() {
    if !redis_here() {
        return;
    }
    let redis = LocalRedis::start().unwrap();
    let issuer = LocalIssuer::start().await.unwrap();
    let token = |sub: &str| issuer.access_token(CLIENT).sub(sub).sign();
    let (before, during, bystander) = (token("u-before"), token("u-during"), token("u-other"));
    let a = replica(&issuer, &redis, "1").await;
    let b = replica(&issuer, &redis, "1").await;
    for t in [&before, &during, &bystander] {
        assert_eq!(me_with_token(&b, t).await.0, StatusCode::OK);
    }
    let (status, body) = sign_out(&a, &before).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    until_status(&b, &before, StatusCode::UNAUTHORIZED).await;
    assert_eq!(me_with_token(&b, &before).await.1, "revoked");

    // Redis stops: B serves from its copy for max_staleness (1 s), then
    // refuses with 503 revocations_unavailable; a revoked token stays
    // revoked.
    redis.stop();
    let stopped = Instant::now();
    assert_eq!(me_with_token(&b, &bystander).await.0, StatusCode::OK);
    until_status(&b, &bystander, StatusCode::SERVICE_UNAVAILABLE).await;
    let served_for = stopped.elapsed();
    eprintln!("B served for {served_for:?} after Redis stopped (max_staleness 1 s)");
    assert!(served_for >= Duration::from_millis(250), "{served_for:?}");
    let (status, _, body) = b
        .call(Method::GET, "/me", Some(&bystander), &[], None)
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["kind"], "revocations_unavailable", "{body}");
    assert_eq!(me_with_token(&b, &before).await.1, "revoked");

    // A sign-out during the outage is enforced where it was made.
    let (status, body) = sign_out(&a, &during).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("not recorded everywhere"),
        "{body}"
    );
    assert_eq!(me_with_token(&a, &during).await.1, "revoked");

    // Redis comes back empty: the replicas write back what they hold, so
    // both revocations are enforced on B, and on a replica started after.
    redis.restart().unwrap();
    until_status(&b, &bystander, StatusCode::OK).await;
    until_status(&b, &during, StatusCode::UNAUTHORIZED).await;
    assert_eq!(me_with_token(&b, &before).await.1, "revoked");
    assert_eq!(me_with_token(&b, &during).await.1, "revoked");
    let c = replica(&issuer, &redis, "30").await;
    for t in [&before, &during] {
        assert_eq!(
            me_with_token(&c, t).await,
            (StatusCode::UNAUTHORIZED, "revoked".to_owned())
        );
    }
    assert_eq!(me_with_token(&c, &bystander).await.0, StatusCode::OK);
}

/// POSTs the refresh-token grant to MiniStack's token endpoint as the
/// service does (client secret in Basic): its status.
async fn refresh_at_ministack(setup: &ManagedLoginSetup, refresh: &str) -> StatusCode {
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", setup.client_id, setup.client_secret));
    let body = format!(
        "grant_type=refresh_token&client_id={}&refresh_token={}",
        common::urlencode(&setup.client_id),
        common::urlencode(refresh)
    );
    reqwest::Client::new()
        .post(format!("{}/oauth2/token", setup.endpoint))
        .header("authorization", format!("Basic {basic}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn sign_out_on_one_replica_is_refused_on_another_and_at_ministack() {
    let Some((endpoint, python)) = emulator("MINISTACK") else {
        return;
    };
    if !redis_here() {
        return;
    }
    let redis = LocalRedis::start().unwrap();
    let url = redis.url();
    let a = ManagedLoginSetup::start_with(&endpoint, &python, &["--revocations-url", &url]).await;
    let jwks = format!("{}/{}/.well-known/jwks.json", a.endpoint, a.pool_id);
    // B is another OS process, sharing nothing with A but Redis.
    let b = Service::start_process(
        "videos_api_replica_in_its_own_process",
        &[
            "--user-pool-id",
            &a.pool_id,
            "--client-id",
            &a.client_id,
            "--jwks-url",
            &jwks,
            "--revocations-url",
            &url,
        ],
    )
    .await;
    assert_ne!(b.pid(), Some(std::process::id()));
    let session = a.sign_in().await;
    let claims = decoded_claims(&session.access);
    assert!(
        claims["origin_jti"].is_string(),
        "MiniStack's token: {claims}"
    );
    let cookie = format!("{ACCESS_COOKIE}={}", session.access);
    assert_eq!(me(&b, &[("cookie", &cookie)]).await.0, StatusCode::OK);
    assert_eq!(me_with_token(&b, &session.access).await.0, StatusCode::OK);
    assert_eq!(
        refresh_at_ministack(&a, &session.refresh).await,
        StatusCode::OK,
        "the refresh token works before sign-out"
    );

    // Sign out on A, as the page does (both cookies).
    let both = format!("{cookie}; {REFRESH_COOKIE}={}", session.refresh);
    let (status, body) = post_from_page(&a.service, "/auth/logout", ("cookie", &both)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let signed_out = Instant::now();
    let took = until_status(&b, &session.access, StatusCode::UNAUTHORIZED).await;
    let total = signed_out.elapsed();
    // Measured and shown, not asserted to the millisecond (timed asserts
    // are flaky); the aim is within 100 ms.
    eprintln!("the sign-out on A was refused on B after {took:?} ({total:?} with the last check)");
    assert!(total < Duration::from_secs(5), "{total:?}");
    let refused = (StatusCode::UNAUTHORIZED, "revoked".to_owned());
    assert_eq!(me(&b, &[("cookie", &cookie)]).await, refused);
    assert_eq!(me_with_token(&b, &session.access).await, refused);
    assert_eq!(me_with_token(&a.service, &session.access).await, refused);
    // RevokeToken reached MiniStack: the refresh token is refused there.
    let status = refresh_at_ministack(&a, &session.refresh).await;
    assert!(status.is_client_error(), "{status}");
}

/// Where [`Service::start_process`] runs a replica (does nothing when run
/// as a test).
#[tokio::test]
#[ignore = "the entry of a replica in its own process"]
async fn videos_api_replica_in_its_own_process() {
    common::serve_in_this_process().await;
}

#[tokio::test]
async fn sign_out_everywhere_signs_out_at_ministack_too() {
    let Some((endpoint, python)) = emulator("MINISTACK") else {
        return;
    };
    let setup = ManagedLoginSetup::start(&endpoint, &python).await;
    let session = setup.sign_in().await;
    let cookie = format!("{ACCESS_COOKIE}={}", session.access);
    let (status, body) = post_from_page(
        &setup.service,
        "/auth/logout-everywhere",
        ("cookie", &cookie),
    )
    .await;
    // 200 only if MiniStack took GlobalSignOut (else 502, see below).
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body["redirect"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/logout?", setup.endpoint)),
        "{body}"
    );
    assert_eq!(
        me(&setup.service, &[("cookie", &cookie)]).await,
        (StatusCode::UNAUTHORIZED, "revoked".to_owned())
    );
    // Not checked: that MiniStack (1.5.33) then refuses the refresh token.
    // Its unsigned GlobalSignOut looks the pool up in the request's own
    // account and region, not the pool's, so the user's refresh tokens
    // survive there (real Cognito ends them); RevokeToken is checked above.
}

#[tokio::test]
async fn sign_out_says_when_cognito_was_not_told_and_still_revokes() {
    let issuer = LocalIssuer::start().await.unwrap();
    // Nothing listens at the pool's API endpoint.
    let service = Service::start_with_secret(
        &[
            "--issuer",
            issuer.issuer(),
            "--client-id",
            CLIENT,
            "--cognito-domain",
            "http://127.0.0.1:9",
            "--redirect-uri",
            "https://videos.example.com/auth/callback",
            "--cognito-idp-endpoint",
            "http://127.0.0.1:9",
        ],
        Some("s3cr3t"),
    )
    .await;
    let token = issuer.access_token(CLIENT).sub("u-1").sign();
    let cookie = format!("{ACCESS_COOKIE}={token}");
    let response = reqwest::Client::new()
        .post(format!("{}/auth/logout-everywhere", service.base))
        .header("cookie", &cookie)
        .header(PAGE.0, PAGE.1)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let cleared = response.headers().get_all("set-cookie").iter().any(|c| {
        c.to_str()
            .unwrap()
            .starts_with(&format!("{ACCESS_COOKIE}=;"))
    });
    assert!(cleared, "the cookies are cleared all the same");
    let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains("GlobalSignOut") && !error.contains("s3cr3t"),
        "{error}"
    );
    assert_eq!(
        me_with_token(&service, &token).await,
        (StatusCode::UNAUTHORIZED, "revoked".to_owned())
    );
    // Sign-out with the refresh token: RevokeToken fails alike.
    let other = issuer.access_token(CLIENT).sub("u-2").sign();
    let both = format!("{ACCESS_COOKIE}={other}; {REFRESH_COOKIE}=r");
    let (status, body) = post_from_page(&service, "/auth/logout", ("cookie", &both)).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("RevokeToken"),
        "{body}"
    );
    assert_eq!(me_with_token(&service, &other).await.1, "revoked");
}
