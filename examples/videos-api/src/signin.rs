//! Browser sign-in, server side (the back end for the front end): the
//! browser never holds a token it can read, and the client secret never
//! leaves the server.
//!
//! - `GET /auth/login` redirects to the pool's managed login
//!   (`/oauth2/authorize`) with a fresh `state` and a PKCE `S256`
//!   challenge. The state is kept here (single use, ten minutes) and in a
//!   cookie scoped to the callback, so a callback from another browser's
//!   sign-in is refused (login CSRF).
//! - `GET /auth/callback` checks the state, exchanges the code at
//!   `/oauth2/token` from the server (HTTP Basic with the client secret when
//!   the client has one, and the PKCE verifier either way), verifies the
//!   access token with the service's own `Verifier`, and sets it in an
//!   `HttpOnly; Secure; SameSite=Lax; Path=/` cookie, with the refresh token
//!   in another, scoped to `/auth/refresh`.
//! - `POST /auth/refresh` trades the refresh token for a new access token;
//!   `POST /auth/logout` clears the cookies and names the pool's `/logout`
//!   URL for the page to go to.
//! - In development mode, `POST /auth/dev-login` signs in a demo user with
//!   the development issuer (the same cookie).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use cognito_verify::Verifier;
use serde::Deserialize;
use serde_json::json;

use crate::config::SignInSettings;
use crate::dev::DevIssuer;

/// The access token's cookie (what `CognitoAuthLayer::cookie` reads).
pub const ACCESS_COOKIE: &str = "videos_access";
/// The refresh token's cookie, sent only to `/auth/refresh`.
pub const REFRESH_COOKIE: &str = "videos_refresh";
/// The pending sign-in's state, sent only to `/auth/callback`.
pub const STATE_COOKIE: &str = "videos_login";

const REFRESH_PATH: &str = "/auth/refresh";
const CALLBACK_PATH: &str = "/auth/callback";
/// How long a sign-in may take between the redirect and the callback.
const SIGN_IN_WINDOW: Duration = Duration::from_secs(600);
/// The most sign-ins pending at once (the oldest are dropped beyond).
const MAX_PENDING: usize = 10_000;
/// How long the refresh token's cookie is kept (Cognito's default refresh
/// token validity).
const REFRESH_COOKIE_SECS: u64 = 30 * 86_400;

/// The demo users of development mode, and their groups.
pub const DEMO_USERS: [(&str, &[&str]); 2] = [("alice", &[]), ("bob", &["admin"])];

/// How a browser signs in.
pub enum SignIn {
    /// Through the pool's managed login.
    ManagedLogin(Box<ManagedLogin>),
    /// Development mode: the demo users, with the development issuer.
    Development(Arc<DevIssuer>),
    /// No browser sign-in (bearer tokens only, or a load balancer signs in).
    Unavailable,
}

/// The managed login's side: settings, the token endpoint's client, the
/// verifier of the tokens it returns, and the sign-ins under way.
pub struct ManagedLogin {
    settings: SignInSettings,
    http: reqwest::Client,
    verifier: Verifier,
    pending: Mutex<HashMap<String, Pending>>,
}

/// A sign-in under way: its PKCE verifier.
struct Pending {
    code_verifier: String,
    started: Instant,
}

