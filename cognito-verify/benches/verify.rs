//! Verification cost against the floor, all measured in one run, on a
//! realistic Cognito access token (four groups, seven scopes, about 1.4 KB):
//!
//! - `a_floor_rsa_verify`: aws-lc-rs RS256 verify of the same signing input
//!   with the key parsed once: the work no verifier can skip;
//! - `b_verify_no_token_cache`: a full verification, keys cached, token cache off;
//! - `b_small_token`: the same for a smaller token (about 1 KB);
//! - `c_verify_token_cache_hit`: the same token again, answered by the token cache;
//! - `d_10k_distinct_cache_on`: 10,000 distinct tokens of that shape in
//!   turn, token cache on (every one seen for the first time: the cache is
//!   new each time round);
//! - `d0_10k_distinct_cache_off`: the same tokens with the token cache off;
//! - `e_parse_and_check`: everything but the key lookup and the RSA check;
//! - `j_jsonwebtoken_decode`: jsonwebtoken 11's `decode` (aws-lc-rs) of the
//!   same token with its key made once, checking `iss`, `exp`, `token_use`
//!   and `client_id` as a hand-rolled verifier would;
//! - `k_alb_floor_p256_verify`: aws-lc-rs ES256 verify of an ALB token's
//!   signing input with the load balancer's key parsed once;
//! - `l_alb_verify_no_token_cache`: `AlbVerifier` on that token, key cached,
//!   token cache off (its ratio is printed to (k), not to (a));
//! - `br_…`, `cr_…`, `d0r_…`: (b), (c) and (d0) with a verifier whose
//!   revocation list holds 1,000,000 entries (a third each tokens, sessions
//!   and users, lowercase-UUID ids, none covering the tokens), filled
//!   through `revoke` at start; the rows without the `r` consult an empty
//!   list. Each is timed back to back with its row without the list (in
//!   turn which first), and what the check adds is printed as the median
//!   over the rounds of (row with the list − row without) / (a).
//! - `cm_token_cache_hit_recorder`: (c) with a metrics recorder installed
//!   (`metrics-exporter-prometheus`'s, without its HTTP listener) when the
//!   verifier was built and while it verifies, timed back to back with (c)
//!   as the revocation rows are: what recording adds to a token-cache hit
//!   is printed as the median of (cm − c) / (a). Without the `metrics`
//!   feature the two rows do the same work.
//!
//! Run: `cargo bench -p cognito-verify --features testing,metrics --bench verify`
//! (add `-- nomatch` for the interleaved part alone).
//!
//! On a shared machine the speed of the CPU drifts while criterion moves
//! from one bench to the next, so the ratios to (a) are measured separately
//! at the end, interleaved: each round times a batch of every row in turn,
//! and the median over the rounds of each per-round ratio is printed. Two
//! more rows run (a) and (b) on two threads at once, as the workers of a
//! loaded server do: on machines whose two vCPUs share a physical core, RSA
//! on both at once is much slower per thread, which is the (b) to compare a
//! loaded server's per-request cost with.

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use std::hint::black_box;

mod fixture;
use cognito_verify::Revocations;
use fixture::{CLIENT, Fixture, fill_revocations, realistic_token};

/// Distinct tokens in the (d) rows.
const DISTINCT: usize = 10_000;
/// Calls per batch in the interleaved measurement.
const BATCH: usize = 150;
/// Entries in the revocation list of the `r` rows.
const REVOKED: u64 = 1_000_000;

/// The claims a hand-rolled jsonwebtoken verifier of Cognito access tokens
/// reads (all of them deserialized, as a handler would use them).
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct HandRolledClaims {
    sub: String,
    token_use: String,
    client_id: String,
    #[serde(default)]
    scope: String,
    #[serde(default, rename = "cognito:groups")]
    groups: Vec<String>,
}

/// A verifier written with jsonwebtoken 11, the way its documentation shows.
struct JsonWebToken {
    key: DecodingKey,
    validation: Validation,
}

impl JsonWebToken {
    fn new(s: &Fixture) -> Self {
        let (n, e) = s.key_components();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[s.issuer.issuer()]);
        validation.validate_aud = false;
        JsonWebToken {
            key: DecodingKey::from_rsa_raw_components(&n, &e),
            validation,
        }
    }

    fn verify(&self, token: &str) -> HandRolledClaims {
        let claims = jsonwebtoken::decode::<HandRolledClaims>(token, &self.key, &self.validation)
            .expect("jsonwebtoken verifies the token")
            .claims;
        assert!(claims.token_use == "access" && claims.client_id == CLIENT);
        claims
    }
}

