//! `videos-api` in a real browser: headless Chromium driven over WebDriver
//! (chromedriver, started by `.ci/run`, whose URL is in `WEBDRIVER_URL`).
//! Without it the tests say why and skip, except under `CI=true`.
//!
//! Screenshots of each page state are saved under
//! `<target>/tmp/browser/` (Cargo's `CARGO_TARGET_TMPDIR`).

mod common;

use std::time::{Duration, Instant};

use common::{ManagedLoginSetup, Service, emulator};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// A headless Chromium session, or `None` (skipped) without chromedriver.
async fn browser() -> Option<Client> {
    browser_with(&[]).await
}

/// The same, with more command-line switches.
async fn browser_with(switches: &[String]) -> Option<Client> {
    let webdriver = std::env::var("WEBDRIVER_URL").unwrap_or_default();
    if webdriver.is_empty() {
        let why = "WEBDRIVER_URL is not set (see .ci/run for how to start chromedriver)";
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the browser tests need it under CI: {why}"
        );
        eprintln!("skipping: {why}");
        return None;
    }
    let binary = std::env::var("CHROMIUM_BINARY").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let mut args = vec![
        "--headless=new".to_owned(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-dev-shm-usage".into(),
        "--window-size=1000,760".into(),
    ];
    args.extend_from_slice(switches);
    let capabilities = json!({
        "goog:chromeOptions": { "binary": binary, "args": args }
    });
    let Value::Object(capabilities) = capabilities else {
        unreachable!()
    };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client = ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&webdriver)
        .await
        .expect("a Chromium session");
    Some(client)
}