impl ManagedLogin {
    /// The managed login of `settings`, its tokens checked by `verifier`.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(settings: SignInSettings, verifier: Verifier) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(ManagedLogin {
            settings,
            http,
            verifier,
            pending: Mutex::default(),
        })
    }

    fn remember(&self, state: String, code_verifier: String) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        pending.retain(|_, p| p.started.elapsed() < SIGN_IN_WINDOW);
        if pending.len() >= MAX_PENDING {
            let oldest = pending
                .iter()
                .min_by_key(|(_, p)| p.started)
                .map(|(state, _)| state.clone());
            if let Some(oldest) = oldest {
                pending.remove(&oldest);
            }
        }
        pending.insert(
            state,
            Pending {
                code_verifier,
                started: Instant::now(),
            },
        );
    }

    /// The PKCE verifier of `state`, once: a state is good for one callback.
    fn take(&self, state: &str) -> Option<String> {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let found = pending.remove(state)?;
        (found.started.elapsed() < SIGN_IN_WINDOW).then_some(found.code_verifier)
    }

    /// POSTs a grant to the token endpoint; the tokens it answers with.
    async fn token_request(&self, grant: &[(&str, &str)]) -> Result<Tokens, String> {
        let settings = &self.settings;
        // Built before any await: the serializer is not `Send`.
        let body = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("client_id", &settings.client_id);
            for (name, value) in grant {
                form.append_pair(name, value);
            }
            form.finish()
        };
        let mut request = self
            .http
            .post(format!("{}/oauth2/token", settings.domain))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        if let Some(secret) = &settings.client_secret {
            // RFC 6749 §2.3.1: both parts form-encoded, then Basic.
            let encode =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let credentials = format!("{}:{}", encode(&settings.client_id), encode(&secret.0));
            request = request.header(
                header::AUTHORIZATION,
                format!("Basic {}", STANDARD.encode(credentials)),
            );
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("the token endpoint cannot be reached: {e}"))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|e| format!("the token endpoint's answer cannot be read: {e}"))?;
        if !status.is_success() {
            // The body is the provider's error (RFC 6749 §5.2): its code only.
            let error = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_owned))
                .unwrap_or_else(|| format!("HTTP {status}"));
            return Err(format!("the token endpoint refused: {error}"));
        }
        serde_json::from_str(&body).map_err(|e| format!("the token endpoint's answer: {e}"))
    }

    /// The access token checked as the API checks every request.
    async fn verified(&self, tokens: &Tokens) -> Result<(), String> {
        self.verifier
            .verify(&tokens.access_token)
            .await
            .map(drop)
            .map_err(|e| format!("the access token was refused: {}", e.kind()))
    }

    /// Where the pool's `/logout` sends the browser back: the site's root.
    fn logout_url(&self) -> String {
        let settings = &self.settings;
        let root = settings
            .redirect_uri
            .strip_suffix(CALLBACK_PATH)
            .map_or_else(|| "/".to_owned(), |origin| format!("{origin}/"));
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("client_id", &settings.client_id);
        query.append_pair("logout_uri", &root);
        format!("{}/logout?{}", settings.domain, query.finish())
    }
}

/// The token endpoint's answer (RFC 6749 §5.1).
#[derive(Deserialize)]
struct Tokens {
    access_token: String,
    refresh_token: Option<String>,
}

