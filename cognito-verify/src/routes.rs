//! Routing: a token's `iss` names its [`Route`], the pool whose rules it
//! must meet and the key set that verifies it. Assembled once, at build.

use std::collections::HashMap;
use std::sync::Arc;

use crate::Error;
use crate::config::{AtHydrate, ResolvedPool};
use crate::error::{Echo, Expected};
use crate::jwks::{JwksCache, JwksSettings, KeySets, KeySource};
use crate::telemetry;

/// Where the tokens of one issuer go: its pool and its key set. Shared by
/// every issuer of the pool that uses the same key set, and held by the
/// token-cache entries of its tokens.
pub(crate) struct Route {
    pub pool: Arc<ResolvedPool>,
    pub keys: Arc<JwksCache>,
    /// What `hydrate` does with `keys` (its first issuer's role).
    pub at_hydrate: AtHydrate,
}

/// The key sets `hydrate` fetches for one pool: chains tried each in order
/// until one key set of the chain is fetched (the primary region's, then
/// its fallback; each replica region's on its own). The pool starts when
/// any chain succeeds.
pub(crate) type HydratePlan = Vec<Vec<Arc<JwksCache>>>;

/// Every route of a verifier, by issuer.
pub(crate) struct Routes {
    /// Sorted by issuer: a binary search finds a token's route without
    /// hashing its `iss`.
    by_issuer: Vec<(String, Arc<Route>)>,
    /// The configured issuers, sorted (for `invalid_issuer` messages).
    issuers: Expected,
    key_sets: Vec<Arc<JwksCache>>,
    /// Per pool, what `hydrate` fetches.
    hydrate_plans: Vec<HydratePlan>,
    /// The count of verified tokens of each issuer, in `by_issuer`'s order.
    verified: Vec<telemetry::Counter>,
}

impl Routes {
    /// Wires each pool's issuers to key sets (one per JWKS URL), seeding
    /// those given as documents. Refuses an issuer configured twice, and a
    /// JWKS URL shared by pools with different key sources.
    pub(crate) fn assemble(pools: Vec<ResolvedPool>, jwks: JwksSettings) -> Result<Self, Error> {
        let max_document_bytes = jwks.max_body_bytes;
        let mut key_sets = KeySets::new(jwks)?;
        let mut by_issuer = HashMap::new();
        let mut hydrate_plans = Vec::new();
        for pool in pools {
            let bad = |why: String| Error::InvalidConfig(format!("pool {}: {why}", pool.name));
            let source = KeySource {
                document: match &pool.keys_document {
                    Some(document) => Some(document.load(max_document_bytes).map_err(bad)?),
                    None => None,
                },
                offline: pool.offline,
            };
            let pool = Arc::new(pool);
            let mut plan: HydratePlan = Vec::new();
            let mut routes: Vec<Arc<Route>> = Vec::new();
            for resolved in &pool.issuers {
                let keys = key_sets
                    .for_url(&resolved.jwks_url, &source)
                    .map_err(|why| Error::InvalidConfig(format!("pool {}: {why}", pool.name)))?;
                let planned = plan.iter().flatten().any(|k| Arc::ptr_eq(k, &keys));
                match resolved.at_hydrate {
                    _ if planned => {}
                    AtHydrate::Fallback if !plan.is_empty() => plan[0].push(keys.clone()),
                    AtHydrate::Fetch | AtHydrate::Fallback | AtHydrate::Replica => {
                        plan.push(vec![keys.clone()]);
                    }
                }
                let route = match routes.iter().find(|r| Arc::ptr_eq(&r.keys, &keys)) {
                    Some(route) => route.clone(),
                    None => {
                        let route = Arc::new(Route {
                            pool: pool.clone(),
                            keys,
                            at_hydrate: resolved.at_hydrate,
                        });
                        routes.push(route.clone());
                        route
                    }
                };
                if by_issuer.insert(resolved.issuer.clone(), route).is_some() {
                    return Err(Error::InvalidConfig(format!(
                        "two pools have the issuer {:?}; each issuer may be configured once",
                        resolved.issuer
                    )));
                }
            }
            hydrate_plans.push(plan);
        }
        let mut by_issuer: Vec<(String, Arc<Route>)> = by_issuer.into_iter().collect();
        by_issuer.sort_by(|a, b| a.0.cmp(&b.0));
        let issuers: Vec<String> = by_issuer.iter().map(|(issuer, _)| issuer.clone()).collect();
        let verified = issuers
            .iter()
            .map(|issuer| telemetry::verified_counter("cognito", issuer))
            .collect();
        Ok(Routes {
            by_issuer,
            issuers: Expected(issuers),
            key_sets: key_sets.into_all(),
            hydrate_plans,
            verified,
        })
    }

    fn position(&self, iss: &str) -> Option<usize> {
        self.by_issuer
            .binary_search_by(|(issuer, _)| issuer.as_str().cmp(iss))
            .ok()
    }

    /// Counts a token of `iss` verified.
    pub(crate) fn count_verified(&self, iss: &str) {
        if let Some(at) = self.position(iss) {
            self.verified[at].increment(1);
        }
    }

    /// The route of a token's `iss`, or `invalid_issuer`.
    pub(crate) fn of(&self, iss: Option<&str>) -> Result<&Arc<Route>, Error> {
        iss.and_then(|iss| self.position(iss).map(|at| &self.by_issuer[at].1))
            .ok_or_else(|| Error::InvalidIssuer {
                expected: self.issuers.clone(),
                actual: Echo::of(iss),
            })
    }

    /// The configured issuers, sorted.
    pub(crate) fn issuers(&self) -> &Expected {
        &self.issuers
    }

    /// Every key set, one per JWKS URL.
    pub(crate) fn key_sets(&self) -> &[Arc<JwksCache>] {
        &self.key_sets
    }

    /// Per pool, what `hydrate` fetches.
    pub(crate) fn hydrate_plans(&self) -> &[HydratePlan] {
        &self.hydrate_plans
    }
}
