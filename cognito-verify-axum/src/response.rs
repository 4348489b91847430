//! Why a request was refused, and the RFC 6750 (or gRPC) response that
//! says so.

use std::fmt;
use std::sync::Arc;

use http::{HeaderMap, HeaderValue, StatusCode, header};

use crate::body::RejectionBody;
use crate::context::Challenge;

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
/// | token refused (an access token for another resource: `invalid_audience`) | 401 | `Bearer realm="…", error="invalid_token", error_description="<kind>"` |
/// | group, scope, token use or principal requirement not met | 403 | `Bearer realm="…", error="insufficient_scope", error_description="<kind>"`, and for a missing scope `scope="<the scopes required>"` |
/// | keys unavailable | 503 (with `Retry-After: 5`) | none |
/// | route not covered by the layer; claims that do not fit the handler's type (`claims_mismatch`) | 500 | none |
///
/// For a [protected resource](crate::ProtectedResource) given to
/// [`CognitoAuthLayer::protected_resource`](crate::CognitoAuthLayer::protected_resource),
/// every challenge also carries `resource_metadata="<metadata URL>"`
/// (RFC 9728 §5.1), right after the realm, and a 401 names the resource's
/// [`challenge_scopes`](crate::ProtectedResourceBuilder::challenge_scopes)
/// in `scope`, if it has some. A `missing_scope` refusal
/// names the scopes the route (a [`Require::any_scope`](crate::Require::any_scope))
/// or the pool requires, any of which would do, in `scope` (RFC 6750 §3),
/// so a client knows what to ask the authorization server for:
/// `Bearer realm="api", resource_metadata="https://videos.example.com/.well-known/oauth-protected-resource/mcp", error="insufficient_scope", error_description="missing_scope", scope="videos/admin"`.
/// Every value in a challenge is a quoted string without `"` or `\`:
/// characters outside visible ASCII and space are dropped from the realm
/// and the URL, and a scope that is no scope token is left out.
///
/// For a wrong token use (401 from the pool's check, 403 from a
/// requirement) the description names the expected use too, as the
/// `cognito-verify` command does:
/// `error_description="invalid_token_use: expected an access token"`.
///
/// The body is a small `application/problem+json` object,
/// `{"status":401,"title":"Unauthorized","kind":"expired"}`; it never
/// contains the token, key material or the configuration.
///
/// # gRPC
///
/// A gRPC client reads the `grpc-status` header (or trailer), not the HTTP
/// status, so a request whose `content-type` is `application/grpc` (alone,
/// or followed by `+` or `;`: the gRPC over HTTP/2 protocol's forms) is
/// refused with HTTP 200 and a "Trailers-Only" response: `content-type:
/// application/grpc`, `grpc-status` ([`grpc_status`](Self::grpc_status)),
/// `grpc-message` (the kind) and the same `WWW-Authenticate` challenge
/// (which gRPC carries as metadata, `resource_metadata` and `scope`
/// included), with an empty body:
///
/// | case | `grpc-status` |
/// |---|---|
/// | no token, malformed token source, token refused | 16 `UNAUTHENTICATED` |
/// | group, scope, token use or principal requirement not met | 7 `PERMISSION_DENIED` |
/// | keys unavailable | 14 `UNAVAILABLE` |
/// | route not covered by the layer; `claims_mismatch` | 13 `INTERNAL` |
///
/// gRPC-Web requests (`application/grpc-web…`) are answered as HTTP: put
/// the gRPC-Web translation (tonic-web's layer) outside this layer, so that
/// it sees `application/grpc`.
#[derive(Debug)]
pub struct Rejection {
    reason: Reason,
    challenge: Arc<Challenge>,
    protocol: Protocol,
}

/// How the refused request expects to be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// Plain HTTP: the status code says it.
    Http,
    /// gRPC: HTTP 200, `grpc-status` says it.
    Grpc,
}

impl Protocol {
    /// The protocol of a request, from its `content-type`.
    pub(crate) fn of(headers: &HeaderMap) -> Self {
        let grpc = headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.as_bytes().strip_prefix(b"application/grpc"))
            .is_some_and(|rest| matches!(rest.first(), None | Some(b'+' | b';')));
        match grpc {
            true => Protocol::Grpc,
            false => Protocol::Http,
        }
    }
}