/// `n` random bytes, base64url (no padding).
fn random_b64(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    // The system RNG fails only if the OS cannot provide randomness.
    SystemRandom::new()
        .fill(&mut bytes)
        .unwrap_or_else(|_| panic!("the system random number generator failed"));
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A `Set-Cookie` value: `HttpOnly; Secure`, with `max_age` seconds (0
/// clears it; `None` lasts the browser session).
fn cookie(
    name: &str,
    value: &str,
    path: &str,
    same_site: &str,
    max_age: Option<u64>,
) -> HeaderValue {
    let age = max_age.map_or(String::new(), |secs| format!("; Max-Age={secs}"));
    HeaderValue::from_str(&format!(
        "{name}={value}; HttpOnly; Secure; SameSite={same_site}; Path={path}{age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// The value of the cookie `name`, if the request has exactly one.
fn cookie_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    let mut found = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(key, _)| *key == name)
        .map(|(_, value)| value);
    match (found.next(), found.next()) {
        (Some(value), None) => Some(value),
        _ => None,
    }
}

fn signed_in(access_token: &str, refresh_token: Option<&str>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.append(
        header::SET_COOKIE,
        cookie(ACCESS_COOKIE, access_token, "/", "Lax", None),
    );
    if let Some(refresh) = refresh_token {
        headers.append(
            header::SET_COOKIE,
            cookie(
                REFRESH_COOKIE,
                refresh,
                REFRESH_PATH,
                "Strict",
                Some(REFRESH_COOKIE_SECS),
            ),
        );
    }
    headers
}

fn signed_out() -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, path) in [
        (ACCESS_COOKIE, "/"),
        (REFRESH_COOKIE, REFRESH_PATH),
        (STATE_COOKIE, CALLBACK_PATH),
    ] {
        headers.append(header::SET_COOKIE, cookie(name, "", path, "Lax", Some(0)));
    }
    headers
}

fn refused(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// A refused callback, as a page: a browser navigated there, so the user
/// reads why, with the way back (the message escaped: part of it can come
/// from the query).
fn sign_in_failed(status: StatusCode, message: impl Into<String>) -> Response {
    let message = html_escape(&message.into());
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Sign-in failed</title><link rel=\"stylesheet\" href=\"/app.css\"></head>\
         <body><h1>Sign-in failed</h1><p id=\"error\" role=\"alert\">{message}</p>\
         <p><a href=\"/\">Back to the videos</a></p></body></html>"
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page,
    )
        .into_response()
}

fn html_escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// `GET /auth/config`: how the page signs in.
pub async fn config(State(sign_in): State<Arc<SignIn>>) -> Response {
    let body = match &*sign_in {
        SignIn::ManagedLogin(_) => json!({ "mode": "cognito" }),
        SignIn::Development(_) => json!({
            "mode": "dev",
            "demo_users": DEMO_USERS
                .iter()
                .map(|(username, groups)| json!({ "username": username, "groups": groups }))
                .collect::<Vec<_>>(),
        }),
        SignIn::Unavailable => json!({ "mode": "none" }),
    };
    Json(body).into_response()
}

/// `GET /auth/login`.
pub async fn login(State(sign_in): State<Arc<SignIn>>) -> Response {
    let SignIn::ManagedLogin(managed) = &*sign_in else {
        return refused(StatusCode::NOT_FOUND, "no managed login is configured");
    };
    let state = random_b64(32);
    let code_verifier = random_b64(32);
    let challenge = URL_SAFE_NO_PAD.encode(digest(&SHA256, code_verifier.as_bytes()));
    managed.remember(state.clone(), code_verifier);
    let settings = &managed.settings;
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("response_type", "code")
        .append_pair("client_id", &settings.client_id)
        .append_pair("redirect_uri", &settings.redirect_uri)
        .append_pair("scope", "openid")
        .append_pair("state", &state)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let location = format!("{}/oauth2/authorize?{}", settings.domain, query.finish());
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        cookie(
            STATE_COOKIE,
            &state,
            CALLBACK_PATH,
            "Lax",
            Some(SIGN_IN_WINDOW.as_secs()),
        ),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    match HeaderValue::from_str(&location) {
        Ok(location) => {
            headers.insert(header::LOCATION, location);
            (StatusCode::FOUND, headers).into_response()
        }
        Err(_) => refused(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the sign-in URL is not valid",
        ),
    }
}

/// `GET /auth/callback`'s query.
#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /auth/callback`.
pub async fn callback(
    State(sign_in): State<Arc<SignIn>>,
    headers: HeaderMap,
    Query(callback): Query<Callback>,
) -> Response {
    let SignIn::ManagedLogin(managed) = &*sign_in else {
        return sign_in_failed(StatusCode::NOT_FOUND, "no managed login is configured");
    };
    if let Some(error) = callback.error {
        tracing::info!(error, "managed login answered with an error");
        return sign_in_failed(StatusCode::BAD_REQUEST, format!("sign-in failed: {error}"));
    }
    let (Some(code), Some(state)) = (callback.code, callback.state) else {
        return sign_in_failed(
            StatusCode::BAD_REQUEST,
            "the callback needs a code and a state",
        );
    };
    // The state must be this browser's (its cookie) and pending (once).
    if cookie_value(&headers, STATE_COOKIE) != Some(state.as_str()) {
        return sign_in_failed(
            StatusCode::BAD_REQUEST,
            "the state is not this browser's sign-in",
        );
    }
    let Some(code_verifier) = managed.take(&state) else {
        return sign_in_failed(
            StatusCode::BAD_REQUEST,
            "the state is unknown, used or expired",
        );
    };
    let grant = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", managed.settings.redirect_uri.as_str()),
        ("code_verifier", code_verifier.as_str()),
    ];
    let tokens = match managed.token_request(&grant).await {
        Ok(tokens) => tokens,
        Err(why) => {
            tracing::warn!(why, "code exchange failed");
            return sign_in_failed(StatusCode::BAD_GATEWAY, why);
        }
    };
    if let Err(why) = managed.verified(&tokens).await {
        tracing::warn!(why, "the token endpoint's access token was refused");
        return sign_in_failed(StatusCode::BAD_GATEWAY, why);
    }
    let mut headers = signed_in(&tokens.access_token, tokens.refresh_token.as_deref());
    headers.append(
        header::SET_COOKIE,
        cookie(STATE_COOKIE, "", CALLBACK_PATH, "Lax", Some(0)),
    );
    headers.insert(header::LOCATION, HeaderValue::from_static("/"));
    (StatusCode::SEE_OTHER, headers).into_response()
}

