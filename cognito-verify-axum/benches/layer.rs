//! The per-request cost of `CognitoAuthLayer` with a token-cache hit: the
//! same router with and without the layer, called through `oneshot`, in one
//! run. Run: `cargo bench -p cognito-verify-axum --bench layer`.

use std::hint::black_box;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use cognito_verify::testing::LocalIssuer;
use cognito_verify::{TokenUse, Verifier};
use cognito_verify_axum::{CognitoAuthLayer, Subject};
use criterion::{Criterion, criterion_group, criterion_main};
use tower::ServiceExt;

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let issuer = runtime.block_on(LocalIssuer::start()).unwrap();
    let verifier = Verifier::builder()
        .pool(
            issuer
                .pool_config()
                .client_id("app")
                .token_use(TokenUse::Access),
        )
        .build()
        .unwrap();
    let token = issuer.access_token("app").groups(["admin"]).sign();
    runtime.block_on(verifier.verify(&token)).unwrap(); // warm the token cache
    let bearer = format!("Bearer {token}");

    let open = Router::new().route("/me", get(|| async { "me" }));
    let protected = Router::new()
        .route("/me", get(|Subject(sub): Subject| async move { sub }))
        .layer(CognitoAuthLayer::new(verifier));
    let request = || {
        Request::get("/me")
            .header("authorization", &bearer)
            .body(Body::empty())
            .unwrap()
    };

    let mut group = c.benchmark_group("layer");
    group
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    group.bench_function("without_layer", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(open.clone().oneshot(request()).await.unwrap()) })
    });
    group.bench_function("with_layer_cache_hit", |b| {
        b.to_async(&runtime).iter(|| async {
            let response = protected.clone().oneshot(request()).await.unwrap();
            assert!(response.status().is_success());
            black_box(response)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
