//! The settings a verifier shares across its pools, with their defaults and
//! the bounds [`VerifierBuilder::build`](crate::VerifierBuilder::build)
//! holds them to.

use std::time::Duration;

use crate::Error;
use crate::jwks::JwksSettings;

/// The longest duration any setting may have. Longer ones are
/// configuration mistakes (a key set trusted for a century, a `Duration::MAX`
/// meant as "forever"), refused at `build()` so that no instant computed
/// from a setting can overflow.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(365 * 86_400);

/// Limits and defaults shared by all pools of a verifier.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub leeway: Duration,
    pub future_tolerance: Duration,
    pub max_token_bytes: usize,
    pub token_cache_capacity: u64,
    /// How key sets are fetched and kept.
    pub jwks: JwksSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            leeway: Duration::ZERO,
            future_tolerance: Duration::from_secs(60),
            max_token_bytes: 16 * 1024,
            token_cache_capacity: 10_000,
            jwks: JwksSettings::default(),
        }
    }
}

impl Settings {
    /// Refuses sizes and durations of zero where a zero would switch a
    /// safeguard off, durations past [`MAX_DURATION`], and inverted ranges.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        let j = &self.jwks;
        let positive = [
            (self.max_token_bytes == 0, "max_token_bytes"),
            (j.max_body_bytes == 0, "jwks_max_bytes"),
            (j.connect_timeout.is_zero(), "jwks_connect_timeout"),
            (j.fetch_timeout.is_zero(), "jwks_timeout"),
            (j.ttl.is_zero(), "jwks_ttl"),
            (j.ttl_bounds.0.is_zero(), "the minimum of jwks_ttl_bounds"),
            (j.max_staleness.is_zero(), "jwks_max_staleness"),
            (j.backoff.0.is_zero(), "the initial jwks_backoff"),
        ];
        if let Some((_, name)) = positive.iter().find(|(zero, _)| *zero) {
            return Err(Error::InvalidConfig(format!(
                "{name} must be greater than zero"
            )));
        }
        let durations = [
            (self.leeway, "leeway"),
            (self.future_tolerance, "future_tolerance"),
            (j.connect_timeout, "jwks_connect_timeout"),
            (j.fetch_timeout, "jwks_timeout"),
            (j.min_refetch_interval, "jwks_min_refetch_interval"),
            (j.ttl, "jwks_ttl"),
            (j.ttl_bounds.1, "the maximum of jwks_ttl_bounds"),
            (j.max_staleness, "jwks_max_staleness"),
            (j.backoff.1, "the maximum jwks_backoff"),
        ];
        if let Some((value, name)) = durations.iter().find(|(d, _)| *d > MAX_DURATION) {
            return Err(Error::InvalidConfig(format!(
                "{name} is {value:?}; durations are limited to {} days",
                MAX_DURATION.as_secs() / 86_400
            )));
        }
        if j.ttl_bounds.0 > j.ttl_bounds.1 || j.backoff.0 > j.backoff.1 {
            return Err(Error::InvalidConfig(
                "jwks_ttl_bounds and jwks_backoff take (min, max) with min <= max".into(),
            ));
        }
        Ok(())
    }
}
