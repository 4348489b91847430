//! Metrics through the [`metrics`](https://docs.rs/metrics) facade (feature
//! `metrics`): the library records, the application picks the exporter
//! (Prometheus, OpenTelemetry, StatsD, …) and installs it as the global
//! recorder **before it builds its verifiers**, as the facade asks of every
//! library (handles made before a recorder exists stay silent). Without the
//! feature nothing is recorded and nothing is compiled in.
//!
//! Names follow the OpenTelemetry style (dotted, lowercase; a Prometheus
//! exporter writes `cognito_verify_verifications` and so on:
//! `metrics-exporter-prometheus` as is, OpenTelemetry's mapping with
//! `_total` on counters). Every
//! label value comes from the configuration or a fixed set: never a token,
//! a `sub`, a `kid` or anything else a request chose.
//!
//! | name | type | labels | what |
//! |---|---|---|---|
//! | `cognito_verify.verifications` | counter | `verifier` (`cognito`, `alb`), `outcome` (`verified`, `refused`), `kind` (`ok` or the error's [`kind`](crate::Error::kind)), `issuer` (the configured issuer of a verified token; `-` on refusals, whose issuer is not to be trusted) | verifications, token-cache hits included |
//! | `cognito_verify.token_cache.lookups` | counter | `verifier`, `result` (`hit`, `miss`) | lookups in the verified-token cache |
//! | `cognito_verify.token_cache.admissions` | counter | `verifier` | tokens remembered |
//! | `cognito_verify.token_cache.evictions` | counter | `verifier` | tokens pushed out for room |
//! | `cognito_verify.token_cache.entries` | gauge | `verifier` | tokens remembered now |
//! | `cognito_verify.jwks.fetches` | counter | `jwks_url` (configured), `outcome` (`ok`, `error`), `kind` (`ok` or the error's kind) | key set fetches |
//! | `cognito_verify.jwks.fetch.duration` | histogram, seconds | `jwks_url` | how long each fetch took |
//! | `cognito_verify.jwks.fetched_at` | gauge, Unix seconds | `jwks_url` | when the key set in use was fetched (its age is now minus this) |
//! | `cognito_verify.jwks.background_refreshes` | counter | `jwks_url` | refreshes started before the set went stale |
//! | `cognito_verify.jwks.unknown_kid_refetches` | counter | `jwks_url`, `result` (`fetched`, `rate_limited`) | tokens with a kid the set lacks: refetches made, and refused by the rate limit |
//! | `cognito_verify.revocations.entries` | gauge | | entries of the revocation list |
//! | `cognito_verify.revocations.lag` | histogram, seconds | | from a revocation's making (on any replica) to its arrival here |
//! | `cognito_verify.revocations.last_sync` | gauge, Unix seconds | | when the store last answered |
//! | `cognito_verify.revocations.store_state` | gauge | `state` (`in_process`, `connecting`, `connected`, `disconnected`) | 1 for the list's state, 0 for the others |
//!
//! `cognito-verify-axum` adds `cognito_verify.layer.refusals` (see its
//! docs).

#[cfg(feature = "metrics")]
pub(crate) use on::*;

#[cfg(not(feature = "metrics"))]
pub(crate) use off::*;

/// The value of the `kind` label for a success.
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
const OK: &str = "ok";

#[cfg(feature = "metrics")]
mod on {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use metrics::{counter, gauge, histogram};

    use super::OK;
    use crate::revocation::StoreState;

    /// A counter made once, for a hot path.
    pub(crate) type Counter = metrics::Counter;

    /// The handles of a verified-token cache.
    pub(crate) struct CacheMetrics {
        pub hits: metrics::Counter,
        pub misses: metrics::Counter,
        pub admissions: metrics::Counter,
        pub evictions: metrics::Counter,
        pub entries: metrics::Gauge,
    }

    impl CacheMetrics {
        pub(crate) fn new(verifier: &'static str) -> Self {
            let lookups = |result: &'static str| counter!("cognito_verify.token_cache.lookups", "verifier" => verifier, "result" => result);
            CacheMetrics {
                hits: lookups("hit"),
                misses: lookups("miss"),
                admissions: counter!("cognito_verify.token_cache.admissions", "verifier" => verifier),
                evictions: counter!("cognito_verify.token_cache.evictions", "verifier" => verifier),
                entries: gauge!("cognito_verify.token_cache.entries", "verifier" => verifier),
            }
        }
    }

    /// The counter of verified tokens of `issuer`.
    pub(crate) fn verified_counter(verifier: &'static str, issuer: &str) -> Counter {
        counter!(
            "cognito_verify.verifications",
            "verifier" => verifier,
            "outcome" => "verified",
            "kind" => OK,
            "issuer" => issuer.to_owned()
        )
    }

