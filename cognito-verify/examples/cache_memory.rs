//! The memory 10,000 cached tokens take: the growth of the resident set
//! while a verifier with the token cache on verifies 10,000 distinct
//! realistic access tokens (four groups, seven scopes, about 1.4 KB) until
//! each is cached, against the same verifications with the cache off.
//!
//! ```text
//! cargo run --release -p cognito-verify --features testing --example cache_memory
//! ```
//!
//! Linux only (it reads `/proc/self/statm`).

#[path = "../benches/fixture/mod.rs"]
mod fixture;
use fixture::{Fixture, realistic_token, rss};

const TOKENS: usize = 10_000;

fn main() {
    let fixture = Fixture::start();
    eprintln!("signing {TOKENS} tokens…");
    let tokens: Vec<String> = (0..TOKENS)
        .map(|i| realistic_token(&fixture.issuer, &format!("user-{i}")))
        .collect();
    let average = tokens.iter().map(String::len).sum::<usize>() / TOKENS;

    // The same work with the cache off first, so that what the allocator
    // keeps from verifying alone is in the baseline.
    let uncached = fixture.verifier(0);
    for token in &tokens {
        uncached.verify_cached(token).expect("verifies");
    }
    let cached = fixture.verifier(TOKENS as u64);
    let before = rss();
    // Until every token is in the cache (a cache may admit a token only
    // when it is seen again).
    for _ in 0..3 {
        for token in &tokens {
            cached.verify_cached(token).expect("verifies");
        }
    }
    let after = rss();
    let stats = cached.status().token_cache;
    let growth = after.saturating_sub(before);
    println!(
        "{} cached tokens of {average} bytes: resident set +{:.1} MB, {} bytes per token \
         (cache hits {}, misses {})",
        stats.entries,
        growth as f64 / 1e6,
        growth / stats.entries.max(1),
        stats.hits,
        stats.misses,
    );
}
