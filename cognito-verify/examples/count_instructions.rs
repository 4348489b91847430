//! Runs each step of a verification a fixed number of times, for
//! `valgrind --tool=callgrind`, whose instruction counts do not depend on
//! what else the machine is doing.
//!
//! ```text
//! cargo build --release -p cognito-verify --features testing --example count_instructions
//! valgrind --tool=callgrind --toggle-collect='count_instructions::measured' \
//!     target/release/examples/count_instructions <step> <n>
//! ```
//!
//! Only `measured` is counted (the set-up generates a random RSA key, whose
//! cost varies). Steps: `floor` (aws-lc-rs RS256 verify, key parsed once),
//! `verify` (`verify_cached`, token cache off), `hit` (token-cache hit),
//! `miss` (`verify_cached` of `n` distinct tokens, token cache on: each seen
//! for the first time), `parse` (parse and check alone), and `verify_1m`,
//! `hit_1m`: `verify` and `hit` with 1,000,000 entries in the revocation
//! list (filled before counting). Divide the total by `n`.

use std::hint::black_box;

#[path = "../benches/fixture/mod.rs"]
mod fixture;
use fixture::{Fixture, fill_revocations, realistic_token};

fn main() {
    let mut args = std::env::args().skip(1);
    let step = args.next().unwrap_or_else(|| "verify".into());
    let n: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(1000);

    let fixture = Fixture::start();
    let token = fixture.token.clone();
    let verifier = |cache: u64| fixture.verifier(cache);
    let _guard = fixture.runtime.enter();
    let mut run: Box<dyn FnMut()> = match step.as_str() {
        "floor" => {
            let (input, sig, key) = fixture.floor();
            let input = input.to_owned();
            Box::new(move || {
                key.verify_sig(black_box(input.as_bytes()), black_box(&sig))
                    .unwrap()
            })
        }
        "verify" | "hit" | "verify_1m" | "hit_1m" => {
            let cache = if step.starts_with("hit") { 100 } else { 0 };
            let v = if step.ends_with("_1m") {
                let revocations = cognito_verify::Revocations::in_process();
                fill_revocations(&fixture.runtime, &revocations, 1_000_000);
                fixture.verifier_revoking(cache, revocations)
            } else {
                verifier(cache)
            };
            // Twice: a token is cached at its second verification.
            v.verify_cached(&token).unwrap();
            v.verify_cached(&token).unwrap();
            Box::new(move || drop(v.verify_cached(black_box(&token)).unwrap()))
        }
        "miss" => {
            let v = verifier(10_000);
            let tokens: Vec<String> = (0..n)
                .map(|i| realistic_token(&fixture.issuer, &format!("user-{i}")))
                .collect();
            let mut next = tokens.into_iter();
            Box::new(move || drop(v.verify_cached(black_box(&next.next().unwrap())).unwrap()))
        }
        "parse" => {
            let v = verifier(0);
            Box::new(move || cognito_verify::bench::parse_and_check(&v, black_box(&token)).unwrap())
        }
        other => {
            panic!("unknown step {other:?}: floor, verify, hit, miss, parse, verify_1m or hit_1m")
        }
    };
    measured(n, &mut run);
}

/// The only function whose instructions are counted.
#[inline(never)]
fn measured(n: u64, run: &mut dyn FnMut()) {
    for _ in 0..n {
        run();
    }
}
