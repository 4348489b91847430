//! The [`VerifierBuilder`]: pools and shared settings in, a validated
//! [`Verifier`] out. The one place a verifier is assembled: settings
//! checked (settings.rs), pools resolved (config.rs), issuers routed to key
//! sets (routes.rs).

use std::time::Duration;

use crate::Error;
use crate::config::PoolConfig;
use crate::revocation::Revocations;
use crate::routes::Routes;
use crate::settings::Settings;
use crate::verify::Verifier;

/// Builds a [`Verifier`]: one or more pools plus shared limits. Every
/// setting has a documented default except what must be chosen (client ids
/// and token use, on each [`PoolConfig`]).
///
/// [`build`](Self::build) refuses (`invalid_config`) sizes and durations of
/// zero where a zero would switch a safeguard off, and any duration longer
/// than 365 days.
///
/// ```
/// use std::time::Duration;
/// use cognito_verify::{PoolConfig, TokenUse, Verifier};
///
/// let verifier = Verifier::builder()
///     .pool(
///         PoolConfig::new("us-east-1_Ynsi6EIT0")
///             .client_id("4kq1s3m5example")
///             .token_use(TokenUse::Access),
///     )
///     .leeway(Duration::from_secs(5))
///     .build()?;
/// # let _ = verifier;
/// # Ok::<(), cognito_verify::Error>(())
/// ```
#[derive(Debug, Default)]
#[must_use]
pub struct VerifierBuilder {
    pools: Vec<PoolConfig>,
    settings: Settings,
    revocations: Option<Revocations>,
}

impl VerifierBuilder {
    /// Adds a pool. A token is checked against the pool whose issuer equals
    /// its `iss`; two pools may not share an issuer.
    pub fn pool(mut self, pool: PoolConfig) -> Self {
        self.pools.push(pool);
        self
    }

    /// The revocation list the verifier consults on every verification and
    /// token-cache hit (default: an empty list of its own in this process,
    /// [`Verifier::revocations`]). Give one list to several verifiers to
    /// share it, or one built with a store to share it across replicas.
    pub fn revocations(mut self, revocations: Revocations) -> Self {
        self.revocations = Some(revocations);
        self
    }

