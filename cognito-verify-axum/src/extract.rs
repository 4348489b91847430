//! Extractors: the verified claims, as handlers receive them.
//!
//! Each extractor reads only what [`CognitoAuthLayer`](crate::CognitoAuthLayer)
//! inserted, never a header. On a route the layer does not cover, every
//! extractor fails with a 500 and logs the route: that is a wiring mistake,
//! not the client's.

use std::ops::Deref;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, MatchedPath};
use axum::response::{IntoResponse, Response};
use cognito_verify::{CognitoClaims, Requirement, TokenUse};
use http::request::Parts;
use serde::de::DeserializeOwned;

use crate::context::AuthContext;
use crate::response::refuse_unlayered;

/// An extractor's refusal, answered in the layer's style (RFC 6750, or the
/// layer's [`on_rejection`](crate::CognitoAuthLayer::on_rejection)).
pub struct ExtractRejection(Box<Response>);

impl IntoResponse for ExtractRejection {
    fn into_response(self) -> Response {
        *self.0
    }
}

impl From<Response> for ExtractRejection {
    fn from(response: Response) -> Self {
        ExtractRejection(Box::new(response))
    }
}

impl std::fmt::Debug for ExtractRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ExtractRejection")
            .field(&self.0.status())
            .finish()
    }
}

/// The layer's context and claims of a request; 500 without the layer.
fn lookup<'p>(
    parts: &'p Parts,
    extractor: &str,
) -> Result<(&'p AuthContext<Body>, Option<&'p Arc<CognitoClaims>>), ExtractRejection> {
    match parts.extensions.get::<AuthContext<Body>>() {
        Some(context) => Ok((context, parts.extensions.get::<Arc<CognitoClaims>>())),
        None => {
            let route = parts
                .extensions
                .get::<MatchedPath>()
                .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
            tracing::error!(
                route = %route,
                extractor,
                "route {route} uses the {extractor} extractor but is not covered by CognitoAuthLayer; add the layer to this route"
            );
            Err(ExtractRejection::from(refuse_unlayered(&parts.headers)))
        }
    }
}

/// The claims, or 401 `missing_token` (only possible in optional mode).
fn required<'p>(
    parts: &'p Parts,
    extractor: &str,
) -> Result<(&'p AuthContext<Body>, &'p Arc<CognitoClaims>), ExtractRejection> {
    let (context, claims) = lookup(parts, extractor)?;
    match claims {
        Some(claims) => Ok((context, claims)),
        None => Err(ExtractRejection::from(
            context.reject(context.missing_token(&parts.headers)),
        )),
    }
}

/// The verified claims of the request's token, id or access.
///
/// ```
/// use cognito_verify_axum::Claims;
///
/// async fn handler(claims: Claims) -> String {
///     format!("{} is in {:?}", claims.sub(), claims.groups())
/// }
/// # let _ = handler;
/// ```
#[derive(Debug, Clone)]
pub struct Claims(pub Arc<CognitoClaims>);

impl Deref for Claims {
    type Target = CognitoClaims;
    fn deref(&self) -> &CognitoClaims {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Claims {
    type Rejection = ExtractRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        required(parts, "Claims").map(|(_, c)| Claims(c.clone()))
    }
}

/// The verified claims, or `None` when the request carried no token (with
/// [`CognitoAuthLayer::optional`](crate::CognitoAuthLayer::optional)).
///
/// ```
/// use cognito_verify_axum::OptionalClaims;
///
/// async fn home(OptionalClaims(claims): OptionalClaims) -> String {
///     match claims {
///         Some(c) => format!("welcome back, {}", c.username().unwrap_or(c.sub())),
///         None => "welcome, guest".to_owned(),
///     }
/// }
/// # let _ = home;
/// ```
#[derive(Debug, Clone)]
pub struct OptionalClaims(pub Option<Arc<CognitoClaims>>);

impl<S: Send + Sync> FromRequestParts<S> for OptionalClaims {
    type Rejection = ExtractRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        lookup(parts, "OptionalClaims").map(|(_, c)| OptionalClaims(c.cloned()))
    }
}

macro_rules! token_use_extractor {
    ($(#[$doc:meta])* $name:ident, $use:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub Arc<CognitoClaims>);

        impl Deref for $name {
            type Target = CognitoClaims;
            fn deref(&self) -> &CognitoClaims {
                &self.0
            }
        }

        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = ExtractRejection;

            async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
                let claims = meeting(parts, stringify!($name), &Requirement::token_use($use))?;
                Ok($name(claims.clone()))
            }
        }
    };
}

token_use_extractor!(
    /// The verified claims of an id token; any other token is 403
    /// `invalid_token_use`.
    IdToken,
    TokenUse::Id
);

token_use_extractor!(
    /// The verified claims of an access token; any other token is 403
    /// `invalid_token_use`.
    ///
    /// ```
    /// use cognito_verify_axum::AccessToken;
    ///
    /// async fn handler(token: AccessToken) -> String {
    ///     format!("scopes: {:?}", token.scopes())
    /// }
    /// # let _ = handler;
    /// ```
    AccessToken,
    TokenUse::Access
);

