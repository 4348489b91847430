//! Allocations per request through `CognitoAuthLayer`: around a bare tower
//! service (what the layer allocates itself) and in the layer bench's axum
//! routers, for a token-cache hit, a token refused on the cached keys and a
//! request without a token. Run:
//! `cargo bench -p cognito-verify-axum --bench layer_allocations`.
//!
//! A bench of its own, so that the counting allocator does not slow down
//! the timed rows of the layer bench.

use std::alloc::System;
use std::convert::Infallible;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use cognito_verify_axum::CognitoAuthLayer;
use tower::{Layer, ServiceExt, service_fn};

#[path = "../../cognito-verify/benches/fixture/mod.rs"]
mod fixture;
mod routers;

#[global_allocator]
static ALLOCATOR: &stats_alloc::StatsAlloc<System> = &stats_alloc::INSTRUMENTED_SYSTEM;

/// Allocations per call of `f`, over `calls` calls.
fn allocations_per_call(calls: u32, mut f: impl FnMut()) -> f64 {
    let region = stats_alloc::Region::new(ALLOCATOR);
    for _ in 0..calls {
        f();
    }
    region.change().allocations as f64 / f64::from(calls)
}

fn main() {
    let fixture = fixture::Fixture::start();
    let runtime = &fixture.runtime;
    let routers = routers::Routers::new(&fixture);
    let (open, protected) = (&routers.open, &routers.protected);
    let hit_verifier = &routers.verifier;
    let request = || routers.request();

    // The layer bench's requests, and a
    // request refused on the cached keys (an expired token) or without a
    // token (no verification at all).
    let expired = format!(
        "Bearer {}",
        fixture
            .issuer
            .access_token(fixture::CLIENT)
            .expires_in(-600)
            .sign()
    );
    let refused = || {
        Request::get("/me")
            .header("authorization", &expired)
            .body(Body::empty())
            .unwrap()
    };
    let no_token = || Request::get("/me").body(Body::empty()).unwrap();
    // The layer alone, around a bare tower service (what it allocates
    // itself), and the axum routers of the timed rows (axum's routing and
    // the extractor add theirs to both).
    let bare = service_fn(|_: Request<Body>| async {
        Ok::<_, Infallible>(http::Response::new(Body::empty()))
    });
    let layered = CognitoAuthLayer::new(hit_verifier.clone()).layer(bare);
    let bare_status = |request: Request<Body>| {
        runtime
            .block_on(bare.oneshot(request))
            .unwrap()
            .status()
            .as_u16()
    };
    let layered_status = |request: Request<Body>| {
        runtime
            .block_on(layered.clone().oneshot(request))
            .unwrap()
            .status()
            .as_u16()
    };
    let router_status = |router: &Router, request: Request<Body>| {
        runtime
            .block_on(router.clone().oneshot(request))
            .unwrap()
            .status()
            .as_u16()
    };
    let rows: [(&str, &dyn Fn() -> u16, u16); 8] = [
        ("tower service, no layer", &|| bare_status(request()), 200),
        (
            "tower service + layer, cache hit",
            &|| layered_status(request()),
            200,
        ),
        (
            "  refused on cached keys (expired)",
            &|| layered_status(refused()),
            401,
        ),
        (
            "  refused without a token",
            &|| layered_status(no_token()),
            401,
        ),
        (
            "axum router, no layer",
            &|| router_status(open, request()),
            200,
        ),
        (
            "axum router + layer, cache hit",
            &|| router_status(protected, request()),
            200,
        ),
        (
            "  refused on cached keys (expired)",
            &|| router_status(protected, refused()),
            401,
        ),
        (
            "  refused without a token",
            &|| router_status(protected, no_token()),
            401,
        ),
    ];
    eprintln!(
        "\nallocations per request (oneshot, 1,000 requests each, request building included):"
    );
    for (name, call, status) in rows {
        let per_request = allocations_per_call(1_000, || assert_eq!(call(), status, "{name}"));
        eprintln!("  {name:38} {per_request:6.2}");
    }
}
