//! Revocations: tokens refused before their `exp`, because their user
//! signed out, their session or the token itself was revoked, or their app
//! client was retired.
//!
//! Cognito's developer guide ("Revoking tokens") says that revoked tokens
//! "can't be used with any Cognito API calls that require a token. However,
//! Revoked tokens will still be valid if they are verified using any JWT
//! library that verifies the signature and expiration of the token."
//! A [`Revocations`] list closes that gap. The [`Verifier`](crate::Verifier)
//! consults it after the signature and claim checks, on every verification
//! and on every token-cache hit, so a token revoked while cached is refused
//! at its next use (kind `revoked`).
//!
//! | entry | covers | made after |
//! |---|---|---|
//! | [`Revoked::Session`] | every token whose `origin_jti` is the id | RevokeToken (the refresh token of that sign-in, and every id and access token minted from it) |
//! | [`Revoked::Token`] | the token whose `jti` is the id | one token |
//! | [`Revoked::User`] | tokens of the `sub` whose sign-in (`auth_time`, else `iat`) is at or before the cutoff | GlobalSignOut, AdminUserGlobalSignOut, AdminDisableUser, AdminDeleteUser |
//! | [`Revoked::Client`] | tokens of the app client (`client_id`, or `aud` for id tokens) issued (`iat`) at or before the cutoff | an app client deleted, its secret rotated |
//!
//! A user's cutoff is measured on `auth_time`, not `iat`: `iat` is new on
//! every refresh while `auth_time` keeps the sign-in's time, so a refresh
//! token that Cognito did not revoke cannot bring the user back while the
//! entry lives. Tokens without `origin_jti` (an app client with token
//! revocation turned off) are still covered by the user entry.
//!
//! An entry lives until no token it covers can still be valid: its time
//! (the revocation's, or the cutoff) plus the longest token lifetime
//! ([`RevocationsBuilder::max_token_lifetime`], 1 day by default, Cognito's
//! longest id and access token lifetime). Memory follows the revocation
//! rate, not time.
//!
//! By default the list lives in this process: nothing to run, right for one
//! replica. Replicas share one through a [`RevocationStore`]; the crate
//! ships one for Redis (feature `redis`). The request path never waits on
//! the network: each replica keeps its own copy, which the store keeps
//! current by push, and a copy that has not heard from its store for
//! [`max_staleness`](RevocationsBuilder::max_staleness) refuses tokens with
//! `revocations_unavailable` (HTTP 503) unless the application chose
//! [`fail_open`](RevocationsBuilder::fail_open).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), cognito_verify::Error> {
//! use cognito_verify::{Revocations, Revoked};
//!
//! let revocations = Revocations::in_process();
//! // Sign-out: the session's tokens stop verifying, here and now.
//! revocations
//!     .revoke(Revoked::Session { origin_jti: "6f4b0c4e-0a52-4b8e-9d6a-0d0c6f3f9e55".into() })
//!     .await?;
//! assert_eq!(revocations.status().entries, 1);
//! # Ok(()) }
//! ```

mod store;
mod table;
mod wire;

#[cfg(feature = "redis")]
pub mod redis;

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

pub use store::{BoxFuture, Follower, RevocationStore, StoreError};
pub use wire::{MAX_ID_BYTES, MAX_MESSAGE_BYTES};

use crate::Error;
use crate::claims::{Claim, CognitoClaims};
use crate::clock::now_nanos;
use crate::settings::MAX_DURATION;
use crate::telemetry;
use table::{Subject, Table};

/// What a revocation covers; see the [module](self) table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Revoked {
    /// The token whose `jti` is this.
    Token {
        /// The token's `jti`.
        jti: String,
    },
    /// Every token of one sign-in: `origin_jti` (what RevokeToken revokes).
    Session {
        /// The tokens' `origin_jti`.
        origin_jti: String,
    },
    /// The tokens of a user whose sign-in (`auth_time`, else `iat`) is at or
    /// before `at_or_before` (Unix seconds).
    User {
        /// The user's `sub`.
        sub: String,
        /// The cutoff, Unix seconds: usually the time of the sign-out.
        at_or_before: i64,
    },
    /// The tokens of an app client issued (`iat`) at or before
    /// `at_or_before` (Unix seconds).
    Client {
        /// The app client id (`client_id` of access tokens, `aud` of id
        /// tokens).
        client_id: String,
        /// The cutoff, Unix seconds.
        at_or_before: i64,
    },
}

