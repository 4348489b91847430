//! [`AlbAuthLayer`]: trust only the identity an Application Load Balancer
//! signed.
//!
//! A listener rule that authenticates users forwards three headers to the
//! target ("Authenticate users using an Application Load Balancer", Elastic
//! Load Balancing user guide): `x-amzn-oidc-accesstoken` (the identity
//! provider's access token), `x-amzn-oidc-identity` (the subject, in plain
//! text) and `x-amzn-oidc-data` (the user claims, signed by the load
//! balancer). Anyone who reaches the target directly can send any of them;
//! only the signature of `x-amzn-oidc-data` says the load balancer sent it.
//!
//! ```
//! use axum::{Router, routing::get};
//! use cognito_verify::AlbVerifier;
//! use cognito_verify_axum::{AlbAuthLayer, AlbIdentity};
//!
//! async fn me(AlbIdentity(user): AlbIdentity) -> String {
//!     format!("hello {}", user.email().unwrap_or(user.sub()))
//! }
//!
//! let verifier = AlbVerifier::builder()
//!     .load_balancer_arn("arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/videos/50dc6c495c0c9188")
//!     .issuer("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Ynsi6EIT0")
//!     .client_id("4kq1s3m5example")
//!     .build()?;
//! let app: Router = Router::new().route("/me", get(me)).layer(AlbAuthLayer::new(verifier));
//! # Ok::<(), cognito_verify::Error>(())
//! ```

use std::sync::Arc;
use std::task::{Context, Poll};

use cognito_verify::{AlbClaims, AlbVerifier, CognitoClaims, Error, Verifier};
use http::{HeaderMap, HeaderName, Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::body::RejectionBody;
use crate::context::{AuthContext, Challenge};
use crate::future::ResponseFuture;
use crate::layer::take_ready;
use crate::response::{DefaultRejection, OnRejection};

/// The signed user claims.
pub const ALB_DATA: HeaderName = HeaderName::from_static("x-amzn-oidc-data");
/// The identity provider's access token.
pub const ALB_ACCESS_TOKEN: HeaderName = HeaderName::from_static("x-amzn-oidc-accesstoken");
/// The prefix of every header the load balancer's authentication adds.
const ALB_PREFIX: &str = "x-amzn-oidc-";

/// What the layer and its services hold; `R` answers refusals.
struct Config<R> {
    verifier: AlbVerifier,
    /// Also verifies `x-amzn-oidc-accesstoken` (the provider is a user pool).
    access_tokens: Option<Verifier>,
    challenge: Arc<Challenge>,
    on_rejection: Arc<R>,
}

impl<R> Clone for Config<R> {
    fn clone(&self) -> Self {
        Config {
            verifier: self.verifier.clone(),
            access_tokens: self.access_tokens.clone(),
            challenge: self.challenge.clone(),
            on_rejection: self.on_rejection.clone(),
        }
    }
}

impl<R> std::fmt::Debug for Config<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("verifier", &self.verifier)
            .field("access_tokens", &self.access_tokens)
            .field("challenge", &self.challenge)
            .field("on_rejection", &std::any::type_name::<R>())
            .finish()
    }
}

/// A tower layer that verifies `x-amzn-oidc-data` with an [`AlbVerifier`]
/// and lets through only requests whose load balancer identity verified,
/// with an `Arc<`[`AlbClaims`]`>` in their extensions (the
/// [`AlbIdentity`](crate::AlbIdentity) extractor reads it).
///
/// Before the inner service runs, it removes `x-amzn-oidc-identity` and
/// every other `x-amzn-oidc-*` header it did not verify: the handler never
/// sees an identity the client could have typed. With
/// [`access_token`](Self::access_token), the access token is verified too
/// (and kept), its claims inserted as `Arc<`[`CognitoClaims`]`>` for the
/// [`Claims`](crate::Claims) extractors, and its `sub` must be the ALB
/// identity's.
///
/// Refusals are the same as [`CognitoAuthLayer`](crate::CognitoAuthLayer)'s
/// (see [`Rejection`](crate::Rejection)): no `x-amzn-oidc-data` is 401
/// `missing_token`, two are 400 `invalid_request`, a token refused is 401
/// with its kind (`invalid_signer`, `expired`, …), keys unavailable 503.
/// As there, the handler of [`on_rejection`](Self::on_rejection) is the
/// type parameter `R`, by default [`DefaultRejection`].
#[must_use]
pub struct AlbAuthLayer<R = DefaultRejection> {
    config: Config<R>,
}

