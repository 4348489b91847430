//! Protect axum, tonic, hyper and Lambda (`lambda_http`) services with
//! Amazon Cognito tokens, so that handlers only ever see verified claims and
//! never a user id the client typed.
//!
//! [`CognitoAuthLayer`] verifies the bearer token with a
//! [`cognito_verify::Verifier`] and inserts the claims into the request;
//! the extractors ([`Claims`], [`Subject`], [`AccessToken`], [`IdToken`],
//! [`OptionalClaims`], [`ClaimsAs`]) hand them to handlers; [`Require`]
//! adds per-route group, scope and token-use requirements. Refusals are
//! RFC 6750 responses (see [`Rejection`]). [`ProtectedResource`] makes the
//! service an OAuth protected resource (RFC 9728, as MCP servers must be):
//! its metadata document served, and named in every challenge.
//!
//! ```
//! use axum::{Json, Router, routing::get};
//! use axum::http::HeaderName;
//! use cognito_verify::{PoolConfig, TokenUse, Verifier};
//! use cognito_verify_axum::{CognitoAuthLayer, Require, Subject};
//!
//! async fn my_videos(Subject(owner): Subject) -> Json<Vec<String>> {
//!     Json(vec![format!("videos of {owner}")]) // owner is the verified `sub`
//! }
//!
//! fn app() -> Result<Router, cognito_verify::Error> {
//!     let verifier = Verifier::builder()
//!         .pool(
//!             PoolConfig::new("us-east-1_Ynsi6EIT0")
//!                 .client_id("4kq1s3m5example")
//!                 .token_use(TokenUse::Access),
//!         )
//!         .build()?;
//!     Ok(Router::new()
//!         .route("/videos", get(my_videos))
//!         .route("/admin", get(|| async { "hi admin" }).layer(Require::any_group(["admin"])?))
//!         .layer(CognitoAuthLayer::new(verifier).realm("videos").strip_headers([HeaderName::from_static("x-user-id")]))
//!         .route("/healthz", get(|| async { "ok" }))) // added after the layer: open
//! }
//! # app().unwrap();
//! ```
//!
//! # Every tower stack
//!
//! [`CognitoAuthLayer`] is one type for all of them: its service takes any
//! `http::Request<B>` and answers refusals in the inner service's own
//! response body type (any [`RejectionBody`]). Outside axum, a verified
//! request carries an `Arc<`[`CognitoClaims`](cognito_verify::CognitoClaims)`>`
//! in its extensions, and [`Require`] works the same.
//!
//! | stack | body type | feature |
//! |---|---|---|
//! | axum | `axum::body::Body` | `axum` (default): also the extractors |
//! | tonic | `tonic::body::Body` | `tonic`: gRPC calls refused with `grpc-status` 16, 7 or 14; `NamedService` for the layer's services |
//! | hyper | `http_body_util::Full<Bytes>`, its boxed forms, `String`, `Vec<u8>`, `Bytes` | none |
//! | `lambda_http` | `lambda_http::Body` | `lambda` |
//!
//! A hyper service, for instance, takes the claims from the extensions:
//!
//! ```
//! use std::convert::Infallible;
//! use std::sync::Arc;
//!
//! use bytes::Bytes;
//! use cognito_verify::{CognitoClaims, PoolConfig, TokenUse, Verifier};
//! use cognito_verify_axum::CognitoAuthLayer;
//! use http::{Request, Response};
//! use http_body_util::Full;
//! use tower::{ServiceBuilder, service_fn};
//!
//! async fn hello(req: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
//!     let claims = req.extensions().get::<Arc<CognitoClaims>>().expect("verified by the layer");
//!     Ok(Response::new(Full::new(Bytes::from(format!("hello {}", claims.sub())))))
//! }
//!
//! let verifier = Verifier::builder()
//!     .pool(PoolConfig::new("us-east-1_Ynsi6EIT0").client_id("4kq1s3m5example").token_use(TokenUse::Access))
//!     .build()?;
//! let service = ServiceBuilder::new()
//!     .layer(CognitoAuthLayer::new(verifier))
//!     .service(service_fn(hello));
//! // Serve it with hyper_util::service::TowerToHyperService.
//! # let _ = service;
//! # Ok::<(), cognito_verify::Error>(())
//! ```
//!
//! The repository's `examples/videos-grpc` (tonic) and
//! `examples/videos-lambda` (`lambda_http`) show the other two.
//!
//! # Server header limits
//!
//! The layer can only refuse a request the server let through. Keep the
//! server's header limit above the verifier's token cap
//! ([`Verifier::max_token_bytes`](cognito_verify::Verifier::max_token_bytes),
//! 16 KiB by default) plus the other headers, whatever the stack, or a
//! token near the cap is refused by the server instead, with no
//! `token_too_large` and, over gRPC, no `grpc-status`:
//!
//! | server | limit, default | set it with |
//! |---|---|---|
//! | hyper HTTP/2 (tonic, axum over h2) | header list, **16 KiB**: below the cap | tonic `Server::builder().http2_max_header_list_size(..)`; hyper `http2().max_header_list_size(..)` |
//! | hyper HTTP/1.1 (`axum::serve` keeps the default) | read buffer, about 400 KiB | hyper `http1().max_buf_size(..)` |
//! | a load balancer, API gateway or proxy in front | its own | its settings |
//!
//! Past its header-list limit, h2 refuses only that request (HTTP 431,
//! then `REFUSED_STREAM`; gRPC clients report `UNKNOWN`). A header block a
//! few times larger (h2 counts CONTINUATION frames and decoded bytes
//! against the limit) closes the whole connection with `GOAWAY
//! ENHANCE_YOUR_CALM`, and the calls in flight on it fail with
//! `UNAVAILABLE` or `RESOURCE_EXHAUSTED`; h2 has no setting to turn that
//! off. So set the limit well above the cap: `examples/videos-grpc` uses
//! four times the cap (64 KiB), where tokens up to about 64 KiB get
//! `token_too_large`, larger ones a 431, and the connection closes from
//! about 140 KiB, some 35 times a real Cognito token's size.
//!
//! Identity comes only from the extractors. A handler that reads a user id
//! from a header, the query or the body trusts whatever the client sent;
//! [`CognitoAuthLayer::strip_headers`] removes such headers as a second line
//! of defence.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(docsrs, feature(doc_cfg))]