/// gRPC status codes (the gRPC core's `Code` numbers).
mod grpc_code {
    pub(super) const INTERNAL: u16 = 13;
    pub(super) const UNAVAILABLE: u16 = 14;
    pub(super) const PERMISSION_DENIED: u16 = 7;
    pub(super) const UNAUTHENTICATED: u16 = 16;

    /// The code's name, as the gRPC core spells it.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(super) fn name(code: u16) -> &'static str {
        match code {
            INTERNAL => "INTERNAL",
            UNAVAILABLE => "UNAVAILABLE",
            PERMISSION_DENIED => "PERMISSION_DENIED",
            _ => "UNAUTHENTICATED",
        }
    }
}

/// The default response of a request that reached a requirement layer or
/// an extractor without passing through an authentication layer (a wiring
/// mistake: 500 `auth_layer_missing`), counted as every refusal is.
pub(crate) fn refuse_unlayered<B: RejectionBody>(headers: &HeaderMap) -> http::Response<B> {
    let rejection = Rejection::layer_missing(Protocol::of(headers));
    crate::telemetry::refused(&rejection);
    rejection.into_default_response()
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

/// A scope token (RFC 6749 §3.3): `%x21 / %x23-5B / %x5D-7E`, at least one.
pub(crate) fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
}

/// Seconds a client is asked to wait when the keys are unavailable.
pub const RETRY_AFTER_SECS: u32 = 5;

impl Rejection {
    pub(crate) fn missing_token(challenge: Arc<Challenge>, protocol: Protocol) -> Self {
        Rejection {
            reason: Reason::MissingToken,
            challenge,
            protocol,
        }
    }

    pub(crate) fn invalid_request(challenge: Arc<Challenge>, protocol: Protocol) -> Self {
        Rejection {
            reason: Reason::InvalidRequest,
            challenge,
            protocol,
        }
    }

    pub(crate) fn layer_missing(protocol: Protocol) -> Self {
        Rejection {
            reason: Reason::LayerMissing,
            challenge: Challenge::new(""),
            protocol,
        }
    }

    /// A refusal by the verifier or by a
    /// [`Requirement`](cognito_verify::Requirement).
    pub(crate) fn from_error(
        challenge: Arc<Challenge>,
        protocol: Protocol,
        error: cognito_verify::Error,
    ) -> Self {
        Rejection {
            reason: Reason::Refused(error),
            challenge,
            protocol,
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
            Reason::Refused(e) if e.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
            Reason::Refused(e) if e.is_application_fault() => StatusCode::INTERNAL_SERVER_ERROR,
            Reason::Refused(e) if e.is_insufficient_permission() => StatusCode::FORBIDDEN,
            Reason::Refused(_) => StatusCode::UNAUTHORIZED,
        }
    }

    /// The gRPC status code that says the same as [`status`](Self::status):
    /// 16 `UNAUTHENTICATED` (401 and 400), 7 `PERMISSION_DENIED` (403),
    /// 14 `UNAVAILABLE` (503), 13 `INTERNAL` (500). The default response
    /// sends it for gRPC requests; a custom [`OnRejection`] can use it too.
    #[must_use]
    pub fn grpc_status(&self) -> u16 {
        match self.status() {
            StatusCode::FORBIDDEN => grpc_code::PERMISSION_DENIED,
            StatusCode::SERVICE_UNAVAILABLE => grpc_code::UNAVAILABLE,
            StatusCode::INTERNAL_SERVER_ERROR => grpc_code::INTERNAL,
            _ => grpc_code::UNAUTHENTICATED,
        }
    }

