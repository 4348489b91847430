//! The engine side: a [`RevocationStore`] keeps the entries of every
//! replica and pushes new ones to each; a [`Follower`] is how it hands them
//! to this replica's copy.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Weak;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use super::{RevocationEntry, Revoked, Shared, StoreState, now_nanos_i64, now_secs, secs_of};
use crate::telemetry;

/// A boxed future, as [`RevocationStore`]'s methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a store could not do what was asked, in words for a log line
/// (never a password).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

/// Where replicas share their revocations: Redis (feature `redis`) or
/// anything else that can keep entries and push new ones.
///
/// A store keeps each entry until its
/// [`expires_at`](RevocationEntry::expires_at) and tells every follower of
/// each new one. [`RevocationEntry::encode`] and
/// [`RevocationEntry::decode`] give entries a text form. An implementation
/// for another engine:
///
/// ```
/// use cognito_verify::revocation::{BoxFuture, Follower, RevocationEntry, RevocationStore, StoreError};
///
/// /// A store that another part of the application feeds (here: nothing).
/// struct MyStore;
///
/// impl RevocationStore for MyStore {
///     fn describe(&self) -> String {
///         "my store".into()
///     }
///
///     fn publish<'a>(&'a self, entries: &'a [RevocationEntry]) -> BoxFuture<'a, Result<(), StoreError>> {
///         Box::pin(async move {
///             for entry in entries {
///                 let _line = entry.encode(); // write it, with its expiry, and notify
///             }
///             Ok(())
///         })
///     }
///
///     fn follow<'a>(&'a self, follower: &'a Follower) -> BoxFuture<'a, StoreError> {
///         Box::pin(async move {
///             // 1. subscribe to new entries; 2. load the current ones:
///             let write_back = follower.loaded(Vec::new());
///             let _ = self.publish(&write_back).await;
///             // 3. hand over each new one, and say the store is alive.
///             while !follower.is_closed() {
///                 follower.alive();
///                 tokio::time::sleep(follower.heartbeat()).await;
///             }
///             StoreError("the list was dropped".into())
///         })
///     }
/// }
/// ```
pub trait RevocationStore: Send + Sync + 'static {
    /// Where the store is, for logs and errors (without a password).
    fn describe(&self) -> String;

    /// Adds `entries` to the store, each until its `expires_at`, and tells
    /// every replica that follows the store.
    fn publish<'a>(
        &'a self,
        entries: &'a [RevocationEntry],
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Follows the store until the connection fails or
    /// [`Follower::is_closed`]: subscribes to new entries first, then loads
    /// the current ones into [`Follower::loaded`] and publishes back what
    /// it returns (entries the store lost, as after a restart), then hands
    /// each new entry to [`Follower::received`], and calls
    /// [`Follower::alive`] each time the store answers, at least every
    /// [`Follower::heartbeat`]. Returns why it stopped; the list calls it
    /// again after a pause.
    fn follow<'a>(&'a self, follower: &'a Follower) -> BoxFuture<'a, StoreError>;
}

/// This replica's copy, as a [`RevocationStore`] feeds it.
pub struct Follower {
    shared: Weak<Shared>,
    loaded: AtomicBool,
    malformed: AtomicU64,
}

impl std::fmt::Debug for Follower {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Follower")
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

impl Follower {
    /// True once every handle on the list is gone: stop following.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.shared.strong_count() == 0
    }

    /// How often the store must answer ([`alive`](Self::alive)) to keep
    /// the copy current: a third of `max_staleness`, within 100 ms and 5 s.
    #[must_use]
    pub fn heartbeat(&self) -> Duration {
        self.shared.upgrade().map_or(Duration::from_secs(1), |s| {
            (s.settings.max_staleness / 3).clamp(Duration::from_millis(100), Duration::from_secs(5))
        })
    }

    /// The store answered: the copy is current for `max_staleness` more.
    pub fn alive(&self) {
        if self.loaded.load(Ordering::Relaxed)
            && let Some(shared) = self.shared.upgrade()
        {
            shared.heard_from_store();
        }
    }