/// `POST /auth/refresh`: a new access token from the refresh token.
pub async fn refresh(State(sign_in): State<Arc<SignIn>>, headers: HeaderMap) -> Response {
    let SignIn::ManagedLogin(managed) = &*sign_in else {
        return refused(StatusCode::NOT_FOUND, "no managed login is configured");
    };
    let Some(refresh_token) = cookie_value(&headers, REFRESH_COOKIE) else {
        return refused(StatusCode::UNAUTHORIZED, "no refresh token");
    };
    let grant = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    let tokens = match managed.token_request(&grant).await {
        Ok(tokens) => tokens,
        Err(why) => {
            return (
                StatusCode::UNAUTHORIZED,
                signed_out(),
                Json(json!({ "error": why })),
            )
                .into_response();
        }
    };
    if let Err(why) = managed.verified(&tokens).await {
        return (
            StatusCode::UNAUTHORIZED,
            signed_out(),
            Json(json!({ "error": why })),
        )
            .into_response();
    }
    (
        StatusCode::NO_CONTENT,
        signed_in(&tokens.access_token, tokens.refresh_token.as_deref()),
    )
        .into_response()
}

/// `POST /auth/logout`: clears the cookies; the page goes where `redirect`
/// says (the pool's `/logout`, which ends the managed login's session).
pub async fn logout(State(sign_in): State<Arc<SignIn>>) -> Response {
    let redirect = match &*sign_in {
        SignIn::ManagedLogin(managed) => managed.logout_url(),
        _ => "/".to_owned(),
    };
    (signed_out(), Json(json!({ "redirect": redirect }))).into_response()
}

/// `POST /auth/dev-login`'s body.
#[derive(Deserialize)]
pub struct DevLogin {
    username: String,
}

/// `POST /auth/dev-login`: development mode's sign-in (loopback only, as
/// all of development mode).
pub async fn dev_login(
    State(sign_in): State<Arc<SignIn>>,
    Json(login): Json<DevLogin>,
) -> Response {
    let SignIn::Development(dev) = &*sign_in else {
        return refused(StatusCode::NOT_FOUND, "development mode is off");
    };
    let groups = DEMO_USERS
        .iter()
        .find(|(name, _)| *name == login.username)
        .map_or(&[][..], |(_, groups)| *groups);
    match dev.access_token(&login.username, groups) {
        Ok(token) => (StatusCode::NO_CONTENT, signed_in(&token, None)).into_response(),
        Err(why) => refused(StatusCode::UNPROCESSABLE_ENTITY, why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_exactly_one_cookie_of_a_name() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; videos_access=t1"),
        );
        assert_eq!(cookie_value(&headers, ACCESS_COOKIE), Some("t1"));
        headers.append(header::COOKIE, HeaderValue::from_static("videos_access=t2"));
        assert_eq!(cookie_value(&headers, ACCESS_COOKIE), None, "two: neither");
    }
}
