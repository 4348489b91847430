//! The memory a revocation list takes: the growth of the resident set while
//! an in-process [`Revocations`] list is filled with 1,000,000 entries
//! through `revoke` (a third each tokens, sessions and users, each id a
//! lowercase UUID as Cognito's `jti`, `origin_jti` and `sub` are), and the
//! growth per entry.
//!
//! ```text
//! cargo run --release -p cognito-verify --features testing --example revocation_memory
//! ```
//!
//! An optional argument sets the number of entries (at most 1,000,000, the
//! list's default maximum). Linux only (it reads `/proc/self/statm`).

use cognito_verify::Revocations;

#[path = "../benches/fixture/mod.rs"]
mod fixture;
use fixture::{fill_revocations, rss};

fn main() {
    let entries: u64 = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("a number of entries"))
        .unwrap_or(1_000_000);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    // A first list filled and dropped, so that what the allocator keeps
    // from making entries (and the runtime's own memory) is in the
    // baseline.
    {
        let warm_up = Revocations::in_process();
        fill_revocations(&runtime, &warm_up, 1_000);
    }
    let revocations = Revocations::in_process();
    let before = rss();
    let took = fill_revocations(&runtime, &revocations, entries);
    let after = rss();
    let held = revocations.status().entries;
    assert_eq!(held as u64, entries, "every entry is held");
    let growth = after.saturating_sub(before);
    println!(
        "{held} entries (UUID ids: tokens, sessions, users): resident set +{:.1} MB, \
         {} bytes per entry; filled through revoke in {:.2} s ({:.2} µs per entry)",
        growth as f64 / 1e6,
        growth / (held as u64).max(1),
        took.as_secs_f64(),
        took.as_secs_f64() * 1e6 / entries as f64,
    );
}