    /// Takes every entry the store holds now, and returns the entries this
    /// replica holds that the store lacks, to publish back.
    pub fn loaded(&self, entries: Vec<RevocationEntry>) -> Vec<RevocationEntry> {
        let Some(shared) = self.shared.upgrade() else {
            return Vec::new();
        };
        let mut in_store: HashMap<Revoked, i64> = HashMap::with_capacity(entries.len());
        let mut complete = true;
        for entry in entries.into_iter().filter_map(|e| sanitize(&shared, e)) {
            complete &= shared.add(&entry);
            let expires = in_store.entry(entry.revoked).or_insert(i64::MIN);
            *expires = (*expires).max(entry.expires_at);
        }
        let missing: Vec<RevocationEntry> = shared
            .read()
            .entries(now_secs())
            .into_iter()
            .filter(|mine| {
                in_store
                    .get(&mine.revoked)
                    .is_none_or(|stored| *stored < mine.expires_at)
            })
            .collect();
        if !missing.is_empty() {
            tracing::warn!(
                entries = missing.len(),
                "revocations: the store lacks entries this replica holds; writing them back"
            );
        }
        shared.incomplete.store(!complete, Ordering::Relaxed);
        if !complete {
            shared.sync().dropped += 1;
            tracing::error!("revocations: the list is full; the copy misses entries");
        }
        self.loaded.store(true, Ordering::Relaxed);
        shared.heard_from_store();
        tracing::info!(
            entries = shared.count.load(Ordering::Relaxed),
            "revocations: loaded from the store"
        );
        missing
    }

    /// Takes one new entry, as the store sent it. A message that is not an
    /// entry is logged and ignored.
    pub fn received(&self, message: &[u8]) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        let entry = match RevocationEntry::decode(message) {
            Ok(entry) => entry,
            Err(why) => {
                let seen = self.malformed.fetch_add(1, Ordering::Relaxed);
                if seen.is_power_of_two() || seen == 0 {
                    tracing::warn!(malformed_so_far = seen + 1, %why, "revocations: ignored a message that is not an entry");
                }
                return;
            }
        };
        let Some(entry) = sanitize(&shared, entry) else {
            return;
        };
        let lag_ms = now_nanos_i64() / 1_000_000 - entry.revoked_at_ms;
        if !shared.add(&entry) {
            shared.incomplete.store(true, Ordering::Relaxed);
            shared.sync().dropped += 1;
            tracing::error!("revocations: the list is full; an entry from the store was dropped");
        }
        let mut sync = shared.sync();
        if entry.revoked_at_ms > 0 && lag_ms >= 0 {
            let lag = Duration::from_millis(lag_ms.unsigned_abs());
            sync.last_lag = Some(lag);
            telemetry::revocation_lag(lag);
        }
    }
}

/// An entry from a store, its expiry held to what a real one can have (the
/// cutoff of a user or client entry is at most one lifetime ahead, and the
/// entry lives one lifetime past it); `None` when it expired already.
fn sanitize(shared: &Shared, mut entry: RevocationEntry) -> Option<RevocationEntry> {
    let now = now_secs();
    let lifetime = secs_of(shared.settings.max_token_lifetime);
    entry.expires_at = entry
        .expires_at
        .min(now.saturating_add(lifetime.saturating_mul(2)));
    (entry.expires_at >= now).then_some(entry)
}

/// Follows the store for as long as the list exists, reconnecting with a
/// growing pause (100 ms to 5 s) after each failure.
pub(super) async fn run(list: Weak<Shared>) {
    let mut pause = Duration::from_millis(100);
    loop {
        let Some(store) = list.upgrade().and_then(|s| s.store.clone()) else {
            return;
        };
        let follower = Follower {
            shared: list.clone(),
            loaded: AtomicBool::new(false),
            malformed: AtomicU64::new(0),
        };
        let error = store.follow(&follower).await;
        let Some(shared) = list.upgrade() else {
            return;
        };
        {
            let mut sync = shared.sync();
            if sync.state != Some(StoreState::Connecting) {
                sync.state = Some(StoreState::Disconnected);
                telemetry::revocation_state(StoreState::Disconnected);
            }
        }
        tracing::warn!(store = %store.describe(), %error, "revocations: lost the store; serving from this replica's copy");
        drop(shared);
        pause = match follower.loaded.load(Ordering::Relaxed) {
            true => Duration::from_millis(100),
            false => (pause * 2).min(Duration::from_secs(5)),
        };
        tokio::time::sleep(pause).await;
    }
}