impl Revoked {
    /// Every token of `sub` from a sign-in until now (a global sign-out).
    #[must_use]
    pub fn user_now(sub: impl Into<String>) -> Self {
        Revoked::User {
            sub: sub.into(),
            at_or_before: crate::unix_now(),
        }
    }

    fn id(&self) -> &str {
        match self {
            Revoked::Token { jti } => jti,
            Revoked::Session { origin_jti } => origin_jti,
            Revoked::User { sub, .. } => sub,
            Revoked::Client { client_id, .. } => client_id,
        }
    }

    fn cutoff(&self) -> Option<i64> {
        match self {
            Revoked::User { at_or_before, .. } | Revoked::Client { at_or_before, .. } => {
                Some(*at_or_before)
            }
            Revoked::Token { .. } | Revoked::Session { .. } => None,
        }
    }
}

/// A revocation with its times, as stores keep and send it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RevocationEntry {
    /// What it covers.
    pub revoked: Revoked,
    /// When it was made, Unix milliseconds (for the propagation lag; 0
    /// when written back by a replica).
    pub revoked_at_ms: i64,
    /// When it can be forgotten, Unix seconds: no token it covers is valid
    /// after this.
    pub expires_at: i64,
}

impl RevocationEntry {
    /// An entry with these times (for a store's own tests and tools;
    /// [`Revocations::revoke`] makes the entries of a revocation).
    #[must_use]
    pub fn new(revoked: Revoked, revoked_at_ms: i64, expires_at: i64) -> Self {
        RevocationEntry {
            revoked,
            revoked_at_ms,
            expires_at,
        }
    }
}

/// How the list stands with its store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreState {
    /// No store: the list lives in this process.
    InProcess,
    /// Connecting for the first time: no copy yet.
    Connecting,
    /// Following the store.
    Connected,
    /// Lost the store; serving from its copy (see
    /// [`RevocationStatus::current`]).
    Disconnected,
}

/// A snapshot of a [`Revocations`] list, for operators.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RevocationStatus {
    /// Entries held.
    pub entries: usize,
    /// The most entries held.
    pub max_entries: usize,
    /// How the list stands with its store.
    pub store: StoreState,
    /// Since the store last answered (`None`: never, or no store).
    pub since_last_sync: Option<Duration>,
    /// The propagation lag of the last entry received from the store: from
    /// its making (on any replica) to its arrival here.
    pub last_lag: Option<Duration>,
    /// Whether tokens are checked against a current copy. False once the
    /// store has been silent for longer than `max_staleness`: tokens are
    /// then refused with `revocations_unavailable`, unless `fail_open`.
    pub current: bool,
    /// Whether a stale copy lets tokens through.
    pub fail_open: bool,
    /// Entries dropped because the list was full.
    pub dropped: u64,
}

/// The settings of a list.
#[derive(Debug, Clone)]
struct Settings {
    max_token_lifetime: Duration,
    max_staleness: Duration,
    max_entries: usize,
    fail_open: bool,
}

/// The longest token lifetime Cognito allows for id and access tokens.
const ONE_DAY: Duration = Duration::from_secs(86_400);

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_token_lifetime: ONE_DAY,
            max_staleness: Duration::from_secs(30),
            max_entries: 1_000_000,
            fail_open: false,
        }
    }
}

struct Shared {
    table: RwLock<Table>,
    /// Entries in `table`, read without its lock.
    count: AtomicUsize,
    settings: Settings,
    store: Option<Arc<dyn RevocationStore>>,
    /// Unix nanoseconds until which the copy counts as current (`i64::MAX`
    /// in process; 0 before the first load from a store).
    current_until: AtomicI64,
    /// Set when an entry from the store was dropped (the list was full),
    /// cleared by a load that fits: the copy then misses revocations.
    incomplete: AtomicBool,
    sync: Mutex<SyncState>,
}

