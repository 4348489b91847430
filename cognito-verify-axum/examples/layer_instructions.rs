//! Sends requests through the layer bench's two routers in process, for
//! `valgrind --tool=callgrind`, whose instruction counts do not depend on
//! what else the machine is doing:
//!
//! ```text
//! cargo build --release -p cognito-verify-axum --example layer_instructions
//! valgrind --tool=callgrind --toggle-collect='layer_instructions::measured' \
//!     target/release/examples/layer_instructions <with|without> 2000
//! ```
//!
//! `with`: `CognitoAuthLayer` and a `Subject` handler, the token answered
//! by the token cache; `without`: the same request to a route without the
//! layer. Divide the totals by the count.

use std::hint::black_box;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use cognito_verify_axum::{CognitoAuthLayer, Subject};
use tower::ServiceExt;

#[path = "../../cognito-verify/benches/fixture/mod.rs"]
mod fixture;

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "with".into());
    let count: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let fixture = fixture::Fixture::start();
    let verifier = fixture.verifier(10_000);
    for _ in 0..2 {
        verifier.verify_cached(&fixture.token).expect("verifies");
    }
    let router = match which.as_str() {
        "with" => Router::new()
            .route("/me", get(|Subject(sub): Subject| async move { sub }))
            .layer(CognitoAuthLayer::new(verifier)),
        "without" => Router::new().route("/me", get(|| async { "me" })),
        other => panic!("unknown router {other:?}: with or without"),
    };
    let bearer = format!("Bearer {}", fixture.token);
    let request = || {
        Request::get("/me")
            .header("authorization", &bearer)
            .body(Body::empty())
            .expect("a request")
    };
    measured(count, &fixture.runtime, &router, &request);
}

/// The only function whose instructions are counted.
#[inline(never)]
fn measured(
    count: u64,
    runtime: &tokio::runtime::Runtime,
    router: &Router,
    request: &dyn Fn() -> Request<Body>,
) {
    for _ in 0..count {
        let response = runtime
            .block_on(router.clone().oneshot(request()))
            .expect("an answer");
        assert!(response.status().is_success());
        black_box(response);
    }
}
