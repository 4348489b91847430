//! `videos-api` end to end over real HTTP, with a local issuer standing in
//! for the user pool: ownership, spoofing, groups, and the refusals.

mod common;

use cognito_verify::testing::LocalIssuer;
use common::{Service, titles};
use reqwest::{Method, StatusCode};
use serde_json::json;

const CLIENT: &str = "videos-web";

async fn setup() -> (LocalIssuer, Service) {
    let issuer = LocalIssuer::start().await.unwrap();
    let service = Service::start(&["--issuer", issuer.issuer(), "--client-id", CLIENT]).await;
    (issuer, service)
}

#[tokio::test]
async fn each_user_sees_and_deletes_only_their_own_videos() {
    let (issuer, api) = setup().await;
    let alice = issuer
        .access_token(CLIENT)
        .sub("sub-alice")
        .username("alice")
        .sign();
    let bob = issuer
        .access_token(CLIENT)
        .sub("sub-bob")
        .username("bob")
        .sign();

    let (status, a1) = api.post_video(&alice, "alice-1").await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(a1["owner"], "sub-alice");
    api.post_video(&alice, "alice-2").await;
    let (_, b1) = api.post_video(&bob, "bob-1").await;

    assert_eq!(
        titles(&api.get("/videos", &alice).await.1),
        ["alice-1", "alice-2"]
    );
    assert_eq!(titles(&api.get("/videos", &bob).await.1), ["bob-1"]);

    // The other user's id is a 404, for reading and for deleting.
    let bobs = format!("/videos/{}", b1["id"]);
    assert_eq!(api.get(&bobs, &alice).await.0, StatusCode::NOT_FOUND);
    let (status, _, _) = api
        .call(Method::DELETE, &bobs, Some(&alice), &[], None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        api.get(&bobs, &bob).await.1["title"],
        "bob-1",
        "still there"
    );
    // A nonexistent id looks the same as someone else's.
    assert_eq!(
        api.get("/videos/999999", &alice).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.get("/videos/not-a-number", &alice).await.0,
        StatusCode::NOT_FOUND
    );

    let (status, _, _) = api.call(Method::DELETE, &bobs, Some(&bob), &[], None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(api.get(&bobs, &bob).await.0, StatusCode::NOT_FOUND);
    assert_eq!(titles(&api.get("/videos", &alice).await.1).len(), 2);
}

#[tokio::test]
async fn a_spoofed_user_header_changes_nothing() {
    let (issuer, api) = setup().await;
    let alice = issuer.access_token(CLIENT).sub("sub-alice").sign();
    let bob = issuer.access_token(CLIENT).sub("sub-bob").sign();
    api.post_video(&bob, "bob-secret").await;
    for header in ["x-user-id", "x-amzn-oidc-identity"] {
        let (status, _, page) = api
            .call(
                Method::GET,
                "/videos",
                Some(&alice),
                &[(header, "sub-bob")],
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            !titles(&page).contains(&"bob-secret".to_owned()),
            "{header}: alice must not see bob's videos"
        );
        let body = json!({"title": "planted", "url": "https://x.example/p"});
        let (_, _, created) = api
            .call(
                Method::POST,
                "/videos",
                Some(&alice),
                &[(header, "sub-bob")],
                Some(body),
            )
            .await;
        assert_eq!(created["owner"], "sub-alice", "{header}");
    }
    assert_eq!(titles(&api.get("/videos", &bob).await.1), ["bob-secret"]);
    assert_eq!(
        titles(&api.get("/videos", &alice).await.1),
        ["planted", "planted"]
    );
    let (_, me) = api.get("/me", &alice).await;
    assert_eq!(me["sub"], "sub-alice");
}

#[tokio::test]
async fn the_admin_route_needs_the_admin_group() {
    let (issuer, api) = setup().await;
    let user = issuer
        .access_token(CLIENT)
        .sub("u1")
        .groups(["editors"])
        .sign();
    let admin = issuer
        .access_token(CLIENT)
        .sub("a1")
        .groups(["admin"])
        .sign();
    api.post_video(&user, "u-video").await;
    api.post_video(&admin, "a-video").await;
    let (status, challenge, body) = api
        .call(Method::GET, "/admin/videos", Some(&user), &[], None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        challenge.as_deref(),
        Some(
            r#"Bearer realm="videos-api", error="insufficient_scope", error_description="missing_group""#
        )
    );
    assert_eq!(body["kind"], "missing_group");
    let (status, page) = api.get("/admin/videos", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(titles(&page), ["u-video", "a-video"]);
}

#[tokio::test]
async fn refuses_missing_expired_and_id_tokens() {
    let (issuer, api) = setup().await;
    let (status, challenge, body) = api.call(Method::GET, "/videos", None, &[], None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenge.as_deref(), Some(r#"Bearer realm="videos-api""#));
    assert_eq!(body["kind"], "missing_token");

    let expired = issuer.access_token(CLIENT).expires_in(-60).sign();
    let (status, challenge, _) = api
        .call(Method::GET, "/videos", Some(&expired), &[], None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge.as_deref(),
        Some(r#"Bearer realm="videos-api", error="invalid_token", error_description="expired""#)
    );

    let id_token = issuer.id_token(CLIENT).sign();
    let (status, challenge, body) = api
        .call(Method::GET, "/me", Some(&id_token), &[], None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        challenge
            .unwrap()
            .contains(r#"error_description="invalid_token_use: expected an access token""#)
    );
    assert_eq!(body["kind"], "invalid_token_use");

    assert_eq!(
        api.call(Method::GET, "/healthz", None, &[], None).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn me_shows_the_verified_identity() {
    let (issuer, api) = setup().await;
    let token = issuer
        .access_token(CLIENT)
        .sub("s-1")
        .username("carol")
        .groups(["admin"])
        .scopes(["videos/read"])
        .sign();
    let (status, me) = api.get("/me", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        me,
        json!({"sub": "s-1", "username": "carol", "token_use": "access", "groups": ["admin"], "scopes": ["videos/read"]})
    );
}

#[tokio::test]
async fn paginates_with_a_cursor() {
    let (issuer, api) = setup().await;
    let token = issuer.access_token(CLIENT).sub("pager").sign();
    for i in 0..5 {
        api.post_video(&token, &format!("v{i}")).await;
    }
    let (_, page1) = api.get("/videos?limit=2", &token).await;
    assert_eq!(titles(&page1), ["v0", "v1"]);
    let cursor = page1["next_cursor"].as_str().unwrap().to_owned();
    let (_, page2) = api
        .get(&format!("/videos?limit=2&cursor={cursor}"), &token)
        .await;
    assert_eq!(titles(&page2), ["v2", "v3"]);
    let cursor = page2["next_cursor"].as_str().unwrap().to_owned();
    let (_, page3) = api
        .get(&format!("/videos?limit=2&cursor={cursor}"), &token)
        .await;
    assert_eq!(titles(&page3), ["v4"]);
    assert!(page3["next_cursor"].is_null());
    for bad in [
        "/videos?limit=0",
        "/videos?limit=101",
        "/videos?limit=x",
        "/videos?cursor=abc",
        "/videos?cursor=-1",
    ] {
        let (status, body) = api.get(bad, &token).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(body["error"].is_string());
    }
}

#[tokio::test]
async fn refuses_invalid_videos_with_422_and_huge_bodies_with_413() {
    let (issuer, api) = setup().await;
    let token = issuer.access_token(CLIENT).sub("writer").sign();
    for body in [
        json!({"title": "", "url": "https://x.example"}),
        json!({"title": "  ", "url": "https://x.example"}),
        json!({"title": "t".repeat(201), "url": "https://x.example"}),
        json!({"title": "ok", "url": "ftp://x.example"}),
        json!({"title": "ok", "url": "javascript:alert(1)"}),
        json!({"title": "ok"}),
        json!({"title": 5, "url": "https://x.example"}),
        json!(["not", "an", "object"]),
    ] {
        let (status, _, reply) = api
            .call(
                Method::POST,
                "/videos",
                Some(&token),
                &[],
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(reply["error"].is_string(), "{reply}");
    }
    let huge = json!({"title": "big", "url": format!("https://x.example/{}", "a".repeat(20_000))});
    let (status, _, _) = api
        .call(Method::POST, "/videos", Some(&token), &[], Some(huge))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(titles(&api.get("/videos", &token).await.1).is_empty());
}

#[tokio::test]
async fn dev_token_exists_only_in_development_mode() {
    // With a pool configured there is no such route: like any unknown path it
    // answers 404, and mints nothing.
    let (_issuer, api) = setup().await;
    let body = json!({"username": "mallory", "groups": ["admin"]});
    let (status, _, reply) = api
        .call(Method::POST, "/dev/token", None, &[], Some(body))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(reply.get("token").is_none());
}

/// `videos-api --alb-arn …` behind a load balancer (its signing side local),
/// and the pool whose access tokens the load balancer forwards.
#[tokio::test]
async fn behind_a_load_balancer_the_owner_is_its_signed_identity() {
    let alb = cognito_verify::testing::LocalAlb::start().await.unwrap();
    let key_url = alb.key_url();
    let service = Service::start(&[
        "--alb-arn",
        alb.arn(),
        "--alb-issuer",
        alb.issuer(),
        "--alb-client-id",
        alb.client_id(),
        "--alb-key-url",
        &key_url,
    ])
    .await;
    let alice = alb
        .token()
        .sub("alice")
        .claim("email", json!("alice@example.com"))
        .sign();
    let bob = alb.token().sub("bob").sign();
    // As the page sends them: the load balancer's session authenticates
    // the browser, so writes carry the page's CSRF header.
    let as_user = |data: &str| {
        vec![
            ("x-amzn-oidc-data", data.to_owned()),
            ("x-videos-csrf", "1".to_owned()),
        ]
    };
    let call =
        |method: Method, path: &'static str, data: String, body: Option<serde_json::Value>| {
            let service = &service;
            async move {
                let headers = as_user(&data);
                let headers: Vec<(&str, &str)> =
                    headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
                service.call(method, path, None, &headers, body).await
            }
        };
    let (status, _, me) = call(Method::GET, "/me", alice.clone(), None).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["sub"], "alice");
    assert_eq!(me["email"], "alice@example.com");
    assert_eq!(me["load_balancer"], alb.arn());
    let video = json!({"title": "alice at the ALB", "url": "https://videos.example/a"});
    let (status, _, _) = call(Method::POST, "/videos", alice.clone(), Some(video)).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, _, page) = call(Method::GET, "/videos", alice.clone(), None).await;
    assert_eq!(titles(&page), ["alice at the ALB"]);
    let (_, _, page) = call(Method::GET, "/videos", bob.clone(), None).await;
    assert!(titles(&page).is_empty(), "bob does not see alice's video");
    // A forged identity header without the signed one is nothing.
    let (status, _, body) = service
        .call(
            Method::GET,
            "/videos",
            None,
            &[("x-amzn-oidc-identity", "alice")],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["kind"], "missing_token");
    // A bearer token is not how this deployment authenticates.
    let other = alb.token().header("signer", json!("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/x/0123456789abcdef")).sign();
    let (status, _, body) = call(Method::GET, "/videos", other, None).await;
    assert_eq!(
        (status, body["kind"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_signer"))
    );
}

#[tokio::test]
async fn behind_a_load_balancer_with_a_pool_admins_come_from_the_access_token() {
    let alb = cognito_verify::testing::LocalAlb::start().await.unwrap();
    let pool = LocalIssuer::start().await.unwrap();
    let key_url = alb.key_url();
    let service = Service::start(&[
        "--alb-arn",
        alb.arn(),
        "--alb-issuer",
        alb.issuer(),
        "--alb-client-id",
        alb.client_id(),
        "--alb-key-url",
        &key_url,
        "--issuer",
        pool.issuer(),
        "--client-id",
        CLIENT,
    ])
    .await;
    let data = alb.token().sub("bob").sign();
    let admin = pool
        .access_token(CLIENT)
        .sub("bob")
        .groups(["admin"])
        .sign();
    let user = pool.access_token(CLIENT).sub("bob").sign();
    for (access, expected) in [(&admin, StatusCode::OK), (&user, StatusCode::FORBIDDEN)] {
        let (status, _, body) = service
            .call(
                Method::GET,
                "/admin/videos",
                None,
                &[
                    ("x-amzn-oidc-data", &data),
                    ("x-amzn-oidc-accesstoken", access),
                ],
                None,
            )
            .await;
        assert_eq!(status, expected, "{body}");
    }
}
