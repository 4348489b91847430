//! The [`Verifier`]: from a token string to verified claims.

use std::sync::Arc;

use aws_lc_rs::digest::{SHA256, digest};

use crate::Error;
use crate::cache::{CachedToken, LookedUp, TokenCache};
use crate::checks;
use crate::claims::{Claim, CognitoClaims};
use crate::error::Echo;
use crate::keyset::RsaKey;
use crate::revocation::Revocations;
use crate::routes::{Route, Routes};
use crate::settings::Settings;
use crate::status::{Hydrated, NotFetched, NotReady, VerifierStatus};
use crate::telemetry;
use crate::token::{self, Alg, Parsed};

/// Verifies Cognito id and access tokens and returns their claims.
///
/// Build it once at start-up with [`Verifier::builder`] and share it: it is
/// cheap to [`Clone`] (an [`Arc`] inside), and every clone shares the key
/// and token caches. Besides the HTTP layer of `cognito-verify-axum`, it is
/// the entry point for code outside any HTTP stack: a queue worker, a Lambda
/// handler, a gRPC interceptor.
///
/// Checks, in order, each failure with its own [`Error::kind`]: size,
/// structure and claim types; `alg` is RS256 and `kid` is present; `iss` is
/// a configured issuer; the key for `kid` is in that issuer's JWKS and
/// usable; the signature; `exp`, `nbf`, `iat`; `token_use`; the client id;
/// groups, scopes and the custom check; then the [`Revocations`] list
/// (`revoked`, `revocations_unavailable`), on token-cache hits too.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    routes: Routes,
    cache: Option<TokenCache>,
    settings: Settings,
    revocations: Revocations,
}

/// Where a verification stands after the steps that need no key.
// Moved once, on the stack: boxing `Pending` would allocate on every miss.
#[allow(clippy::large_enum_variant)]
enum Start<'a> {
    /// The token cache answered (its claims checked again).
    CacheHit(Arc<CognitoClaims>),
    /// A parsed token, routed to its pool, that needs the key of its `kid`.
    NeedsKey(Pending<'a>),
}

/// What the cached keys can say about a token.
enum WithCachedKeys {
    /// Verified or refused.
    Decided(Result<Arc<CognitoClaims>, Error>),
    /// Only a fetch could decide: the keys are not cached yet
    /// (`jwks_not_cached`), or lack the token's kid (`unknown_kid`).
    NeedsFetch(Error),
}

/// A token that passed the checks before the key lookup.
struct Pending<'a> {
    parsed: Parsed<'a>,
    kid: String,
    route: &'a Arc<Route>,
    /// What the token-cache lookup computed, when the cache is on.
    looked_up: Option<LookedUp>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuers", self.inner.routes.issuers())
            .finish_non_exhaustive()
    }
}

impl Verifier {
    pub(crate) fn new(routes: Routes, settings: Settings, revocations: Revocations) -> Self {
        let cache = (settings.token_cache_capacity > 0)
            .then(|| TokenCache::new(settings.token_cache_capacity, "cognito"));
        Verifier {
            inner: Arc::new(Inner {
                routes,
                cache,
                settings,
                revocations,
            }),
        }
    }

    /// The revocation list this verifier consults after the signature and
    /// claim checks, on every verification and token-cache hit (see
    /// [`revocation`](crate::revocation)): revoke through it, and every
    /// verifier sharing it refuses the tokens at once.
    #[must_use]
    pub fn revocations(&self) -> &Revocations {
        &self.inner.revocations
    }

    /// Verifies `token` and returns its claims, fetching the issuer's keys
    /// when they are not cached yet (or when the token names an unknown
    /// `kid`, rate limited).
    ///
    /// ```
    /// # #[cfg(feature = "testing")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use cognito_verify::{testing::LocalIssuer, TokenUse, Verifier};
    ///
    /// let issuer = LocalIssuer::start().await?;
    /// let verifier = Verifier::builder()
    ///     .pool(issuer.pool_config().client_id("my-app").token_use(TokenUse::Access))
    ///     .build()?;
    ///
    /// let token = issuer.access_token("my-app").sub("user-1").sign();
    /// let claims = verifier.verify(&token).await?;
    /// assert_eq!(claims.sub(), "user-1");
    ///
    /// let err = verifier.verify("not a token").await.unwrap_err();
    /// assert_eq!(err.kind(), "malformed_token");
    /// # Ok(()) }
    /// # #[cfg(not(feature = "testing"))]
    /// # fn main() {}
    /// ```
    ///
    /// # Errors
    /// The [`Error`] of the first check the token fails (its
    /// [`kind`](Error::kind) names it), or of the key fetch
    /// (`jwks_unavailable`, `invalid_jwks`).
    pub async fn verify(&self, token: impl AsRef<[u8]>) -> Result<Arc<CognitoClaims>, Error> {
        let token = token.as_ref();
        let result = match self.begin(token) {
            Ok(Start::CacheHit(claims)) => Ok(claims),
            Ok(Start::NeedsKey(pending)) => {
                let key = pending.route.keys.key(&pending.kid).await;
                self.finish(pending, key)
            }
            Err(e) => Err(e),
        };
        self.trace(&result);
        result
    }