impl<R> Clone for AlbAuthLayer<R> {
    fn clone(&self) -> Self {
        AlbAuthLayer {
            config: self.config.clone(),
        }
    }
}

impl<R> std::fmt::Debug for AlbAuthLayer<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlbAuthLayer")
            .field("config", &self.config)
            .finish()
    }
}

impl AlbAuthLayer {
    /// A layer that requires a verified `x-amzn-oidc-data` on every request.
    pub fn new(verifier: AlbVerifier) -> Self {
        AlbAuthLayer {
            config: Config {
                verifier,
                access_tokens: None,
                challenge: Challenge::new("api"),
                on_rejection: Arc::new(DefaultRejection),
            },
        }
    }
}

impl<R> AlbAuthLayer<R> {
    /// Also verifies `x-amzn-oidc-accesstoken` with this Cognito verifier
    /// (when the listener rule authenticates with a user pool), so that
    /// handlers get both the load balancer's identity and the pool's
    /// access-token claims (groups, scopes).
    pub fn access_token(mut self, verifier: Verifier) -> Self {
        self.config.access_tokens = Some(verifier);
        self
    }

    /// The realm named in `WWW-Authenticate` (default `api`). Characters
    /// that cannot appear in a quoted string are dropped.
    pub fn realm(mut self, realm: &str) -> Self {
        self.config.challenge = self.config.challenge.with_realm(realm);
        self
    }

    /// Replaces the default responses, as
    /// [`CognitoAuthLayer::on_rejection`](crate::CognitoAuthLayer::on_rejection)
    /// does: the handler must answer in the inner service's body type, or
    /// the layered service does not compile.
    pub fn on_rejection<H>(self, handler: H) -> AlbAuthLayer<H> {
        let Config {
            verifier,
            access_tokens,
            challenge,
            on_rejection: _,
        } = self.config;
        AlbAuthLayer {
            config: Config {
                verifier,
                access_tokens,
                challenge,
                on_rejection: Arc::new(handler),
            },
        }
    }
}

impl<S, R> Layer<S> for AlbAuthLayer<R> {
    type Service = AlbAuth<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        AlbAuth {
            inner,
            config: Arc::new(self.config.clone()),
        }
    }
}

/// The service made by [`AlbAuthLayer`]; `R` is its [`OnRejection`]
/// handler.
pub struct AlbAuth<S, R = DefaultRejection> {
    inner: S,
    config: Arc<Config<R>>,
}

impl<S: Clone, R> Clone for AlbAuth<S, R> {
    fn clone(&self) -> Self {
        AlbAuth {
            inner: self.inner.clone(),
            config: self.config.clone(),
        }
    }
}

impl<S: std::fmt::Debug, R> std::fmt::Debug for AlbAuth<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlbAuth")
            .field("inner", &self.inner)
            .field("config", &self.config)
            .finish()
    }
}

impl<S, R> AlbAuth<S, R> {
    inner_service_accessors!();
}

#[cfg(feature = "tonic")]
impl<S: tonic::server::NamedService, R> tonic::server::NamedService for AlbAuth<S, R> {
    const NAME: &'static str = S::NAME;
}

/// The value of a header that must appear at most once.
enum One<'h> {
    Absent,
    Value(&'h [u8]),
    Repeated,
}

fn one<'h>(headers: &'h HeaderMap, name: &HeaderName) -> One<'h> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (None, _) => One::Absent,
        (Some(value), None) => One::Value(value.as_bytes()),
        (Some(_), Some(_)) => One::Repeated,
    }
}

/// What the request's ALB headers say, before any key is fetched.
enum Verification {
    /// Decided from cached keys.
    Settled(Result<Verified, Error>),
    /// A key must be fetched: the tokens, to verify then.
    NeedsKeys {
        data: Vec<u8>,
        access: Option<Vec<u8>>,
    },
}

/// The identities of a request that passed.
struct Verified {
    alb: Arc<AlbClaims>,
    access: Option<Arc<CognitoClaims>>,
}

