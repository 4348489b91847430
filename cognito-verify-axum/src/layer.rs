//! [`CognitoAuthLayer`]: verify the bearer token, insert the claims.
//!
//! ```
//! use axum::{Router, routing::get};
//! use cognito_verify::{PoolConfig, TokenUse, Verifier};
//! use cognito_verify_axum::{Claims, CognitoAuthLayer};
//!
//! async fn me(claims: Claims) -> String {
//!     format!("hello {}", claims.sub())
//! }
//!
//! let verifier = Verifier::builder()
//!     .pool(PoolConfig::new("us-east-1_Ynsi6EIT0").client_id("4kq1s3m5example").token_use(TokenUse::Access))
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/me", get(me))
//!     .layer(CognitoAuthLayer::new(verifier).realm("videos").cookie("access_token"));
//! # Ok::<(), cognito_verify::Error>(())
//! ```

use std::sync::Arc;
use std::task::{Context, Poll};

use cognito_verify::{CognitoClaims, Verifier};
use http::{HeaderMap, HeaderName, Request, Response, header};
use tower_layer::Layer;
use tower_service::Service;
use tracing::Instrument;

use crate::body::RejectionBody;
use crate::context::{AuthContext, Challenge};
use crate::future::ResponseFuture;
use crate::response::{DefaultRejection, OnRejection};

#[derive(Clone, Debug)]
enum Source {
    Cookie(String),
    Header(HeaderName),
}

/// What the layer and its services hold; `R` answers refusals.
struct Config<R> {
    verifier: Verifier,
    challenge: Arc<Challenge>,
    on_rejection: Arc<R>,
    sources: Vec<Source>,
    optional: bool,
    strip: Vec<HeaderName>,
}

impl<R> Clone for Config<R> {
    fn clone(&self) -> Self {
        Config {
            verifier: self.verifier.clone(),
            challenge: self.challenge.clone(),
            on_rejection: self.on_rejection.clone(),
            sources: self.sources.clone(),
            optional: self.optional,
            strip: self.strip.clone(),
        }
    }
}

impl<R> std::fmt::Debug for Config<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("verifier", &self.verifier)
            .field("challenge", &self.challenge)
            .field("on_rejection", &std::any::type_name::<R>())
            .field("sources", &self.sources)
            .field("optional", &self.optional)
            .field("strip", &self.strip)
            .finish()
    }
}

/// A tower [`Layer`] that verifies the request's Cognito token and inserts
/// its claims (an `Arc<`[`CognitoClaims`]`>`) into the request extensions,
/// where the axum extractors ([`Claims`](crate::Claims),
/// [`Subject`](crate::Subject), …) find them, and where handlers of other
/// stacks read them with `request.extensions().get::<Arc<CognitoClaims>>()`.
/// Requests without a valid token never reach the inner service.
///
/// One layer type for every tower stack: its service takes any
/// `http::Request<B>` and answers in the inner service's response body type
/// (a [`RejectionBody`]): axum routers, tonic servers (gRPC calls are
/// refused with `grpc-status`: see [`Rejection`](crate::Rejection)), hyper
/// services and `lambda_http` functions.
///
/// The token is read from `Authorization: Bearer <token>` (scheme
/// case-insensitive, exactly one `Authorization` header), then from the
/// cookies and headers added with [`cookie`](Self::cookie) and
/// [`header`](Self::header), in that order. Never from the query string.
/// An `Authorization` header of another scheme (`Basic …`) carries no token
/// for this layer: as RFC 6750 §3.1 asks, the request is answered as one
/// without a token (401 with a bare `Bearer` challenge), or let through
/// without claims in [`optional`](Self::optional) mode. A source that is
/// there but unusable is a 400 `invalid_request`: two `Authorization`
/// headers, `Bearer` without a b64token, two cookies of the token's name
/// (cookie tossing from a sibling domain), two values of a token header.
///
/// See [`Rejection`](crate::Rejection) for the responses, and [`on_rejection`](Self::on_rejection)
/// to replace them: the handler is the type parameter `R`, by default
/// [`DefaultRejection`], so `CognitoAuthLayer` alone names the layer with
/// the default responses.
///
/// # CORS
///
/// A browser's CORS preflight (`OPTIONS` with
/// `Access-Control-Request-Method`) carries no token, so this layer refuses
/// it like any request without one, and no handler ever runs for an
/// unauthenticated preflight. Put tower-http's `CorsLayer` *outside* this
/// layer (added after it); it answers preflights itself and adds the CORS
/// headers to every response, refusals included:
///
/// ```
/// # use axum::{Router, routing::get};
/// # use cognito_verify::{PoolConfig, TokenUse, Verifier};
/// # use cognito_verify_axum::CognitoAuthLayer;
/// use http::{HeaderValue, header};
/// use tower_http::cors::CorsLayer;
///
/// # let verifier = Verifier::builder()
/// #     .pool(PoolConfig::new("us-east-1_Ynsi6EIT0").client_id("4kq1s3m5example").token_use(TokenUse::Access))
/// #     .build()?;
/// let cors = CorsLayer::new()
///     .allow_origin(HeaderValue::from_static("https://app.example.com"))
///     .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]);
/// let app: Router = Router::new()
///     .route("/me", get(|| async { "me" }))
///     .layer(CognitoAuthLayer::new(verifier))
///     .layer(cors); // outermost: preflights never reach the auth layer
/// # Ok::<(), cognito_verify::Error>(())
/// ```
#[must_use]
pub struct CognitoAuthLayer<R = DefaultRejection> {
    config: Config<R>,
}

