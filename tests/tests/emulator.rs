//! `videos-api` against the moto Cognito emulator: a real process on
//! 127.0.0.1 that signs real RS256 tokens with the real Cognito issuer, and
//! serves the pool's JWKS at `/<pool id>/.well-known/jwks.json`.
//!
//! `.ci/run` installs moto, starts it, and sets `MOTO_ENDPOINT` (its URL) and
//! `MOTO_PYTHON` (an interpreter with boto3). Without them this test says why
//! and skips, except under `CI=true`, where a missing emulator is a failure.

mod common;

use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Service, emulator, run_emulator_script, titles};
use reqwest::{Method, StatusCode};
use serde_json::Value;

#[tokio::test]
async fn videos_api_accepts_the_emulator_s_tokens_and_refuses_forgeries() {
    let Some((endpoint, python)) = emulator("MOTO") else {
        return;
    };
    let started = Instant::now();
    // Signs a user up and in through the emulator, as the course labs do.
    let user =
        run_emulator_script(&python, "cognito_user.py", &[&endpoint, "alice", "admin"]).await;
    let signed_in = started.elapsed();
    let s = |k: &str| user[k].as_str().unwrap().to_owned();
    let (pool, client, sub, access, id) = (
        s("pool_id"),
        s("client_id"),
        s("sub"),
        s("access_token"),
        s("id_token"),
    );
    let (api, _) = Service::start_for_emulator(&endpoint, &pool, &client).await;

    let (status, me) = api.get("/me", &access).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["sub"], sub.as_str());
    assert_eq!(me["username"], "alice");
    assert_eq!(me["groups"], serde_json::json!(["admin"]));
    assert_eq!(me["token_use"], "access");

    let (status, video) = api.post_video(&access, "course-lab-1").await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(video["owner"], sub.as_str());
    assert_eq!(
        titles(&api.get("/videos", &access).await.1),
        ["course-lab-1"]
    );
    assert_eq!(api.get("/admin/videos", &access).await.0, StatusCode::OK);

    // A token whose payload was edited (another sub) fails the signature.
    let mut parts: Vec<&str> = access.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["sub"] = Value::String("someone-else".into());
    let forged_payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    parts[1] = &forged_payload;
    let forged = parts.join(".");
    let (status, challenge, body) = api
        .call(Method::GET, "/videos", Some(&forged), &[], None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["kind"], "invalid_signature");
    assert!(challenge.unwrap().contains(r#"error="invalid_token""#));

    // The id token is refused: the API accepts access tokens.
    let (status, _, body) = api.call(Method::GET, "/videos", Some(&id), &[], None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["kind"], "invalid_token_use");

    eprintln!(
        "emulator test: sign-up and sign-in {:?}, whole test {:?}",
        signed_in,
        started.elapsed()
    );
}