    /// Verifies `token` with the keys already cached, never touching the
    /// network: for synchronous code paths. Fails with `jwks_not_cached`
    /// until the issuer's keys were fetched (by [`hydrate`](Self::hydrate)
    /// or an earlier [`verify`](Self::verify)), and with `unknown_kid` when
    /// the cached set lacks the token's key.
    ///
    /// # Errors
    /// As [`verify`](Self::verify), and `jwks_not_cached` or `unknown_kid`
    /// where `verify` would fetch.
    pub fn verify_cached(&self, token: impl AsRef<[u8]>) -> Result<Arc<CognitoClaims>, Error> {
        let token = token.as_ref();
        let result = match self.with_cached_keys(token) {
            WithCachedKeys::Decided(result) => result,
            WithCachedKeys::NeedsFetch(missing) => Err(missing),
        };
        self.trace(&result);
        result
    }

    /// Verifies `token` when the cached keys can decide it, as
    /// [`verify_cached`](Self::verify_cached) does; `None` where that would
    /// fail with `jwks_not_cached` or `unknown_kid`, the cases in which
    /// [`verify`](Self::verify) fetches keys first. For callers with a
    /// fast synchronous path and an asynchronous fallback:
    ///
    /// ```
    /// # async fn demo(verifier: cognito_verify::Verifier, token: &str)
    /// # -> Result<(), cognito_verify::Error> {
    /// let claims = match verifier.try_verify_cached(token) {
    ///     Some(decided) => decided?,
    ///     None => verifier.verify(token).await?,
    /// };
    /// # let _ = claims;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn try_verify_cached(
        &self,
        token: impl AsRef<[u8]>,
    ) -> Option<Result<Arc<CognitoClaims>, Error>> {
        let token = token.as_ref();
        match self.with_cached_keys(token) {
            WithCachedKeys::Decided(result) => {
                self.trace(&result);
                Some(result)
            }
            WithCachedKeys::NeedsFetch(_) => None,
        }
    }

    /// A verification with the cached keys only.
    fn with_cached_keys(&self, token: &[u8]) -> WithCachedKeys {
        match self.begin(token) {
            Ok(Start::CacheHit(claims)) => WithCachedKeys::Decided(Ok(claims)),
            Ok(Start::NeedsKey(pending)) => match pending
                .route
                .keys
                .cached_key(&pending.kid, pending.route.at_hydrate)
            {
                Err(missing @ (Error::JwksNotCached { .. } | Error::UnknownKid { .. })) => {
                    WithCachedKeys::NeedsFetch(missing)
                }
                key => WithCachedKeys::Decided(self.finish(pending, key)),
            },
            Err(e) => WithCachedKeys::Decided(Err(e)),
        }
    }

    /// Fetches the keys of the issuers the pools use now, so that the first
    /// requests do not wait for keys and
    /// [`verify_cached`](Self::verify_cached) works. Call it at start-up.
    ///
    /// A pool given by id with [`IssuerType::Both`](crate::IssuerType) (the
    /// default) fetches its ORIGINAL issuer's keys here, and the UPDATED
    /// issuer's only if those cannot be fetched; otherwise the UPDATED key
    /// set is fetched when a token first names that issuer, so that a pool
    /// that never switched (whose UPDATED endpoint answers HTTP 403) neither
    /// fails start-up nor retries a key set no token uses. Each of a pool's
    /// [`replica_regions`](crate::PoolConfig::replica_regions) is fetched
    /// too, on its own: the pool starts while any of its regions serves
    /// keys, as in the outage that replication is for.
    /// [`status`](Self::status) shows which key sets are in use.
    ///
    /// # Errors
    /// `jwks_unavailable` or `invalid_jwks`: the first fetch error of a pool
    /// none of whose key sets could be fetched. When each pool has at least
    /// one, the key sets that could not be fetched are listed in
    /// [`Hydrated::not_fetched`] (and logged); `verify` fetches them again
    /// when a token needs them.
    pub async fn hydrate(&self) -> Result<Hydrated, Error> {
        let mut not_fetched = Vec::new();
        for plan in self.inner.routes.hydrate_plans() {
            let mut first_error = None;
            let mut any_fetched = plan.is_empty();
            for chain in plan {
                for keys in chain {
                    match keys.refresh().await {
                        Ok(_) => {
                            any_fetched = true;
                            break;
                        }
                        Err(error) => {
                            tracing::warn!(jwks_url = %keys.url(), kind = error.kind(), %error, "hydrate: a key set could not be fetched");
                            first_error.get_or_insert_with(|| error.clone());
                            not_fetched.push(NotFetched {
                                jwks_url: keys.url().to_owned(),
                                error,
                            });
                        }
                    }
                }
            }
            if let (false, Some(error)) = (any_fetched, first_error) {
                return Err(error);
            }
        }
        Ok(Hydrated { not_fetched })
    }

    /// The longest token this verifier reads, in bytes
    /// ([`VerifierBuilder::max_token_bytes`](crate::VerifierBuilder::max_token_bytes)):
    /// a longer one is refused as `token_too_large` before any parsing.
    ///
    /// A server in front of the verifier must let a request carrying such a
    /// token through (an HTTP/2 server's header-list limit, an HTTP/1.1
    /// server's header size limit) so that the refusal is the verifier's;
    /// derive those limits from this value.
    #[must_use]
    pub fn max_token_bytes(&self) -> usize {
        self.inner.settings.max_token_bytes
    }

    /// The issuers this verifier accepts, sorted.
    #[must_use]
    pub fn issuers(&self) -> &[String] {
        &self.inner.routes.issuers().0
    }

    /// Whether this verifier can verify tokens now, for a readiness probe
    /// (`/readyz`); if not, why. Ready when every pool has a key set it may
    /// use (fetched, and not older than
    /// [`jwks_max_staleness`](crate::VerifierBuilder::jwks_max_staleness);
    /// for a pool with replica regions or a fallback issuer, any one of
    /// them, as for [`hydrate`](Self::hydrate)) and the
    /// [revocation list](Self::revocations) is current.
    ///
    /// A probe also keeps the keys of an idle service fresh: a set due for
    /// its refresh is refreshed in the background, and a set past the
    /// bound, or one `hydrate` could not fetch, is fetched (within the
    /// backoff), so the answer turns to ready as soon as the key source
    /// answers, without a token (a load balancer sends none to a replica
    /// that is not ready). Never waits.
    ///
    /// ```
    /// # async fn demo(verifier: cognito_verify::Verifier) {
    /// match verifier.readiness() {
    ///     Ok(()) => println!("200 ready"),
    ///     Err(why) => println!("503 {}: {why}", why.kind()),
    /// }
    /// # }
    /// ```
    ///
    /// # Errors
    /// The first reason found: [`NotReady::KeysNotFetched`] before
    /// [`hydrate`](Self::hydrate) fetched a pool's keys,
    /// [`NotReady::KeysStale`] while its keys are past the bound,
    /// [`NotReady::RevocationsNotCurrent`].
    pub fn readiness(&self) -> Result<(), NotReady> {
        for plan in self.inner.routes.hydrate_plans() {
            let mut first_reason = None;
            let mut usable = plan.is_empty();
            // The first set of each chain is fetched if it never was (as
            // hydrate would); the others only kept fresh once fetched.
            let sets = plan.iter().flat_map(|chain| chain.iter().enumerate());
            for (place, keys) in sets {
                match keys.readiness(place == 0) {
                    Ok(()) => usable = true,
                    Err(reason) => {
                        first_reason.get_or_insert(reason);
                    }
                }
            }
            if let (false, Some(reason)) = (usable, first_reason) {
                return Err(reason);
            }
        }
        match self.revocations().ready() {
            true => Ok(()),
            false => Err(NotReady::RevocationsNotCurrent),
        }
    }

    /// What the verifier holds and has done, for operators: per JWKS URL
    /// the key ids, their age, the last fetch error and counters, and the
    /// token cache's counters. A plain snapshot: export it to the metrics
    /// system you use.
    pub fn status(&self) -> VerifierStatus {
        VerifierStatus {
            jwks: self
                .inner
                .routes
                .key_sets()
                .iter()
                .map(|c| c.status())
                .collect(),
            token_cache: self
                .inner
                .cache
                .as_ref()
                .map(TokenCache::stats)
                .unwrap_or_default(),
        }
    }

    /// The work of a verification without the key lookup and the signature
    /// check (size, parse, `alg`, `kid`, issuer, claim checks): see
    /// [`crate::bench::parse_and_check`].
    pub(crate) fn parse_and_check(&self, token: &[u8]) -> Result<(), Error> {
        match self.begin(token)? {
            Start::CacheHit(_) => Ok(()),
            Start::NeedsKey(pending) => {
                let pool = &pending.route.pool;
                let established =
                    checks::check_payload(pool, &self.inner.settings, &pending.parsed.payload)?;
                checks::check_custom(
                    pool,
                    &CognitoClaims::verified(pending.parsed.payload, established),
                )
            }
        }
    }

    /// Steps before the key lookup: size, cache, structure, `alg`, `kid`,
    /// issuer.
    fn begin<'a>(&'a self, token: &'a [u8]) -> Result<Start<'a>, Error> {
        let inner = &*self.inner;
        let max = inner.settings.max_token_bytes;
        if token.len() > max {
            return Err(Error::TokenTooLarge {
                size: token.len(),
                max,
            });
        }
        let mut looked_up = None;
        if let (Some(cache), Some((signing_input, signature))) =
            (&inner.cache, token::signing_input_and_signature(token))
        {
            let miss = LookedUp::of(signing_input, signature);
            let cache_key = miss.cache_key;
            match cache.get(&cache_key) {
                Some(hit) if hit.route.keys.still_holds(&hit.key) => {
                    cache.record(true);
                    let checked = checks::recheck(&hit.route.pool, &inner.settings, &hit.claims)
                        .and_then(|()| inner.revocations.check(&hit.claims));
                    return match checked {
                        Ok(()) => Ok(Start::CacheHit(hit.claims)),
                        Err(gone @ (Error::Expired { .. } | Error::Revoked { .. })) => {
                            // It never verifies again: make room.
                            cache.remove(&cache_key);
                            Err(gone)
                        }
                        Err(refused) => Err(refused),
                    };
                }
                Some(_) => {
                    // The key is gone, replaced or too stale: verify from scratch.
                    cache.remove(&cache_key);
                    cache.record(false);
                }
                None => cache.record(false),
            }
            looked_up = Some(miss);
        }
        let mut parsed = token::parse(token)?;
        if parsed.alg != Alg::Rs256 {
            return Err(Error::UnsupportedAlgorithm {
                actual: Echo::of(parsed.alg.as_deref()),
                expected: "RS256",
            });
        }
        let kid = parsed.kid.take().ok_or(Error::MissingKid)?;
        let route = inner.routes.of(parsed.payload.text_of(Claim::Iss))?;
        Ok(Start::NeedsKey(Pending {
            parsed,
            kid,
            route,
            looked_up,
        }))
    }

    /// Steps after the key lookup: signature, claims, then the token cache.
    fn finish(
        &self,
        pending: Pending<'_>,
        key: Result<Arc<RsaKey>, Error>,
    ) -> Result<Arc<CognitoClaims>, Error> {
        let key = key?;
        let Pending {
            parsed,
            kid,
            route,
            looked_up,
        } = pending;
        let (signing_digest, cache_key) = match looked_up {
            Some(LookedUp { signing, cache_key }) => (signing.finish(), Some(cache_key)),
            None => (digest(&SHA256, parsed.signing_input), None),
        };
        if !key.verify(&signing_digest, &parsed.signature) {
            return Err(Error::InvalidSignature {
                kid: Echo::some(&kid),
            });
        }
        let established =
            checks::check_payload(&route.pool, &self.inner.settings, &parsed.payload)?;
        let claims = Arc::new(CognitoClaims::verified(parsed.payload, established));
        checks::check_custom(&route.pool, &claims)?;
        self.inner.revocations.check(&claims)?;
        if let (Some(cache), Some(cache_key)) = (&self.inner.cache, cache_key) {
            cache.admit(cache_key, || CachedToken {
                claims: claims.clone(),
                route: route.clone(),
                key,
            });
        }
        Ok(claims)
    }

    /// Counts the outcome (feature `metrics`) and logs it at debug level.
    fn trace(&self, result: &Result<Arc<CognitoClaims>, Error>) {
        match result {
            Ok(claims) => self.inner.routes.count_verified(claims.iss()),
            Err(e) => telemetry::refused("cognito", e.kind()),
        }
        if !tracing::enabled!(tracing::Level::DEBUG) {
            return;
        }
        match result {
            Ok(claims) => {
                let pool = self.inner.routes.of(Some(claims.iss())).ok();
                tracing::debug!(
                    pool = pool.map(|route| route.pool.name.as_str()),
                    sub = claims.sub(),
                    "token verified"
                );
            }
            Err(e) => tracing::debug!(error.kind = e.kind(), error = %e, "token rejected"),
        }
    }
}