/// The verified user's subject (`sub`): the id to key a user's data by.
///
/// Only users have one: for the access token of an app client acting for
/// itself (machine to machine, where `sub` is the client id, see
/// [`Principal`](cognito_verify::Principal)) this is 403
/// `insufficient_scope` with the kind `user_required`. A handler that files
/// data under `Subject` would otherwise file a machine's requests under its
/// client id as if it were a user. Routes that also serve machines take
/// [`Claims`] (and match on `principal()`) or [`AppClient`].
///
/// ```
/// use cognito_verify_axum::Subject;
///
/// async fn my_videos(Subject(owner): Subject) -> String {
///     format!("videos owned by {owner}")
/// }
/// # let _ = my_videos;
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Subject(pub String);

impl Deref for Subject {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Subject {
    type Rejection = ExtractRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let claims = meeting(parts, "Subject", &Requirement::user())?;
        Ok(Subject(claims.sub().to_owned()))
    }
}

/// The verified user: `sub` and user name. Like [`Subject`], 403
/// `user_required` for an app client acting for itself.
///
/// ```
/// use cognito_verify_axum::User;
///
/// async fn hello(user: User) -> String {
///     format!("hello {}", user.username.as_deref().unwrap_or(&user.sub))
/// }
/// # let _ = hello;
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct User {
    /// The user's `sub`: the id to key their data by.
    pub sub: String,
    /// `cognito:username` or `username`: may be an alias, never a key.
    pub username: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for User {
    type Rejection = ExtractRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let claims = meeting(parts, "User", &Requirement::user())?;
        Ok(User {
            sub: claims.sub().to_owned(),
            username: claims.username().map(str::to_owned),
        })
    }
}

/// The verified app client acting for itself (a machine-to-machine access
/// token from the client-credentials grant): its client id. Any user's
/// token is 403 `app_client_required`.
///
/// ```
/// use cognito_verify_axum::AppClient;
///
/// async fn ingest(AppClient(client_id): AppClient) -> String {
///     format!("batch accepted from {client_id}")
/// }
/// # let _ = ingest;
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AppClient(pub String);

impl<S: Send + Sync> FromRequestParts<S> for AppClient {
    type Rejection = ExtractRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let claims = meeting(parts, "AppClient", &Requirement::app_client())?;
        // An app client's own token carries its id in `sub` and `client_id`.
        Ok(AppClient(claims.sub().to_owned()))
    }
}

/// The claims, if they meet `requirement`; else its refusal (403), in
/// the layer's style.
fn meeting<'p>(
    parts: &'p Parts,
    extractor: &str,
    requirement: &Requirement,
) -> Result<&'p Arc<CognitoClaims>, ExtractRejection> {
    let (context, claims) = required(parts, extractor)?;
    match requirement.check(claims) {
        Ok(()) => Ok(claims),
        Err(error) => Err(ExtractRejection::from(
            context.reject(context.refused(&parts.headers, error)),
        )),
    }
}

/// The verified claims as your own type (`custom:*` attributes and all).
/// Claims that do not fit the type are 500 `claims_mismatch`: the token is
/// valid, and the handler's type does not match what the pool issues.
///
/// ```
/// use cognito_verify_axum::ClaimsAs;
///
/// #[derive(serde::Deserialize)]
/// struct Tenant {
///     #[serde(rename = "custom:tenant")]
///     tenant: String,
/// }
///
/// async fn handler(ClaimsAs(t): ClaimsAs<Tenant>) -> String {
///     t.tenant
/// }
/// # let _ = handler;
/// ```
#[derive(Debug, Clone)]
pub struct ClaimsAs<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ClaimsAs<T> {
    type Rejection = ExtractRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let (context, claims) = required(parts, "ClaimsAs")?;
        claims.deserialize().map(ClaimsAs).map_err(|e| {
            tracing::error!(error = %e, "the verified claims do not fit the ClaimsAs type");
            ExtractRejection::from(context.reject(context.refused(&parts.headers, e)))
        })
    }
}

/// The identity an Application Load Balancer signed (`x-amzn-oidc-data`),
/// verified by [`AlbAuthLayer`](crate::AlbAuthLayer); 500 on a route the
/// layer does not cover.
///
/// ```
/// use cognito_verify_axum::AlbIdentity;
///
/// async fn me(AlbIdentity(user): AlbIdentity) -> String {
///     user.sub().to_owned()
/// }
/// # let _ = me;
/// ```
#[derive(Debug, Clone)]
pub struct AlbIdentity(pub Arc<cognito_verify::AlbClaims>);

impl<S: Send + Sync> FromRequestParts<S> for AlbIdentity {
    type Rejection = ExtractRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let (context, _) = lookup(parts, "AlbIdentity")?;
        match parts.extensions.get::<Arc<cognito_verify::AlbClaims>>() {
            Some(identity) => Ok(AlbIdentity(identity.clone())),
            // Behind CognitoAuthLayer rather than AlbAuthLayer.
            None => Err(ExtractRejection::from(
                context.reject(context.missing_token(&parts.headers)),
            )),
        }
    }
}