    /// Clock skew tolerated by the `exp`, `nbf` and `iat` checks: a token
    /// stays valid this long past its `exp`. Default: 0 seconds (`exp` is
    /// strict).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.settings.leeway = leeway;
        self
    }

    /// How far in the future `iat` and `nbf` may lie (the larger of this
    /// and the [`leeway`](Self::leeway) applies). Default: 60 seconds.
    ///
    /// Cognito writes `iat` in whole seconds, so a verifier whose clock is a
    /// few milliseconds behind Cognito's would otherwise refuse tokens a
    /// client uses right after sign-in; a time of issue a little ahead
    /// protects nothing, since the issuer signed it. `nbf` gets the same
    /// tolerance, for the same clock skew. Unlike `exp`, which ends a
    /// token's life and stays strict by default. With `Duration::ZERO` (and
    /// no leeway), any `iat` or `nbf` past the verifier's clock is refused.
    pub fn future_tolerance(mut self, tolerance: Duration) -> Self {
        self.settings.future_tolerance = tolerance;
        self
    }

    /// Tokens longer than this are refused before any parsing
    /// (`token_too_large`). Default: 16 KiB (Cognito tokens are 1–4 KB).
    pub fn max_token_bytes(mut self, bytes: usize) -> Self {
        self.settings.max_token_bytes = bytes;
        self
    }

    /// Fetches keys with this client instead of one the verifier builds: for
    /// proxies, your own root certificates, or a shared connection pool.
    ///
    /// The verifier's guarantees hold on top of any client: the body cap
    /// while the body streams in, and the whole-request
    /// [`jwks_timeout`](Self::jwks_timeout) (set on each request). The
    /// [`jwks_connect_timeout`](Self::jwks_connect_timeout) is the client's
    /// own business then. Redirects are never trusted: a response that
    /// comes from another URL than the JWKS URL (a client that follows
    /// redirects) is refused as `jwks_unavailable`; build the client with
    /// `redirect(reqwest::redirect::Policy::none())` so that no request
    /// follows one at all.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.settings.jwks.http_client = Some(client);
        self
    }

    /// Time allowed to connect to a JWKS endpoint. Default: 2 seconds.
    pub fn jwks_connect_timeout(mut self, timeout: Duration) -> Self {
        self.settings.jwks.connect_timeout = timeout;
        self
    }

    /// Time allowed for a whole JWKS request, body included.
    /// Default: 5 seconds.
    pub fn jwks_timeout(mut self, timeout: Duration) -> Self {
        self.settings.jwks.fetch_timeout = timeout;
        self
    }

    /// Largest JWKS body accepted, enforced while it streams in
    /// (`invalid_jwks` past it). Default: 64 KiB.
    pub fn jwks_max_bytes(mut self, bytes: usize) -> Self {
        self.settings.jwks.max_body_bytes = bytes;
        self
    }

    /// After a token with an unknown `kid` caused a refetch of a JWKS, no
    /// further refetch of that JWKS happens for this long; such tokens fail
    /// at once with `unknown_kid`. Default: 10 seconds.
    pub fn jwks_min_refetch_interval(mut self, interval: Duration) -> Self {
        self.settings.jwks.min_refetch_interval = interval;
        self
    }

    /// How many verified tokens to remember, so that a repeated token skips
    /// the signature check. A token is remembered when it verifies for the
    /// second time (tokens seen once cost the cache nothing), and a hit is
    /// only ever the byte-identical token, with its key still in its JWKS
    /// and every claim check run again (an expired token leaves the cache).
    /// `0` turns the cache off. Default: 10,000.
    pub fn token_cache_capacity(mut self, capacity: u64) -> Self {
        self.settings.token_cache_capacity = capacity;
        self
    }

    /// How long a fetched key set is used before it is refreshed, unless
    /// the response's `Cache-Control: max-age` says otherwise (see
    /// [`jwks_ttl_bounds`](Self::jwks_ttl_bounds)). The refresh starts in the
    /// background once 90% of it has passed. Default: 1 hour.
    pub fn jwks_ttl(mut self, ttl: Duration) -> Self {
        self.settings.jwks.ttl = ttl;
        self
    }

    /// The range a JWKS response's `Cache-Control: max-age` may set the TTL
    /// to (`no-cache`/`no-store` count as 0, so they give `min`).
    /// Default: 5 minutes to 1 day.
    pub fn jwks_ttl_bounds(mut self, min: Duration, max: Duration) -> Self {
        self.settings.jwks.ttl_bounds = (min, max);
        self
    }

    /// While refreshes fail, the last good key set keeps verifying until it
    /// is this old; after that, tokens fail with `jwks_unavailable`.
    /// Default: 1 day.
    pub fn jwks_max_staleness(mut self, staleness: Duration) -> Self {
        self.settings.jwks.max_staleness = staleness;
        self
    }

    /// After a failed JWKS fetch, the next attempt waits `initial`, doubling
    /// after each further failure up to `max`, each wait jittered to between
    /// half and all of it. Requests in between never cause a fetch.
    /// Default: 1 second to 1 minute.
    pub fn jwks_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.settings.jwks.backoff = (initial, max);
        self
    }

    /// Validates everything and builds the verifier. Fetches nothing: call
    /// [`Verifier::hydrate`] to load keys before the first request.
    ///
    /// # Errors
    /// `invalid_config`, naming the setting or pool at fault: no pool, a
    /// setting out of bounds, a pool without client ids or token use, a
    /// malformed pool id, URL or list, a JWKS document that is not one, or
    /// an issuer configured twice.
    pub fn build(self) -> Result<Verifier, Error> {
        if self.pools.is_empty() {
            return Err(Error::InvalidConfig(
                "no pool: add one with .pool(PoolConfig::new(\"<user pool id>\")…)".into(),
            ));
        }
        self.settings.validate()?;
        let pools = self
            .pools
            .into_iter()
            .map(PoolConfig::resolve)
            .collect::<Result<Vec<_>, _>>()?;
        let routes = Routes::assemble(pools, self.settings.jwks.clone())?;
        Ok(Verifier::new(
            routes,
            self.settings,
            self.revocations.unwrap_or_default(),
        ))
    }
}

impl Verifier {
    /// Starts a [`VerifierBuilder`].
    pub fn builder() -> VerifierBuilder {
        VerifierBuilder::default()
    }
}
