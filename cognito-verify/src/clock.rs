//! The one clock: what the time checks, the token cache, minted tokens and
//! the CLI read as "now".

use std::time::{SystemTime, UNIX_EPOCH};

/// Nanoseconds since the Unix epoch; a clock before 1970 reads as 0.
pub(crate) fn now_nanos() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX))
}

/// The verifier's clock in whole seconds since the Unix epoch, as the
/// `exp`, `nbf` and `iat` checks read it (a clock before 1970 reads as 0).
///
/// ```
/// assert!(cognito_verify::unix_now() > 1_700_000_000);
/// ```
#[must_use]
pub fn unix_now() -> i64 {
    i64::try_from(now_nanos().div_euclid(1_000_000_000)).unwrap_or(i64::MAX)
}