/// `get_ref`, `get_mut` and `into_inner` for a service whose field `inner`
/// is the service it wraps (tower-http's accessors).
macro_rules! inner_service_accessors {
    () => {
        /// The inner service.
        pub fn get_ref(&self) -> &S {
            &self.inner
        }

        /// The inner service, mutably.
        pub fn get_mut(&mut self) -> &mut S {
            &mut self.inner
        }

        /// The inner service, without this one around it.
        pub fn into_inner(self) -> S {
            self.inner
        }
    };
}

mod alb; // AlbAuthLayer: the identity an Application Load Balancer signed
mod body; // RejectionBody: the body types a refusal can be written in
mod context; // AuthContext: the layer's realm and handler, for the requests it lets through
#[cfg(feature = "axum")]
mod extract;
mod future; // ResponseFuture: the inner future, an answer, or a wait for keys
mod layer;
mod require;
mod resource; // ProtectedResource: RFC 9728 metadata, served and named in challenges
mod response;
pub mod telemetry; // metrics: the layer's table (feature "metrics")

pub use alb::{ALB_ACCESS_TOKEN, ALB_DATA, AlbAuth, AlbAuthLayer};
pub use body::RejectionBody;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use extract::{
    AccessToken, AlbIdentity, AppClient, Claims, ClaimsAs, ExtractRejection, IdToken,
    OptionalClaims, Subject, User,
};
pub use future::ResponseFuture;
pub use layer::{CognitoAuth, CognitoAuthLayer};
pub use require::{Require, RequireService};
pub use resource::{
    ProtectedResource, ProtectedResourceBuilder, ProtectedResourceService, WELL_KNOWN_PATH,
};
pub use response::{DefaultRejection, OnRejection, RETRY_AFTER_SECS, Rejection};
