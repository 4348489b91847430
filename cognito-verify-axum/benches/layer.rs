//! The per-request cost of `CognitoAuthLayer` with a token-cache hit: the
//! same router with and without the layer, called through `oneshot`, in one
//! run, on the verify bench's realistic token (about 1.4 KB). Run:
//! `cargo bench -p cognito-verify-axum --bench layer` (add `-- nomatch` for
//! the interleaved part alone).
//!
//! The machine's speed drifts between criterion's benches, so the overhead
//! is also measured interleaved at the end: each round times a batch
//! without the layer, with it, the bare cache hit (`verify_cached`) and the
//! RSA floor (as in the verify bench), and the medians of the per-round
//! differences, and of the overhead's ratio to the floor, are printed.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use tower::ServiceExt;

#[path = "../../cognito-verify/benches/fixture/mod.rs"]
mod fixture;
mod routers;

fn bench(c: &mut Criterion) {
    let fixture = fixture::Fixture::start();
    let runtime = &fixture.runtime;
    let routers = routers::Routers::new(&fixture);
    let (open, protected) = (&routers.open, &routers.protected);
    let hit_verifier = &routers.verifier;
    let token = &fixture.token;
    let request = || routers.request();
    let (signing_input, signature, key) = fixture.floor();

    let mut group = c.benchmark_group("layer");
    group
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    group.bench_function("without_layer", |b| {
        b.to_async(runtime)
            .iter(|| async { black_box(open.clone().oneshot(request()).await.unwrap()) })
    });
    group.bench_function("with_layer_cache_hit", |b| {
        b.to_async(runtime).iter(|| async {
            let response = protected.clone().oneshot(request()).await.unwrap();
            assert!(response.status().is_success());
            black_box(response)
        })
    });
    group.finish();

    const ROUNDS: usize = 60;
    const BATCH: u32 = 500;
    let batch = |f: &mut dyn FnMut()| {
        let started = Instant::now();
        for _ in 0..BATCH {
            f();
        }
        started.elapsed().as_secs_f64() * 1e6 / f64::from(BATCH)
    };
    let (mut without, mut with, mut hit, mut overhead, mut own) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut floor, mut ratio) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let w = batch(&mut || {
            black_box(runtime.block_on(open.clone().oneshot(request())).unwrap());
        });
        let l = batch(&mut || {
            let response = runtime
                .block_on(protected.clone().oneshot(request()))
                .unwrap();
            assert!(response.status().is_success());
            black_box(response);
        });
        let h = batch(&mut || {
            black_box(hit_verifier.verify_cached(black_box(&token)).unwrap());
        });
        let f = batch(&mut || {
            key.verify_sig(black_box(signing_input.as_bytes()), black_box(&signature))
                .unwrap();
        });
        floor.push(f);
        ratio.push((l - w) / f);
        without.push(w);
        with.push(l);
        hit.push(h);
        overhead.push(l - w);
        own.push(l - w - h);
    }
    eprintln!("\ninterleaved, {ROUNDS} rounds of {BATCH} requests each (medians):");
    eprintln!(
        "  without the layer         {:6.2} µs",
        median(&mut without)
    );
    eprintln!("  with the layer            {:6.2} µs", median(&mut with));
    eprintln!(
        "  layer overhead            {:6.2} µs",
        median(&mut overhead)
    );
    eprintln!("  of which the cache hit    {:6.2} µs", median(&mut hit));
    eprintln!("  the layer's own work      {:6.2} µs", median(&mut own));
    eprintln!("  RSA floor                 {:6.2} µs", median(&mut floor));
    eprintln!("  overhead / floor          {:6.3}", median(&mut ratio));
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

criterion_group!(benches, bench);
criterion_main!(benches);
