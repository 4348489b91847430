//! Browser sign-in, server side (the back end for the front end): the
//! browser never holds a token it can read, and the client secret never
//! leaves the server.
//!
//! - `GET /auth/login` redirects to the pool's managed login
//!   (`/oauth2/authorize`) with a fresh `state` and a PKCE `S256`
//!   challenge. The state and the PKCE verifier are sealed in this
//!   browser's own cookie ([`STATE_COOKIE`], ten minutes; see
//!   [`crate::pending`]), so a callback from another browser's sign-in is
//!   refused (login CSRF), and nothing is kept on the server.
//! - `GET /auth/callback` checks the state against the cookie, clears the
//!   cookie (single use), exchanges the code at `/oauth2/token` from the
//!   server (HTTP Basic with the client secret when the client has one,
//!   and the PKCE verifier either way), verifies the access token with the
//!   service's own `Verifier`, sets it in [`ACCESS_COOKIE`] and the refresh
//!   token in [`REFRESH_COOKIE`], and sends the browser to `/`. A callback
//!   that fails sends it to `/?error=<code>` ([`SignInError`]): the page
//!   shows a fixed message for each code, and nothing to a signed-in user
//!   (who pressed Back onto a used callback, say).
//!
//! Every cookie is `__Host-` prefixed, `HttpOnly; Secure; Path=/` with no
//! `Domain`: a browser accepts such a cookie only from this very host over
//! a secure origin, so a sibling subdomain, or a plain-HTTP answer on the
//! user's path, cannot plant one (cookie tossing: planting a state or
//! access cookie of its own signs the user in to the attacker's account).
//! Chromium counts `http://localhost`, `http://*.localhost` and
//! `http://127.0.0.1` as secure origins for this (tested with Chromium
//! 156), so development mode works over plain HTTP on loopback. Ports are
//! no boundary for cookies: another service on the same host name, any
//! port, shares (and can set) them.
//! - `POST /auth/refresh` trades the refresh token for a new access token.
//! - Sign-out (`POST /auth/logout`, `POST /auth/logout-everywhere`) revokes
//!   the tokens, here and at Cognito, clears the cookies and names the
//!   pool's `/logout` URL for the page to go to: see [`crate::signout`].
//! - In development mode, `POST /auth/dev-login` signs in a demo user with
//!   the development issuer (the same cookie).

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::digest::{SHA256, digest};
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
use crate::pending::PendingSignIns;

/// The access token's cookie (what `CognitoAuthLayer::cookie` reads):
/// `SameSite=Lax`, for the browser session.
pub const ACCESS_COOKIE: &str = "__Host-videos_access";
/// The refresh token's cookie: `SameSite=Strict`, read only by
/// `/auth/refresh`.
pub const REFRESH_COOKIE: &str = "__Host-videos_refresh";
/// The pending sign-in, sealed: `SameSite=Lax` (the callback is a
/// navigation from the managed login), read only by `/auth/callback`.
pub const STATE_COOKIE: &str = "__Host-videos_login";

const CALLBACK_PATH: &str = "/auth/callback";
/// How long a sign-in may take between the redirect and the callback
/// (seconds).
const SIGN_IN_WINDOW_SECS: i64 = 600;
/// How long the refresh token's cookie is kept (Cognito's default refresh
/// token validity).
const REFRESH_COOKIE_SECS: i64 = 30 * 86_400;

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
/// verifier of the tokens it returns, and the key of the sign-ins under
/// way (kept in the browsers' cookies).
pub struct ManagedLogin {
    settings: SignInSettings,
    http: reqwest::Client,
    verifier: Verifier,
    pending: PendingSignIns,
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
        let pending = match &settings.client_secret {
            Some(secret) => PendingSignIns::from_client_secret(secret.0.as_bytes()),
            None => PendingSignIns::new(),
        };
        Ok(ManagedLogin {
            settings,
            http,
            verifier,
            pending,
        })
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

    /// The settings it signs in with.
    pub(crate) fn settings(&self) -> &SignInSettings {
        &self.settings
    }