    /// [`grpc_status`](Self::grpc_status)'s name (`UNAUTHENTICATED`, …),
    /// for the metrics' `status` label.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) fn grpc_status_name(&self) -> &'static str {
        grpc_code::name(self.grpc_status())
    }

    /// [`status`](Self::status) as a number in text, for the metrics'
    /// `status` label (one of the statuses the table above lists).
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) fn status_label(&self) -> &'static str {
        match self.status() {
            StatusCode::BAD_REQUEST => "400",
            StatusCode::FORBIDDEN => "403",
            StatusCode::INTERNAL_SERVER_ERROR => "500",
            StatusCode::SERVICE_UNAVAILABLE => "503",
            _ => "401",
        }
    }

    /// True when the refused request is a gRPC call (see the gRPC section
    /// above), so that the answer must be a gRPC status.
    #[must_use]
    pub fn is_grpc(&self) -> bool {
        self.protocol == Protocol::Grpc
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
        let (status, error) = match (&self.reason, self.status()) {
            (Reason::MissingToken, status) => (status, None),
            (_, StatusCode::UNAUTHORIZED) => (StatusCode::UNAUTHORIZED, Some("invalid_token")),
            (_, StatusCode::BAD_REQUEST) => (StatusCode::BAD_REQUEST, Some("invalid_request")),
            (_, StatusCode::FORBIDDEN) => (StatusCode::FORBIDDEN, Some("insufficient_scope")),
            _ => return None,
        };
        let mut challenge = format!("Bearer {}", self.challenge);
        if let Some(error) = error {
            let description = self.description();
            challenge.push_str(&format!(
                ", error=\"{error}\", error_description=\"{description}\""
            ));
        }
        let scope = match status {
            StatusCode::UNAUTHORIZED => self.challenge.scope_on_401().map(str::to_owned),
            StatusCode::FORBIDDEN => self.required_scope(),
            _ => None,
        };
        if let Some(scope) = scope {
            challenge.push_str(&format!(", scope=\"{scope}\""));
        }
        Some(challenge)
    }

    /// The challenge's `scope` (RFC 6750 §3): for a refusal for want of a
    /// scope, the scopes the route (or the pool) requires, any of which
    /// would do, separated by spaces. Only scope tokens (RFC 6749 §3.3:
    /// visible ASCII but `"` and `\`) are named; `None` for every other
    /// refusal.
    fn required_scope(&self) -> Option<String> {
        let Some(cognito_verify::Error::MissingScope { expected, .. }) = self.error() else {
            return None;
        };
        let scopes: Vec<&str> = expected
            .values()
            .iter()
            .map(String::as_str)
            .filter(|s| is_scope_token(s))
            .collect();
        (!scopes.is_empty()).then(|| scopes.join(" "))
    }

    /// The challenge's `error_description`: the kind, and for a wrong token
    /// use the use that was expected (`invalid_token_use: expected an
    /// access token`), as the command line says it. Made of the kind and
    /// configured values only, so within RFC 6750's characters (no quotes,
    /// no backslashes).
    fn description(&self) -> String {
        match self.error() {
            Some(cognito_verify::Error::InvalidTokenUse { expected, .. }) => {
                let uses = expected.values().join(" or ");
                let article = if uses.starts_with(['a', 'e', 'i', 'o', 'u']) {
                    "an"
                } else {
                    "a"
                };
                format!("{}: expected {article} {uses} token", self.kind())
            }
            _ => self.kind().to_owned(),
        }
    }

    /// The default response, in any body type the inner service uses: for
    /// HTTP the status, the challenge and the problem body; for gRPC the
    /// `grpc-status`, `grpc-message` and the challenge, with an empty body.
    pub fn into_default_response<B: RejectionBody>(self) -> http::Response<B> {
        let status = self.status();
        let mut response = match self.protocol {
            Protocol::Http => {
                // Every part is plain ASCII without quotes or backslashes
                // (a status number, a canonical reason phrase, a
                // snake_case kind): the object is written directly.
                let body = format!(
                    r#"{{"status":{},"title":"{}","kind":"{}"}}"#,
                    status.as_u16(),
                    status.canonical_reason().unwrap_or("Error"),
                    self.kind(),
                );
                let mut response = http::Response::new(B::from_text(body));
                *response.status_mut() = status;
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/problem+json"),
                );
                response
            }
            Protocol::Grpc => {
                let mut response = http::Response::new(B::from_text(String::new()));
                let headers = response.headers_mut();
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/grpc"),
                );
                headers.insert("grpc-status", HeaderValue::from(self.grpc_status()));
                // A kind is snake_case ASCII: nothing to percent-encode.
                headers.insert("grpc-message", HeaderValue::from_static(self.kind()));
                response
            }
        };
        let headers = response.headers_mut();
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

#[cfg(feature = "axum")]
impl axum::response::IntoResponse for Rejection {
    fn into_response(self) -> axum::response::Response {
        self.into_default_response()
    }
}

