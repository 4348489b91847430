//! `videos-api`'s browser sign-in over plain HTTP (no browser): the page,
//! development sign-in, the cookies' attributes, the CSRF guard, and the
//! managed-login callback's state and secret handling.

mod common;

use cognito_verify::testing::LocalIssuer;
use common::Service;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

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
    assert!(set.contains("videos_access="), "{set}");
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(set.contains(attribute), "{attribute} in {set}");
    }
    let token = signed_in.cookie("videos_access").unwrap();
    let cookie = format!("videos_access={token}");

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
    let forged_cookie = [(
        "cookie",
        "videos_access=eyJhbGciOiJub25lIn0.eyJzdWIiOiJib2IifQ.",
    )];
    let me = send(&service, Method::GET, "/me", &forged_cookie, None).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);

    let out = send(&service, Method::POST, "/auth/logout", &page_headers, None).await;
    assert_eq!(out.json()["redirect"], "/");
    assert!(
        out.set_cookies()
            .iter()
            .any(|c| c.starts_with("videos_access=;") && c.contains("Max-Age=0"))
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
    assert_eq!(
        login.cookie("videos_login").as_deref(),
        Some(state.as_str())
    );
    assert!(login.set_cookies()[0].contains("Path=/auth/callback"));
    seen.push(login);

    let cookie = format!("videos_login={state}");
    let callback = |code: &str, state: &str| format!("/auth/callback?code={code}&state={state}");
    for (path, headers) in [
        (
            "/auth/callback?code=c".to_owned(),
            vec![("cookie", cookie.as_str())],
        ),
        (callback("c", &state), vec![]),
        (callback("c", "tampered"), vec![("cookie", cookie.as_str())]),
        (
            callback("c", "tampered"),
            vec![("cookie", "videos_login=tampered")],
        ),
    ] {
        let answer = send(&service, Method::GET, &path, &headers, None).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{path} {headers:?}: {}",
            answer.body
        );
        seen.push(answer);
    }
    // The real state: accepted, then the exchange fails (nothing listens at
    // the domain) — and the state is spent.
    let first = send(
        &service,
        Method::GET,
        &callback("c", &state),
        &[("cookie", &cookie)],
        None,
    )
    .await;
    assert_eq!(first.status, StatusCode::BAD_GATEWAY, "{}", first.body);
    let reused = send(
        &service,
        Method::GET,
        &callback("c", &state),
        &[("cookie", &cookie)],
        None,
    )
    .await;
    assert_eq!(reused.status, StatusCode::BAD_REQUEST);
    assert!(reused.body.contains("used"), "{}", reused.body);
    seen.extend([first, reused]);
    let error = send(
        &service,
        Method::GET,
        "/auth/callback?error=access_denied",
        &[],
        None,
    )
    .await;
    assert_eq!(error.status, StatusCode::BAD_REQUEST);
    assert!(error.body.contains("access_denied"), "{}", error.body);
    seen.push(error);
    // The provider's error is shown to the user as a page, escaped.
    let injected = send(
        &service,
        Method::GET,
        "/auth/callback?error=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        &[],
        None,
    )
    .await;
    assert_eq!(injected.headers["content-type"], "text/html; charset=utf-8");
    assert!(
        !injected.body.contains("<script>alert"),
        "{}",
        injected.body
    );
    assert!(
        injected.body.contains("&lt;script&gt;alert(1)"),
        "{}",
        injected.body
    );

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