impl<R> Clone for CognitoAuthLayer<R> {
    fn clone(&self) -> Self {
        CognitoAuthLayer {
            config: self.config.clone(),
        }
    }
}

impl<R> std::fmt::Debug for CognitoAuthLayer<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CognitoAuthLayer")
            .field("config", &self.config)
            .finish()
    }
}

impl CognitoAuthLayer {
    /// A layer that requires a valid token on every request, with the
    /// realm `api` and the default responses. The verifier is shared, not
    /// copied.
    pub fn new(verifier: Verifier) -> Self {
        CognitoAuthLayer {
            config: Config {
                verifier,
                challenge: Challenge::new("api"),
                on_rejection: Arc::new(DefaultRejection),
                sources: Vec::new(),
                optional: false,
                strip: Vec::new(),
            },
        }
    }
}

impl<R> CognitoAuthLayer<R> {
    /// The realm named in `WWW-Authenticate` (default `api`). Characters
    /// that cannot appear in a quoted string are dropped.
    pub fn realm(mut self, realm: &str) -> Self {
        self.config.challenge = self.config.challenge.with_realm(realm);
        self
    }

    /// Names this [`ProtectedResource`](crate::ProtectedResource)'s
    /// metadata in every `Bearer` challenge the layer (and the requirement
    /// layers and extractors under it) sends, as RFC 9728 §5.1 and the MCP
    /// authorization specification ask:
    /// `WWW-Authenticate: Bearer realm="api", resource_metadata="https://videos.example.com/.well-known/oauth-protected-resource/mcp"`
    /// on a 401, and on 400 and 403 too; a 401 also names the resource's
    /// [`challenge_scopes`](crate::ProtectedResourceBuilder::challenge_scopes)
    /// in `scope`, when it has some. Serve the document itself by
    /// adding the resource as a layer outside this one (see
    /// [`ProtectedResource`](crate::ProtectedResource)); make the verifier
    /// demand the audience with
    /// [`PoolConfig::resource`](cognito_verify::PoolConfig::resource).
    pub fn protected_resource(mut self, resource: &crate::ProtectedResource) -> Self {
        self.config.challenge = self
            .config
            .challenge
            .for_resource(resource.metadata_url(), resource.challenge_scope());
        self
    }

    /// Also reads the token from this cookie when there is no
    /// `Authorization` header (for browser sessions).
    pub fn cookie(mut self, name: &str) -> Self {
        self.config.sources.push(Source::Cookie(name.to_owned()));
        self
    }

