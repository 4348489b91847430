//! Verification cost against the floor, all measured in one run:
//!
//! - `a_floor_rsa_verify`: aws-lc-rs RS256 verify of the same signing input
//!   with the key parsed once: the work no verifier can skip;
//! - `b_verify_no_token_cache`: a full verification, keys cached, token cache off;
//! - `c_verify_token_cache_hit`: the same token again, answered by the token cache;
//! - `d_verify_10k_distinct_tokens`: 10,000 distinct tokens in turn, token
//!   cache on (every one a miss: the cache is new each time round);
//! - `e_parse_and_check`: everything but the key lookup and the RSA check.
//!
//! Run: `cargo bench -p cognito-verify --features testing --bench verify`.
//!
//! On a shared machine the speed of the CPU drifts while criterion moves
//! from one bench to the next, so the ratios to (a) are measured separately
//! at the end, interleaved: each round times a batch of (a), (b), (c), (d)
//! and (e) in turn, and the median over the rounds of each per-round ratio
//! is printed. Two more rows run (a) and (b) on two threads at once, as
//! the workers of a loaded server do: on machines whose two vCPUs share a
//! physical core, RSA on both at once is much slower per thread, which is
//! the (b) to compare a loaded server's per-request cost with.

use std::time::{Duration, Instant};

use aws_lc_rs::digest::{SHA256, digest};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

mod fixture;
use fixture::{CLIENT, Fixture};

const DISTINCT: usize = 10_000;
/// Calls per batch in the interleaved measurement.
const BATCH: usize = 150;

fn bench(c: &mut Criterion) {
    let s = Fixture::start();
    let verifier = |token_cache| s.verifier(token_cache);
    eprintln!("token: {} bytes", s.token.len());
    let (signing_input, signature, key) = s.floor();

    let mut group = c.benchmark_group("verify");
    group
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));

    group.bench_function("a_floor_rsa_verify", |b| {
        b.iter(|| {
            key.verify_sig(black_box(signing_input.as_bytes()), black_box(&signature))
                .unwrap()
        })
    });

    let uncached = verifier(0);
    group.bench_function("b_verify_no_token_cache", |b| {
        b.iter(|| uncached.verify_cached(black_box(&s.token)).unwrap())
    });

    let cached = verifier(10_000);
    cached.verify_cached(&s.token).unwrap();
    group.bench_function("c_verify_token_cache_hit", |b| {
        b.iter(|| cached.verify_cached(black_box(&s.token)).unwrap())
    });

    eprintln!("signing {DISTINCT} distinct tokens…");
    let tokens: Vec<String> = (0..DISTINCT)
        .map(|i| {
            s.issuer
                .access_token(CLIENT)
                .sub(&format!("user-{i}"))
                .scopes(["videos/read"])
                .sign()
        })
        .collect();
    group.bench_function("d_verify_10k_distinct_tokens", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            let mut done = 0u64;
            while done < iters {
                // A fresh verifier (and token cache) each time round the
                // 10,000 tokens, so every verification is a miss.
                let v = verifier(10_000);
                let round = (iters - done).min(DISTINCT as u64) as usize;
                let started = Instant::now();
                for t in &tokens[..round] {
                    v.verify_cached(black_box(t)).unwrap();
                }
                spent += started.elapsed();
                done += round as u64;
            }
            spent
        })
    });

    group.bench_function("e_parse_and_check", |b| {
        b.iter(|| cognito_verify::bench::parse_and_check(&uncached, black_box(&s.token)).unwrap())
    });
    group.finish();

    // Interleaved: the same five measurements, one batch each per round.
    const ROUNDS: usize = 60;
    let mut per_op: [Vec<f64>; 8] = Default::default();
    let mut ratios: [Vec<f64>; 8] = Default::default();
    let mut parallel_overhead = Vec::new();
    let mut next_distinct = 0;
    let mut fresh = verifier(10_000);
    for _ in 0..ROUNDS {
        if next_distinct + BATCH > DISTINCT {
            fresh = verifier(10_000);
            next_distinct = 0;
        }
        let distinct = &tokens[next_distinct..next_distinct + BATCH];
        next_distinct += BATCH;
        let times = [
            time_batch(|| {
                key.verify_sig(black_box(signing_input.as_bytes()), black_box(&signature))
                    .unwrap()
            }),
            time_batch(|| drop(uncached.verify_cached(black_box(&s.token)).unwrap())),
            time_batch(|| drop(cached.verify_cached(black_box(&s.token)).unwrap())),
            {
                let mut tokens = distinct.iter();
                time_batch(|| {
                    drop(
                        fresh
                            .verify_cached(black_box(tokens.next().unwrap()))
                            .unwrap(),
                    )
                })
            },
            time_batch(|| {
                cognito_verify::bench::parse_and_check(&uncached, black_box(&s.token)).unwrap()
            }),
            time_batch_on_two_threads(|| {
                key.verify_sig(black_box(signing_input.as_bytes()), black_box(&signature))
                    .unwrap()
            }),
            time_batch_on_two_threads(|| {
                drop(uncached.verify_cached(black_box(&s.token)).unwrap())
            }),
            // The token cache's key: most of what a hit costs.
            time_batch(|| {
                black_box(digest(&SHA256, black_box(s.token.as_bytes())));
            }),
        ];
        for (i, t) in times.iter().enumerate() {
            per_op[i].push(*t);
            ratios[i].push(t / times[0]);
        }
        parallel_overhead.push(times[6] / times[5]);
    }
    eprintln!("\ninterleaved, {ROUNDS} rounds of {BATCH} each: median time, median ratio to (a)");
    for (i, name) in [
        "a_floor_rsa_verify",
        "b_verify_no_token_cache",
        "c_verify_token_cache_hit",
        "d_verify_10k_distinct_tokens",
        "e_parse_and_check",
        "a2_floor_on_two_threads",
        "b2_verify_on_two_threads",
        "sha256_of_the_token",
    ]
    .iter()
    .enumerate()
    {
        eprintln!(
            "  {name:30} {:>9.2} µs  {:>5.2}",
            median(&mut per_op[i]) * 1e6,
            median(&mut ratios[i])
        );
    }
    eprintln!(
        "  b2 / a2 (verify over floor, both cores busy): {:.2}",
        median(&mut parallel_overhead)
    );
}

/// Seconds per call of `f` on each of two threads running at once (as the
/// two workers of a busy server do), over one batch each.
fn time_batch_on_two_threads(f: impl Fn() + Sync) -> f64 {
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                for _ in 0..BATCH {
                    f();
                }
            });
        }
    });
    started.elapsed().as_secs_f64() / BATCH as f64
}

/// Seconds per call of `f`, over one batch.
fn time_batch(mut f: impl FnMut()) -> f64 {
    let started = Instant::now();
    for _ in 0..BATCH {
        f();
    }
    started.elapsed().as_secs_f64() / BATCH as f64
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

criterion_group!(benches, bench);
criterion_main!(benches);
