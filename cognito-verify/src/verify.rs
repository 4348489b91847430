//! The [`Verifier`]: from a token string to verified claims.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::Error;
use crate::cache::{self, CachedToken, TokenCache};
use crate::checks::{self, nanos_of, now_nanos};
use crate::claims::{CognitoClaims, NumericDate};
use crate::config::{AtHydrate, MAX_DURATION, ResolvedPool, Settings, VerifierBuilder};
use crate::error::{Echo, Expected};
use crate::jwks::{JwksCache, JwksLimits};
use crate::keyset::{KeySet, RsaKey};
use crate::status::VerifierStatus;
use crate::token::{self, Parsed};

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
/// groups, scopes and the custom check.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    pools: Vec<ResolvedPool>,
    /// `iss` → (pool, JWKS cache).
    by_issuer: HashMap<String, (usize, usize)>,
    issuers: Expected,
    jwks: Vec<Arc<JwksCache>>,
    /// Per pool, the key sets `hydrate` fetches, in order: the first that
    /// can be fetched is the pool's (the rest are fallbacks); the others
    /// are fetched when a token first names one of their issuers.
    hydrate_groups: Vec<Vec<usize>>,
    cache: Option<TokenCache>,
    settings: Settings,
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
    pool: usize,
    jwks: usize,
    /// The token-cache key, when the cache is on.
    cache_key: Option<cache::Key>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuers", &self.inner.issuers)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Starts a [`VerifierBuilder`].
    pub fn builder() -> VerifierBuilder {
        VerifierBuilder::default()
    }

    pub(crate) fn from_parts(pools: Vec<ResolvedPool>, settings: Settings) -> Result<Self, Error> {
        let client = match &settings.http_client {
            Some(client) => client.clone(),
            None => reqwest::Client::builder()
                .connect_timeout(settings.jwks_connect_timeout)
                .timeout(settings.jwks_timeout)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("cognito-verify/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| Error::InvalidConfig(format!("cannot build the HTTP client: {e}")))?,
        };
        let limits = JwksLimits {
            fetch_timeout: settings.jwks_timeout,
            max_body_bytes: settings.jwks_max_bytes,
            min_refetch_interval: settings.jwks_min_refetch_interval,
            ttl: settings.jwks_ttl,
            ttl_bounds: settings.jwks_ttl_bounds,
            max_staleness: settings.jwks_max_staleness,
            backoff: settings.jwks_backoff,
        };
        let mut by_issuer = HashMap::new();
        let mut by_url: HashMap<String, usize> = HashMap::new();
        let mut jwks: Vec<Arc<JwksCache>> = Vec::new();
        // Per cache, where its keys come from: offline or not, and the
        // document that seeded it. Pools may share a JWKS URL only with the
        // same key source: one pool's document must never verify another
        // pool's tokens.
        let mut sources: Vec<(bool, Option<Vec<u8>>)> = Vec::new();
        let mut hydrate_groups = Vec::new();
        for (index, pool) in pools.iter().enumerate() {
            let document = match &pool.keys_document {
                Some(document) => {
                    Some(document.load(settings.jwks_max_bytes).map_err(|why| {
                        Error::InvalidConfig(format!("pool {}: {why}", pool.name))
                    })?)
                }
                None => None,
            };
            let source = (pool.offline, document);
            let mut group = Vec::new();
            for resolved in &pool.issuers {
                let (issuer, url) = (&resolved.issuer, &resolved.jwks_url);
                let cache = match by_url.get(url) {
                    Some(&cache) if sources[cache] == source => cache,
                    Some(_) => {
                        return Err(Error::InvalidConfig(format!(
                            "pool {}: the JWKS URL {url} is another pool's too, with other \
                             keys (a JWKS document or offline()); give each pool its own",
                            pool.name
                        )));
                    }
                    None => {
                        let cache = JwksCache::new(
                            url.clone(),
                            client.clone(),
                            limits.clone(),
                            !pool.offline,
                        );
                        if let Some(document) = &source.1 {
                            let keys = KeySet::parse(document, url, None).map_err(|e| {
                                Error::InvalidConfig(format!(
                                    "pool {}: the JWKS document: {e}",
                                    pool.name
                                ))
                            })?;
                            cache.seed(keys);
                        }
                        jwks.push(Arc::new(cache));
                        sources.push(source.clone());
                        by_url.insert(url.clone(), jwks.len() - 1);
                        jwks.len() - 1
                    }
                };
                let fetched_at_hydrate = resolved.at_hydrate != AtHydrate::OnFirstUse;
                if fetched_at_hydrate && !group.contains(&cache) {
                    group.push(cache);
                }
                if by_issuer.insert(issuer.clone(), (index, cache)).is_some() {
                    return Err(Error::InvalidConfig(format!(
                        "two pools have the issuer {issuer:?}; each issuer may be configured once"
                    )));
                }
            }
            hydrate_groups.push(group);
        }
        let mut issuers: Vec<String> = by_issuer.keys().cloned().collect();
        issuers.sort();
        let cache = (settings.token_cache_capacity > 0)
            .then(|| TokenCache::new(settings.token_cache_capacity));
        Ok(Verifier {
            inner: Arc::new(Inner {
                pools,
                by_issuer,
                issuers: Expected(issuers),
                jwks,
                hydrate_groups,
                cache,
                settings,
            }),
        })
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
    pub async fn verify(&self, token: &str) -> Result<Arc<CognitoClaims>, Error> {
        let result = match self.begin(token) {
            Ok(Start::CacheHit(claims)) => Ok(claims),
            Ok(Start::NeedsKey(pending)) => {
                let key = self.inner.jwks[pending.jwks].key(&pending.kid).await;
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
    pub fn verify_cached(&self, token: &str) -> Result<Arc<CognitoClaims>, Error> {
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
    pub fn try_verify_cached(&self, token: &str) -> Option<Result<Arc<CognitoClaims>, Error>> {
        match self.with_cached_keys(token) {
            WithCachedKeys::Decided(result) => {
                self.trace(&result);
                Some(result)
            }
            WithCachedKeys::NeedsFetch(_) => None,
        }
    }

    /// A verification with the cached keys only.
    fn with_cached_keys(&self, token: &str) -> WithCachedKeys {
        match self.begin(token) {
            Ok(Start::CacheHit(claims)) => WithCachedKeys::Decided(Ok(claims)),
            Ok(Start::NeedsKey(pending)) => {
                match self.inner.jwks[pending.jwks].cached_key(&pending.kid) {
                    Err(missing @ (Error::JwksNotCached { .. } | Error::UnknownKid { .. })) => {
                        WithCachedKeys::NeedsFetch(missing)
                    }
                    key => WithCachedKeys::Decided(self.finish(pending, key)),
                }
            }
            Err(e) => WithCachedKeys::Decided(Err(e)),
        }
    }

    /// Fetches the keys of the issuers the pools use now, so that the first
    /// requests do not wait for keys and
    /// [`verify_cached`](Self::verify_cached) works. Call it at start-up; it
    /// fails with the first fetch error.
    ///
    /// A pool given by id with [`IssuerType::Both`](crate::IssuerType) (the
    /// default) fetches its ORIGINAL issuer's keys here, and the UPDATED
    /// issuer's only if those cannot be fetched; otherwise the UPDATED key
    /// set is fetched when a token first names that issuer, so that a pool
    /// that never switched (whose UPDATED endpoint answers HTTP 403) neither
    /// fails start-up nor retries a key set no token uses.
    /// [`status`](Self::status) shows which key sets are in use.
    pub async fn hydrate(&self) -> Result<(), Error> {
        let inner = &*self.inner;
        for group in &inner.hydrate_groups {
            let mut first_error = None;
            for &cache in group {
                match inner.jwks[cache].refresh().await {
                    Ok(_) => {
                        first_error = None;
                        break;
                    }
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            if let Some(e) = first_error {
                return Err(e);
            }
        }
        Ok(())
    }

    /// The issuers this verifier accepts, sorted.
    pub fn issuers(&self) -> &[String] {
        &self.inner.issuers.0
    }

    /// What the verifier holds and has done, for operators: per JWKS URL
    /// the key ids, their age, the last fetch error and counters, and the
    /// token cache's counters. A plain snapshot: export it to the metrics
    /// system you use.
    pub fn status(&self) -> VerifierStatus {
        VerifierStatus {
            jwks: self.inner.jwks.iter().map(|c| c.status()).collect(),
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
    pub(crate) fn parse_and_check(&self, token: &str) -> Result<(), Error> {
        match self.begin(token)? {
            Start::CacheHit(_) => Ok(()),
            Start::NeedsKey(pending) => {
                self.check_claims(&self.inner.pools[pending.pool], &pending.parsed.claims)
            }
        }
    }

    /// Steps before the key lookup: size, cache, structure, `alg`, `kid`,
    /// issuer.
    fn begin<'a>(&self, token: &'a str) -> Result<Start<'a>, Error> {
        let inner = &*self.inner;
        let max = inner.settings.max_token_bytes;
        if token.len() > max {
            return Err(Error::TokenTooLarge {
                size: token.len(),
                max,
            });
        }
        let cache_key = inner.cache.as_ref().map(|_| TokenCache::key(token));
        if let (Some(cache), Some(key)) = (&inner.cache, &cache_key) {
            match cache.get(key) {
                Some(hit) if inner.jwks[hit.jwks].still_holds(&hit.kid, &hit.key) => {
                    cache.record(true);
                    self.check_claims(&inner.pools[hit.pool], &hit.claims)?;
                    return Ok(Start::CacheHit(hit.claims.clone()));
                }
                Some(_) => {
                    // The key is gone, replaced or too stale: verify from scratch.
                    cache.remove(key);
                    cache.record(false);
                }
                None => cache.record(false),
            }
        }
        let parsed = token::parse(token)?;
        if parsed.alg.as_deref() != Some("RS256") {
            return Err(Error::UnsupportedAlgorithm {
                actual: Echo::of(parsed.alg.as_deref()),
            });
        }
        let kid = parsed.kid.clone().ok_or(Error::MissingKid)?;
        let iss = parsed.claims.iss_claim();
        let &(pool, jwks) = iss
            .and_then(|iss| inner.by_issuer.get(iss))
            .ok_or_else(|| Error::InvalidIssuer {
                expected: inner.issuers.clone(),
                actual: Echo::of(iss),
            })?;
        Ok(Start::NeedsKey(Pending {
            parsed,
            kid,
            pool,
            jwks,
            cache_key,
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
            pool,
            jwks,
            cache_key,
        } = pending;
        if !key.verify(parsed.signing_input.as_bytes(), &parsed.signature) {
            return Err(Error::InvalidSignature {
                kid: Echo::some(&kid),
            });
        }
        self.check_claims(&self.inner.pools[pool], &parsed.claims)?;
        let claims = Arc::new(parsed.claims);
        if let (Some(cache), Some(cache_key)) = (&self.inner.cache, cache_key) {
            let ttl = time_left(claims.exp, self.inner.settings.leeway);
            cache.insert(
                cache_key,
                CachedToken {
                    claims: claims.clone(),
                    pool,
                    jwks,
                    kid,
                    key,
                    ttl,
                },
            );
        }
        Ok(claims)
    }

    /// The claim checks, run on every verification and every cache hit.
    fn check_claims(&self, pool: &ResolvedPool, claims: &CognitoClaims) -> Result<(), Error> {
        checks::check_claims(pool, &self.inner.settings, claims)
    }

    fn trace(&self, result: &Result<Arc<CognitoClaims>, Error>) {
        if !tracing::enabled!(tracing::Level::DEBUG) {
            return;
        }
        match result {
            Ok(claims) => {
                let pool = self
                    .inner
                    .by_issuer
                    .get(claims.iss())
                    .map(|&(p, _)| &self.inner.pools[p].name);
                tracing::debug!(
                    pool = pool.map(String::as_str),
                    sub = claims.sub(),
                    "token verified"
                );
            }
            Err(e) => tracing::debug!(error.kind = e.kind(), error = %e, "token rejected"),
        }
    }
}

/// How long a verified token may stay in the token cache: until its `exp`
/// plus the leeway, at most [`MAX_DURATION`] (a hit re-runs the claim
/// checks anyway, so the cap only bounds what the cache is asked to hold).
fn time_left(exp: Option<NumericDate>, leeway: Duration) -> Duration {
    let leeway = nanos_of(leeway);
    let end = exp.map_or(0, NumericDate::nanos).saturating_add(leeway);
    let left = end.saturating_sub(now_nanos()).max(0);
    let cap = i128::try_from(MAX_DURATION.as_nanos()).unwrap_or(i128::MAX);
    let left = u64::try_from(left.min(cap)).unwrap_or(u64::MAX);
    Duration::from_nanos(left)
}