/// Turns a [`Rejection`] into the response the client gets, in the inner
/// service's body type `B`. Implemented for every
/// `Fn(Rejection) -> http::Response<B>`; [`DefaultRejection`] is the
/// RFC 6750 (or gRPC) response in any [`RejectionBody`].
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
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot answer a refusal in the service's response body type `{B}`",
    label = "not an `OnRejection<{B}>`",
    note = "an on_rejection handler must return `http::Response<{B}>`: the body type of the service inside the layer"
)]
pub trait OnRejection<B>: Send + Sync + 'static {
    /// The response for `rejection`.
    fn respond(&self, rejection: Rejection) -> http::Response<B>;
}

impl<F, B> OnRejection<B> for F
where
    F: Fn(Rejection) -> http::Response<B> + Send + Sync + 'static,
{
    fn respond(&self, rejection: Rejection) -> http::Response<B> {
        self(rejection)
    }
}

/// The default [`OnRejection`]: [`Rejection::into_default_response`].
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultRejection;

impl<B: RejectionBody> OnRejection<B> for DefaultRejection {
    fn respond(&self, rejection: Rejection) -> http::Response<B> {
        rejection.into_default_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_problem_body_is_json_for_every_reason() {
        let errors = [
            cognito_verify::Error::MalformedToken("x".into()),
            cognito_verify::Error::JwksNotCached {
                jwks_url: "https://example.com/jwks".into(),
                remedy: "call hydrate()",
            },
        ];
        let mut rejections: Vec<Rejection> = errors
            .into_iter()
            .map(|e| Rejection::from_error(Challenge::new("r"), Protocol::Http, e))
            .collect();
        rejections.push(Rejection::missing_token(
            Challenge::new("r"),
            Protocol::Http,
        ));
        rejections.push(Rejection::invalid_request(
            Challenge::new("r"),
            Protocol::Http,
        ));
        rejections.push(Rejection::layer_missing(Protocol::Http));
        for rejection in rejections {
            let (status, kind) = (rejection.status(), rejection.kind());
            let response: http::Response<String> = rejection.into_default_response();
            let body: serde_json::Value = serde_json::from_str(response.body()).unwrap();
            assert_eq!(
                body,
                serde_json::json!({
                    "status": status.as_u16(),
                    "title": status.canonical_reason().unwrap(),
                    "kind": kind,
                })
            );
        }
    }

    #[test]
    fn a_grpc_refusal_is_a_trailers_only_response() {
        let rejection = Rejection::from_error(
            Challenge::new("videos"),
            Protocol::Grpc,
            cognito_verify::Error::MalformedToken("x".into()),
        );
        assert_eq!(rejection.grpc_status(), 16);
        let response: http::Response<String> = rejection.into_default_response();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.body().is_empty());
        let headers = response.headers();
        assert_eq!(headers["content-type"], "application/grpc");
        assert_eq!(headers["grpc-status"], "16");
        assert_eq!(headers["grpc-message"], "malformed_token");
        assert_eq!(
            headers["www-authenticate"],
            r#"Bearer realm="videos", error="invalid_token", error_description="malformed_token""#
        );
    }

    #[test]
    fn challenge_values_stay_within_a_quoted_string() {
        let challenge =
            Challenge::new("vid\"eos\\").for_resource("https://a.example.com/\"x\"\\y\u{e9}", None);
        assert_eq!(
            challenge.to_string(),
            r#"realm="videos", resource_metadata="https://a.example.com/xy""#
        );
        for scope in ["videos/write", "openid", "a!#[]~"] {
            assert!(is_scope_token(scope), "{scope}");
        }
        for scope in ["", "say\"hi", "back\\slash", "caf\u{e9}", "a b", "tab\t"] {
            assert!(!is_scope_token(scope), "{scope:?}");
        }
    }

    #[test]
    fn grpc_is_told_by_its_content_types_only() {
        for (content_type, protocol) in [
            ("application/grpc", Protocol::Grpc),
            ("application/grpc+proto", Protocol::Grpc),
            ("application/grpc;charset=utf-8", Protocol::Grpc),
            ("application/grpc-web", Protocol::Http),
            ("application/grpcx", Protocol::Http),
            ("application/json", Protocol::Http),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, content_type.parse().unwrap());
            assert_eq!(Protocol::of(&headers), protocol, "{content_type}");
        }
        assert_eq!(Protocol::of(&HeaderMap::new()), Protocol::Http);
    }
}
