//! Sends requests through the development-mode router in process (no
//! sockets), for `valgrind --tool=callgrind`, whose instruction counts do
//! not depend on what else the machine is doing:
//!
//! ```text
//! cargo build --profile bench -p videos-api --example count_request_instructions
//! valgrind --tool=callgrind --toggle-collect='count_request_instructions::measured' \
//!     target/release/examples/count_request_instructions /me 2000
//! ```
//!
//! Every request carries a valid token (`/me` answers it from the token
//! cache after the first); divide the total by the count. Compare `/healthz`
//! (no layer) with `/me` for the cost of the layer, a cache hit and the
//! handler.

use std::hint::black_box;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use tokio::runtime::Runtime;
use tower::ServiceExt;
use videos_api::config::{Args, Config};

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "/me".into());
    let count: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let config = Config::from_args(Args {
        db: ":memory:".into(),
        addr: "127.0.0.1:0".into(),
        dev: true,
        ..Args::default()
    })
    .expect("development-mode configuration");
    let app = runtime
        .block_on(videos_api::app(&config))
        .expect("the app starts");
    let dev = app.dev_issuer.as_ref().expect("development mode");
    let token = dev.access_token("alice", &[]).expect("a token");
    let request = || {
        Request::get(path.as_str())
            // Development mode answers only requests addressed to loopback.
            .header("host", "127.0.0.1:3000")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .expect("a request")
    };
    let first = runtime
        .block_on(app.router.clone().oneshot(request()))
        .expect("an answer");
    assert_eq!(first.status(), 200, "{path} must answer 200");
    measured(count, &runtime, &app.router, &request);
}

/// The only function whose instructions are counted.
#[inline(never)]
fn measured(count: u64, runtime: &Runtime, router: &Router, request: &dyn Fn() -> Request<Body>) {
    for _ in 0..count {
        runtime.block_on(async {
            let response = router.clone().oneshot(request()).await.expect("an answer");
            let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
                .await
                .expect("a body");
            black_box(body);
        });
    }
}
