//! Times cognito-verify and AWS's aws-jwt-verify (Node) on the same token and
//! keys, in one run, and prints both with their ratio. Both verify with the
//! keys already cached and no verified-token cache.
//!
//! Run: `bench/compare-aws-jwt-verify.sh` (installs the npm package first).

use std::time::Instant;

use cognito_verify::testing::LocalIssuer;
use cognito_verify::{TokenUse, Verifier};
use serde_json::{Value, json};

const POOL: &str = "us-east-1_BenchPool";
const CLIENT: &str = "bench-client";
const ITERATIONS: u32 = 20_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let node_dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "bench/aws-jwt-verify".to_owned());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let issuer = runtime.block_on(LocalIssuer::start_for_pool(POOL))?;
    let token = issuer
        .access_token(CLIENT)
        .username("alice@example.com")
        .groups(["admin", "editors"])
        .scopes([
            "aws.cognito.signin.user.admin",
            "videos/read",
            "videos/write",
        ])
        .sign();
    let verifier = Verifier::builder()
        .pool(
            issuer
                .pool_config()
                .client_id(CLIENT)
                .token_use(TokenUse::Access),
        )
        .token_cache_capacity(0)
        .build()?;
    runtime.block_on(verifier.hydrate())?;

    let ours = |n: u32| {
        let start = Instant::now();
        for _ in 0..n {
            verifier
                .verify_cached(std::hint::black_box(&token))
                .expect("verifies");
        }
        start.elapsed().as_secs_f64() * 1e6 / f64::from(n)
    };
    ours(2_000);
    let before = ours(ITERATIONS);

    let input = std::env::temp_dir().join(format!(
        "cognito-verify-compare-{}.json",
        std::process::id()
    ));
    std::fs::write(
        &input,
        json!({"token": token, "jwks": issuer.jwks(), "user_pool_id": POOL, "client_id": CLIENT, "iterations": ITERATIONS})
            .to_string(),
    )?;
    let out = std::process::Command::new("node")
        .arg(format!("{node_dir}/compare.mjs"))
        .arg(&input)
        .output()?;
    let _ = std::fs::remove_file(&input);
    if !out.status.success() {
        return Err(format!("node failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let theirs: Value = serde_json::from_slice(&out.stdout)?;
    let theirs = theirs["us_per_verify"]
        .as_f64()
        .ok_or("no us_per_verify from node")?;
    let after = ours(ITERATIONS);
    let ours_us = (before + after) / 2.0;

    println!(
        "token: {} bytes, {ITERATIONS} verifications each, keys cached, no token cache",
        token.len()
    );
    println!(
        "cognito-verify verify_cached : {ours_us:8.2} µs/verify (before node {before:.2}, after {after:.2})"
    );
    println!("aws-jwt-verify verifySync    : {theirs:8.2} µs/verify");
    println!("ratio aws-jwt-verify / ours  : {:8.2}x", theirs / ours_us);
    Ok(())
}
