//! `videos-api`'s browser sign-in over plain HTTP (no browser): the page,
//! development sign-in, the cookies' attributes, the CSRF guard, and the
//! managed-login callback's state and secret handling.

mod common;

use cognito_verify::testing::LocalIssuer;
use common::Service;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use videos_api::signin::{ACCESS_COOKIE, STATE_COOKIE};

const CLIENT: &str = "videos-web";
const SECRET: &str = "s3cr3t-never-shown-0123456789abcdef";

/// A client that shows redirects and cookies instead of following them.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    /// The value the response sets for cookie `name`.
    fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies().iter().find_map(|c| {
            let (pair, _) = c.split_once(';')?;
            let (key, value) = pair.split_once('=')?;
            (key == name).then(|| value.to_owned())
        })
    }
}

async fn send(
    service: &Service,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Answer {
    let mut request = client().request(method, format!("{}{path}", service.base));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.unwrap();
    Answer {
        status: response.status(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

#[tokio::test]
async fn development_sign_in_sets_an_http_only_cookie_the_api_accepts() {
    let service = Service::start(&["--dev"]).await;
    let page = send(&service, Method::GET, "/", &[], None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<script src=\"/app.js\""));
    assert!(
        page.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );
    let config = send(&service, Method::GET, "/auth/config", &[], None)
        .await
        .json();
    assert_eq!(config["mode"], "dev");

    let alice = json!({"username": "alice"});
    let refused = send(
        &service,
        Method::POST,
        "/auth/dev-login",
        &[],
        Some(alice.clone()),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "no CSRF header");
    let signed_in = send(
        &service,
        Method::POST,
        "/auth/dev-login",
        &[("x-videos-csrf", "1")],
        Some(alice),
    )
    .await;
    assert_eq!(
        signed_in.status,
        StatusCode::NO_CONTENT,
        "{}",
        signed_in.body
    );
    let set = signed_in.set_cookies().join("\n");
    assert!(set.contains(&format!("{ACCESS_COOKIE}=")), "{set}");
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(set.contains(attribute), "{attribute} in {set}");
    }
    let token = signed_in.cookie(ACCESS_COOKIE).unwrap();
    let cookie = format!("{ACCESS_COOKIE}={token}");

    let me = send(&service, Method::GET, "/me", &[("cookie", &cookie)], None).await;
    assert_eq!(me.json()["sub"], "dev-alice");
    let video = json!({"title": "from the page", "url": "https://videos.example/p"});
    let page_headers = [("cookie", cookie.as_str()), ("x-videos-csrf", "1")];
    let added = send(
        &service,
        Method::POST,
        "/videos",
        &page_headers,
        Some(video.clone()),
    )
    .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);

    // A cross-site form post carries the cookie but not the header.
    let cross_site = [
        ("cookie", cookie.as_str()),
        ("origin", "https://evil.example"),
    ];
    let forged = send(
        &service,
        Method::POST,
        "/videos",
        &cross_site,
        Some(video.clone()),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(forged.json()["kind"], "csrf");
    // Nor with the header from another origin.
    let other_origin = [
        ("cookie", cookie.as_str()),
        ("x-videos-csrf", "1"),
        ("origin", "https://evil.example"),
    ];
    let forged = send(
        &service,
        Method::POST,
        "/videos",
        &other_origin,
        Some(video.clone()),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let id = added.json()["id"].to_string();
    let delete = send(
        &service,
        Method::DELETE,
        &format!("/videos/{id}"),
        &cross_site,
        None,
    )
    .await;
    assert_eq!(delete.status, StatusCode::FORBIDDEN);
    // A bearer token is not a browser's doing: no CSRF header needed.
    let bearer = format!("Bearer {token}");
    let with_bearer = send(
        &service,
        Method::POST,
        "/videos",
        &[("authorization", &bearer)],
        Some(video),
    )
    .await;
    assert_eq!(with_bearer.status, StatusCode::CREATED);

    // A forged cookie is a token like any other: refused.
    let forged = format!("{ACCESS_COOKIE}=eyJhbGciOiJub25lIn0.eyJzdWIiOiJib2IifQ.");
    let forged_cookie = [("cookie", forged.as_str())];
    let me = send(&service, Method::GET, "/me", &forged_cookie, None).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);

    let out = send(&service, Method::POST, "/auth/logout", &page_headers, None).await;
    assert_eq!(out.json()["redirect"], "/");
    assert!(
        out.set_cookies()
            .iter()
            .any(|c| c.starts_with(&format!("{ACCESS_COOKIE}=;")) && c.contains("Max-Age=0"))
    );
}

async fn managed_login_service() -> (LocalIssuer, Service) {
    let issuer = LocalIssuer::start().await.unwrap();
    let service = Service::start_with_secret(
        &[
            "--issuer",
            issuer.issuer(),
            "--client-id",
            CLIENT,
            // Nothing listens there: no exchange can succeed in this test.
            "--cognito-domain",
            "http://127.0.0.1:9",
            "--redirect-uri",
            "https://videos.example.com/auth/callback",
        ],
        Some(SECRET),
    )
    .await;
    (issuer, service)
}

#[tokio::test]
async fn the_callback_takes_only_this_browsers_pending_state_once() {
    let (_issuer, service) = managed_login_service().await;
    let mut seen = Vec::new();
    let login = send(&service, Method::GET, "/auth/login", &[], None).await;
    assert_eq!(login.status, StatusCode::FOUND);
    let location = login.headers[LOCATION].to_str().unwrap().to_owned();
    let url = reqwest::Url::parse(&location).unwrap();
    assert_eq!(url.path(), "/oauth2/authorize");
    let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["client_id"], CLIENT);
    assert_eq!(
        query["redirect_uri"],
        "https://videos.example.com/auth/callback"
    );
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["code_challenge"].len(), 43);
    let state = query["state"].clone();
    // The sign-in under way is sealed in the browser's cookie: neither the
    // state nor the PKCE verifier can be read from it.
    let sealed = login.cookie(STATE_COOKIE).unwrap();
    assert!(!sealed.contains(&state), "{sealed}");
    let set = &login.set_cookies()[0];
    assert!(
        set.contains("Path=/;") && set.contains("Max-Age=600"),
        "{set}"
    );
    seen.push(login);
    let other_browser = send(&service, Method::GET, "/auth/login", &[], None).await;
    let others = format!(
        "{STATE_COOKIE}={}",
        other_browser.cookie(STATE_COOKIE).unwrap()
    );

    let cookie = format!("{STATE_COOKIE}={sealed}");
    let mut tampered = sealed.clone().into_bytes();
    tampered[20] = if tampered[20] == b'A' { b'B' } else { b'A' };
    let tampered = format!("{STATE_COOKIE}={}", String::from_utf8(tampered).unwrap());
    let callback = |code: &str, state: &str| format!("/auth/callback?code={code}&state={state}");
    let expired = "/?error=sign_in_expired";
    let failed = "/?error=sign_in_failed";
    for (path, headers, to) in [
        (callback("c", &state), vec![], expired),
        (
            callback("c", "tampered"),
            vec![("cookie", cookie.as_str())],
            expired,
        ),
        (
            callback("c", &state),
            vec![("cookie", tampered.as_str())],
            expired,
        ),
        (
            callback("c", &state),
            vec![("cookie", others.as_str())],
            expired,
        ),
        (
            format!("/auth/callback?state={state}"),
            vec![("cookie", cookie.as_str())],
            failed,
        ),
    ] {
        let answer = send(&service, Method::GET, &path, &headers, None).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{path} {headers:?}");
        assert_eq!(answer.headers[LOCATION], to, "{path} {headers:?}");
        // Every callback clears the pending sign-in: it is good for one.
        let clears = format!("{STATE_COOKIE}=;");
        assert!(
            answer
                .set_cookies()
                .iter()
                .any(|c| c.starts_with(&clears) && c.contains("Max-Age=0")),
            "{path}"
        );
        seen.push(answer);
    }
    // The real state: accepted, then the exchange fails (nothing listens at
    // the domain).
    let first = send(
        &service,
        Method::GET,
        &callback("c", &state),
        &[("cookie", &cookie)],
        None,
    )
    .await;
    assert_eq!(first.headers[LOCATION], failed, "{}", first.body);
    seen.push(first);
    // The provider's error: a fixed code, never its text.
    for (query, to) in [
        ("error=access_denied", "/?error=access_denied"),
        ("error=server_error&error_description=Call+us", failed),
        ("error=Your+account+is+locked.+Call+%2B1+555", failed),
    ] {
        let answer = send(
            &service,
            Method::GET,
            &format!("/auth/callback?{query}"),
            &[],
            None,
        )
        .await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{query}");
        assert_eq!(answer.headers[LOCATION], to, "{query}");
        seen.push(answer);
    }

    // The secret is in no answer, header or body.
    for extra in ["/", "/auth/config", "/app.js", "/me"] {
        seen.push(send(&service, Method::GET, extra, &[], None).await);
    }
    seen.push(
        send(
            &service,
            Method::POST,
            "/auth/logout",
            &[("x-videos-csrf", "1")],
            None,
        )
        .await,
    );
    for answer in &seen {
        let headers = format!("{:?}", answer.headers);
        assert!(!answer.body.contains(SECRET) && !headers.contains(SECRET));
    }
    let logout = seen.last().unwrap().json();
    assert!(logout["redirect"].as_str().unwrap().starts_with("http://127.0.0.1:9/logout?client_id=videos-web&logout_uri=https%3A%2F%2Fvideos.example.com%2F"));
}