#[derive(Default)]
struct SyncState {
    state: Option<StoreState>,
    /// Unix nanoseconds of the last answer from the store.
    last_sync: Option<i64>,
    last_lag: Option<Duration>,
    dropped: u64,
    /// Unix seconds of the last sweep of expired entries.
    last_sweep: i64,
}

/// A revocation list; see the [module](self) documentation. Cheap to
/// clone: clones share the list.
#[derive(Clone)]
pub struct Revocations {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Revocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Revocations")
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

impl Default for Revocations {
    fn default() -> Self {
        Revocations::in_process()
    }
}

/// Builds a [`Revocations`] list.
#[derive(Clone, Default)]
#[must_use]
pub struct RevocationsBuilder {
    settings: Settings,
    store: Option<Arc<dyn RevocationStore>>,
}

impl std::fmt::Debug for RevocationsBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevocationsBuilder")
            .field("settings", &self.settings)
            .field("store", &self.store.as_ref().map(|s| s.describe()))
            .finish()
    }
}

impl RevocationsBuilder {
    /// Shares the list through `store` (see [`RevocationStore`]; with
    /// feature `redis`, [`redis::RedisStore`]). Without one, the list lives
    /// in this process.
    pub fn store(mut self, store: impl RevocationStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// The longest lifetime of a token the list must cover (default 1 day,
    /// Cognito's longest for id and access tokens): an entry is forgotten
    /// this long after its time. If refresh tokens are revoked only here and
    /// not at Cognito, set the refresh token lifetime instead, or a user's
    /// refreshed tokens come back once the user entry is forgotten.
    pub fn max_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.settings.max_token_lifetime = lifetime;
        self
    }

    /// How long a replica that lost its store keeps checking tokens against
    /// its copy (default 30 s). Past it, every token is refused with
    /// `revocations_unavailable` (HTTP 503), unless
    /// [`fail_open`](Self::fail_open). 30 s rides out a restart or a
    /// failover of the store while bounding how long a revocation made on
    /// another replica in the meantime can go unseen here.
    pub fn max_staleness(mut self, staleness: Duration) -> Self {
        self.settings.max_staleness = staleness;
        self
    }

    /// The most entries held (default 1,000,000, about 60 MB). Past it,
    /// [`Revocations::revoke`] fails and entries from the store are dropped
    /// (counted in [`RevocationStatus::dropped`] and logged), which makes
    /// the copy incomplete: tokens are then refused with
    /// `revocations_unavailable` until expired entries make room, unless
    /// [`fail_open`](Self::fail_open).
    pub fn max_entries(mut self, entries: usize) -> Self {
        self.settings.max_entries = entries;
        self
    }

    /// When the copy is stale or incomplete, lets tokens through (checked
    /// against what the copy holds) instead of refusing them. An explicit
    /// choice: availability over sign-out.
    pub fn fail_open(mut self) -> Self {
        self.settings.fail_open = true;
        self
    }

    /// The list. With a store, its sync task starts on the current tokio
    /// runtime; until the first load, tokens are refused with
    /// `revocations_unavailable` (see [`Revocations::ready`]).
    ///
    /// # Errors
    /// `invalid_config`: a duration of zero or past a year, no entries, or a
    /// store without a tokio runtime to run on.
    pub fn build(self) -> Result<Revocations, Error> {
        let s = &self.settings;
        let bad = |why: String| Error::InvalidConfig(format!("revocations: {why}"));
        for (value, name) in [
            (s.max_token_lifetime, "max_token_lifetime"),
            (s.max_staleness, "max_staleness"),
        ] {
            if value.is_zero() || value > MAX_DURATION {
                return Err(bad(format!(
                    "{name} is {value:?}; it must be above zero and at most a year"
                )));
            }
        }
        if s.max_entries == 0 {
            return Err(bad("max_entries must be above zero".into()));
        }
        let runtime = match &self.store {
            Some(_) => Some(tokio::runtime::Handle::try_current().map_err(|_| {
                bad("a store needs a tokio runtime: build the list inside one".into())
            })?),
            None => None,
        };
        let in_process = self.store.is_none();
        let shared = Arc::new(Shared {
            table: RwLock::new(Table::new()),
            count: AtomicUsize::new(0),
            settings: self.settings,
            store: self.store,
            current_until: AtomicI64::new(if in_process { i64::MAX } else { 0 }),
            incomplete: AtomicBool::new(false),
            sync: Mutex::new(SyncState {
                state: Some(if in_process {
                    StoreState::InProcess
                } else {
                    StoreState::Connecting
                }),
                ..SyncState::default()
            }),
        });
        telemetry::revocation_state(shared.sync().state.unwrap_or(StoreState::InProcess));
        if let Some(runtime) = runtime {
            runtime.spawn(store::run(Arc::downgrade(&shared)));
        }
        Ok(Revocations { shared })
    }
}

