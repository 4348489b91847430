//! Times cognito-verify and AWS's aws-jwt-verify (Node) on the same token and
//! keys, in one run, and prints both with their ratio. Both verify with the
//! keys already cached and no verified-token cache. Each round times ours
//! before and after Node's run, and both floors (the bare RSA check: aws-lc
//! for us, Node's `crypto.verify` for them): no verifier can be faster than
//! its floor, so `theirs / our floor` bounds the ratio on this machine.
//!
//! Run: `bench/compare-aws-jwt-verify.sh` (installs the npm package first).

use std::time::Instant;

use serde_json::{Value, json};

#[path = "../benches/fixture/mod.rs"]
mod fixture;
use fixture::{CLIENT, Fixture, POOL};

const ITERATIONS: u32 = 10_000;
const ROUNDS: u32 = 5;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let node_dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "bench/aws-jwt-verify".to_owned());
    let fixture = Fixture::start();
    let (issuer, token) = (&fixture.issuer, &fixture.token);
    let verifier = fixture.verifier(0);
    let (signing_input, signature, key) = fixture.floor();

    let time = |n: u32, f: &dyn Fn()| {
        let start = Instant::now();
        for _ in 0..n {
            f();
        }
        start.elapsed().as_secs_f64() * 1e6 / f64::from(n)
    };
    let ours = || {
        drop(
            verifier
                .verify_cached(std::hint::black_box(token))
                .expect("verifies"),
        )
    };
    let floor = || {
        key.verify_sig(
            std::hint::black_box(signing_input.as_bytes()),
            std::hint::black_box(&signature),
        )
        .expect("verifies")
    };
    time(2_000, &ours);

    let input = std::env::temp_dir().join(format!(
        "cognito-verify-compare-{}.json",
        std::process::id()
    ));
    std::fs::write(
        &input,
        json!({"token": token, "jwks": issuer.jwks(), "user_pool_id": POOL, "client_id": CLIENT, "iterations": ITERATIONS})
            .to_string(),
    )?;
    println!(
        "token: {} bytes; keys cached, no token cache; {ROUNDS} rounds of {ITERATIONS} verifications each",
        token.len()
    );
    println!(
        "round | ours µs | aws-jwt-verify µs | ratio | our floor µs | Node's floor µs | theirs / our floor"
    );
    let mut ratios = Vec::new();
    for round in 1..=ROUNDS {
        // Ours before and after Node's run, so that both see the same machine.
        let before = time(ITERATIONS, &ours);
        let out = std::process::Command::new("node")
            .arg(format!("{node_dir}/compare.mjs"))
            .arg(&input)
            .output()?;
        if !out.status.success() {
            let _ = std::fs::remove_file(&input);
            return Err(format!("node failed: {}", String::from_utf8_lossy(&out.stderr)).into());
        }
        let after = time(ITERATIONS, &ours);
        let our_floor = time(ITERATIONS, &floor);
        let node: Value = serde_json::from_slice(&out.stdout)?;
        let theirs = node["us_per_verify"].as_f64().ok_or("no us_per_verify")?;
        let node_floor = node["node_floor_us"].as_f64().ok_or("no node_floor_us")?;
        let ours_us = (before + after) / 2.0;
        ratios.push(theirs / ours_us);
        println!(
            "{round:5} | {ours_us:7.2} | {theirs:17.2} | {:5.2} | {our_floor:12.2} | {node_floor:15.2} | {:18.2}",
            theirs / ours_us,
            theirs / our_floor
        );
    }
    let _ = std::fs::remove_file(&input);
    ratios.sort_by(f64::total_cmp);
    println!(
        "median ratio aws-jwt-verify / cognito-verify: {:.2}x",
        ratios[ratios.len() / 2]
    );
    Ok(())
}
