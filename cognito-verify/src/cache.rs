//! The verified-token cache: a token that verified is remembered, so that
//! the same token again skips the key lookup and the signature check.
//!
//! - **Key:** the SHA-256 of the whole token, computed in one pass that
//!   also yields the SHA-256 of its signing input, which the RSA check
//!   needs: the hash state after the signing input is copied, so a miss
//!   costs one more hash block, not a second pass. Two tokens share a key
//!   only if they are byte-identical (as far as SHA-256 tells).
//! - **Admission:** a token is cached when it verifies for the second time
//!   (a doorkeeper of key fingerprints remembers the first), so tokens that
//!   are seen once (many users, machine clients that fetch a token per
//!   call) cost no insertion and no memory.
//! - **Hits:** only trusted while the key that verified the token is still
//!   in its JWKS, and the claim checks re-run on every hit, so an entry
//!   needs no expiry of its own: it leaves when the cache is full, or when
//!   a hit finds its token expired.

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_lc_rs::digest::{Context, SHA256};
use quick_cache::sync::Cache;
use quick_cache::{Lifecycle, UnitWeighter};

use crate::claims::CognitoClaims;
use crate::keyset::RsaKey;
use crate::routes::Route;
use crate::status::TokenCacheStats;
use crate::telemetry::{self, CacheMetrics};

/// What a successful verification leaves behind (held by value: a lookup
/// clones its three pointers).
#[derive(Clone)]
pub(crate) struct CachedToken {
    pub claims: Arc<CognitoClaims>,
    /// The pool and key set that verified it.
    pub route: Arc<Route>,
    /// The key that verified it.
    pub key: Arc<RsaKey>,
}

/// A token's cache key (see the module's documentation): the first 128
/// bits of a SHA-256, as collision-resistant as a token cache needs (a
/// second token with the key of a cached one takes 2^128 tries).
pub(crate) type Key = u128;

/// The cache key of a token, and the hash state after its signing
/// input (whose `finish` is the digest the signature check needs).
pub(crate) fn key(signing_input: &[u8], signature_segment: &[u8]) -> (Key, Context) {
    let mut signing = Context::new(&SHA256);
    signing.update(signing_input);
    let mut whole = signing.clone();
    whole.update(b".");
    whole.update(signature_segment);
    let mut key = [0u8; 16];
    key.copy_from_slice(&whole.finish().as_ref()[..16]);
    (u128::from_le_bytes(key), signing)
}

/// A token-cache miss: the token's cache key (for the admission) and the
/// hash state after its signing input (finished, the digest the signature
/// check needs), so that a miss hashes the token once.
pub(crate) struct LookedUp {
    pub signing: Context,
    pub cache_key: Key,
}

impl LookedUp {
    /// The miss of a token split into `signing_input` and `signature`.
    pub(crate) fn of(signing_input: &[u8], signature: &[u8]) -> Self {
        let (cache_key, signing) = key(signing_input, signature);
        LookedUp { signing, cache_key }
    }
}

/// Bounded by entry count; quick_cache's S3-FIFO policy decides what
/// leaves (it keeps about 60 bytes per entry beside the entry itself, where
/// moka kept about 340).
///
/// `T` is what a verification leaves behind: [`CachedToken`] for Cognito
/// tokens, the ALB verifier's own for ALB tokens.
pub(crate) struct TokenCache<T: Clone = CachedToken> {
    cache: Cache<Key, T, UnitWeighter, KeyHash, CountEvictions>,
    doorkeeper: Doorkeeper,
    hits: AtomicU64,
    misses: AtomicU64,
    metrics: CacheMetrics,
}

/// Counts the entries pushed out for room.
#[derive(Clone)]
struct CountEvictions(telemetry::Counter);

impl<T> Lifecycle<Key, T> for CountEvictions {
    type RequestState = ();

    fn begin_request(&self) -> Self::RequestState {}

    fn on_evict(&self, (): &mut Self::RequestState, _: Key, _: T) {
        self.0.increment(1);
    }
}

impl<T: Clone> TokenCache<T> {
    /// A cache of `capacity` tokens; `verifier` names it in the metrics.
    pub(crate) fn new(capacity: u64, verifier: &'static str) -> Self {
        let metrics = CacheMetrics::new(verifier);
        TokenCache {
            cache: Cache::with(
                usize::try_from(capacity).unwrap_or(usize::MAX),
                capacity,
                UnitWeighter,
                KeyHash,
                CountEvictions(metrics.evictions.clone()),
            ),
            doorkeeper: Doorkeeper::new(capacity),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            metrics,
        }
    }

    pub(crate) fn get(&self, key: &Key) -> Option<T> {
        self.cache.get(key)
    }

    /// Counts a lookup's outcome (a hit is only a hit once its key still holds).
    pub(crate) fn record(&self, hit: bool) {
        let (counter, metric) = match hit {
            true => (&self.hits, &self.metrics.hits),
            false => (&self.misses, &self.metrics.misses),
        };
        counter.fetch_add(1, Ordering::Relaxed);
        metric.increment(1);
    }

