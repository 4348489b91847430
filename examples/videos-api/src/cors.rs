//! Pages hosted elsewhere (an S3 website, another port) calling the API
//! with a bearer token: the allowed origins, checked at start-up, and
//! tower-http's `CorsLayer` for them.
//!
//! The layer goes outside the auth layer: it answers CORS preflights
//! itself (a preflight carries no token), and adds its headers to every
//! answer, refusals included, so that the page can read why it was
//! refused (`WWW-Authenticate` is exposed). It never allows credentialed
//! requests: another origin's page sends its token in `Authorization`,
//! never the cookies of this service's own page.

use std::time::Duration;

use axum::http::{HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};
use url::Url;

/// How long a browser may keep a preflight's answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// `value` if it is an exact web origin, `scheme://host[:port]` as a
/// browser sends it in `Origin` (http or https, lower-case host, no
/// default port, no path, no trailing slash, no wildcard); else why not.
pub fn exact_origin(value: &str) -> Result<String, String> {
    if value.contains('*') {
        return Err(format!(
            "{value:?}: wildcards are not accepted; list each origin, such as https://videos.example.com"
        ));
    }
    let url = Url::parse(value).map_err(|e| {
        format!("{value:?} is not an origin such as https://videos.example.com ({e})")
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{value:?}: an origin is http:// or https://"));
    }
    let origin = url.origin().ascii_serialization();
    if origin != value {
        return Err(format!(
            "{value:?} is not an exact origin (scheme://host[:port], no path); the browser sends {origin}"
        ));
    }
    Ok(origin)
}

/// The `CorsLayer` for `origins` (exact origins, see [`exact_origin`]), or
/// none when there are none.
pub fn layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let origins = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect::<Vec<_>>();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST, Method::DELETE])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .expose_headers([header::WWW_AUTHENTICATE])
            .max_age(PREFLIGHT_MAX_AGE),
    )
}
