//! Machine-to-machine tokens from the MiniStack Cognito emulator (a real
//! process on 127.0.0.1 with a real `/oauth2/token` endpoint and the
//! client-credentials grant): the verifier accepts them as app clients, and
//! `videos-api` never files a machine's request under a user.
//!
//! `.ci/run` installs MiniStack, starts it, and sets `MINISTACK_ENDPOINT`
//! and `MINISTACK_PYTHON` (an interpreter with boto3). Without them this
//! test says why and skips, except under `CI=true`, where a missing
//! emulator is a failure.

mod common;

use cognito_verify::{PoolConfig, Principal, TokenUse, Verifier};
use common::{Service, emulator, run_emulator_script};
use reqwest::StatusCode;

#[tokio::test]
async fn client_credentials_tokens_are_app_clients_never_users() {
    let Some((endpoint, python)) = emulator("MINISTACK") else {
        return;
    };
    let got = run_emulator_script(&python, "ministack_m2m.py", &[&endpoint]).await;
    let s = |k: &str| got[k].as_str().unwrap().to_owned();
    let (pool, client, token) = (s("pool_id"), s("client_id"), s("access_token"));
    // videos-api (started first for its JWKS URL): the machine is
    // authenticated, but owns no videos.
    let (api, jwks) = Service::start_for_emulator(&endpoint, &pool, &client).await;

    // The core: a verified access token whose principal is the app client.
    let verifier = Verifier::builder()
        .pool(
            PoolConfig::new(pool.clone())
                .issuer_type(cognito_verify::IssuerType::Original)
                .client_id(client.clone())
                .token_use(TokenUse::Access)
                .scope("videos/read")
                .jwks_url(jwks.clone()),
        )
        .build()
        .unwrap();
    let claims = verifier.verify(&token).await.unwrap();
    assert_eq!(
        claims.principal(),
        Principal::AppClient {
            client_id: client.as_str()
        }
    );
    assert_eq!(claims.scopes(), ["videos/read"]);
    assert_eq!((claims.username(), claims.groups().len()), (None, 0));

    let (status, me) = api.get("/me", &token).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["sub"], client.as_str());
    let (status, body) = api.get("/videos", &token).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["kind"], "user_required");
    let (status, body) = api.post_video(&token, "from a machine").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["kind"], "user_required");
}