    pub(crate) fn stats(&self) -> TokenCacheStats {
        TokenCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: u64::try_from(self.cache.len()).unwrap_or(u64::MAX),
        }
    }

    /// Remembers a token that verified, if it verified before (see the
    /// doorkeeper); `entry` is only made then.
    pub(crate) fn admit(&self, key: Key, entry: impl FnOnce() -> T) {
        if self.doorkeeper.seen_before(&key) {
            self.cache.insert(key, entry());
            self.metrics.admissions.increment(1);
            self.count_entries();
        }
    }

    pub(crate) fn remove(&self, key: &Key) {
        self.cache.remove(key);
        self.count_entries();
    }

    fn count_entries(&self) {
        #[allow(clippy::cast_precision_loss)]
        self.metrics.entries.set(self.cache.len() as f64);
    }
}

/// Keys are SHA-256 output already: their low 64 bits are the hash.
#[derive(Clone, Copy, Default)]
struct KeyHash;

impl BuildHasher for KeyHash {
    type Hasher = KeyHasher;

    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(0)
    }
}

#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u128` is used for keys; anything else still hashes.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u128(&mut self, key: u128) {
        #[allow(clippy::cast_possible_truncation)]
        let low = key as u64;
        self.0 = low;
    }
}

/// Remembers, in a fixed table of fingerprints, which keys were seen: a
/// key is admitted to the cache when it comes again while its fingerprint
/// is still in its bucket. Buckets hold four fingerprints (one cache line
/// holds two buckets), so keys that share a bucket do not push each other
/// out unless more than four of them are in use at once. A lost
/// fingerprint only delays an admission; it never lets in a token that did
/// not verify (admission happens after the verification).
struct Doorkeeper {
    slots: Box<[AtomicU64]>,
}

/// Fingerprints per bucket.
const BUCKET: usize = 4;

impl Doorkeeper {
    /// Two slots per entry of the cache's capacity (a power of two,
    /// between 1,024 and 2^20 slots): 16 to 32 bytes per entry, 8 MB at most.
    fn new(capacity: u64) -> Self {
        let slots = capacity
            .saturating_mul(2)
            .clamp(1024, 1 << 20)
            .next_power_of_two();
        Doorkeeper {
            slots: (0..slots).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// True when `key` was seen before (and its fingerprint is still in its
    /// bucket); else remembers it, in an empty slot of the bucket or in
    /// place of one chosen by the fingerprint.
    fn seen_before(&self, key: &Key) -> bool {
        // The key is a hash: its halves are independent.
        #[allow(clippy::cast_possible_truncation)]
        let (low, high) = (*key as u64, (*key >> 64) as u64);
        // Never 0, the empty slot.
        let fingerprint = low | 1;
        let buckets = self.slots.len() / BUCKET;
        let first = (usize::try_from(high).unwrap_or(0) & (buckets - 1)) * BUCKET;
        let bucket = &self.slots[first..first + BUCKET];
        let mut empty = None;
        for slot in bucket {
            match slot.load(Ordering::Relaxed) {
                found if found == fingerprint => return true,
                0 => {
                    empty.get_or_insert(slot);
                }
                _ => {}
            }
        }
        let victim = usize::try_from(fingerprint >> 32).unwrap_or(0) % BUCKET;
        empty
            .unwrap_or(&bucket[victim])
            .store(fingerprint, Ordering::Relaxed);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_doorkeeper_admits_a_key_at_its_second_sight() {
        let doorkeeper = Doorkeeper::new(10);
        let (a, b) = (1u128 << 70 | 2, 2u128 << 70 | 4);
        assert!(!doorkeeper.seen_before(&a));
        assert!(!doorkeeper.seen_before(&b));
        assert!(doorkeeper.seen_before(&a));
        assert!(doorkeeper.seen_before(&a), "and at every later sight");
        assert_eq!(doorkeeper.slots.len(), 1024);
    }

    #[test]
    fn keys_sharing_a_bucket_do_not_push_each_other_out() {
        let doorkeeper = Doorkeeper::new(10);
        // Same bucket (bytes 8..16), different fingerprints.
        let keys: Vec<Key> = (1..=4u128).map(|i| i * 2).collect();
        for key in &keys {
            assert!(!doorkeeper.seen_before(key));
        }
        for key in &keys {
            assert!(doorkeeper.seen_before(key), "{key:?}");
        }
    }

    #[test]
    fn keys_bind_the_signing_input_and_the_signature() {
        let key_of = |input: &str, signature: &str| key(input.as_bytes(), signature.as_bytes()).0;
        assert_eq!(key_of("h.p", "sig"), key_of("h.p", "sig"));
        assert_ne!(key_of("h.p", "sig"), key_of("h.p", "sih"));
        assert_ne!(key_of("h.p", "sig"), key_of("h.q", "sig"));
        // The key is the whole token's hash; the state is the signing input's.
        let whole = aws_lc_rs::digest::digest(&SHA256, b"h.p.sig");
        let expected = u128::from_le_bytes(whole.as_ref()[..16].try_into().unwrap());
        let (whole_key, signing) = key(b"h.p", b"sig");
        assert_eq!(whole_key, expected);
        let signing_digest = aws_lc_rs::digest::digest(&SHA256, b"h.p");
        assert_eq!(signing.finish().as_ref(), signing_digest.as_ref());
    }
}
