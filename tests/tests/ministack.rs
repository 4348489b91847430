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
use common::{ManagedLoginSetup, Service, emulator, run_emulator_script, urlencode};
use reqwest::StatusCode;
use videos_api::signin::{ACCESS_COOKIE, REFRESH_COOKIE, STATE_COOKIE};

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

/// Managed login against MiniStack, without a browser: an HTTP client walks
/// the redirects and submits MiniStack's sign-in form as a browser would,
/// with the cookies the service sets. The code is exchanged by the service
/// with the client secret and PKCE, the access token lands in an HttpOnly
/// cookie, the refresh token is traded for a new access token, and sign-out
/// names the pool's `/logout`.
#[tokio::test]
async fn managed_login_signs_a_user_in_with_the_secret_on_the_server() {
    let Some((endpoint, python)) = emulator("MINISTACK") else {
        return;
    };
    let setup = ManagedLoginSetup::start(&endpoint, &python).await;
    let (endpoint, base) = (&setup.endpoint, &setup.service.base);
    let (client, secret) = (&setup.client_id, &setup.client_secret);
    let callback = format!("{base}/auth/callback");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let location = |r: &reqwest::Response| r.headers()["location"].to_str().unwrap().to_owned();
    let cookie_of = |r: &reqwest::Response, name: &str| {
        r.headers().get_all("set-cookie").iter().find_map(|c| {
            let (pair, _) = c.to_str().unwrap().split_once(';')?;
            let (key, value) = pair.split_once('=')?;
            (key == name && !value.is_empty()).then(|| value.to_owned())
        })
    };

    // The service sends the browser to managed login.
    let login = http.get(format!("{base}/auth/login")).send().await.unwrap();
    assert_eq!(login.status(), StatusCode::FOUND);
    let state_cookie = format!(
        "{STATE_COOKIE}={}",
        cookie_of(&login, STATE_COOKIE).unwrap()
    );
    let authorize = location(&login);
    assert!(
        authorize.starts_with(&format!("{endpoint}/oauth2/authorize?")),
        "{authorize}"
    );
    assert!(!authorize.contains(secret.as_str()));
    let form_page = http.get(&authorize).send().await.unwrap();
    assert_eq!(form_page.status(), StatusCode::OK);
    assert!(
        form_page
            .text()
            .await
            .unwrap()
            .contains("name=\"password\"")
    );

    // The user submits the sign-in form (its hidden fields are the query's).
    let query: Vec<(String, String)> = reqwest::Url::parse(&authorize)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let mut form: Vec<(String, String)> = query;
    form.push(("nonce".into(), String::new()));
    form.push(("username".into(), setup.username.clone()));
    form.push(("password".into(), setup.password.clone()));
    let body = form
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let signed_in = http
        .post(format!("{endpoint}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        signed_in.status(),
        StatusCode::FOUND,
        "{}",
        signed_in.text().await.unwrap()
    );
    let back = location(&signed_in);
    assert!(back.starts_with(&callback), "{back}");

    // A tampered state is refused; the real one signs the user in.
    let tampered = back.replace("state=", "state=x");
    let refused = http
        .get(&tampered)
        .header("cookie", &state_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&refused), "/?error=sign_in_expired");
    let done = http
        .get(&back)
        .header("cookie", &state_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&done), "/");
    let access = cookie_of(&done, ACCESS_COOKIE).expect("the access cookie");
    let refresh = cookie_of(&done, REFRESH_COOKIE).expect("the refresh cookie");
    let session = format!("{ACCESS_COOKIE}={access}");
    let me: serde_json::Value = json_of(
        http.get(format!("{base}/me"))
            .header("cookie", &session)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(me["username"], "carol", "{me}");
    let added = http
        .post(format!("{base}/videos"))
        .header("cookie", &session)
        .header("x-videos-csrf", "1")
        .header("content-type", "application/json")
        .body(r#"{"title":"carol's","url":"https://videos.example/c"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), StatusCode::CREATED);

    // Server-side refresh with the refresh token (client secret again).
    let refreshed = http
        .post(format!("{base}/auth/refresh"))
        .header("cookie", format!("{REFRESH_COOKIE}={refresh}"))
        .header("x-videos-csrf", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), StatusCode::NO_CONTENT);
    let renewed = cookie_of(&refreshed, ACCESS_COOKIE).expect("a new access cookie");
    let me = http
        .get(format!("{base}/me"))
        .header("cookie", format!("{ACCESS_COOKIE}={renewed}"))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);

    let out = json_of(
        http.post(format!("{base}/auth/logout"))
            .header("cookie", &session)
            .header("x-videos-csrf", "1")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let redirect = out["redirect"].as_str().unwrap();
    assert!(
        redirect.starts_with(&format!("{endpoint}/logout?client_id={client}")),
        "{redirect}"
    );
}

async fn json_of(response: reqwest::Response) -> serde_json::Value {
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}