/// Waits (up to 15 s) until the JavaScript expression `condition` is true.
async fn until(browser: &Client, condition: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let done = browser
            .execute(&format!("return Boolean({condition});"), vec![])
            .await
            .map(|v| v == Value::Bool(true))
            .unwrap_or(false);
        if done {
            return;
        }
        if Instant::now() > deadline {
            let page = browser.source().await.unwrap_or_default();
            panic!("timed out waiting for {what}; the page:\n{page}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Saves a screenshot of the page as `<CARGO_TARGET_TMPDIR>/browser/<name>.png`.
async fn screenshot(browser: &Client, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    let png = browser.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

async fn click(browser: &Client, css: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn type_into(browser: &Client, css: &str, text: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
}

const SIGNED_OUT: &str = "!document.getElementById('signed-out').hidden";

/// The access cookie as `name=value`, read through WebDriver (the page
/// itself cannot: it is HttpOnly).
async fn access_cookie(browser: &Client) -> String {
    let name = videos_api::signin::ACCESS_COOKIE;
    let cookie = browser.get_named_cookie(name).await.unwrap();
    format!("{name}={}", cookie.value())
}

/// `GET /me` replayed with `cookie` from outside the browser: the status
/// and the refusal's kind.
async fn replayed(base: &str, cookie: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .get(format!("{base}/me"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap_or_default();
    (status, body["kind"].as_str().unwrap_or_default().to_owned())
}

fn signed_in_as(name: &str) -> String {
    format!(
        "!document.getElementById('signed-in').hidden && document.getElementById('who').textContent === '{name}'"
    )
}

async fn add_video(browser: &Client, title: &str) {
    type_into(browser, "#add-video input[name=title]", title).await;
    type_into(
        browser,
        "#add-video input[name=url]",
        "https://videos.example/watch",
    )
    .await;
    click(browser, "#add-video button[type=submit]").await;
    until(
        browser,
        &format!("document.getElementById('videos').textContent.includes({title:?})"),
        "the new video in the list",
    )
    .await;
}

#[tokio::test]
async fn development_mode_in_a_browser() {
    let Some(browser) = browser().await else {
        return;
    };
    let service = Service::start(&["--dev"]).await;
    browser.goto(&format!("{}/", service.base)).await.unwrap();
    until(
        &browser,
        &format!("{SIGNED_OUT} && !document.getElementById('demo-users').hidden"),
        "the demo users",
    )
    .await;
    screenshot(&browser, "dev-1-signed-out").await;
    let account = browser.find(Locator::Id("account")).await.unwrap();
    assert!(
        !account.is_displayed().await.unwrap(),
        "no account bar when signed out"
    );

    click(&browser, "#sign-in-alice").await;
    until(&browser, &signed_in_as("alice"), "alice signed in").await;
    let cookies = browser
        .execute("return document.cookie;", vec![])
        .await
        .unwrap();
    assert!(
        !cookies
            .as_str()
            .unwrap_or_default()
            .contains(videos_api::signin::ACCESS_COOKIE),
        "the page cannot read the token: {cookies}"
    );
    add_video(&browser, "Alice's first video").await;
    screenshot(&browser, "dev-2-alice-with-a-video").await;
    let alices = access_cookie(&browser).await;
    assert_eq!(replayed(&service.base, &alices).await.0, 200);
    // Another session of alice's, which the admin ends below.
    let other = service
        .call(
            reqwest::Method::POST,
            "/dev/token",
            None,
            &[],
            Some(json!({ "username": "alice" })),
        )
        .await
        .2["token"]
        .as_str()
        .unwrap()
        .to_owned();

    click(&browser, "#sign-out").await;
    until(&browser, SIGNED_OUT, "signed out").await;
    screenshot(&browser, "dev-3-signed-out-again").await;
    // The old cookie, replayed, is refused: the session was revoked.
    assert_eq!(
        replayed(&service.base, &alices).await,
        (401, "revoked".to_owned())
    );
    let other_session = format!("{}={other}", videos_api::signin::ACCESS_COOKIE);
    assert_eq!(replayed(&service.base, &other_session).await.0, 200);

    click(&browser, "#sign-in-bob").await;
    until(&browser, &signed_in_as("bob"), "bob signed in").await;
    until(
        &browser,
        "!document.getElementById('no-videos').hidden",
        "bob's empty list",
    )
    .await;
    let own = browser
        .find(Locator::Id("videos"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!own.contains("Alice"), "bob's own list: {own}");
    until(
        &browser,
        "!document.getElementById('admin').hidden",
        "the admin link",
    )
    .await;
    click(&browser, "#show-everyone").await;
    until(
        &browser,
        "document.getElementById('everyone').textContent.includes(\"Alice's first video\")",
        "everyone's videos",
    )
    .await;
    screenshot(&browser, "dev-4-bob-admin-sees-everyone").await;

    // Bob signs alice out everywhere by her id, then himself.
    type_into(&browser, "#sign-out-user input[name=sub]", "dev-alice").await;
    click(&browser, "#sign-out-user button").await;
    until(
        &browser,
        "document.getElementById('sign-out-user-done').textContent.includes('dev-alice')",
        "alice signed out by the admin",
    )
    .await;
    screenshot(&browser, "dev-5-admin-signed-alice-out").await;
    assert_eq!(
        replayed(&service.base, &other_session).await,
        (401, "revoked".to_owned())
    );
    let bobs = access_cookie(&browser).await;
    click(&browser, "#sign-out-everywhere").await;
    until(&browser, SIGNED_OUT, "bob signed out everywhere").await;
    assert_eq!(
        replayed(&service.base, &bobs).await,
        (401, "revoked".to_owned())
    );
    browser.close().await.unwrap();
}

#[tokio::test]
async fn managed_login_against_ministack_in_a_browser() {
    let Some((endpoint, python)) = emulator("MINISTACK") else {
        return;
    };
    let Some(browser) = browser().await else {
        return;
    };
    let setup = ManagedLoginSetup::start(&endpoint, &python).await;
    let (endpoint, base) = (&setup.endpoint, &setup.service.base);
    browser.goto(&format!("{base}/")).await.unwrap();
    until(
        &browser,
        &format!("{SIGNED_OUT} && !document.getElementById('sign-in').hidden"),
        "the sign-in button",
    )
    .await;
    screenshot(&browser, "managed-1-signed-out").await;
    click(&browser, "#sign-in").await;
    until(
        &browser,
        "document.querySelector('input[name=password]') !== null",
        "the managed login form",
    )
    .await;
    assert!(
        browser
            .current_url()
            .await
            .unwrap()
            .as_str()
            .starts_with(endpoint.as_str())
    );
    screenshot(&browser, "managed-2-login-form").await;
    type_into(&browser, "input[name=username]", &setup.username).await;
    type_into(&browser, "input[name=password]", &setup.password).await;
    browser
        .execute("document.querySelector('form').submit();", vec![])
        .await
        .unwrap();
    until(
        &browser,
        &signed_in_as("carol"),
        "carol signed in, back on the page",
    )
    .await;
    add_video(&browser, "Carol's video").await;
    screenshot(&browser, "managed-3-carol-with-a-video").await;

    // Back onto the used callback (or any callback without this
    // browser's sign-in under way): a signed-in user is simply on the page.
    browser
        .goto(&format!("{base}/auth/callback?code=used&state=used"))
        .await
        .unwrap();
    until(&browser, &signed_in_as("carol"), "carol on the page").await;
    assert!(
        browser.current_url().await.unwrap().path() == "/",
        "taken to the page"
    );
    assert!(
        !browser
            .find(Locator::Id("error"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap(),
        "no error for a signed-in user"
    );
    screenshot(&browser, "managed-4-used-callback").await;

    // Sign out: the cookies are cleared, managed login's session ended,
    // and the tokens revoked: the old cookie, replayed, is refused.
    browser.goto(&format!("{base}/")).await.unwrap();
    until(&browser, &signed_in_as("carol"), "still signed in").await;
    let carols = access_cookie(&browser).await;
    assert_eq!(replayed(base, &carols).await.0, 200);
    click(&browser, "#sign-out").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    browser.goto(&format!("{base}/")).await.unwrap();
    until(&browser, SIGNED_OUT, "signed out").await;
    screenshot(&browser, "managed-5-signed-out").await;
    assert_eq!(replayed(base, &carols).await, (401, "revoked".to_owned()));
    browser.close().await.unwrap();
}

/// The text of the page's error box ("" when it is hidden).
async fn error_shown(browser: &Client) -> String {
    let box_ = browser.find(Locator::Id("error")).await.unwrap();
    if box_.is_displayed().await.unwrap() {
        box_.text().await.unwrap()
    } else {
        String::new()
    }
}

#[tokio::test]
async fn the_page_shows_fixed_sign_in_errors_and_only_when_signed_out() {
    let Some(browser) = browser().await else {
        return;
    };
    let service = Service::start(&["--dev"]).await;
    let base = &service.base;
    let ready = format!("{SIGNED_OUT} && !document.getElementById('demo-users').hidden");
    // A crafted link's text is never shown: a fixed message instead.
    browser
        .goto(&format!(
            "{base}/?error=Your+account+is+locked.+Call+%2B1+555+0100"
        ))
        .await
        .unwrap();
    until(&browser, &ready, "the signed-out page").await;
    let shown = error_shown(&browser).await;
    assert!(
        !shown.contains("locked") && !shown.contains("555"),
        "{shown}"
    );
    assert!(shown.contains("Sign-in did not complete"), "{shown}");
    screenshot(&browser, "errors-1-crafted-link").await;
    // Each code of the callback has its own words, free of jargon.
    for (code, words) in [
        ("access_denied", "cancelled"),
        ("sign_in_expired", "expired"),
        ("sign_in_failed", "did not complete"),
    ] {
        browser
            .goto(&format!("{base}/?error={code}"))
            .await
            .unwrap();
        until(&browser, &ready, "the signed-out page").await;
        let shown = error_shown(&browser).await;
        assert!(shown.contains(words), "{code}: {shown}");
        assert!(
            !shown.contains("state") && !shown.contains(code),
            "{code}: {shown}"
        );
    }
    // Signed in, the page shows no sign-in error at all.
    click(&browser, "#sign-in-alice").await;
    until(&browser, &signed_in_as("alice"), "alice signed in").await;
    browser
        .goto(&format!("{base}/?error=sign_in_expired"))
        .await
        .unwrap();
    until(&browser, &signed_in_as("alice"), "alice signed in").await;
    assert_eq!(error_shown(&browser).await, "");
    screenshot(&browser, "errors-2-signed-in").await;
    browser.close().await.unwrap();
}

#[tokio::test]
async fn a_title_with_bidi_controls_stays_inside_its_own_box() {
    let Some(browser) = browser().await else {
        return;
    };
    let service = Service::start(&["--dev"]).await;
    browser.goto(&format!("{}/", service.base)).await.unwrap();
    until(
        &browser,
        "document.getElementById('sign-in-bob')",
        "the demo users",
    )
    .await;
    click(&browser, "#sign-in-bob").await;
    until(&browser, &signed_in_as("bob"), "bob signed in").await;
    // An unterminated RIGHT-TO-LEFT OVERRIDE in the title.
    let add = "return fetch('/videos', {method: 'POST', credentials: 'same-origin', \
        headers: {'x-videos-csrf': '1', 'content-type': 'application/json'}, \
        body: JSON.stringify({title: '\\u202eReversed title', url: 'https://videos.example/r'})}).then(r => r.status);";
    assert_eq!(browser.execute(add, vec![]).await.unwrap(), json!(201));
    browser.refresh().await.unwrap();
    until(
        &browser,
        "document.querySelector('#videos li button')",
        "the video",
    )
    .await;
    // The Delete button stays right of the title; the owner's name right
    // of the title in everyone's list.
    let right_of_title = |list: &str, after: &str| {
        format!(
            "(() => {{ const li = document.querySelector('#{list} li'); \
             const title = li.querySelector('a').getBoundingClientRect(); \
             const after = li.querySelector('{after}').getBoundingClientRect(); \
             return after.left >= title.right; }})()"
        )
    };
    until(
        &browser,
        &right_of_title("videos", "button"),
        "Delete right of the title",
    )
    .await;
    click(&browser, "#show-everyone").await;
    until(
        &browser,
        "document.querySelector('#everyone li .owner')",
        "everyone's videos",
    )
    .await;
    until(
        &browser,
        &right_of_title("everyone", ".owner"),
        "the owner right of the title",
    )
    .await;
    screenshot(&browser, "bidi-1-isolated").await;
    browser.close().await.unwrap();
}

#[tokio::test]
async fn reloading_everyones_videos_keeps_the_admin_view() {
    let Some(browser) = browser().await else {
        return;
    };
    let service = Service::start(&["--dev"]).await;
    browser.goto(&format!("{}/", service.base)).await.unwrap();
    until(
        &browser,
        "document.getElementById('sign-in-bob')",
        "the demo users",
    )
    .await;
    click(&browser, "#sign-in-bob").await;
    until(
        &browser,
        "!document.getElementById('admin').hidden",
        "the admin link",
    )
    .await;
    click(&browser, "#show-everyone").await;
    until(
        &browser,
        "!document.getElementById('everyone-section').hidden",
        "everyone's videos",
    )
    .await;
    assert_eq!(
        browser.current_url().await.unwrap().fragment(),
        Some("everyone")
    );
    browser.refresh().await.unwrap();
    until(
        &browser,
        "!document.getElementById('everyone-section').hidden",
        "everyone's videos after a reload",
    )
    .await;
    screenshot(&browser, "admin-1-reloaded").await;
    browser.close().await.unwrap();
}

/// A hostile page for `*.videos.test`: it tries to plant every sign-in
/// cookie (the old unprefixed names too) with `mallory` as the value, by
/// `Set-Cookie` (for the parent domain and host-only) and by script.
async fn serve_planter(mallory: String) -> (u16, tokio::task::JoinHandle<()>) {
    use axum::http::{HeaderMap, HeaderValue, header::SET_COOKIE};
    use videos_api::signin::{ACCESS_COOKIE, REFRESH_COOKIE, STATE_COOKIE};
    let names = [
        "videos_access",
        "videos_refresh",
        "videos_login",
        ACCESS_COOKIE,
        REFRESH_COOKIE,
        STATE_COOKIE,
    ];
    let mut headers = HeaderMap::new();
    let mut script = String::new();
    for name in names {
        for attributes in [
            "Path=/; Domain=videos.test",
            "Path=/; Secure; Domain=videos.test",
            "Path=/; Secure",
            "Path=/",
        ] {
            let cookie = format!("{name}={mallory}; {attributes}");
            headers.append(SET_COOKIE, HeaderValue::from_str(&cookie).unwrap());
            script.push_str(&format!("document.cookie = {cookie:?};\n"));
        }
    }
    let page = format!("<!doctype html><p id=planted>planted</p><script>{script}</script>");
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || async move { (headers, axum::response::Html(page)) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (port, task)
}

#[tokio::test]
async fn a_same_site_page_cannot_plant_the_sign_in_cookies() {
    // Chromium maps `*.videos.test` to the loopback services; the API's
    // origin counts as secure (as it would over HTTPS), the hostile pages'
    // do not (plain HTTP, as on a network without HSTS).
    let issuer = cognito_verify::testing::LocalIssuer::start().await.unwrap();
    let mallory = issuer
        .access_token("videos-web")
        .sub("sub-mallory")
        .username("mallory")
        .sign();
    let service = Service::start(&["--issuer", issuer.issuer(), "--client-id", "videos-web"]).await;
    let app_port = service.base.rsplit(':').next().unwrap().to_owned();
    let (evil_port, _planter) = serve_planter(mallory).await;
    let app = format!("http://app.videos.test:{app_port}");
    let switches = [
        "--host-resolver-rules=MAP *.videos.test 127.0.0.1".to_owned(),
        format!("--unsafely-treat-insecure-origin-as-secure={app}"),
    ];
    let Some(browser) = browser_with(&switches).await else {
        return;
    };
    // A sibling subdomain, then a plain-HTTP answer for the API's own host.
    for hostile in [
        format!("http://evil.videos.test:{evil_port}/"),
        format!("http://app.videos.test:{evil_port}/"),
    ] {
        browser.goto(&hostile).await.unwrap();
        until(
            &browser,
            "document.getElementById('planted')",
            "the hostile page",
        )
        .await;
    }
    browser.goto(&format!("{app}/")).await.unwrap();
    until(&browser, SIGNED_OUT, "the signed-out page").await;
    screenshot(&browser, "planted-1-still-signed-out").await;
    // The old names were planted (the hostile pages did reach this site)…
    let cookies = browser
        .execute("return document.cookie;", vec![])
        .await
        .unwrap();
    assert!(
        cookies.as_str().unwrap().contains("videos_access="),
        "{cookies}"
    );
    // …and none of them counts: the browser is not signed in as mallory.
    let me = browser
        .execute(
            "return fetch('/me', {credentials: 'same-origin'}).then(r => r.status);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(me, json!(401));
    browser.close().await.unwrap();
}

/// The browser bundle of amazon-cognito-identity-js
/// (`dist/amazon-cognito-identity.min.js`), installed by `.ci/run`, whose
/// path is in `COGNITO_IDENTITY_JS`; `None` (skipped) without it.
fn cognito_identity_js() -> Option<String> {
    let path = std::env::var("COGNITO_IDENTITY_JS").unwrap_or_default();
    if path.is_empty() {
        let why = "COGNITO_IDENTITY_JS is not set (see .ci/run for how to install amazon-cognito-identity-js)";
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the browser tests need it under CI: {why}"
        );
        eprintln!("skipping: {why}");
        return None;
    }
    Some(std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

/// Serves `tests/browser/spa.html` and the SDK's bundle on another
/// loopback port than the API's: another origin. Returns its origin.
async fn serve_spa(sdk: String) -> (String, tokio::task::JoinHandle<()>) {
    use axum::http::header::CONTENT_TYPE;
    use axum::response::Html;
    use axum::routing::get;
    let page = include_str!("../browser/spa.html");
    let app = axum::Router::new()
        .route("/", get(move || async move { Html(page) }))
        .route(
            "/amazon-cognito-identity.min.js",
            get(move || async move { ([(CONTENT_TYPE, "text/javascript")], sdk) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (origin, task)
}

/// Waits for the page's `outcome[step]` and returns it.
async fn outcome(browser: &Client, step: &str) -> Value {
    until(
        browser,
        &format!("window.outcome[{step:?}] !== undefined"),
        step,
    )
    .await;
    browser
        .execute(&format!("return window.outcome[{step:?}];"), vec![])
        .await
        .unwrap()
}

#[tokio::test]
async fn a_page_on_another_origin_signs_in_with_srp_and_calls_the_api() {
    let Some((endpoint, python)) = emulator("MINISTACK") else {
        return;
    };
    let Some(sdk) = cognito_identity_js() else {
        return;
    };
    let Some(browser) = browser().await else {
        return;
    };
    let endpoint = endpoint.trim_end_matches('/').to_owned();
    let created =
        common::run_emulator_script(&python, "ministack_spa_client.py", &["create", &endpoint])
            .await;
    let (pool, client) = (
        created["pool_id"].as_str().unwrap().to_owned(),
        created["client_id"].as_str().unwrap().to_owned(),
    );
    let (page, _page_server) = serve_spa(sdk).await;
    let jwks = format!("{endpoint}/{pool}/.well-known/jwks.json");
    let service = Service::start(&[
        "--user-pool-id",
        &pool,
        "--client-id",
        &client,
        "--jwks-url",
        &jwks,
        "--allowed-origins",
        &page,
    ])
    .await;
    let api = &service.base;
    assert_ne!(&page, api, "the page is on another origin");

    browser.goto(&format!("{page}/")).await.unwrap();
    until(
        &browser,
        "window.AmazonCognitoIdentity && window.setUp",
        "the SDK",
    )
    .await;
    let run = |script: String| {
        let browser = browser.clone();
        async move { browser.execute(&script, vec![]).await.unwrap() }
    };
    run(format!(
        "setUp({pool:?}, {client:?}, {:?});",
        format!("{endpoint}/")
    ))
    .await;
    let (username, password) = ("dana", "Lab-Passw0rd!");
    run(format!(
        "signUp({username:?}, {password:?}, 'dana@example.com');"
    ))
    .await;
    assert_eq!(outcome(&browser, "signUp").await, "ok");
    common::run_emulator_script(
        &python,
        "ministack_spa_client.py",
        &["confirm", &endpoint, &pool, username],
    )
    .await;
    run(format!("signIn({username:?}, {password:?});")).await;
    assert_eq!(outcome(&browser, "signIn").await, "ok", "USER_SRP_AUTH");

    let bearer = "{ Authorization: 'Bearer ' + accessToken() }";
    run(format!(
        "call('empty', '{api}/videos', {{ headers: {bearer} }});"
    ))
    .await;
    let empty = outcome(&browser, "empty").await;
    assert_eq!(empty["status"], 200, "{empty}");
    assert_eq!(
        serde_json::from_str::<Value>(empty["body"].as_str().unwrap()).unwrap()["videos"],
        json!([])
    );
    run(format!(
        "call('add', '{api}/videos', {{ method: 'POST', headers: {{ Authorization: 'Bearer ' + accessToken(), 'Content-Type': 'application/json' }}, body: JSON.stringify({{ title: 'From the lab page', url: 'https://videos.example/lab' }}) }});"
    ))
    .await;
    let added = outcome(&browser, "add").await;
    assert_eq!(added["status"], 201, "{added}");
    run(format!(
        "call('listed', '{api}/videos', {{ headers: {bearer} }});"
    ))
    .await;
    let listed = outcome(&browser, "listed").await;
    assert!(
        listed["body"]
            .as_str()
            .unwrap()
            .contains("From the lab page"),
        "{listed}"
    );

    // A refusal the page can read: the id token where the API wants the
    // access token.
    run(format!(
        "call('wrong_token', '{api}/videos', {{ headers: {{ Authorization: 'Bearer ' + idToken() }} }});"
    ))
    .await;
    let refused = outcome(&browser, "wrong_token").await;
    assert_eq!(refused["status"], 401, "{refused}");
    assert!(
        refused["challenge"]
            .as_str()
            .unwrap_or_default()
            .contains(r#"error_description="invalid_token_use: expected an access token""#),
        "{refused}"
    );
    assert!(
        refused["body"]
            .as_str()
            .unwrap()
            .contains("invalid_token_use"),
        "{refused}"
    );
    // Credentialed (cookie) requests from another origin are never allowed.
    run(format!(
        "call('with_cookies', '{api}/videos', {{ credentials: 'include', headers: {bearer} }});"
    ))
    .await;
    let blocked = outcome(&browser, "with_cookies").await;
    assert!(blocked["error"].is_string(), "{blocked}");
    screenshot(&browser, "spa-on-another-origin").await;
    browser.close().await.unwrap();
}
