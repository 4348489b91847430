//! The verified-token cache: a token that verified is remembered until its
//! `exp`, keyed by the SHA-256 of the whole token, so a repeated token skips
//! the signature check. A hit still re-runs the claim checks, and is only
//! trusted while the key that verified it is still in its JWKS.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_lc_rs::digest::{SHA256, digest};
use moka::Expiry;
use moka::sync::Cache;

use crate::claims::CognitoClaims;
use crate::keyset::RsaKey;
use crate::routes::Route;
use crate::status::TokenCacheStats;

/// What a successful verification leaves behind.
pub(crate) struct CachedToken {
    pub claims: Arc<CognitoClaims>,
    /// The pool and key set that verified it.
    pub route: Arc<Route>,
    pub kid: String,
    pub key: Arc<RsaKey>,
    /// Time left until `exp` (plus leeway) when the token was verified.
    pub ttl: Duration,
}

/// The SHA-256 of a whole token.
pub(crate) type Key = [u8; 32];

struct UntilExp;

impl Expiry<Key, Arc<CachedToken>> for UntilExp {
    fn expire_after_create(
        &self,
        _key: &Key,
        value: &Arc<CachedToken>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// Bounded by entry count; entries expire at their token's `exp`.
pub(crate) struct TokenCache {
    cache: Cache<Key, Arc<CachedToken>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl TokenCache {
    pub(crate) fn new(capacity: u64) -> Self {
        TokenCache {
            cache: Cache::builder()
                .max_capacity(capacity)
                .expire_after(UntilExp)
                .build(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The cache key of `token`, computed once per verification.
    pub(crate) fn key(token: &str) -> Key {
        let mut key = [0u8; 32];
        key.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
        key
    }

    pub(crate) fn get(&self, key: &Key) -> Option<Arc<CachedToken>> {
        self.cache.get(key)
    }

    /// Counts a lookup's outcome (a hit is only a hit once its key still holds).
    pub(crate) fn record(&self, hit: bool) {
        let counter = if hit { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn stats(&self) -> TokenCacheStats {
        TokenCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: self.cache.entry_count(),
        }
    }

    pub(crate) fn insert(&self, key: Key, entry: CachedToken) {
        self.cache.insert(key, Arc::new(entry));
    }

    pub(crate) fn remove(&self, key: &Key) {
        self.cache.invalidate(key);
    }
}
