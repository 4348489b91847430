//! [`ProtectedResource`]: this server as an OAuth protected resource
//! (RFC 9728): its metadata document, served at its well-known URL, and
//! named in every `Bearer` challenge of the [`CognitoAuthLayer`](crate::CognitoAuthLayer)
//! it is given to.
//!
//! ```
//! use axum::{Router, routing::post};
//! use cognito_verify::{PoolConfig, TokenUse, UserPoolId, Verifier};
//! use cognito_verify_axum::{CognitoAuthLayer, ProtectedResource};
//!
//! let pool = UserPoolId::new("us-east-1_Ynsi6EIT0")?;
//! let resource = ProtectedResource::builder("https://videos.example.com/mcp")
//!     .authorization_server(pool.issuer())
//!     .scopes_supported(["videos/read", "videos/write"])
//!     .resource_name("Videos")
//!     .build()?;
//! let verifier = Verifier::builder()
//!     .pool(
//!         PoolConfig::new(pool.as_str())
//!             .any_client()
//!             .token_use(TokenUse::Access)
//!             .resource(resource.resource()),
//!     )
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/mcp", post(|| async { "tools" }))
//!     .layer(CognitoAuthLayer::new(verifier).protected_resource(&resource))
//!     .layer(resource); // outside the auth layer: the document is public
//! // GET /.well-known/oauth-protected-resource/mcp answers the document;
//! // POST /mcp without a token: 401 with
//! // WWW-Authenticate: Bearer realm="api", resource_metadata="https://videos.example.com/.well-known/oauth-protected-resource/mcp"
//! # Ok::<(), cognito_verify::Error>(())
//! ```

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use tower_layer::Layer;
use tower_service::Service;

use crate::body::RejectionBody;
use crate::future::ResponseFuture;
use crate::response::is_scope_token;

/// The well-known URI suffix of protected resource metadata (RFC 9728 §3).
pub const WELL_KNOWN_PATH: &str = "/.well-known/oauth-protected-resource";

/// The methods the metadata paths answer.
const ALLOWED_METHODS: &str = "GET, HEAD, OPTIONS";

/// A protected resource (RFC 9728): its identifier, its metadata document,
/// and where that document is served.
///
/// As a tower [`Layer`], it answers the document at
/// `/.well-known/oauth-protected-resource` and, for a resource with a path
/// such as `https://videos.example.com/mcp`, at the path-inserted form
/// `/.well-known/oauth-protected-resource/mcp` (RFC 9728 §3.1, the URL
/// [`metadata_url`](Self::metadata_url) names), and passes every other
/// request on. It works on every stack the
/// [`CognitoAuthLayer`](crate::CognitoAuthLayer) does (any
/// `http::Request<B>`, answers in the inner service's body type). Add it
/// *outside* the auth layer: the document is public. Given to
/// [`CognitoAuthLayer::protected_resource`](crate::CognitoAuthLayer::protected_resource),
/// it makes every `Bearer` challenge name the document
/// (`resource_metadata="…"`, RFC 9728 §5.1), which is how an MCP client
/// finds the authorization server.
///
/// With several resources on one host, stack one layer per resource: each
/// answers its path-inserted form, and the outermost also the root form.
///
/// Standards: OAuth 2.0 Protected Resource Metadata,
/// <https://www.rfc-editor.org/rfc/rfc9728> (§2 the fields, §3.1 the
/// well-known URL, §5.1 `resource_metadata`); Resource Indicators,
/// <https://www.rfc-editor.org/rfc/rfc8707>; the MCP authorization
/// specification, which requires both of an MCP server.
///
/// The document is built once, at [`build`](ProtectedResourceBuilder::build):
///
/// ```json
/// {"resource":"https://videos.example.com/mcp",
///  "authorization_servers":["https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Ynsi6EIT0"],
///  "scopes_supported":["videos/read","videos/write"],
///  "bearer_methods_supported":["header"],
///  "resource_name":"Videos"}
/// ```
///
/// `GET` and `HEAD` answer it (`application/json`) with
/// `Access-Control-Allow-Origin: *`, so that a browser-based client on any
/// origin can read it; an `OPTIONS` preflight is answered with 204 and the
/// CORS headers; other methods get 405 with `Allow`. The document holds
/// nothing secret, and no cookie or credential is ever accepted with it.
#[derive(Clone, Debug)]
#[must_use]
pub struct ProtectedResource {
    inner: Arc<Metadata>,
}

#[derive(Debug)]
struct Metadata {
    resource: String,
    metadata_url: String,
    /// The 401's `scope`: scope tokens separated by spaces.
    challenge_scope: Option<String>,
    /// The paths the document is served at: the path-inserted form first.
    paths: Vec<String>,
    document: String,
}

impl ProtectedResource {
    /// A builder for the resource `resource`: its identifier exactly as the
    /// clients send it in `resource` (RFC 8707) and as access tokens carry
    /// it in `aud` (see [`PoolConfig::resource`](cognito_verify::PoolConfig::resource)).
    pub fn builder(resource: impl Into<String>) -> ProtectedResourceBuilder {
        ProtectedResourceBuilder {
            resource: resource.into(),
            authorization_servers: Vec::new(),
            scopes_supported: None,
            challenge_scopes: None,
            resource_name: None,
            resource_documentation: None,
        }
    }