fn bench(c: &mut Criterion) {
    let s = Fixture::start();
    let verifier = |token_cache| s.verifier(token_cache);
    eprintln!(
        "token: {} bytes (small token: {} bytes; ALB token: {} bytes)",
        s.token.len(),
        s.small_token.len(),
        s.alb_token.len()
    );
    let (signing_input, signature, key) = s.floor();
    let floor = || {
        key.verify_sig(black_box(signing_input.as_bytes()), black_box(&signature))
            .unwrap()
    };
    let uncached = verifier(0);
    let cached = verifier(10_000);
    cached.verify_cached(&s.token).unwrap();
    let jwt = JsonWebToken::new(&s);
    let revocations = Revocations::in_process();
    let filled = fill_revocations(&s.runtime, &revocations, REVOKED);
    eprintln!(
        "revocation list: {} entries, filled through revoke in {:.2} s",
        revocations.status().entries,
        filled.as_secs_f64()
    );
    // Built under the recorder: the verifier makes its metric handles then.
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let cached_recorded = metrics::with_local_recorder(&recorder, || s.verifier(10_000));
    cached_recorded.verify_cached(&s.token).unwrap();
    if !cfg!(feature = "metrics") {
        eprintln!("without the metrics feature: cm records nothing (add --features metrics)");
    }
    let uncached_revoking = s.verifier_revoking(0, revocations.clone());
    let cached_revoking = s.verifier_revoking(10_000, revocations);
    cached_revoking.verify_cached(&s.token).unwrap();
    eprintln!("signing {DISTINCT} distinct tokens…");
    let tokens: Vec<String> = (0..DISTINCT)
        .map(|i| realistic_token(&s.issuer, &format!("user-{i}")))
        .collect();

    let mut group = c.benchmark_group("verify");
    group
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    group.bench_function("a_floor_rsa_verify", |b| b.iter(floor));
    group.bench_function("b_verify_no_token_cache", |b| {
        b.iter(|| uncached.verify_cached(black_box(&s.token)).unwrap())
    });
    group.bench_function("c_verify_token_cache_hit", |b| {
        b.iter(|| cached.verify_cached(black_box(&s.token)).unwrap())
    });
    group.bench_function("br_no_token_cache_1m_revoked", |b| {
        b.iter(|| {
            uncached_revoking
                .verify_cached(black_box(&s.token))
                .unwrap()
        })
    });
    group.bench_function("cr_token_cache_hit_1m_revoked", |b| {
        b.iter(|| cached_revoking.verify_cached(black_box(&s.token)).unwrap())
    });
    group.bench_function("d_10k_distinct_cache_on", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            let mut done = 0u64;
            while done < iters {
                // A fresh verifier (and token cache) each time round the
                // 10,000 tokens, so every token is seen for the first time.
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
    group.bench_function("j_jsonwebtoken_decode", |b| {
        b.iter(|| jwt.verify(black_box(&s.token)))
    });
    group.finish();

    // Interleaved: every row, one batch each per round.
    const ROUNDS: usize = 60;
    let alb_verifier = s.alb_verifier(0);
    let (alb_input, alb_signature, alb_key) = s.alb_floor();
    let alb_floor = || {
        alb_key
            .verify_sig(black_box(alb_input.as_bytes()), black_box(&alb_signature))
            .unwrap()
    };
    let alb_verify = || {
        drop(
            alb_verifier
                .try_verify_cached(black_box(&s.alb_token))
                .unwrap()
                .unwrap(),
        )
    };
    let mut alb_ratios = Vec::new();
    const ROWS: [&str; 16] = [
        "a_floor_rsa_verify",
        "b_verify_no_token_cache",
        "b_small_token",
        "c_verify_token_cache_hit",
        "d_10k_distinct_cache_on",
        "d0_10k_distinct_cache_off",
        "e_parse_and_check",
        "j_jsonwebtoken_decode",
        "a2_floor_on_two_threads",
        "b2_verify_on_two_threads",
        "k_alb_floor_p256_verify",
        "l_alb_verify_no_token_cache",
        "br_no_token_cache_1m_revoked",
        "cr_token_cache_hit_1m_revoked",
        "d0r_10k_distinct_1m_revoked",
        "cm_token_cache_hit_recorder",
    ];
    /// (row with, row without): the revocation check's cost (the first
    /// three), the metrics recorder's (the last).
    const PAIRS: [(usize, usize); 4] = [(12, 1), (13, 3), (14, 5), (15, 3)];
    let mut per_op: [Vec<f64>; ROWS.len()] = Default::default();
    let mut ratios: [Vec<f64>; ROWS.len()] = Default::default();
    let mut parallel_overhead = Vec::new();
    let mut pair_cost: [Vec<f64>; PAIRS.len()] = Default::default();
    let mut next_distinct = 0;
    let mut fresh = verifier(10_000);
    for round in 0..ROUNDS {
        if next_distinct + BATCH > DISTINCT {
            fresh = verifier(10_000);
            next_distinct = 0;
        }
        let distinct = &tokens[next_distinct..next_distinct + BATCH];
        next_distinct += BATCH;
        let times = [
            time_batch(floor),
            time_batch(|| drop(uncached.verify_cached(black_box(&s.token)).unwrap())),
            time_batch(|| drop(uncached.verify_cached(black_box(&s.small_token)).unwrap())),
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
            {
                let mut tokens = distinct.iter();
                time_batch(|| {
                    drop(
                        uncached
                            .verify_cached(black_box(tokens.next().unwrap()))
                            .unwrap(),
                    )
                })
            },
            time_batch(|| {
                cognito_verify::bench::parse_and_check(&uncached, black_box(&s.token)).unwrap()
            }),
            time_batch(|| drop(jwt.verify(black_box(&s.token)))),
            time_batch_on_two_threads(floor),
            time_batch_on_two_threads(|| {
                drop(uncached.verify_cached(black_box(&s.token)).unwrap())
            }),
            time_batch(alb_floor),
            time_batch(alb_verify),
        ];
        // Each revocation row back to back with its row without the list,
        // the first of the two alternating, so that their difference is
        // the check alone.
        let pairs: [(Row<'_>, Row<'_>); 4] = [
            (
                Box::new(|| drop(uncached.verify_cached(black_box(&s.token)).unwrap())),
                Box::new(|| {
                    drop(
                        uncached_revoking
                            .verify_cached(black_box(&s.token))
                            .unwrap(),
                    )
                }),
            ),
            (
                Box::new(|| drop(cached.verify_cached(black_box(&s.token)).unwrap())),
                Box::new(|| drop(cached_revoking.verify_cached(black_box(&s.token)).unwrap())),
            ),
            (
                {
                    let (mut tokens, uncached) = (distinct.iter(), &uncached);
                    Box::new(move || {
                        drop(
                            uncached
                                .verify_cached(black_box(tokens.next().unwrap()))
                                .unwrap(),
                        )
                    })
                },
                {
                    let (mut tokens, uncached_revoking) = (distinct.iter(), &uncached_revoking);
                    Box::new(move || {
                        drop(
                            uncached_revoking
                                .verify_cached(black_box(tokens.next().unwrap()))
                                .unwrap(),
                        )
                    })
                },
            ),
            (
                Box::new(|| drop(cached.verify_cached(black_box(&s.token)).unwrap())),
                Box::new(|| {
                    metrics::with_local_recorder(&recorder, || {
                        drop(cached_recorded.verify_cached(black_box(&s.token)).unwrap())
                    })
                }),
            ),
        ];
        let mut times = times.to_vec();
        for (cost, (mut without, mut with)) in pair_cost.iter_mut().zip(pairs) {
            let (without, with) = if round % 2 == 0 {
                let without = time_batch(&mut without);
                (without, time_batch(&mut with))
            } else {
                let with = time_batch(&mut with);
                (time_batch(&mut without), with)
            };
            cost.push((with - without) / times[0]);
            times.push(with);
        }
        for (i, t) in times.iter().enumerate() {
            per_op[i].push(*t);
            ratios[i].push(t / times[0]);
        }
        parallel_overhead.push(times[9] / times[8]);
        alb_ratios.push(times[11] / times[10]);
    }
    eprintln!("\ninterleaved, {ROUNDS} rounds of {BATCH} each: median time, median ratio to (a)");
    for (i, name) in ROWS.iter().enumerate() {
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
    eprintln!(
        "  l / k (ALB verify over the P-256 floor): {:.2}",
        median(&mut alb_ratios)
    );
    for (at, (cost, (with, without))) in pair_cost.iter_mut().zip(PAIRS).enumerate() {
        match at {
            0 => {
                eprintln!("  the revocation check with {REVOKED} entries, (with − without) / (a):")
            }
            3 => eprintln!("  a metrics recorder on a token-cache hit, (with − without) / (a):"),
            _ => {}
        }
        eprintln!(
            "    {:30} − {:30} {:+.4}",
            ROWS[with],
            ROWS[without],
            median(cost)
        );
    }
}

/// One row's call, boxed so that rows of different closures fit one array.
type Row<'a> = Box<dyn FnMut() + 'a>;

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