/// Unix seconds now.
fn now_secs() -> i64 {
    crate::unix_now()
}

fn nanos_of(duration: Duration) -> i64 {
    i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX)
}

fn secs_of(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

impl Revocations {
    /// A list in this process, with the default settings.
    #[must_use]
    pub fn in_process() -> Self {
        Revocations::builder()
            .build()
            .unwrap_or_else(|_| unreachable!("the default settings are valid"))
    }

    /// A builder.
    pub fn builder() -> RevocationsBuilder {
        RevocationsBuilder::default()
    }

    fn sync(&self) -> MutexGuard<'_, SyncState> {
        self.shared.sync()
    }

    /// Revokes: this replica refuses the tokens `revoked` covers at once;
    /// with a store, the entry is then published to every replica. An
    /// entry this replica could not publish stays here and is written to the
    /// store when it is reached again.
    ///
    /// # Errors
    /// `invalid_config` for an empty id, one of more than
    /// [`MAX_ID_BYTES`], or a cutoff past now plus the longest token
    /// lifetime; `revocations_unavailable` when the list is full or the
    /// store could not be told (the entry is still enforced here).
    pub async fn revoke(&self, revoked: Revoked) -> Result<(), Error> {
        let entry = self.entry(revoked)?;
        if !self.shared.add(&entry) {
            return Err(Error::RevocationsUnavailable {
                reason: format!(
                    "the list holds its maximum of {} entries",
                    self.shared.settings.max_entries
                ),
            });
        }
        tracing::info!(kind = kind_of(&entry.revoked), "revoked");
        if let Some(store) = &self.shared.store {
            store
                .publish(std::slice::from_ref(&entry))
                .await
                .map_err(|e| Error::RevocationsUnavailable {
                    reason: format!(
                        "enforced on this replica, not yet published to {}: {e}",
                        store.describe()
                    ),
                })?;
        }
        Ok(())
    }

    /// The entry for `revoked` made now.
    fn entry(&self, revoked: Revoked) -> Result<RevocationEntry, Error> {
        let bad = |why: String| Error::InvalidConfig(format!("revoke: {why}"));
        wire::check_id(revoked.id()).map_err(bad)?;
        let now = now_secs();
        let lifetime = secs_of(self.shared.settings.max_token_lifetime);
        let from = match revoked.cutoff() {
            Some(cutoff) if cutoff > now.saturating_add(lifetime) => {
                return Err(bad(format!(
                    "the cutoff {cutoff} is further ahead than the longest token lifetime"
                )));
            }
            Some(cutoff) => cutoff.max(now),
            None => now,
        };
        Ok(RevocationEntry {
            revoked,
            revoked_at_ms: i64::try_from(now_nanos() / 1_000_000).unwrap_or(i64::MAX),
            expires_at: from.saturating_add(lifetime),
        })
    }

    /// Whether the copy is usable: in process, or loaded from the store and
    /// current. Wait for it at start-up (a readiness probe can ask it too).
    #[must_use]
    pub fn ready(&self) -> bool {
        self.shared.is_current()
    }

    /// Waits until [`ready`](Self::ready), at most `timeout`; true when it
    /// is.
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.ready() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    /// A snapshot for operators.
    #[must_use]
    pub fn status(&self) -> RevocationStatus {
        let now = now_nanos_i64();
        let sync = self.sync();
        RevocationStatus {
            entries: self.shared.count.load(Ordering::Relaxed),
            max_entries: self.shared.settings.max_entries,
            store: sync.state.unwrap_or(StoreState::InProcess),
            since_last_sync: sync
                .last_sync
                .map(|at| Duration::from_nanos(u64::try_from(now.saturating_sub(at)).unwrap_or(0))),
            last_lag: sync.last_lag,
            current: self.ready(),
            fail_open: self.shared.settings.fail_open,
            dropped: sync.dropped,
        }
    }

    /// Refuses `claims` if an entry covers them, or if the copy is stale
    /// (unless fail-open). Called by the verifier on every verification and
    /// token-cache hit.
    pub(crate) fn check(&self, claims: &CognitoClaims) -> Result<(), Error> {
        let shared = &self.shared;
        if shared.count.load(Ordering::Relaxed) > 0 {
            let payload = claims.payload();
            let time = |claim| payload.time_of(claim).map(|d| d.nanos());
            let subject = Subject {
                jti: claims.jti(),
                origin_jti: claims.origin_jti(),
                sub: claims.sub(),
                signed_in_nanos: time(Claim::AuthTime).or_else(|| time(Claim::Iat)),
                client_id: claims.client_id(),
                issued_nanos: time(Claim::Iat),
            };
            if let Some(by) = shared.read().covering(&subject) {
                return Err(Error::Revoked { by });
            }
        }
        if shared.store.is_some() && !shared.settings.fail_open && !shared.is_current() {
            return Err(Error::RevocationsUnavailable {
                reason: self.unavailable_reason(),
            });
        }
        Ok(())
    }

    fn unavailable_reason(&self) -> String {
        let status = self.status();
        let store = self
            .shared
            .store
            .as_ref()
            .map(|s| s.describe())
            .unwrap_or_default();
        match (status.store, status.since_last_sync) {
            (StoreState::Connecting, _) => format!("not loaded from {store} yet"),
            (_, Some(since)) => format!(
                "no word from {store} for {since:?}, more than max_staleness ({:?})",
                self.shared.settings.max_staleness
            ),
            _ => format!("the copy of {store} is incomplete"),
        }
    }
}