    /// True when this layer takes the request's token from one of its
    /// [`cookie`](Self::cookie)s: there is no `Authorization: Bearer`
    /// header, and the first configured source the request carries is a
    /// cookie (even a cookie the layer will refuse, such as two of one
    /// name). An `Authorization` header of another scheme (`Basic`,
    /// `Negotiate`, which a browser sends on its own behind an HTTP-auth
    /// gate) does not stop the cookie from being read, so it does not
    /// count either; cookies are read as bytes, so a byte outside ASCII in
    /// another cookie hides nothing.
    ///
    /// A browser attaches cookies to requests other sites make, so a CSRF
    /// defence must ask exactly this question, with the layer's own answer:
    ///
    /// ```
    /// use axum::extract::{Request, State};
    /// use axum::http::{Method, StatusCode};
    /// use axum::middleware::{Next, from_fn_with_state};
    /// use axum::response::{IntoResponse, Response};
    /// use axum::{Router, routing::post};
    /// # use cognito_verify::{PoolConfig, TokenUse, Verifier};
    /// use cognito_verify_axum::CognitoAuthLayer;
    ///
    /// async fn csrf(State(auth): State<CognitoAuthLayer>, request: Request, next: Next) -> Response {
    ///     let write = request.method() != Method::GET;
    ///     let from_page = request.headers().contains_key("x-requested-by-page");
    ///     if write && auth.authenticates_by_cookie(request.headers()) && !from_page {
    ///         return StatusCode::FORBIDDEN.into_response();
    ///     }
    ///     next.run(request).await
    /// }
    ///
    /// # let verifier = Verifier::builder()
    /// #     .pool(PoolConfig::new("us-east-1_Ynsi6EIT0").client_id("4kq1s3m5example").token_use(TokenUse::Access))
    /// #     .build()?;
    /// let auth = CognitoAuthLayer::new(verifier).cookie("__Host-access");
    /// let app: Router = Router::new()
    ///     .route("/videos", post(|| async { "added" }))
    ///     .route_layer(auth.clone())
    ///     .layer(from_fn_with_state(auth, csrf));
    /// # Ok::<(), cognito_verify::Error>(())
    /// ```
    pub fn authenticates_by_cookie(&self, headers: &HeaderMap) -> bool {
        matches!(
            look_up(headers, &self.config.sources),
            (_, Some(Source::Cookie(_)))
        )
    }

    /// Also reads the token from this header (the whole value is the token)
    /// when there is no `Authorization` header.
    ///
    /// ```
    /// # use cognito_verify::{PoolConfig, TokenUse, Verifier};
    /// # use cognito_verify_axum::CognitoAuthLayer;
    /// use http::HeaderName;
    /// # let verifier = Verifier::builder()
    /// #     .pool(PoolConfig::new("us-east-1_Ynsi6EIT0").client_id("4kq1s3m5example").token_use(TokenUse::Access))
    /// #     .build()?;
    /// let layer = CognitoAuthLayer::new(verifier)
    ///     .header(HeaderName::from_static("x-access-token"));
    /// # let _ = layer;
    /// # Ok::<(), cognito_verify::Error>(())
    /// ```
    pub fn header(mut self, name: HeaderName) -> Self {
        self.config.sources.push(Source::Header(name));
        self
    }

    /// Lets requests without any token through, with no claims: handlers use
    /// [`OptionalClaims`](crate::OptionalClaims). A token that is present
    /// but invalid is still refused. Off by default: the layer never fails
    /// open unless asked to.
    pub fn optional(mut self) -> Self {
        self.config.optional = true;
        self
    }

    /// Removes these headers from every request before the inner service
    /// sees it: identity headers a client could forge, such as `x-user-id`,
    /// `x-amzn-oidc-identity` or `x-amzn-oidc-data`. Handlers should take
    /// identity from the extractors in any case; this is a second line.
    ///
    /// ```
    /// # use cognito_verify::{PoolConfig, TokenUse, Verifier};
    /// # use cognito_verify_axum::CognitoAuthLayer;
    /// use http::HeaderName;
    /// # let verifier = Verifier::builder()
    /// #     .pool(PoolConfig::new("us-east-1_Ynsi6EIT0").client_id("4kq1s3m5example").token_use(TokenUse::Access))
    /// #     .build()?;
    /// let layer = CognitoAuthLayer::new(verifier)
    ///     .strip_headers([HeaderName::from_static("x-user-id")]);
    /// # let _ = layer;
    /// # Ok::<(), cognito_verify::Error>(())
    /// ```
    pub fn strip_headers<I>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = HeaderName>,
    {
        self.config.strip.extend(names);
        self
    }

