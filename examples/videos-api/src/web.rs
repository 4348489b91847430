//! The browser page (`GET /`, its script and style, shipped in the crate),
//! the security headers every response carries, and the CSRF guard for
//! cookie-authenticated writes.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cognito_verify_axum::CognitoAuthLayer;
use serde_json::json;

const INDEX_HTML: &str = include_str!("../static/index.html");
const APP_JS: &str = include_str!("../static/app.js");
const APP_CSS: &str = include_str!("../static/app.css");

/// The header the page sets on every state-changing call.
pub const CSRF_HEADER: &str = "x-videos-csrf";

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// `GET /`.
pub async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

/// `GET /app.js`.
pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

/// `GET /app.css`.
pub async fn style() -> Response {
    asset("text/css; charset=utf-8", APP_CSS)
}

/// Headers for every response: nothing but this origin's own script, style
/// and API calls; no framing; no sniffing; no referrer (a callback URL
/// carries a code).
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Writes authenticated by the browser itself must come from this site's
/// own page.
///
/// A browser attaches cookies to requests another site makes (a form
/// posted cross-site, or from a sibling subdomain that counts as "same
/// site" for `SameSite=Lax`), so a `POST`, `PUT`, `PATCH` or `DELETE` that
/// the browser authenticates must carry the page's custom header (which
/// only a same-origin script can set: another origin would need a CORS
/// preflight this service never grants), and an `Origin`, when the browser
/// sends one, must be this service's own host.
///
/// The browser authenticates: every sign-in endpoint (`/auth/…`); a request
/// a load balancer authenticated by its session cookie
/// (`x-amzn-oidc-data`); and a request that `cookie_auth`, the layer
/// guarding the API, would authenticate by its cookie
/// ([`CognitoAuthLayer::authenticates_by_cookie`]: the layer's own answer,
/// so no request is authenticated by a cookie without passing here). Only
/// `Authorization: Bearer` exempts a request, because the layer then reads
/// no cookie; a browser adds `Basic` or `Negotiate` on its own behind an
/// HTTP-auth gate, and those change nothing.
pub async fn csrf_guard(
    State(cookie_auth): State<Option<CognitoAuthLayer>>,
    request: Request,
    next: Next,
) -> Response {
    let unsafe_method = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let headers = request.headers();
    let browser_authenticated = request.uri().path().starts_with("/auth/")
        || headers.contains_key("x-amzn-oidc-data")
        || cookie_auth
            .as_ref()
            .is_some_and(|auth| auth.authenticates_by_cookie(headers));
    if unsafe_method
        && browser_authenticated
        && let Err(why) = same_origin_page(headers)
    {
        tracing::warn!(why, path = %request.uri().path(), "cross-site write refused");
        return (
            StatusCode::FORBIDDEN,
            axum::Json(json!({ "error": why, "kind": "csrf" })),
        )
            .into_response();
    }
    next.run(request).await
}

/// Why a cookie-authenticated write does not come from this site's page.
fn same_origin_page(headers: &HeaderMap) -> Result<(), &'static str> {
    if headers.get(CSRF_HEADER).map(HeaderValue::as_bytes) != Some(b"1") {
        return Err("cookie-authenticated writes need the page's x-videos-csrf header");
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let host = headers.get(header::HOST).map(HeaderValue::as_bytes);
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, authority)| authority.as_bytes());
    match (origin_host, host) {
        (Some(origin), Some(host)) if origin == host => Ok(()),
        _ => Err("the request comes from another origin"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                axum::http::HeaderName::try_from(*k).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn only_the_page_may_write_with_cookies() {
        let ok = [
            headers(&[("x-videos-csrf", "1"), ("host", "127.0.0.1:3000")]),
            headers(&[
                ("x-videos-csrf", "1"),
                ("host", "videos.example.com"),
                ("origin", "https://videos.example.com"),
            ]),
        ];
        for h in ok {
            assert!(same_origin_page(&h).is_ok(), "{h:?}");
        }
        let refused = [
            headers(&[
                ("host", "videos.example.com"),
                ("origin", "https://videos.example.com"),
            ]),
            headers(&[("x-videos-csrf", "0"), ("host", "videos.example.com")]),
            headers(&[
                ("x-videos-csrf", "1"),
                ("host", "videos.example.com"),
                ("origin", "https://evil.example"),
            ]),
            headers(&[
                ("x-videos-csrf", "1"),
                ("host", "videos.example.com"),
                ("origin", "null"),
            ]),
        ];
        for h in refused {
            assert!(same_origin_page(&h).is_err(), "{h:?}");
        }
    }
}