    /// The pool's `/logout`, which ends the managed login's own session and
    /// sends the browser back to the site's root.
    pub(crate) fn logout_url(&self) -> String {
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

/// A `Set-Cookie` value: `HttpOnly; Secure; Path=/` and no `Domain`, as
/// the `__Host-` prefix requires, with `max_age` seconds (0 clears it;
/// `None` lasts the browser session).
fn cookie(name: &str, value: &str, same_site: &str, max_age: Option<i64>) -> HeaderValue {
    let age = max_age.map_or(String::new(), |secs| format!("; Max-Age={secs}"));
    HeaderValue::from_str(&format!(
        "{name}={value}; HttpOnly; Secure; SameSite={same_site}; Path=/{age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// The value of the cookie `name`, if the request has exactly one.
pub(crate) fn cookie_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
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
        cookie(ACCESS_COOKIE, access_token, "Lax", None),
    );
    if let Some(refresh) = refresh_token {
        headers.append(
            header::SET_COOKIE,
            cookie(REFRESH_COOKIE, refresh, "Strict", Some(REFRESH_COOKIE_SECS)),
        );
    }
    headers
}

/// `Set-Cookie` headers that clear every sign-in cookie.
pub(crate) fn signed_out() -> HeaderMap {
    let mut headers = HeaderMap::new();
    for name in [ACCESS_COOKIE, REFRESH_COOKIE, STATE_COOKIE] {
        headers.append(header::SET_COOKIE, cookie(name, "", "Lax", Some(0)));
    }
    headers
}

fn refused(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// Why a sign-in did not complete, as the code the callback sends the
/// page in `/?error=<code>`. The page shows a fixed message for each code
/// (never text from the URL), and nothing to a signed-in user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignInError {
    /// The user cancelled at the managed login (`access_denied`).
    Cancelled,
    /// This browser has no such sign-in under way: it expired, was used
    /// already, or was started in another browser.
    Expired,
    /// The managed login or the token endpoint failed, or its token was
    /// refused.
    Failed,
}

impl SignInError {
    /// The code in `/?error=`.
    pub fn code(self) -> &'static str {
        match self {
            SignInError::Cancelled => "access_denied",
            SignInError::Expired => "sign_in_expired",
            SignInError::Failed => "sign_in_failed",
        }
    }
}

/// A callback's end: to `location`, with the pending sign-in's cookie
/// cleared (single use) and the other cookies in `headers`.
fn callback_done(mut headers: HeaderMap, location: HeaderValue) -> Response {
    headers.append(header::SET_COOKIE, cookie(STATE_COOKIE, "", "Lax", Some(0)));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::LOCATION, location);
    (StatusCode::SEE_OTHER, headers).into_response()
}

/// A callback that failed: back to the page, which says `why`.
fn sign_in_failed(why: SignInError) -> Response {
    let location = HeaderValue::from_str(&format!("/?error={}", why.code()))
        .unwrap_or_else(|_| HeaderValue::from_static("/"));
    callback_done(HeaderMap::new(), location)
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
    let started = managed
        .pending
        .start(cognito_verify::unix_now() + SIGN_IN_WINDOW_SECS);
    let challenge = URL_SAFE_NO_PAD.encode(digest(&SHA256, started.code_verifier.as_bytes()));
    let settings = &managed.settings;
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("response_type", "code")
        .append_pair("client_id", &settings.client_id)
        .append_pair("redirect_uri", &settings.redirect_uri)
        .append_pair("scope", "openid")
        .append_pair("state", &started.state)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let location = format!("{}/oauth2/authorize?{}", settings.domain, query.finish());
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        cookie(
            STATE_COOKIE,
            &started.sealed,
            "Lax",
            Some(SIGN_IN_WINDOW_SECS),
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
        return refused(StatusCode::NOT_FOUND, "no managed login is configured");
    };
    if let Some(error) = callback.error {
        tracing::info!(error, "managed login answered with an error");
        return sign_in_failed(match error.as_str() {
            "access_denied" => SignInError::Cancelled,
            _ => SignInError::Failed,
        });
    }
    // The sign-in must be this browser's (its cookie), under way, and the
    // one whose state came back.
    let pending = cookie_value(&headers, STATE_COOKIE);
    let code_verifier = match (&callback.state, pending) {
        (Some(state), Some(sealed)) => {
            managed
                .pending
                .finish(sealed, state, cognito_verify::unix_now())
        }
        _ => None,
    };
    let Some(code_verifier) = code_verifier else {
        tracing::info!(
            has_cookie = pending.is_some(),
            "callback without this browser's sign-in under way"
        );
        return sign_in_failed(SignInError::Expired);
    };
    let Some(code) = callback.code else {
        tracing::info!("callback without a code");
        return sign_in_failed(SignInError::Failed);
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
            return sign_in_failed(SignInError::Failed);
        }
    };
    if let Err(why) = managed.verified(&tokens).await {
        tracing::warn!(why, "the token endpoint's access token was refused");
        return sign_in_failed(SignInError::Failed);
    }
    callback_done(
        signed_in(&tokens.access_token, tokens.refresh_token.as_deref()),
        HeaderValue::from_static("/"),
    )
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
        let one = format!("a=1; {ACCESS_COOKIE}=t1");
        headers.append(header::COOKIE, HeaderValue::from_str(&one).unwrap());
        assert_eq!(cookie_value(&headers, ACCESS_COOKIE), Some("t1"));
        let two = format!("{ACCESS_COOKIE}=t2");
        headers.append(header::COOKIE, HeaderValue::from_str(&two).unwrap());
        assert_eq!(cookie_value(&headers, ACCESS_COOKIE), None, "two: neither");
    }
}