    /// Replaces the default RFC 6750 (and gRPC) responses with your own,
    /// for the layer, the requirement layers and the extractors alike:
    /// `handler` is an [`OnRejection`] (any `Fn(Rejection) ->
    /// http::Response<B>`) and becomes the layer's type parameter, as
    /// tower-http's layers take their customisable parts. The handler
    /// answers in the inner service's response body type `B`: for axum,
    /// `axum::response::Response`. Here, browsers are sent to sign in:
    ///
    /// ```
    /// use axum::response::{IntoResponse, Redirect, Response};
    /// use axum::{Router, routing::get};
    /// # use cognito_verify::{PoolConfig, TokenUse, Verifier};
    /// use cognito_verify_axum::{CognitoAuthLayer, Rejection};
    /// use http::StatusCode;
    ///
    /// fn sign_in_first(rejection: Rejection) -> Response {
    ///     match rejection.status() {
    ///         StatusCode::UNAUTHORIZED if !rejection.is_grpc() => Redirect::to("/signin").into_response(),
    ///         _ => rejection.into_default_response(),
    ///     }
    /// }
    ///
    /// # let verifier = Verifier::builder()
    /// #     .pool(PoolConfig::new("us-east-1_Ynsi6EIT0").client_id("4kq1s3m5example").token_use(TokenUse::Access))
    /// #     .build()?;
    /// let auth: CognitoAuthLayer<fn(Rejection) -> Response> =
    ///     CognitoAuthLayer::new(verifier).on_rejection(sign_in_first);
    /// let app: Router = Router::new().route("/me", get(|| async { "me" })).layer(auth);
    /// # Ok::<(), cognito_verify::Error>(())
    /// ```
    ///
    /// A handler of another body type than the service's does not compile
    /// (rather than being skipped at run time): here a handler that answers
    /// in axum's body, around a hyper service that answers in
    /// `Full<Bytes>`:
    ///
    /// ```compile_fail
    /// use axum::response::{IntoResponse, Response};
    /// use bytes::Bytes;
    /// # use cognito_verify::{PoolConfig, TokenUse, Verifier};
    /// use cognito_verify_axum::{CognitoAuthLayer, Rejection};
    /// use http_body_util::Full;
    /// use tower::{ServiceBuilder, ServiceExt, service_fn};
    ///
    /// async fn hello(_: http::Request<String>) -> Result<http::Response<Full<Bytes>>, std::convert::Infallible> {
    ///     Ok(http::Response::new(Full::new(Bytes::from("hello"))))
    /// }
    ///
    /// # let verifier = Verifier::builder()
    /// #     .pool(PoolConfig::new("us-east-1_Ynsi6EIT0").client_id("4kq1s3m5example").token_use(TokenUse::Access))
    /// #     .build()?;
    /// let axum_style = |rejection: Rejection| -> Response { (rejection.status(), "no").into_response() };
    /// let service = ServiceBuilder::new()
    ///     .layer(CognitoAuthLayer::new(verifier).on_rejection(axum_style))
    ///     .service(service_fn(hello));
    /// let _ = service.oneshot(http::Request::new(String::new()));
    /// # Ok::<(), cognito_verify::Error>(())
    /// ```
    ///
    /// The same service with a handler in its own body type compiles:
    ///
    /// ```
    /// use bytes::Bytes;
    /// # use cognito_verify::{PoolConfig, TokenUse, Verifier};
    /// use cognito_verify_axum::{CognitoAuthLayer, Rejection};
    /// use http_body_util::Full;
    /// use tower::{ServiceBuilder, ServiceExt, service_fn};
    ///
    /// async fn hello(_: http::Request<String>) -> Result<http::Response<Full<Bytes>>, std::convert::Infallible> {
    ///     Ok(http::Response::new(Full::new(Bytes::from("hello"))))
    /// }
    ///
    /// # let verifier = Verifier::builder()
    /// #     .pool(PoolConfig::new("us-east-1_Ynsi6EIT0").client_id("4kq1s3m5example").token_use(TokenUse::Access))
    /// #     .build()?;
    /// let plain = |rejection: Rejection| {
    ///     let mut response = http::Response::new(Full::new(Bytes::from("no")));
    ///     *response.status_mut() = rejection.status();
    ///     response
    /// };
    /// let service = ServiceBuilder::new()
    ///     .layer(CognitoAuthLayer::new(verifier).on_rejection(plain))
    ///     .service(service_fn(hello));
    /// let _ = service.oneshot(http::Request::new(String::new()));
    /// # Ok::<(), cognito_verify::Error>(())
    /// ```
    pub fn on_rejection<H>(self, handler: H) -> CognitoAuthLayer<H> {
        let Config {
            verifier,
            challenge,
            on_rejection: _,
            sources,
            optional,
            strip,
        } = self.config;
        CognitoAuthLayer {
            config: Config {
                verifier,
                challenge,
                on_rejection: Arc::new(handler),
                sources,
                optional,
                strip,
            },
        }
    }
}

impl<S, R> Layer<S> for CognitoAuthLayer<R> {
    type Service = CognitoAuth<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        CognitoAuth {
            inner,
            config: Arc::new(self.config.clone()),
        }
    }
}

