//! Per-route requirements: groups, scopes, token use.
//!
//! Put them on routes inside [`CognitoAuthLayer`](crate::CognitoAuthLayer):
//!
//! ```
//! use axum::{Router, routing::get};
//! use cognito_verify::{PoolConfig, TokenUse, Verifier};
//! use cognito_verify_axum::{CognitoAuthLayer, Require};
//!
//! let verifier = Verifier::builder()
//!     .pool(PoolConfig::new("us-east-1_Ynsi6EIT0").client_id("4kq1s3m5example").token_use(TokenUse::Access))
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/admin", get(|| async { "admin" }).layer(Require::any_group(["admin"])?))
//!     .route("/upload", get(|| async { "upload" }).layer(Require::any_scope(["videos/write"])?))
//!     .layer(CognitoAuthLayer::new(verifier));
//! # Ok::<(), cognito_verify::Error>(())
//! ```
//!
//! A list that comes out empty is an `invalid_config` error, as it is for
//! [`PoolConfig::groups`](cognito_verify::PoolConfig::groups): a
//! requirement of "any of no groups" is a configuration mistake (an unset
//! environment variable), not something to guess the meaning of.

use std::sync::Arc;
use std::task::{Context, Poll};

use cognito_verify::{CognitoClaims, Requirement, TokenUse};
use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::body::RejectionBody;
use crate::context::AuthContext;
use crate::future::ResponseFuture;
use crate::layer::take_ready;
use crate::response::refuse_unlayered;

/// A layer that lets a request through only when its verified claims meet a
/// [`Requirement`]; otherwise 403 with `error="insufficient_scope"` and the
/// reason kind (`missing_group`, `missing_scope`, `invalid_token_use`,
/// `user_required`, `app_client_required`).
/// Without [`CognitoAuthLayer`](crate::CognitoAuthLayer) around it, every
/// request is a 500.
#[derive(Clone, Debug)]
#[must_use]
pub struct Require {
    requirement: Requirement,
}

impl Require {
    /// A layer for any [`Requirement`].
    pub fn new(requirement: Requirement) -> Self {
        Require { requirement }
    }

    /// The user must be in at least one of `groups` (`cognito:groups`).
    ///
    /// # Errors
    /// `invalid_config` when the list is empty or names an empty group.
    pub fn any_group<I: IntoIterator<Item = S>, S: Into<String>>(
        groups: I,
    ) -> Result<Self, cognito_verify::Error> {
        Requirement::any_group(groups).map(Require::new)
    }

    /// The token must grant at least one of `scopes` (`scope`).
    ///
    /// # Errors
    /// `invalid_config` when the list is empty, names an empty scope or a
    /// scope with white space in it.
    pub fn any_scope<I: IntoIterator<Item = S>, S: Into<String>>(
        scopes: I,
    ) -> Result<Self, cognito_verify::Error> {
        Requirement::any_scope(scopes).map(Require::new)
    }

    /// The scopes this layer wants (any of them), for a
    /// [`any_scope`](Self::any_scope) layer; `None` for the others. Its
    /// 403 names them in the challenge: `scope="videos/write"`.
    #[must_use]
    pub fn scopes(&self) -> Option<&[String]> {
        self.requirement.scopes()
    }

    /// Only users: an app client acting for itself (machine to machine) is
    /// 403 `user_required`.
    pub fn user() -> Self {
        Require::new(Requirement::user())
    }

    /// Only app clients acting for themselves (machine-to-machine access
    /// tokens): a user's token is 403 `app_client_required`.
    pub fn app_client() -> Self {
        Require::new(Requirement::app_client())
    }

    /// The token must be an id token or an access token.
    pub fn token_use(token_use: TokenUse) -> Self {
        Require::new(Requirement::token_use(token_use))
    }
}

impl<S> Layer<S> for Require {
    type Service = RequireService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireService {
            inner,
            requirement: self.requirement.clone(),
        }
    }
}

/// The service made by [`Require`].
#[derive(Clone, Debug)]
pub struct RequireService<S> {
    inner: S,
    requirement: Requirement,
}

impl<S> RequireService<S> {
    inner_service_accessors!();
}

#[cfg(feature = "tonic")]
impl<S: tonic::server::NamedService> tonic::server::NamedService for RequireService<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequireService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: RejectionBody + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let Some(context) = req.extensions().get::<AuthContext<ResBody>>().cloned() else {
            tracing::error!(route = %req.uri().path(), "Require is used on a route not covered by CognitoAuthLayer");
            return ResponseFuture::answer(refuse_unlayered(req.headers()));
        };
        let Some(claims) = req.extensions().get::<Arc<CognitoClaims>>() else {
            return ResponseFuture::answer(context.reject(context.missing_token(req.headers())));
        };
        if let Err(error) = self.requirement.check(claims) {
            tracing::debug!(
                outcome = error.kind(),
                sub = claims.sub(),
                "requirement not met"
            );
            return ResponseFuture::answer(context.reject(context.refused(req.headers(), error)));
        }
        ResponseFuture::inner(take_ready(&mut self.inner).call(req))
    }
}
