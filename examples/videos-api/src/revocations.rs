//! The revocation list the service's verifiers consult: tokens refused
//! before their `exp` because their user signed out (see
//! [`cognito_verify::revocation`]).
//!
//! - Without `--revocations-url`, the list lives in this process: right for
//!   one replica, and nothing to run.
//! - With `--revocations-url redis://…` (`VIDEOS_REVOCATIONS_URL`; `rediss://`
//!   for TLS, `redis://user:password@host` for an ACL user), every replica
//!   follows one list in Redis (or Valkey, ElastiCache, MemoryDB): a
//!   sign-out on one replica is refused on all of them, pushed to each
//!   without any network call on the request path. At start-up the service
//!   waits up to [`READY_WITHIN`] for its copy and logs how the list
//!   stands; until the copy is loaded, and whenever Redis has been silent
//!   for longer than `max_staleness` (30 s), tokens are refused with
//!   `revocations_unavailable` (HTTP 503).
//!
//! [`RevocationArgs`] are the flags, for any example that verifies tokens
//! (`#[command(flatten)]`); [`revocations`] builds the list from them.
//!
//! ```no_run
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), videos_api::StartError> {
//! use videos_api::revocations::{RevocationArgs, revocations};
//!
//! let shared = RevocationArgs {
//!     url: Some("redis://127.0.0.1:6379".into()),
//!     ..RevocationArgs::default()
//! };
//! let list = revocations(&shared).await?;
//! let verifier = cognito_verify::Verifier::builder()
//!     .pool(cognito_verify::PoolConfig::new("eu-west-1_Ynsi6EIT0").client_id("3ndpoh0l2ctv25olnm6ekc2frv"))
//!     .revocations(list)
//!     .build();
//! # let _ = verifier;
//! # Ok(()) }
//! ```

use std::time::Duration;

use cognito_verify::Revocations;
use cognito_verify::revocation::redis::RedisStore;
use cognito_verify::revocation::{RevocationStore, StoreState};

use crate::StartError;

/// How long start-up waits for the copy of a shared list.
pub const READY_WITHIN: Duration = Duration::from_secs(10);

/// The revocation list's flags.
#[derive(clap::Args, Clone, Default, PartialEq, Eq)]
pub struct RevocationArgs {
    /// Share the revocation list through Redis, e.g.
    /// `redis://revocations.internal:6379` (`rediss://` for TLS,
    /// `redis://user:password@host` for an ACL user). Without it, the list
    /// lives in this process (one replica).
    #[arg(
        long = "revocations-url",
        env = "VIDEOS_REVOCATIONS_URL",
        value_name = "URL"
    )]
    pub url: Option<String>,

    /// How long a replica that lost Redis keeps checking tokens against its
    /// copy before refusing them with `revocations_unavailable` (default
    /// 30). For tests of the staleness policy.
    #[arg(
        long = "revocations-max-staleness",
        value_name = "SECONDS",
        hide = true,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub max_staleness_secs: Option<u64>,
}

/// Whether a URL is set, never the URL (it may carry a password).
impl std::fmt::Debug for RevocationArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevocationArgs")
            .field("url", &self.url.as_ref().map(|_| ".."))
            .field("max_staleness_secs", &self.max_staleness_secs)
            .finish()
    }
}

/// The list `args` describe: in this process, or following Redis (then
/// waited for, up to [`READY_WITHIN`], and its state logged; a list not
/// ready by then is not an error: it refuses tokens with
/// `revocations_unavailable` until it is).
///
/// # Errors
/// A URL that is not `redis://` or `rediss://`, named with its variable.
pub async fn revocations(args: &RevocationArgs) -> Result<Revocations, StartError> {
    let url = args
        .url
        .as_deref()
        .map(str::trim)
        .filter(|url| !url.is_empty());
    let Some(url) = url else {
        tracing::info!("revocations: in this process (one replica; --revocations-url shares them)");
        return Ok(Revocations::in_process());
    };
    let bad = |e: cognito_verify::Error| {
        StartError(format!("VIDEOS_REVOCATIONS_URL (--revocations-url): {e}"))
    };
    let store = RedisStore::new(url).map_err(bad)?;
    // Where, as logs may show it: without the user name and password.
    let at = store.describe();
    let mut builder = Revocations::builder().store(store);
    if let Some(secs) = args.max_staleness_secs {
        builder = builder.max_staleness(Duration::from_secs(secs));
    }
    let list = builder.build().map_err(bad)?;
    let ready = list.wait_ready(READY_WITHIN).await;
    let status = list.status();
    if ready {
        tracing::info!(
            at = %at,
            entries = status.entries,
            "revocations: following the shared list"
        );
    } else {
        let state = match status.store {
            StoreState::Connecting => "not loaded yet",
            _ => "stale",
        };
        tracing::warn!(
            at = %at,
            state,
            waited = ?READY_WITHIN,
            "revocations: the shared list is not ready; tokens are refused with revocations_unavailable until it is"
        );
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_never_shown() {
        let args = RevocationArgs {
            url: Some("rediss://app:s3cret@cache.example:6379/0".into()),
            max_staleness_secs: None,
        };
        let debug = format!("{args:?}");
        assert!(!debug.contains("s3cret"), "{debug}");
    }

    #[tokio::test]
    async fn only_redis_urls_are_taken() {
        for url in ["http://127.0.0.1:6379", "127.0.0.1:6379"] {
            let args = RevocationArgs {
                url: Some(url.into()),
                max_staleness_secs: None,
            };
            let err = revocations(&args).await.unwrap_err();
            assert!(
                err.0
                    .starts_with("VIDEOS_REVOCATIONS_URL (--revocations-url)"),
                "{err}"
            );
        }
        let in_process = revocations(&RevocationArgs::default()).await.unwrap();
        assert_eq!(in_process.status().store, StoreState::InProcess);
    }
}