/// The service made by [`CognitoAuthLayer`]: a `tower::Service` for any
/// `http::Request<ReqBody>` whose inner service answers
/// `http::Response<ResBody>`, where `ResBody` is a [`RejectionBody`]
/// (axum's, tonic's, `lambda_http`'s, hyper users' `Full<Bytes>`, …).
///
/// A verified request reaches the inner service with an
/// `Arc<`[`CognitoClaims`]`>` in its extensions (what the axum extractors
/// read, and what a tonic or hyper handler takes with
/// `request.extensions().get::<Arc<CognitoClaims>>()`).
///
/// `R` is the layer's [`OnRejection`] handler.
pub struct CognitoAuth<S, R = DefaultRejection> {
    inner: S,
    /// Shared by every clone of the service: one reference count per request.
    config: Arc<Config<R>>,
}

impl<S: Clone, R> Clone for CognitoAuth<S, R> {
    fn clone(&self) -> Self {
        CognitoAuth {
            inner: self.inner.clone(),
            config: self.config.clone(),
        }
    }
}

impl<S: std::fmt::Debug, R> std::fmt::Debug for CognitoAuth<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CognitoAuth")
            .field("inner", &self.inner)
            .field("config", &self.config)
            .finish()
    }
}

impl<S, R> CognitoAuth<S, R> {
    inner_service_accessors!();
}

#[cfg(feature = "tonic")]
impl<S: tonic::server::NamedService, R> tonic::server::NamedService for CognitoAuth<S, R> {
    const NAME: &'static str = S::NAME;
}

/// The service to call: the one driven to readiness, leaving a clone in its
/// place (tower's documented pattern for services that are `Clone`).
pub(crate) fn take_ready<S: Clone>(service: &mut S) -> S {
    let clone = service.clone();
    std::mem::replace(service, clone)
}

impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for CognitoAuth<S, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    R: OnRejection<ResBody>,
    ReqBody: Send + 'static,
    ResBody: RejectionBody + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let mut inner = take_ready(&mut self.inner);
        let config = &*self.config;
        for name in &config.strip {
            while req.headers_mut().remove(name).is_some() {}
        }
        let context = AuthContext::new(&config.challenge, &config.on_rejection);
        let span = tracing::debug_span!(
            "cognito_verify",
            outcome = tracing::field::Empty,
            iss = tracing::field::Empty,
            sub = tracing::field::Empty,
        );
        // Settled without waiting whenever the cached keys (or the token
        // cache) can decide: no copy of the token, no boxed verification.
        let (token, syntax_unchecked) = match find_token(req.headers(), &config.sources) {
            TokenLookup::Malformed(why) => {
                let rejection = context.invalid_request(req.headers());
                tracing::debug!(outcome = rejection.kind(), why, "request refused");
                return ResponseFuture::answer(context.reject(rejection));
            }
            TokenLookup::Absent => {
                if config.optional {
                    req.extensions_mut().insert(context);
                    return ResponseFuture::inner(inner.call(req));
                }
                let rejection = context.missing_token(req.headers());
                tracing::debug!(outcome = rejection.kind(), "request refused");
                return ResponseFuture::answer(context.reject(rejection));
            }
            TokenLookup::Bearer(token) => (token, true),
            TokenLookup::Found(token) => (token.as_bytes(), false),
        };
        let settled = match span.in_scope(|| config.verifier.try_verify_cached(token)) {
            Some(Err(_)) | None if syntax_unchecked && !is_b64token(token) => {
                let rejection = context.invalid_request(req.headers());
                tracing::debug!(
                    outcome = rejection.kind(),
                    why = NOT_B64TOKEN,
                    "request refused"
                );
                return ResponseFuture::answer(context.reject(rejection));
            }
            Some(verified) => Verification::Settled(verified),
            None => Verification::NeedsKeys(token.to_vec()),
        };
        match settled {
            Verification::Settled(verified) => match admit(&span, verified, &mut req, context) {
                Ok(()) => ResponseFuture::inner(inner.call(req)),
                Err(refusal) => ResponseFuture::answer(refusal),
            },
            Verification::NeedsKeys(token) => {
                let config = self.config.clone();
                ResponseFuture::waiting(
                    async move {
                        let verified = config.verifier.verify(&token).await;
                        drop(token);
                        match admit(&tracing::Span::current(), verified, &mut req, context) {
                            Ok(()) => inner.call(req).await,
                            Err(refusal) => Ok(refusal),
                        }
                    }
                    .instrument(span),
                )
            }
        }
    }
}