/// Signs in a demo user of development mode; the access cookie as a
/// `Cookie` header's `name=value`.
async fn dev_session(service: &Service, username: &str) -> String {
    let signed_in = send(
        service,
        Method::POST,
        "/auth/dev-login",
        &[("x-videos-csrf", "1")],
        Some(json!({ "username": username })),
    )
    .await;
    assert_eq!(
        signed_in.status,
        StatusCode::NO_CONTENT,
        "{}",
        signed_in.body
    );
    let name = videos_api::signin::ACCESS_COOKIE;
    format!("{name}={}", signed_in.cookie(name).unwrap())
}

#[tokio::test]
async fn another_authorization_scheme_does_not_exempt_a_cookie_write_from_the_csrf_guard() {
    let service = Service::start(&["--dev"]).await;
    let cookie = dev_session(&service, "alice").await;
    // What a browser sends cross-site behind an HTTP-auth gate: its own
    // `Authorization` header, and the session cookie.
    for scheme in [
        "Basic dXNlcjpwYXNz",
        "Negotiate YIIBhgYGKwYBBQUCoIIBejCCAXag",
    ] {
        let cross_site = [
            ("cookie", cookie.as_str()),
            ("authorization", scheme),
            ("origin", "https://evil.example"),
        ];
        let video = json!({"title": "planted", "url": "https://evil.example/v"});
        let added = send(&service, Method::POST, "/videos", &cross_site, Some(video)).await;
        assert_eq!(
            added.status,
            StatusCode::FORBIDDEN,
            "{scheme}: {}",
            added.body
        );
        assert_eq!(added.json()["kind"], "csrf");
        let out = send(&service, Method::POST, "/auth/logout", &cross_site, None).await;
        assert_eq!(out.status, StatusCode::FORBIDDEN, "{scheme}: {}", out.body);
    }
}