    /// The resource identifier (`resource` of the document).
    #[must_use]
    pub fn resource(&self) -> &str {
        &self.inner.resource
    }

    /// The URL of the document (RFC 9728 §3.1): the resource's origin, the
    /// well-known suffix, then the resource's path, if any. The value of
    /// `resource_metadata` in the challenges.
    #[must_use]
    pub fn metadata_url(&self) -> &str {
        &self.inner.metadata_url
    }

    /// The scopes a 401 names (`scope`, separated by spaces), if set with
    /// [`challenge_scopes`](ProtectedResourceBuilder::challenge_scopes).
    #[must_use]
    pub fn challenge_scope(&self) -> Option<&str> {
        self.inner.challenge_scope.as_deref()
    }

    /// The request paths the layer answers with the document.
    #[must_use]
    pub fn paths(&self) -> &[String] {
        &self.inner.paths
    }

    /// The document, as JSON.
    #[must_use]
    pub fn document(&self) -> &str {
        &self.inner.document
    }

    /// The answer to a request for one of the [`paths`](Self::paths).
    fn respond<B: RejectionBody>(&self, method: &Method) -> Response<B> {
        let (status, body) = match *method {
            Method::GET => (StatusCode::OK, self.inner.document.clone()),
            Method::HEAD => (StatusCode::OK, String::new()),
            Method::OPTIONS => (StatusCode::NO_CONTENT, String::new()),
            _ => (StatusCode::METHOD_NOT_ALLOWED, String::new()),
        };
        let mut response = Response::new(B::from_text(body));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        match status {
            StatusCode::OK => {
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                headers.insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=3600"),
                );
            }
            StatusCode::NO_CONTENT => {
                let allow = HeaderValue::from_static(ALLOWED_METHODS);
                headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, allow);
                // MCP clients send MCP-Protocol-Version with discovery
                // requests; no credentials are ever allowed, so `*` is
                // the wildcard here (Fetch standard).
                headers.insert(
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    HeaderValue::from_static("*"),
                );
                headers.insert(
                    header::ACCESS_CONTROL_MAX_AGE,
                    HeaderValue::from_static("86400"),
                );
            }
            _ => {
                headers.insert(header::ALLOW, HeaderValue::from_static(ALLOWED_METHODS));
            }
        }
        response
    }
}

/// Builds a [`ProtectedResource`]; every value is checked at
/// [`build`](Self::build).
#[derive(Clone, Debug)]
#[must_use]
pub struct ProtectedResourceBuilder {
    resource: String,
    authorization_servers: Vec<String>,
    scopes_supported: Option<Vec<String>>,
    challenge_scopes: Option<Vec<String>>,
    resource_name: Option<String>,
    resource_documentation: Option<String>,
}