/// A token's verification, as far as the cached keys take it.
enum Verification {
    /// Decided without waiting (no copy of the token, no boxed future).
    Settled(Result<Arc<CognitoClaims>, cognito_verify::Error>),
    /// Keys must be fetched first: the token, to verify once they are in.
    NeedsKeys(Vec<u8>),
}

/// Records a verification's outcome on `span`. A verified request gets the
/// claims and the context as extensions and is admitted; otherwise the
/// answer that refuses it.
// The refusal is returned once, by value, to become the response: boxing
// it would allocate on every refused request.
#[allow(clippy::result_large_err)]
fn admit<ReqBody, ResBody: RejectionBody + 'static>(
    span: &tracing::Span,
    verified: Result<Arc<CognitoClaims>, cognito_verify::Error>,
    req: &mut Request<ReqBody>,
    context: AuthContext<ResBody>,
) -> Result<(), Response<ResBody>> {
    let _entered = span.enter();
    match verified {
        Ok(claims) => {
            span.record("outcome", "verified");
            span.record("iss", claims.iss());
            span.record("sub", claims.sub());
            tracing::debug!("token verified");
            req.extensions_mut().insert(claims);
            req.extensions_mut().insert(context);
            Ok(())
        }
        Err(error) => {
            span.record("outcome", error.kind());
            if error.is_unavailable() {
                tracing::warn!(error.kind = error.kind(), error = %error, "token not verified: keys or revocations unavailable");
            } else {
                tracing::debug!(error.kind = error.kind(), error = %error, "token refused");
            }
            Err(context.reject(context.refused(req.headers(), error)))
        }
    }
}

/// Where a request stands as to its token.
#[derive(Debug, PartialEq, Eq)]
enum TokenLookup<'h> {
    /// The token of an `Authorization: Bearer` header, as bytes. Whether it
    /// is a b64token (RFC 6750 §2.1) is checked only when it does not
    /// verify: a token that verifies is base64url by construction, so
    /// every answer stays the same and a verified request skips scanning
    /// the token.
    Bearer(&'h [u8]),
    /// The token, from the first other source that has one.
    Found(&'h str),
    /// No source carries a token (an `Authorization` header of another
    /// scheme counts as none, RFC 6750 §3.1).
    Absent,
    /// A source is there but unusable (why, for the debug log): the request
    /// is a 400 `invalid_request`.
    Malformed(&'static str),
}

/// The request's token: from `Authorization: Bearer`, else from the
/// configured sources in order.
fn find_token<'h>(headers: &'h HeaderMap, sources: &[Source]) -> TokenLookup<'h> {
    look_up(headers, sources).0
}

/// The request's token, and the configured source that decided it (`None`:
/// the `Authorization` header did, or no source has a token).
fn look_up<'h, 's>(
    headers: &'h HeaderMap,
    sources: &'s [Source],
) -> (TokenLookup<'h>, Option<&'s Source>) {
    match bearer_token(headers) {
        TokenLookup::Absent => {}
        decided => return (decided, None),
    }
    for source in sources {
        let lookup = match source {
            Source::Header(name) => header_token(headers, name),
            Source::Cookie(name) => cookie_token(headers, name),
        };
        if lookup != TokenLookup::Absent {
            return (lookup, Some(source));
        }
    }
    (TokenLookup::Absent, None)
}

/// `Authorization: Bearer <token>`: the scheme case-insensitive, then
/// spaces, then a b64token (visible ASCII, no spaces). One pass over the
/// (about 1 KB) value, written to vectorize.
fn bearer_token(headers: &HeaderMap) -> TokenLookup<'_> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return TokenLookup::Absent;
    };
    if values.next().is_some() {
        return TokenLookup::Malformed("two Authorization headers: which one counts is ambiguous");
    }
    let value = value.as_bytes();
    let (scheme, rest) = match value.iter().position(|&b| b == b' ') {
        Some(space) => value.split_at(space),
        None => (value, &b""[..]),
    };
    if scheme.is_empty() || !scheme.iter().all(|&b| is_tchar(b)) {
        // Not `scheme SP credentials` (RFC 9110 §11.4), e.g. `Bearer\t…`.
        return TokenLookup::Malformed("the Authorization header has no valid scheme");
    }
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return TokenLookup::Absent; // another authentication scheme
    }
    let token = trim_spaces(rest);
    if token.is_empty() {
        return TokenLookup::Malformed("Bearer without a token");
    }
    TokenLookup::Bearer(token)
}

/// Why a bearer token that is not a b64token is refused.
const NOT_B64TOKEN: &str = "the bearer token is not a b64token";

