//! `videos-lambda`: a Lambda function behind API Gateway (or a function URL,
//! or an ALB), run by `lambda_http`, whose handler sees only claims that
//! [`CognitoAuthLayer`] verified.
//!
//! `lambda_http` turns each event into an `http::Request<lambda_http::Body>`
//! and hands it to a tower service, so the layer wraps the handler as it
//! wraps an axum router; with the `lambda` feature of
//! `cognito-verify-axum`, its refusals are written in `lambda_http::Body`.
//! The handler reads the claims from the request extensions.
//!
//! # When API Gateway already checks the token
//!
//! An HTTP API route with a JWT authorizer has API Gateway check the
//! token's signature against the issuer's keys, its `iss`, its `aud` or
//! `client_id` against the configured audiences, `exp`, `nbf`, `iat`, and
//! the route's scopes, before the function runs ("Control access to HTTP
//! APIs with JWT authorizers in API Gateway", Amazon API Gateway developer
//! guide). What this layer adds there:
//!
//! - `token_use`: the authorizer cannot tell an id token from an access
//!   token (AWS's note on that page recommends route scopes for this
//!   reason); the layer checks it;
//! - groups and per-route requirements ([`Require`](cognito_verify_axum::Require));
//! - the same checks on every other way into the function: a function URL,
//!   another route or stage without the authorizer, a direct invocation.
//!   The claims API Gateway passes in `requestContext.authorizer.jwt` are
//!   only as trustworthy as the guarantee that every event came through
//!   that authorizer;
//! - strict parsing and one error vocabulary with the rest of the stack.
//!
//! On a route where the authorizer is the only way in and checks what you
//! need, verifying again costs one RSA check per cold token (the keys and
//! verified tokens are cached across invocations of a warm instance).
//!
//! # Sign-out
//!
//! API Gateway's authorizer knows nothing of sign-outs: a revoked token
//! passes it until its `exp`. With `VIDEOS_REVOCATIONS_URL` set to the Redis
//! the other replicas share (`redis://…`, `rediss://…` for TLS), each
//! instance follows the same revocation list:
//!
//! - **at its cold start** it subscribes, loads the whole list, and waits
//!   for that (up to 5 s, within the init phase) before taking invocations;
//! - **while it runs** it receives each new revocation as it is published;
//! - **while it is frozen** between invocations it hears nothing. When it
//!   thaws, its connection is re-established (or found dead) within a
//!   heartbeat, and the list loaded again. Until then it checks tokens
//!   against the copy it had, for at most `max_staleness` (30 s) since
//!   Redis last answered; an instance frozen for longer refuses tokens with
//!   `revocations_unavailable` (503) until it has caught up, which takes
//!   one round trip to Redis.
//!
//! So a revocation reaches a running instance within milliseconds, and a
//! thawed one before it serves a token it could not vouch for.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::sync::Arc;

use cognito_verify::{CognitoClaims, Verifier};
use cognito_verify_axum::CognitoAuthLayer;
use lambda_http::http::{Response, StatusCode, header};
use lambda_http::{Body, Error, Request, Service, service_fn};
use tower_layer::Layer;

/// The function's handler: `GET /me` answers the verified identity, any
/// other path 404.
pub async fn handle(request: Request) -> Result<Response<Body>, Error> {
    let json = |status: StatusCode, value: serde_json::Value| {
        Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::Text(value.to_string()))
    };
    if request.uri().path() != "/me" {
        return Ok(json(
            StatusCode::NOT_FOUND,
            serde_json::json!({"error": "not found"}),
        )?);
    }
    let Some(claims) = request.extensions().get::<Arc<CognitoClaims>>() else {
        // Only reachable without the layer: a wiring mistake.
        return Ok(json(
            StatusCode::INTERNAL_SERVER_ERROR,
            serde_json::json!({"error": "not covered by the authentication layer"}),
        )?);
    };
    Ok(json(
        StatusCode::OK,
        serde_json::json!({
            "sub": claims.sub(),
            "username": claims.username(),
            "token_use": claims.token_use().as_str(),
            "groups": claims.groups(),
        }),
    )?)
}

/// The handler behind [`CognitoAuthLayer`]: the service `lambda_http::run`
/// runs.
pub fn service(
    verifier: Verifier,
) -> impl Service<Request, Response = Response<Body>, Error = Error, Future: Send> + Clone {
    CognitoAuthLayer::new(verifier)
        .realm("videos-lambda")
        .layer(service_fn(handle))
}
