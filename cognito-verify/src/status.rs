//! What a verifier holds and has done, for operators: plain snapshots from
//! [`Verifier::status`](crate::Verifier::status), to export to the metrics
//! system you use.

use std::time::Duration;

use crate::Error;

/// What [`Verifier::hydrate`](crate::Verifier::hydrate) could not fetch,
/// when every pool has keys all the same (a replica region, or a fallback
/// issuer, served them).
///
/// ```
/// # async fn demo(verifier: cognito_verify::Verifier) -> Result<(), cognito_verify::Error> {
/// let hydrated = verifier.hydrate().await?;
/// for missing in &hydrated.not_fetched {
///     eprintln!("not fetched yet: {} ({})", missing.jwks_url, missing.error);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Hydrated {
    /// The key sets whose fetch failed, with why; `verify` tries them again
    /// when a token needs them.
    pub not_fetched: Vec<NotFetched>,
}

/// A key set [`Verifier::hydrate`](crate::Verifier::hydrate) could not
/// fetch.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NotFetched {
    /// The JWKS URL.
    pub jwks_url: String,
    /// Why (`jwks_unavailable` or `invalid_jwks`).
    pub error: Error,
}

/// A snapshot of a verifier's state; see [`Verifier::status`](crate::Verifier::status).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifierStatus {
    /// One entry per JWKS URL, in configuration order.
    pub jwks: Vec<JwksStatus>,
    /// The verified-token cache (all zero when it is off).
    pub token_cache: TokenCacheStats,
}

/// What happened to one JWKS source since the verifier was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct JwksCounters {
    /// Fetches attempted.
    pub fetches: u64,
    /// Fetches that failed.
    pub failures: u64,
    /// Fetches started for a token with an unknown `kid` (joining a fetch
    /// already under way does not count).
    pub unknown_kid_refetches: u64,
    /// Tokens with an unknown `kid` refused without a fetch (inside the
    /// refetch interval, or while backing off).
    pub rate_limited: u64,
    /// Refreshes started in the background.
    pub background_refreshes: u64,
}

/// What a verifier holds for one JWKS URL, for operators.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JwksStatus {
    /// The JWKS URL.
    pub url: String,
    /// True once the set holds keys or a fetch was attempted: loaded from a
    /// JWKS document, fetched by [`hydrate`](crate::Verifier::hydrate) (the
    /// key sets of the issuers a pool uses), or because a token named an
    /// issuer whose keys are here. A set no token names is never fetched.
    pub in_use: bool,
    /// The key ids of the cached set, sorted; empty before the first fetch.
    pub kids: Vec<String>,
    /// How long ago the cached set was fetched.
    pub fetched_ago: Option<Duration>,
    /// The cached set's time to live.
    pub ttl: Option<Duration>,
    /// The error of the last fetch, while fetches are failing.
    pub last_error: Option<Error>,
    /// Failed fetches in a row.
    pub failures_in_a_row: u32,
    /// Counters since start.
    pub counters: JwksCounters,
}

/// Counters of the verified-token cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenCacheStats {
    /// Verifications answered from the cache.
    pub hits: u64,
    /// Verifications that found nothing usable in the cache.
    pub misses: u64,
    /// Tokens held now (approximate).
    pub entries: u64,
}

/// Why a verifier is not ready to verify tokens: the answer of
/// [`Verifier::readiness`](crate::Verifier::readiness), for a readiness
/// probe (`/readyz`). Each reason names what to look at.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotReady {
    /// A pool has no key set fetched yet: call
    /// [`hydrate`](crate::Verifier::hydrate) at start-up (or wait for it).
    KeysNotFetched {
        /// The JWKS URL of the pool's first key set.
        jwks_url: String,
    },
    /// A pool's key set is older than
    /// [`jwks_max_staleness`](crate::VerifierBuilder::jwks_max_staleness):
    /// its refreshes have failed that long, and tokens are refused with
    /// `jwks_unavailable`.
    KeysStale {
        /// The JWKS URL.
        jwks_url: String,
        /// How long ago the set was fetched.
        fetched_ago: Duration,
        /// The bound it is past.
        max_staleness: Duration,
    },
    /// The revocation list is not current (not loaded from its store yet,
    /// or no word from the store for longer than its `max_staleness`): see
    /// [`Revocations::ready`](crate::Revocations::ready).
    RevocationsNotCurrent,
}

impl NotReady {
    /// A stable snake_case code: `keys_not_fetched`, `keys_stale` or
    /// `revocations_not_current`.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            NotReady::KeysNotFetched { .. } => "keys_not_fetched",
            NotReady::KeysStale { .. } => "keys_stale",
            NotReady::RevocationsNotCurrent => "revocations_not_current",
        }
    }
}

impl std::fmt::Display for NotReady {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotReady::KeysNotFetched { jwks_url } => {
                write!(f, "no keys fetched yet from {jwks_url}")
            }
            NotReady::KeysStale {
                jwks_url,
                fetched_ago,
                max_staleness,
            } => write!(
                f,
                "the keys of {jwks_url} were fetched {fetched_ago:.1?} ago, more than jwks_max_staleness ({max_staleness:?})"
            ),
            NotReady::RevocationsNotCurrent => write!(f, "the revocation list is not current"),
        }
    }
}

impl std::error::Error for NotReady {}
