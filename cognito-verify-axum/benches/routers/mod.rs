//! The routers the layer benches call, with and without the layer, and
//! their request: one place, so that the timed and the counted requests are
//! the same.

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use cognito_verify::Verifier;
use cognito_verify_axum::{CognitoAuthLayer, Subject};

use crate::fixture::Fixture;

pub struct Routers {
    /// `/me` without the layer.
    pub open: Router,
    /// `/me` behind the layer, with a `Subject` extractor.
    pub protected: Router,
    /// The protected router's verifier, its token cache warm.
    pub verifier: Verifier,
    /// `Bearer <the fixture's token>`.
    pub bearer: String,
}

impl Routers {
    pub fn new(fixture: &Fixture) -> Routers {
        let verifier = fixture.verifier(10_000);
        // Warm the token cache (a token is cached at its second verification).
        for _ in 0..2 {
            verifier.verify_cached(&fixture.token).unwrap();
        }
        Routers {
            open: Router::new().route("/me", get(|| async { "me" })),
            protected: Router::new()
                .route("/me", get(|Subject(sub): Subject| async move { sub }))
                .layer(CognitoAuthLayer::new(verifier.clone())),
            verifier,
            bearer: format!("Bearer {}", fixture.token),
        }
    }

    /// `GET /me` with the token.
    pub fn request(&self) -> Request<Body> {
        Request::get("/me")
            .header("authorization", &self.bearer)
            .body(Body::empty())
            .unwrap()
    }
}