    /// A refused verification.
    pub(crate) fn refused(verifier: &'static str, kind: &'static str) {
        counter!(
            "cognito_verify.verifications",
            "verifier" => verifier,
            "outcome" => "refused",
            "kind" => kind,
            "issuer" => "-"
        )
        .increment(1);
    }

    fn unix_seconds(at: SystemTime) -> f64 {
        at.duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    }

    /// A key set fetch and its outcome.
    pub(crate) fn jwks_fetched(url: &str, took: Duration, kind: Option<&'static str>) {
        let (outcome, kind) = match kind {
            None => ("ok", OK),
            Some(kind) => ("error", kind),
        };
        counter!("cognito_verify.jwks.fetches", "jwks_url" => url.to_owned(), "outcome" => outcome, "kind" => kind)
            .increment(1);
        histogram!("cognito_verify.jwks.fetch.duration", "jwks_url" => url.to_owned())
            .record(took.as_secs_f64());
        if kind == OK {
            gauge!("cognito_verify.jwks.fetched_at", "jwks_url" => url.to_owned())
                .set(unix_seconds(SystemTime::now()));
        }
    }

    pub(crate) fn jwks_background_refresh(url: &str) {
        counter!("cognito_verify.jwks.background_refreshes", "jwks_url" => url.to_owned())
            .increment(1);
    }

    /// A token with a kid the set lacks: refetched, or refused by the rate
    /// limit.
    pub(crate) fn jwks_unknown_kid(url: &str, fetched: bool) {
        let result = if fetched { "fetched" } else { "rate_limited" };
        counter!("cognito_verify.jwks.unknown_kid_refetches", "jwks_url" => url.to_owned(), "result" => result)
            .increment(1);
    }

    pub(crate) fn revocation_entries(entries: usize) {
        #[allow(clippy::cast_precision_loss)]
        gauge!("cognito_verify.revocations.entries").set(entries as f64);
    }

    pub(crate) fn revocation_lag(lag: Duration) {
        histogram!("cognito_verify.revocations.lag").record(lag.as_secs_f64());
    }

    pub(crate) fn revocation_sync() {
        gauge!("cognito_verify.revocations.last_sync").set(unix_seconds(SystemTime::now()));
    }

    pub(crate) fn revocation_state(state: StoreState) {
        for (name, this) in [
            ("in_process", StoreState::InProcess),
            ("connecting", StoreState::Connecting),
            ("connected", StoreState::Connected),
            ("disconnected", StoreState::Disconnected),
        ] {
            let value = if this == state { 1.0 } else { 0.0 };
            gauge!("cognito_verify.revocations.store_state", "state" => name).set(value);
        }
    }
}

#[cfg(not(feature = "metrics"))]
#[allow(clippy::unused_self, dead_code)]
mod off {
    use std::time::Duration;

    use crate::revocation::StoreState;

    /// Nothing, without the feature.
    #[derive(Clone)]
    pub(crate) struct Counter;

    impl Counter {
        #[inline]
        pub(crate) fn increment(&self, _: u64) {}
    }

    /// Nothing, without the feature.
    pub(crate) struct Gauge;

    impl Gauge {
        #[inline]
        pub(crate) fn set(&self, _: f64) {}
    }

    pub(crate) struct CacheMetrics {
        pub hits: Counter,
        pub misses: Counter,
        pub admissions: Counter,
        pub evictions: Counter,
        pub entries: Gauge,
    }

    impl CacheMetrics {
        #[inline]
        pub(crate) fn new(_: &'static str) -> Self {
            CacheMetrics {
                hits: Counter,
                misses: Counter,
                admissions: Counter,
                evictions: Counter,
                entries: Gauge,
            }
        }
    }

    #[inline]
    pub(crate) fn verified_counter(_: &'static str, _: &str) -> Counter {
        Counter
    }
    #[inline]
    pub(crate) fn refused(_: &'static str, _: &'static str) {}
    #[inline]
    pub(crate) fn jwks_fetched(_: &str, _: Duration, _: Option<&'static str>) {}
    #[inline]
    pub(crate) fn jwks_background_refresh(_: &str) {}
    #[inline]
    pub(crate) fn jwks_unknown_kid(_: &str, _: bool) {}
    #[inline]
    pub(crate) fn revocation_entries(_: usize) {}
    #[inline]
    pub(crate) fn revocation_lag(_: Duration) {}
    #[inline]
    pub(crate) fn revocation_sync() {}
    #[inline]
    pub(crate) fn revocation_state(_: StoreState) {}
}