impl<R> Config<R> {
    /// Both verifications from cached keys; `None` when one needs a fetch.
    fn try_cached(&self, data: &[u8], access: Option<&[u8]>) -> Option<Result<Verified, Error>> {
        let alb = match self.verifier.try_verify_cached(data)? {
            Ok(alb) => alb,
            Err(e) => return Some(Err(e)),
        };
        let access = match (access, &self.access_tokens) {
            (Some(token), Some(verifier)) => match verifier.try_verify_cached(token)? {
                Ok(claims) => Some(claims),
                Err(e) => return Some(Err(e)),
            },
            _ => None,
        };
        Some(same_user(Verified { alb, access }))
    }

    async fn verify(&self, data: &[u8], access: Option<&[u8]>) -> Result<Verified, Error> {
        let alb = self.verifier.verify(data).await?;
        let access = match (access, &self.access_tokens) {
            (Some(token), Some(verifier)) => Some(verifier.verify(token).await?),
            _ => None,
        };
        same_user(Verified { alb, access })
    }
}

/// The access token must be the signed-in user's: its `sub` is the one
/// the load balancer signed.
fn same_user(verified: Verified) -> Result<Verified, Error> {
    match &verified.access {
        Some(access) if access.sub() != verified.alb.sub() => Err(Error::CustomCheckFailed(
            "the access token's sub is not the load balancer's identity's".into(),
        )),
        _ => Ok(verified),
    }
}

/// Removes every `x-amzn-oidc-*` header but the ones verified.
fn strip_unverified(headers: &mut HeaderMap, keep_access_token: bool) {
    let unverified: Vec<HeaderName> = headers
        .keys()
        .filter(|name| name.as_str().starts_with(ALB_PREFIX))
        .filter(|name| **name != ALB_DATA && !(keep_access_token && **name == ALB_ACCESS_TOKEN))
        .cloned()
        .collect();
    for name in unverified {
        headers.remove(name);
    }
}

fn admit<ReqBody, ResBody: RejectionBody + 'static>(
    verified: Result<Verified, Error>,
    req: &mut Request<ReqBody>,
    context: AuthContext<ResBody>,
) -> Result<(), Response<ResBody>> {
    match verified {
        Ok(Verified { alb, access }) => {
            tracing::debug!(sub = alb.sub(), "load balancer identity verified");
            strip_unverified(req.headers_mut(), access.is_some());
            if let Some(access) = access {
                req.extensions_mut().insert(access);
            }
            req.extensions_mut().insert(alb);
            req.extensions_mut().insert(context);
            Ok(())
        }
        Err(error) => {
            tracing::debug!(error.kind = error.kind(), error = %error, "load balancer identity refused");
            Err(context.reject(context.refused(req.headers(), error)))
        }
    }
}

impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for AlbAuth<S, R>
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
        let context = AuthContext::new(&config.challenge, &config.on_rejection);
        let headers = req.headers();
        let (data, access) = match (
            one(headers, &ALB_DATA),
            config
                .access_tokens
                .as_ref()
                .map(|_| one(headers, &ALB_ACCESS_TOKEN)),
        ) {
            (One::Repeated, _) | (_, Some(One::Repeated)) => {
                return ResponseFuture::answer(context.reject(context.invalid_request(headers)));
            }
            (One::Absent, _) | (_, Some(One::Absent)) => {
                return ResponseFuture::answer(context.reject(context.missing_token(headers)));
            }
            (One::Value(data), None) => (data, None),
            (One::Value(data), Some(One::Value(access))) => (data, Some(access)),
        };
        let verification = match config.try_cached(data, access) {
            Some(verified) => Verification::Settled(verified),
            None => Verification::NeedsKeys {
                data: data.to_vec(),
                access: access.map(<[u8]>::to_vec),
            },
        };
        match verification {
            Verification::Settled(verified) => match admit(verified, &mut req, context) {
                Ok(()) => ResponseFuture::inner(inner.call(req)),
                Err(refusal) => ResponseFuture::answer(refusal),
            },
            Verification::NeedsKeys { data, access } => {
                let config = self.config.clone();
                ResponseFuture::waiting(async move {
                    let verified = config.verify(&data, access.as_deref()).await;
                    match admit(verified, &mut req, context) {
                        Ok(()) => inner.call(req).await,
                        Err(refusal) => Ok(refusal),
                    }
                })
            }
        }
    }
}