/// A b64token's characters, or wider: visible ASCII ('!' to '~'), no
/// space.
fn is_b64token(token: &[u8]) -> bool {
    token.iter().all(|b| (b'!'..=b'~').contains(b))
}

/// A configured token header: exactly one value, the whole value the token.
fn header_token<'h>(headers: &'h HeaderMap, name: &HeaderName) -> TokenLookup<'h> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return TokenLookup::Absent;
    };
    if values.next().is_some() {
        return TokenLookup::Malformed("the token header appears more than once");
    }
    match value.to_str().map(str::trim) {
        Ok("") => TokenLookup::Malformed("the token header is empty"),
        Ok(token) => TokenLookup::Found(token),
        Err(_) => TokenLookup::Malformed("the token header is not visible ASCII"),
    }
}

/// The cookie `name`, from all `Cookie` headers together: exactly one.
/// Two cookies of one name are what a sibling subdomain can plant beside
/// the real one (cookie tossing), and which one a server reads differs
/// from server to server.
fn cookie_token<'h>(headers: &'h HeaderMap, name: &str) -> TokenLookup<'h> {
    // Read as bytes: a byte outside ASCII in another cookie must not hide
    // this one (or a second copy of it).
    let mut values = headers
        .get_all(header::COOKIE)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b';'))
        .filter_map(|pair| {
            let pair = trim_spaces(pair);
            let eq = pair.iter().position(|&b| b == b'=')?;
            let (key, value) = (trim_spaces(&pair[..eq]), &pair[eq + 1..]);
            (key == name.as_bytes()).then_some(value)
        });
    let Some(token) = values.next() else {
        return TokenLookup::Absent;
    };
    if values.next().is_some() {
        return TokenLookup::Malformed("two cookies carry the token's name");
    }
    let token = trim_spaces(token);
    let token = token
        .strip_prefix(b"\"")
        .and_then(|t| t.strip_suffix(b"\""))
        .unwrap_or(token);
    match std::str::from_utf8(token) {
        Ok("") => TokenLookup::Malformed("the token cookie is empty"),
        Ok(token) => TokenLookup::Found(token),
        Err(_) => TokenLookup::Malformed("the token cookie is not UTF-8"),
    }
}