fn now_nanos_i64() -> i64 {
    i64::try_from(now_nanos()).unwrap_or(i64::MAX)
}

fn kind_of(revoked: &Revoked) -> &'static str {
    match revoked {
        Revoked::Token { .. } => "token",
        Revoked::Session { .. } => "session",
        Revoked::User { .. } => "user",
        Revoked::Client { .. } => "client",
    }
}

impl Shared {
    fn is_current(&self) -> bool {
        !self.incomplete.load(Ordering::Relaxed)
            && now_nanos_i64() <= self.current_until.load(Ordering::Relaxed)
    }

    fn sync(&self) -> MutexGuard<'_, SyncState> {
        // Every update leaves the state consistent.
        self.sync.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Table> {
        self.table.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Table> {
        self.table.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds an entry (expired ones are ignored); false when the list is
    /// full. Sweeps expired entries at most once a minute, and when full.
    fn add(&self, entry: &RevocationEntry) -> bool {
        let now = now_secs();
        if entry.expires_at < now {
            return true;
        }
        let mut table = self.write();
        let due = {
            let mut sync = self.sync();
            let due = now - sync.last_sweep >= 60 || table.len() >= self.settings.max_entries;
            if due {
                sync.last_sweep = now;
            }
            due
        };
        if due {
            table.sweep(now);
        }
        // A full list still takes an id it holds (that only widens it).
        let room = table.len() < self.settings.max_entries || table.contains(&entry.revoked);
        if room {
            table.insert(entry);
        }
        self.count.store(table.len(), Ordering::Relaxed);
        telemetry::revocation_entries(table.len());
        room
    }

    /// The store answered: the copy is current for `max_staleness` more,
    /// unless it is incomplete.
    fn heard_from_store(&self) {
        let now = now_nanos_i64();
        if !self.incomplete.load(Ordering::Relaxed) {
            let until = now.saturating_add(nanos_of(self.settings.max_staleness));
            self.current_until.store(until, Ordering::Relaxed);
        }
        let mut sync = self.sync();
        sync.last_sync = Some(now);
        sync.state = Some(StoreState::Connected);
        telemetry::revocation_sync();
        telemetry::revocation_state(StoreState::Connected);
    }
}