impl ProtectedResourceBuilder {
    /// An authorization server whose tokens the resource accepts, by its
    /// issuer identifier (`authorization_servers`, RFC 9728 §2): for a
    /// Cognito user pool, its issuer
    /// ([`UserPoolId::issuer`](cognito_verify::UserPoolId::issuer),
    /// `https://cognito-idp.<region>.amazonaws.com/<pool id>`), whose
    /// OpenID Connect discovery document Cognito serves at
    /// `<issuer>/.well-known/openid-configuration`. Required; call again
    /// for several.
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.authorization_servers.push(issuer.into());
        self
    }

    /// The scopes clients may request for this resource
    /// (`scopes_supported`): for Cognito, `<resource server
    /// identifier>/<scope name>`. Optional; a list that comes out empty is
    /// an error, as for requirements.
    pub fn scopes_supported<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes_supported
            .get_or_insert_with(Vec::new)
            .extend(scopes.into_iter().map(Into::into));
        self
    }

    /// The scopes a client should ask for to use the resource, named in the
    /// `scope` of every 401 challenge (RFC 6750 §3) of the layer given this
    /// resource: the MCP authorization specification (2025-11-25) asks
    /// servers to send them, and clients to request them before falling
    /// back to `scopes_supported`. A 403 for a missing scope names the
    /// route's own scopes instead. Optional; a list that comes out empty is
    /// an error.
    pub fn challenge_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.challenge_scopes
            .get_or_insert_with(Vec::new)
            .extend(scopes.into_iter().map(Into::into));
        self
    }

    /// A name for people (`resource_name`). Optional.
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// A page of documentation for developers (`resource_documentation`):
    /// an `https` URL (`http` on a loopback host) without query or
    /// fragment. Optional.
    pub fn resource_documentation(mut self, url: impl Into<String>) -> Self {
        self.resource_documentation = Some(url.into());
        self
    }

    /// The resource, with its document.
    ///
    /// # Errors
    /// `invalid_config` naming the setting: a resource that is not an
    /// `https` URL (plain `http` only on `localhost` or a loopback
    /// address, for development) in normal form without user information,
    /// query or fragment
    /// ([`check_identifier_url`](cognito_verify::check_identifier_url),
    /// RFC 9728 §1.2, RFC 8707 §2); no authorization server, or one that
    /// is not such a URL either (RFC 8414 §2); an empty or unusable scope
    /// (RFC 6749 §3.3) in `scopes_supported` or `challenge_scopes`; an
    /// empty resource name; a documentation URL that
    /// is not such a URL.
    pub fn build(self) -> Result<ProtectedResource, cognito_verify::Error> {
        use cognito_verify::{Error, check_identifier_url};
        let bad = |why: String| Error::InvalidConfig(format!("protected resource: {why}"));
        check_identifier_url("resource", &self.resource)?;
        if self.authorization_servers.is_empty() {
            return Err(bad("no authorization_server: name the user pool's issuer \
                 (UserPoolId::issuer), which clients discover the sign-in from"
                .into()));
        }
        for issuer in &self.authorization_servers {
            check_identifier_url("authorization_server", issuer)?;
        }
        for (setting, scopes) in [
            ("scopes_supported", &self.scopes_supported),
            ("challenge_scopes", &self.challenge_scopes),
        ] {
            let Some(scopes) = scopes else { continue };
            if scopes.is_empty() {
                return Err(bad(format!(
                    "{setting} is empty; to name none, do not set it"
                )));
            }
            if let Some(scope) = scopes.iter().find(|s| !is_scope_token(s)) {
                return Err(bad(format!(
                    "{setting}: {scope:?} is not a scope token (RFC 6749 §3.3: \
                     visible ASCII but '\"' and '\\', no spaces)"
                )));
            }
        }
        if self.resource_name.as_deref() == Some("") {
            return Err(bad("resource_name is empty".into()));
        }
        if let Some(url) = &self.resource_documentation {
            check_identifier_url("resource_documentation", url)?;
        }
        let (origin, path) = split_origin(&self.resource);
        let inserted = match path {
            "" | "/" => WELL_KNOWN_PATH.to_owned(),
            path => format!("{WELL_KNOWN_PATH}{path}"),
        };
        let mut paths = vec![inserted.clone()];
        if inserted != WELL_KNOWN_PATH {
            paths.push(WELL_KNOWN_PATH.to_owned());
        }
        let mut document = serde_json::Map::new();
        document.insert("resource".into(), self.resource.clone().into());
        document.insert(
            "authorization_servers".into(),
            self.authorization_servers.into(),
        );
        if let Some(scopes) = self.scopes_supported {
            document.insert("scopes_supported".into(), scopes.into());
        }
        // The layer reads the token from the Authorization header (RFC 6750
        // §2.1); cookies and other headers are no OAuth bearer method.
        document.insert("bearer_methods_supported".into(), vec!["header"].into());
        if let Some(name) = self.resource_name {
            document.insert("resource_name".into(), name.into());
        }
        if let Some(url) = self.resource_documentation {
            document.insert("resource_documentation".into(), url.into());
        }
        Ok(ProtectedResource {
            inner: Arc::new(Metadata {
                metadata_url: format!("{origin}{inserted}"),
                challenge_scope: self.challenge_scopes.map(|s| s.join(" ")),
                resource: self.resource,
                paths,
                document: serde_json::Value::Object(document).to_string(),
            }),
        })
    }
}

/// An identifier URL (already checked: a scheme, `//`, an authority, no
/// query or fragment) split into its origin and its path.
fn split_origin(url: &str) -> (&str, &str) {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(slash) => url.split_at(after_scheme + slash),
        None => (url, ""),
    }
}

impl<S> Layer<S> for ProtectedResource {
    type Service = ProtectedResourceService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ProtectedResourceService {
            inner,
            resource: self.clone(),
        }
    }
}

/// The service made by [`ProtectedResource`]: answers the metadata paths,
/// passes every other request to the inner service.
#[derive(Clone, Debug)]
pub struct ProtectedResourceService<S> {
    inner: S,
    resource: ProtectedResource,
}

impl<S> ProtectedResourceService<S> {
    inner_service_accessors!();
}

#[cfg(feature = "tonic")]
impl<S: tonic::server::NamedService> tonic::server::NamedService for ProtectedResourceService<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ProtectedResourceService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: RejectionBody,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let path = req.uri().path();
        if self.resource.paths().iter().any(|p| p == path) {
            return ResponseFuture::answer(self.resource.respond(req.method()));
        }
        ResponseFuture::inner(self.inner.call(req))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_an_identifier_into_origin_and_path() {
        assert_eq!(
            split_origin("https://a.example.com/mcp/v1"),
            ("https://a.example.com", "/mcp/v1")
        );
        assert_eq!(
            split_origin("http://[::1]:3000/"),
            ("http://[::1]:3000", "/")
        );
        assert_eq!(
            split_origin("https://a.example.com"),
            ("https://a.example.com", "")
        );
    }
}