/// A character of an HTTP token (RFC 9110 §5.6.2), as an auth scheme is.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn trim_spaces(mut bytes: &[u8]) -> &[u8] {
    while let [b' ', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' '] = bytes {
        bytes = rest;
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A layered tonic service keeps its gRPC service name, so that it can
    /// be added to a server by itself (`add_service`).
    #[cfg(feature = "tonic")]
    #[test]
    fn layered_services_keep_their_grpc_name() {
        use tonic::server::NamedService;
        struct Videos;
        impl NamedService for Videos {
            const NAME: &'static str = "videos.v1.Videos";
        }
        assert_eq!(
            <CognitoAuth<Videos> as NamedService>::NAME,
            "videos.v1.Videos"
        );
        assert_eq!(
            <crate::RequireService<CognitoAuth<Videos>> as NamedService>::NAME,
            "videos.v1.Videos"
        );
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(HeaderName::try_from(*k).unwrap(), v.parse().unwrap());
        }
        h
    }

    fn is_malformed(lookup: TokenLookup<'_>) -> bool {
        matches!(lookup, TokenLookup::Malformed(_))
    }

    /// Refused as `invalid_request`: at the lookup, or (a bearer token)
    /// by its syntax once it fails to verify.
    fn is_invalid_request(lookup: TokenLookup<'_>) -> bool {
        match lookup {
            TokenLookup::Bearer(token) => !is_b64token(token),
            other => is_malformed(other),
        }
    }

    #[test]
    fn reads_bearer_tokens_strictly() {
        let none: &[Source] = &[];
        assert_eq!(
            find_token(&headers(&[("authorization", "Bearer abc")]), none),
            TokenLookup::Bearer(b"abc")
        );
        assert_eq!(
            find_token(&headers(&[("authorization", "bEaReR abc")]), none),
            TokenLookup::Bearer(b"abc")
        );
        assert_eq!(find_token(&headers(&[]), none), TokenLookup::Absent);
        for bad in [
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "Bearer a\tb",
            "Bearer caf\u{e9}",
        ] {
            let h = headers(&[("authorization", bad)]);
            assert!(is_invalid_request(find_token(&h, none)), "{bad:?}");
        }
        let two = headers(&[("authorization", "Bearer a"), ("authorization", "Bearer a")]);
        assert!(is_malformed(find_token(&two, none)));
    }

    #[test]
    fn another_scheme_carries_no_token() {
        let cookie = [Source::Cookie("tok".into())];
        for other in [
            "Basic dXNlcjpwYXNz",
            "Token abc",
            "abc",
            "Bearerabc x",
            "Negotiate",
        ] {
            let h = headers(&[("authorization", other)]);
            assert_eq!(find_token(&h, &[]), TokenLookup::Absent, "{other}");
            // The other sources are still read.
            let h = headers(&[("authorization", other), ("cookie", "tok=c1")]);
            assert_eq!(find_token(&h, &cookie), TokenLookup::Found("c1"), "{other}");
        }
    }

    #[test]
    fn says_when_the_token_comes_from_a_cookie() {
        let sources = [
            Source::Cookie("tok".into()),
            Source::Header(HeaderName::from_static("x-token")),
        ];
        let by_cookie =
            |h: &HeaderMap| matches!(look_up(h, &sources), (_, Some(Source::Cookie(_))));
        for pairs in [
            &[("cookie", "a=1; tok=c1")][..],
            &[
                ("cookie", "tok=c1"),
                ("authorization", "Basic dXNlcjpwYXNz"),
            ],
            &[("cookie", "tok=c1"), ("authorization", "Negotiate abc")],
            &[("cookie", "tok=c1; tok=c2")],
            &[("cookie", "tok=c1"), ("x-token", "h1")],
        ] {
            assert!(by_cookie(&headers(pairs)), "{pairs:?}");
        }
        for pairs in [
            &[("cookie", "a=1")][..],
            &[("cookie", "tok=c1"), ("authorization", "Bearer b1")],
            &[("cookie", "xtok=c1"), ("x-token", "h1")],
            &[],
        ] {
            assert!(!by_cookie(&headers(pairs)), "{pairs:?}");
        }
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            http::HeaderValue::from_bytes(b"x=caf\xe9; tok=c2").unwrap(),
        );
        assert!(by_cookie(&h), "a byte outside ASCII in another cookie");
    }

    #[test]
    fn reads_cookies_and_headers_after_authorization() {
        let sources = [
            Source::Cookie("tok".into()),
            Source::Header(HeaderName::from_static("x-token")),
        ];
        let h = headers(&[("cookie", "a=1; tok=c1"), ("x-token", "h1")]);
        assert_eq!(find_token(&h, &sources), TokenLookup::Found("c1"));
        let h = headers(&[("cookie", "a=1"), ("x-token", "h1")]);
        assert_eq!(find_token(&h, &sources), TokenLookup::Found("h1"));
        let h = headers(&[("authorization", "Bearer b1"), ("cookie", "tok=c1")]);
        assert_eq!(find_token(&h, &sources), TokenLookup::Bearer(b"b1"));
        let h = headers(&[("cookie", "tok=")]);
        assert!(is_malformed(find_token(&h, &sources)));
        let h = headers(&[("cookie", "xtok=c1")]);
        assert_eq!(find_token(&h, &sources), TokenLookup::Absent);
    }

    #[test]
    fn two_token_cookies_or_token_headers_are_malformed() {
        let sources = [
            Source::Cookie("tok".into()),
            Source::Header(HeaderName::from_static("x-token")),
        ];
        for pairs in [
            &[("cookie", "tok=c1; a=1; tok=c2")][..],
            &[("cookie", "tok=c1"), ("cookie", "tok=c2")],
            &[("cookie", "tok=c1; tok=c1")],
            &[("x-token", "h1"), ("x-token", "h2")],
        ] {
            assert!(
                is_malformed(find_token(&headers(pairs), &sources)),
                "{pairs:?}"
            );
        }
        // A byte outside ASCII in another cookie hides neither copy.
        let mut h = headers(&[("cookie", "tok=c1")]);
        h.append(
            header::COOKIE,
            http::HeaderValue::from_bytes(b"x=caf\xe9; tok=c2").unwrap(),
        );
        assert!(is_malformed(find_token(&h, &sources)));
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            http::HeaderValue::from_bytes(b"x=caf\xe9; tok=c2").unwrap(),
        );
        assert_eq!(find_token(&h, &sources), TokenLookup::Found("c2"));
        // One of each is fine: the cookie comes first.
        let h = headers(&[("cookie", "tok=c1; other=tok"), ("x-token", "h1")]);
        assert_eq!(find_token(&h, &sources), TokenLookup::Found("c1"));
    }
}
