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
//! `parse` (parse and check alone). Divide the total by `n`.

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cognito_verify::testing::LocalIssuer;
use cognito_verify::{TokenUse, Verifier};
use std::hint::black_box;

fn main() {
    let mut args = std::env::args().skip(1);
    let step = args.next().unwrap_or_else(|| "verify".into());
    let n: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(1000);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let issuer = runtime
        .block_on(LocalIssuer::start_for_pool("us-east-1_BenchPool"))
        .unwrap();
    let token = issuer
        .access_token("bench-client")
        .username("alice@example.com")
        .groups(["admin", "editors"])
        .scopes([
            "aws.cognito.signin.user.admin",
            "videos/read",
            "videos/write",
        ])
        .sign();
    let verifier = |cache: u64| {
        let v = Verifier::builder()
            .pool(
                issuer
                    .pool_config()
                    .client_id("bench-client")
                    .token_use(TokenUse::Access),
            )
            .token_cache_capacity(cache)
            .build()
            .unwrap();
        runtime.block_on(v.hydrate()).unwrap();
        v
    };
    let _guard = runtime.enter();
    let mut run: Box<dyn FnMut()> = match step.as_str() {
        "floor" => {
            let (input, sig) = token.rsplit_once('.').unwrap();
            let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
            let jwk = issuer.current_jwk();
            let n_ = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
            let e = URL_SAFE_NO_PAD.decode(jwk["e"].as_str().unwrap()).unwrap();
            let key = RsaPublicKeyComponents { n: &n_, e: &e }
                .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
                .unwrap();
            Box::new(move || {
                key.verify_sig(black_box(input.as_bytes()), black_box(&sig))
                    .unwrap()
            })
        }
        "verify" | "hit" => {
            let v = verifier(if step == "hit" { 100 } else { 0 });
            v.verify_cached(&token).unwrap();
            Box::new(move || drop(v.verify_cached(black_box(&token)).unwrap()))
        }
        "parse" => {
            let v = verifier(0);
            Box::new(move || v.bench_parse_and_check(black_box(&token)).unwrap())
        }
        other => panic!("unknown step {other:?}: floor, verify, hit or parse"),
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
