//! Why a request was refused, and the RFC 6750 response that says so.

use std::fmt;
use std::sync::Arc;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

/// Why a request was refused: made by the layer, the requirement layers and
/// the extractors, and turned into a response by an [`OnRejection`].
///
/// The default response ([`Rejection::into_default_response`]) follows
/// RFC 6750 §3:
///
/// | case | status | `WWW-Authenticate` |
/// |---|---|---|
/// | no token (an `Authorization` header of another scheme, such as `Basic`, counts as none: RFC 6750 §3.1) | 401 | `Bearer realm="…"` |
/// | malformed token source (two `Authorization` headers, `Bearer` with an empty token or one with spaces, tabs or non-ASCII bytes, two cookies of the token's name, two values of a token header) | 400 | `Bearer realm="…", error="invalid_request", error_description="invalid_request"` |
/// | token refused | 401 | `Bearer realm="…", error="invalid_token", error_description="<kind>"` |
/// | group, scope, token use or principal requirement not met | 403 | `Bearer realm="…", error="insufficient_scope", error_description="<kind>"` |
/// | keys unavailable | 503 (with `Retry-After: 5`) | none |
/// | route not covered by the layer; claims that do not fit the handler's type (`claims_mismatch`) | 500 | none |
///
/// The body is a small `application/problem+json` object,
/// `{"status":401,"title":"Unauthorized","kind":"expired"}`; it never
/// contains the token, key material or the configuration.
#[derive(Debug)]
pub struct Rejection {
    reason: Reason,
    realm: Arc<str>,
}

/// Why a request was refused.
#[derive(Debug)]
enum Reason {
    /// No token in the request.
    MissingToken,
    /// The token's source is malformed (two headers, a bad Bearer value…).
    InvalidRequest,
    /// The route is not covered by the layer.
    LayerMissing,
    /// The verifier or a requirement refused the token.
    Refused(cognito_verify::Error),
}

/// Seconds a client is asked to wait when the keys are unavailable.
pub const RETRY_AFTER_SECS: u32 = 5;

impl Rejection {
    pub(crate) fn missing_token(realm: Arc<str>) -> Self {
        Rejection {
            reason: Reason::MissingToken,
            realm,
        }
    }

    pub(crate) fn invalid_request(realm: Arc<str>) -> Self {
        Rejection {
            reason: Reason::InvalidRequest,
            realm,
        }
    }

    pub(crate) fn layer_missing() -> Self {
        Rejection {
            reason: Reason::LayerMissing,
            realm: Arc::from(""),
        }
    }

    /// A refusal by the verifier or by a
    /// [`Requirement`](cognito_verify::Requirement).
    pub(crate) fn from_error(realm: Arc<str>, error: cognito_verify::Error) -> Self {
        Rejection {
            reason: Reason::Refused(error),
            realm,
        }
    }

    /// The HTTP status of the default response. The one mapping from a
    /// [`cognito_verify::Error`] to a status: 503 when the key source
    /// failed, 500 for the application's own faults, 403 when the token is
    /// valid but does not meet a requirement, else 401.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match &self.reason {
            Reason::MissingToken => StatusCode::UNAUTHORIZED,
            Reason::InvalidRequest => StatusCode::BAD_REQUEST,
            Reason::LayerMissing => StatusCode::INTERNAL_SERVER_ERROR,
            Reason::Refused(e) if e.is_key_source_failure() => StatusCode::SERVICE_UNAVAILABLE,
            Reason::Refused(e) if e.is_application_fault() => StatusCode::INTERNAL_SERVER_ERROR,
            Reason::Refused(e) if e.is_insufficient_permission() => StatusCode::FORBIDDEN,
            Reason::Refused(_) => StatusCode::UNAUTHORIZED,
        }
    }

    /// A stable snake_case code: a [`cognito_verify::Error::kind`], or one
    /// of `missing_token`, `invalid_request`, `auth_layer_missing`.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match &self.reason {
            Reason::MissingToken => "missing_token",
            Reason::InvalidRequest => "invalid_request",
            Reason::LayerMissing => "auth_layer_missing",
            Reason::Refused(e) => e.kind(),
        }
    }

    /// The error, when the verifier or a requirement refused the token.
    #[must_use]
    pub fn error(&self) -> Option<&cognito_verify::Error> {
        match &self.reason {
            Reason::Refused(e) => Some(e),
            _ => None,
        }
    }

    /// The `WWW-Authenticate` challenge of the default response, if any.
    #[must_use]
    pub fn www_authenticate(&self) -> Option<String> {
        match (&self.reason, self.status()) {
            (Reason::MissingToken, _) => Some(format!("Bearer realm=\"{}\"", self.realm)),
            (_, StatusCode::UNAUTHORIZED) => Some(self.challenge("invalid_token")),
            (_, StatusCode::BAD_REQUEST) => Some(self.challenge("invalid_request")),
            (_, StatusCode::FORBIDDEN) => Some(self.challenge("insufficient_scope")),
            _ => None,
        }
    }

    fn challenge(&self, error: &str) -> String {
        format!(
            "Bearer realm=\"{}\", error=\"{error}\", error_description=\"{}\"",
            self.realm,
            self.kind()
        )
    }

    /// The default response: status, challenge and problem body.
    pub fn into_default_response(self) -> Response {
        let status = self.status();
        let body = serde_json::json!({
            "status": status.as_u16(),
            "title": status.canonical_reason().unwrap_or("Error"),
            "kind": self.kind(),
        });
        let mut response = Response::new(Body::from(body.to_string()));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(value) = self
            .www_authenticate()
            .and_then(|c| HeaderValue::from_str(&c).ok())
        {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        }
        response
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.error() {
            Some(e) => write!(f, "{} ({}): {e}", self.status(), self.kind()),
            None => write!(f, "{} ({})", self.status(), self.kind()),
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        self.into_default_response()
    }
}

/// Turns a [`Rejection`] into the response the client gets. Implemented for
/// every `Fn(Rejection) -> Response`; [`DefaultRejection`] is the RFC 6750
/// response.
///
/// ```
/// use axum::response::{IntoResponse, Response};
/// use cognito_verify_axum::Rejection;
///
/// fn plain_text(rejection: Rejection) -> Response {
///     (rejection.status(), format!("access denied: {}", rejection.kind())).into_response()
/// }
/// # let _ = plain_text;
/// ```
pub trait OnRejection: Send + Sync + 'static {
    /// The response for `rejection`.
    fn respond(&self, rejection: Rejection) -> Response;
}

impl<F> OnRejection for F
where
    F: Fn(Rejection) -> Response + Send + Sync + 'static,
{
    fn respond(&self, rejection: Rejection) -> Response {
        self(rejection)
    }
}

/// The default [`OnRejection`]: [`Rejection::into_default_response`].
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultRejection;

impl OnRejection for DefaultRejection {
    fn respond(&self, rejection: Rejection) -> Response {
        rejection.into_default_response()
    }
}