#[tokio::test]
async fn a_cookie_with_a_non_ascii_byte_does_not_hide_the_session_from_the_csrf_guard() {
    let service = Service::start(&["--dev"]).await;
    let cookie = dev_session(&service, "alice").await;
    let mut with_byte = b"lang=caf\xe9; ".to_vec();
    with_byte.extend_from_slice(cookie.as_bytes());
    let response = client()
        .post(format!("{}/videos", service.base))
        .header(
            "cookie",
            reqwest::header::HeaderValue::from_bytes(&with_byte).unwrap(),
        )
        .header("origin", "https://evil.example")
        .header("content-type", "application/json")
        .body(json!({"title": "planted", "url": "https://evil.example/v"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // The layer reads the same cookie: with the page's header, it is alice.
    let me = client()
        .get(format!("{}/me", service.base))
        .header(
            "cookie",
            reqwest::header::HeaderValue::from_bytes(&with_byte).unwrap(),
        )
        .send()
        .await
        .unwrap();
    let me: Value = serde_json::from_str(&me.text().await.unwrap()).unwrap();
    assert_eq!(me["sub"], "dev-alice");
}

#[tokio::test]
async fn unknown_paths_are_404_and_get_logout_says_to_post() {
    let service = Service::start(&["--dev"]).await;
    for path in ["/nope", "/videos/1/nope", "/auth/nope"] {
        let answer = send(&service, Method::GET, path, &[], None).await;
        assert_eq!(
            answer.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            answer.body
        );
        assert!(!answer.body.is_empty(), "{path}");
    }
    // A protected route still refuses a signed-out browser.
    let me = send(&service, Method::GET, "/me", &[], None).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    let logout = send(&service, Method::GET, "/auth/logout", &[], None).await;
    assert_eq!(logout.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(logout.headers["allow"], "POST");
    assert!(logout.json()["error"].is_string(), "{}", logout.body);
}

#[tokio::test]
async fn the_cookies_carry_the_host_prefix() {
    use videos_api::signin::{ACCESS_COOKIE, REFRESH_COOKIE, STATE_COOKIE};
    for name in [ACCESS_COOKIE, REFRESH_COOKIE, STATE_COOKIE] {
        assert!(name.starts_with("__Host-"), "{name}");
    }
    let service = Service::start(&["--dev"]).await;
    let signed_in = send(
        &service,
        Method::POST,
        "/auth/dev-login",
        &[("x-videos-csrf", "1")],
        Some(json!({ "username": "alice" })),
    )
    .await;
    let (_issuer, managed) = managed_login_service().await;
    let login = send(&managed, Method::GET, "/auth/login", &[], None).await;
    let out = send(
        &service,
        Method::POST,
        "/auth/logout",
        &[("x-videos-csrf", "1")],
        None,
    )
    .await;
    // `__Host-`: `Secure`, `Path=/`, no `Domain`, or the browser drops it.
    for set in [
        signed_in.set_cookies(),
        login.set_cookies(),
        out.set_cookies(),
    ]
    .concat()
    {
        assert!(set.starts_with("__Host-"), "{set}");
        assert!(
            set.contains("; Secure") && set.contains("; Path=/"),
            "{set}"
        );
        assert!(!set.contains("Path=/a") && !set.contains("Domain"), "{set}");
    }
}

#[tokio::test]
async fn many_logins_do_not_fail_another_browsers_sign_in() {
    let (_issuer, service) = managed_login_service().await;
    let login = send(&service, Method::GET, "/auth/login", &[], None).await;
    let name = videos_api::signin::STATE_COOKIE;
    let cookie = format!("{name}={}", login.cookie(name).unwrap());
    let location = reqwest::Url::parse(login.headers[LOCATION].to_str().unwrap()).unwrap();
    let state = location
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    // Another client starts more sign-ins than any table would keep.
    let flood = client();
    let url = format!("{}/auth/login", service.base);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (flood, url) = (flood.clone(), url.clone());
        tasks.spawn(async move {
            for _ in 0..2_600 {
                let r = flood.get(&url).send().await.unwrap();
                assert_eq!(r.status(), StatusCode::FOUND);
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    // The first browser's sign-in goes on to the code exchange (which
    // fails here only because nothing listens at the domain).
    let callback = send(
        &service,
        Method::GET,
        &format!("/auth/callback?code=c&state={state}"),
        &[("cookie", &cookie)],
        None,
    )
    .await;
    assert_eq!(callback.status, StatusCode::SEE_OTHER, "{}", callback.body);
    assert_eq!(callback.headers[LOCATION], "/?error=sign_in_failed");
}
