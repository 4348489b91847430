//! The JWKS of one URL: fetched over HTTP, cached, refreshed, and kept
//! through outages.
//!
//! Lifecycle of a key set:
//! - it is fetched on first use (or by `hydrate`), and lives for its TTL
//!   (default 1 hour; the response's `Cache-Control: max-age` may set it
//!   within the configured bounds, default 5 minutes to 1 day);
//! - once 90% of the TTL has passed, a request that uses it starts a
//!   refresh in the background and goes on with the cached keys: no request
//!   waits for a refresh while usable keys are cached;
//! - if refreshes fail, the last good set keeps verifying until it is older
//!   than the maximum staleness (default 1 day); failed fetches are retried
//!   with exponential backoff and jitter (default 1 s doubling to 1 minute),
//!   at most one attempt per backoff step however many requests arrive, and
//!   one warning is logged per failure streak;
//! - a token with an unknown `kid` causes one refetch, then none for that
//!   URL until the minimum refetch interval has passed (nor while backing
//!   off); such tokens fail at once with `unknown_kid`.
//!
//! Fetches are single flight (concurrent callers share one request), bounded
//! in time and size (the body cap holds while it streams), and a fetched set
//! replaces the old one whole. No lock is held across network I/O.
//!
//! A fetch runs in a task of its own that callers only wait for: a caller
//! that goes away mid-fetch (a client that hangs up, a timeout around
//! `verify`) cannot leave a fetch half done and the cache without a way to
//! refresh, and the fetch it started still serves everyone else. (Clearing
//! the state in a drop guard would also unblock refreshes, but it would
//! throw away a fetch that the unknown-`kid` rate limit has already counted;
//! a guard in the task still clears the state if the task itself is dropped,
//! as when its runtime shuts down.) The task is spawned only after the state
//! lock is released, since a runtime that is shutting down drops it at once,
//! guard and all. A caller waits for an outcome at most the fetch timeout
//! plus a second.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use tokio::sync::watch;

use crate::Error;
use crate::config::AtHydrate;
use crate::error::Echo;
use crate::keyset::{KeySet, RsaKey};
use crate::status::{JwksCounters, JwksStatus, NotReady};
use crate::telemetry;

/// The settings every key set of a verifier shares: how it is fetched
/// (the user's HTTP client, if given), how large and how old it may be.
#[derive(Clone, Debug)]
pub(crate) struct JwksSettings {
    /// The user's HTTP client; else one is built from these settings.
    pub http_client: Option<reqwest::Client>,
    pub connect_timeout: Duration,
    /// The whole-request timeout of a fetch.
    pub fetch_timeout: Duration,
    pub max_body_bytes: usize,
    pub min_refetch_interval: Duration,
    pub ttl: Duration,
    pub ttl_bounds: (Duration, Duration),
    pub max_staleness: Duration,
    pub backoff: (Duration, Duration),
}

impl Default for JwksSettings {
    fn default() -> Self {
        JwksSettings {
            http_client: None,
            connect_timeout: Duration::from_secs(2),
            fetch_timeout: Duration::from_secs(5),
            max_body_bytes: 64 * 1024,
            min_refetch_interval: Duration::from_secs(10),
            ttl: Duration::from_secs(3600),
            ttl_bounds: (Duration::from_secs(300), Duration::from_secs(86_400)),
            max_staleness: Duration::from_secs(86_400),
            backoff: (Duration::from_secs(1), Duration::from_secs(60)),
        }
    }
}

/// Where a key set's keys come from: fetched, or a document given at build
/// time (refreshed over the network unless offline).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct KeySource {
    /// The JWKS document that seeds the set.
    pub document: Option<Vec<u8>>,
    /// Keys only from the document, never fetched.
    pub offline: bool,
}

/// The user's HTTP client, or one built from the settings: their timeouts,
/// no redirects.
pub(crate) fn http_client(settings: &JwksSettings) -> Result<reqwest::Client, Error> {
    match &settings.http_client {
        Some(client) => Ok(client.clone()),
        None => reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.fetch_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("cognito-verify/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::InvalidConfig(format!("cannot build the HTTP client: {e}"))),
    }
}

/// What a capped GET of a key document brought back.
pub(crate) enum Fetched {
    /// HTTP 200 and a body within the cap, with the response's headers.
    Body(Vec<u8>, reqwest::header::HeaderMap),
    /// Another status (redirects are never followed).
    Status(reqwest::StatusCode),
    /// A body larger than the cap (not read past it).
    TooBig,
}

/// GETs `url` within the settings' timeout and body cap (held while the
/// body streams in). `Err` says why the server could not be reached.
pub(crate) async fn fetch_capped(
    client: &reqwest::Client,
    url: &str,
    accept: &'static str,
    settings: &JwksSettings,
) -> Result<Fetched, String> {
    let mut response = client
        .get(url)
        .header(reqwest::header::ACCEPT, accept)
        // Also on a client the user built.
        .timeout(settings.fetch_timeout)
        .send()
        .await
        .map_err(|e| describe(&e))?;
    if response.url().as_str() != url
        && reqwest::Url::parse(url).ok().as_ref() != Some(response.url())
    {
        // A client that follows redirects went elsewhere.
        return Err(format!(
            "the response came from {} after a redirect (redirects are not followed)",
            response.url()
        ));
    }
    let status = response.status();
    if status != reqwest::StatusCode::OK {
        return Ok(Fetched::Status(status));
    }
    if response
        .content_length()
        .is_some_and(|len| len > settings.max_body_bytes as u64)
    {
        return Ok(Fetched::TooBig);
    }
    let headers = response.headers().clone();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| describe(&e))? {
        if body.len() + chunk.len() > settings.max_body_bytes {
            return Ok(Fetched::TooBig);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched::Body(body, headers))
}

/// Why an HTTP status is not a key document.
pub(crate) fn status_reason(status: reqwest::StatusCode) -> String {
    let extra = if status.is_redirection() {
        " (redirects are not followed)"
    } else {
        ""
    };
    format!("HTTP status {status}{extra}")
}

/// The key sets of one verifier, one per JWKS URL, sharing one HTTP client.
pub(crate) struct KeySets {
    client: reqwest::Client,
    settings: Arc<JwksSettings>,
    by_url: HashMap<String, (KeySource, Arc<JwksCache>)>,
    all: Vec<Arc<JwksCache>>,
}

impl KeySets {
    /// Builds the HTTP client (unless the settings carry the user's).
    pub(crate) fn new(settings: JwksSettings) -> Result<Self, Error> {
        let client = http_client(&settings)?;
        Ok(KeySets {
            client,
            settings: Arc::new(settings),
            by_url: HashMap::new(),
            all: Vec::new(),
        })
    }

    /// The key set of `url`, made on first request. Issuers may share a
    /// JWKS URL only with the same key source: one pool's document must
    /// never verify another pool's tokens.
    pub(crate) fn for_url(
        &mut self,
        url: &str,
        source: &KeySource,
    ) -> Result<Arc<JwksCache>, String> {
        if let Some((known, cache)) = self.by_url.get(url) {
            return match known == source {
                true => Ok(cache.clone()),
                false => Err(format!(
                    "the JWKS URL {url} is another pool's too, with other keys (a JWKS \
                     document or offline()); give each pool its own"
                )),
            };
        }
        let cache = Arc::new(JwksCache {
            url: url.to_owned(),
            client: self.client.clone(),
            settings: self.settings.clone(),
            network: !source.offline,
            state: Mutex::new(State::default()),
            epoch: Instant::now(),
            quiet_until: AtomicU64::new(0),
        });
        if let Some(document) = &source.document {
            let keys = KeySet::parse(document, url, None)
                .map_err(|e| format!("the JWKS document: {e}"))?;
            cache.seed(keys);
        }
        self.by_url
            .insert(url.to_owned(), (source.clone(), cache.clone()));
        self.all.push(cache.clone());
        Ok(cache)
    }

    /// Every key set, in the order they were made.
    pub(crate) fn into_all(self) -> Vec<Arc<JwksCache>> {
        self.all
    }
}

/// What a fetch ends with.
type Outcome = Result<Arc<KeySet>, Error>;

/// A fetch under way in its own task: callers (the one that started it
/// included) only wait for its outcome.
#[derive(Clone)]
struct Flight(watch::Receiver<Option<Outcome>>);

impl Flight {
    fn is(&self, other: &Flight) -> bool {
        self.0.same_channel(&other.0)
    }

    /// The fetch's outcome, once it has one (at most `limit` later).
    async fn outcome(mut self, url: &str, limit: Duration) -> Outcome {
        match tokio::time::timeout(limit, self.0.wait_for(Option::is_some)).await {
            Ok(Ok(outcome)) => outcome.clone().unwrap_or_else(|| Err(task_ended(url))),
            // The task was dropped before it finished (its runtime shut down).
            Ok(Err(_)) => Err(task_ended(url)),
            Err(_) => Err(Error::JwksUnavailable {
                jwks_url: url.to_owned(),
                reason: format!("no outcome of the fetch within {limit:?}"),
            }),
        }
    }
}

fn task_ended(url: &str) -> Error {
    Error::JwksUnavailable {
        jwks_url: url.to_owned(),
        reason: "the fetch ended without a result (its runtime shut down)".into(),
    }
}

#[derive(Default)]
struct State {
    keys: Option<Arc<KeySet>>,
    fetched_at: Option<Instant>,
    /// The TTL of the current set.
    ttl: Duration,
    /// When an unknown `kid` last caused a refetch.
    last_kid_refetch: Option<Instant>,
    inflight: Option<Flight>,
    /// Failed fetches in a row; 0 when the last fetch succeeded.
    failures_in_a_row: u32,
    /// No fetch before this instant (backoff after a failure).
    retry_at: Option<Instant>,
    last_error: Option<Error>,
    counters: JwksCounters,
}

/// The cached key set of one JWKS URL.
pub(crate) struct JwksCache {
    url: String,
    client: reqwest::Client,
    settings: Arc<JwksSettings>,
    /// False when the keys come only from a document given at build time:
    /// never fetched, never stale.
    network: bool,
    state: Mutex<State>,
    /// The instant `quiet_until` counts from.
    epoch: Instant,
    /// Nanoseconds after `epoch` until which the current set needs neither
    /// a refresh nor a staleness check (0 before the first fetch): until
    /// then a token-cache hit whose key is current takes no lock.
    quiet_until: AtomicU64,
}

/// What a key lookup does once the lock is released.
enum Plan {
    /// Decided from the cached set (or refused without a fetch).
    Done(Result<Arc<RsaKey>, Error>),
    /// Waits for a fetch, then looks again.
    Wait(Flight),
}

impl JwksCache {
    /// `at` as nanoseconds after `epoch`.
    fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent at every point a panic could occur,
        // so a poisoned lock is still safe to use.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn unknown_kid(&self, kid: &str) -> Error {
        Error::UnknownKid {
            kid: Echo::some(kid),
            jwks_url: self.url.clone(),
        }
    }

    /// Stores a key set given at build time (a JWKS document), as if it had
    /// just been fetched.
    pub(crate) fn seed(&self, keys: KeySet) {
        let mut st = self.lock();
        self.store(&mut st, keys, self.settings.ttl, Instant::now());
    }

    /// Joins the fetch under way, or prepares a new one in its own task:
    /// the [`Launch`] to spawn once the lock is released. Needs a Tokio
    /// runtime to run on; without one (a synchronous caller) nothing starts.
    fn start_or_join(self: &Arc<Self>, st: &mut State) -> Result<(Flight, Option<Launch>), Error> {
        if let Some(flight) = &st.inflight {
            return Ok((flight.clone(), None));
        }
        if !self.network {
            return Err(self.offline());
        }
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| Error::JwksUnavailable {
                jwks_url: self.url.clone(),
                reason: "no Tokio runtime to fetch on".into(),
            })?;
        let (publish, receiver) = watch::channel(None);
        let flight = Flight(receiver);
        st.inflight = Some(flight.clone());
        st.counters.fetches += 1;
        let launch = Launch {
            runtime,
            publish,
            guard: InflightGuard {
                cache: self.clone(),
                flight: flight.clone(),
            },
        };
        Ok((flight, Some(launch)))
    }

    /// The cached set, if it is not too stale to use (a document's set
    /// never is).
    fn usable_keys(&self, st: &State, now: Instant) -> Option<Arc<KeySet>> {
        let age = now.saturating_duration_since(st.fetched_at?);
        (age <= self.settings.max_staleness || !self.network)
            .then(|| st.keys.clone())
            .flatten()
    }

    fn may_fetch(&self, st: &State, now: Instant) -> bool {
        self.network && st.retry_at.is_none_or(|t| now >= t)
    }

    fn offline(&self) -> Error {
        Error::JwksUnavailable {
            jwks_url: self.url.clone(),
            reason: "keys come only from the configured JWKS document (offline)".into(),
        }
    }

    /// Why there are no keys and no fetch now.
    fn backing_off(&self, st: &State) -> Error {
        st.last_error
            .clone()
            .unwrap_or_else(|| Error::JwksUnavailable {
                jwks_url: self.url.clone(),
                reason: "backing off after failed fetches".into(),
            })
    }

    /// The key for `kid` from the cached set only: never touches the network.
    /// The JWKS URL.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// `at_hydrate` says, when the set was never fetched, what would fetch
    /// it.
    pub(crate) fn cached_key(
        self: &Arc<Self>,
        kid: &str,
        at_hydrate: AtHydrate,
    ) -> Result<Arc<RsaKey>, Error> {
        let now = Instant::now();
        let (keys, refresh) = {
            let mut st = self.lock();
            let keys = self
                .usable_keys(&st, now)
                .ok_or_else(|| Error::JwksNotCached {
                    jwks_url: self.url.clone(),
                    remedy: at_hydrate.remedy(),
                })?;
            (keys, self.refresh_if_due(&mut st, now))
        };
        Launch::spawn_if(refresh);
        keys.get(kid).unwrap_or_else(|| Err(self.unknown_kid(kid)))
    }

    /// True while `key` is still in a usable set, so that a token verified
    /// with it may be trusted from the token cache.
    pub(crate) fn still_holds(self: &Arc<Self>, key: &Arc<RsaKey>) -> bool {
        let now = Instant::now();
        if !key.is_current() {
            return false;
        }
        if self.nanos(now) < self.quiet_until.load(Ordering::Acquire) {
            return true;
        }
        let (holds, refresh) = {
            let mut st = self.lock();
            // A key stays current exactly while the set holds it under its
            // kid (a set that replaces it retires it); the set itself must
            // still be usable.
            let holds = self.usable_keys(&st, now).is_some() && key.is_current();
            (holds, self.refresh_if_due(&mut st, now))
        };
        Launch::spawn_if(refresh);
        holds
    }

    /// A background refresh to launch, if the set is due for one (at 90%
    /// of its TTL, or of `max_staleness` when that is shorter, so that a
    /// set is refreshed before it grows too stale to use) and no fetch is
    /// under way or backing off. Nobody waits for it.
    fn refresh_if_due(self: &Arc<Self>, st: &mut State, now: Instant) -> Option<Launch> {
        let due_after = st.ttl.min(self.settings.max_staleness).mul_f64(0.9);
        let refresh_at = later(st.fetched_at?, due_after);
        if now < refresh_at || st.inflight.is_some() || !self.may_fetch(st, now) {
            return None;
        }
        let (_, launch) = self.start_or_join(st).ok()?;
        st.counters.background_refreshes += 1;
        telemetry::jwks_background_refresh(&self.url);
        launch
    }

    /// The key for `kid`, fetching the set when none is usable, refreshing
    /// it in the background when due, and refetching once when the kid is
    /// unknown (rate limited).
    pub(crate) async fn key(self: &Arc<Self>, kid: &str) -> Result<Arc<RsaKey>, Error> {
        let now = Instant::now();
        let (plan, launch) = {
            let mut st = self.lock();
            match self.usable_keys(&st, now) {
                Some(keys) => match keys.get(kid) {
                    Some(found) => (Plan::Done(found), self.refresh_if_due(&mut st, now)),
                    None => self.refetch_for_unknown_kid(&mut st, kid, now),
                },
                None if st.inflight.is_some() || self.may_fetch(&st, now) => {
                    match self.start_or_join(&mut st) {
                        Ok((flight, launch)) => (Plan::Wait(flight), launch),
                        Err(e) => (Plan::Done(Err(e)), None),
                    }
                }
                None => (Plan::Done(Err(self.backing_off(&st))), None),
            }
        };
        Launch::spawn_if(launch);
        match plan {
            Plan::Done(result) => result,
            Plan::Wait(flight) => {
                let keys = flight.outcome(&self.url, self.wait_limit()).await?;
                keys.get(kid).unwrap_or_else(|| Err(self.unknown_kid(kid)))
            }
        }
    }

    /// A kid the cached set lacks: wait for a refetch, unless one happened
    /// within the minimum interval or fetches are backing off. Only a fetch
    /// this starts counts against the interval.
    fn refetch_for_unknown_kid(
        self: &Arc<Self>,
        st: &mut State,
        kid: &str,
        now: Instant,
    ) -> (Plan, Option<Launch>) {
        let in_window = st
            .last_kid_refetch
            .is_some_and(|t| now.saturating_duration_since(t) < self.settings.min_refetch_interval);
        if in_window || !self.may_fetch(st, now) {
            st.counters.rate_limited += 1;
            telemetry::jwks_unknown_kid(&self.url, false);
            tracing::debug!(jwks_url = %self.url, "unknown kid; refetch not allowed yet");
            return (Plan::Done(Err(self.unknown_kid(kid))), None);
        }
        match self.start_or_join(st) {
            Ok((flight, launch)) => {
                if launch.is_some() {
                    st.last_kid_refetch = Some(now);
                    st.counters.unknown_kid_refetches += 1;
                    telemetry::jwks_unknown_kid(&self.url, true);
                    tracing::debug!(jwks_url = %self.url, "unknown kid; refetching the JWKS");
                }
                (Plan::Wait(flight), launch)
            }
            Err(e) => (Plan::Done(Err(e)), None),
        }
    }

    /// How long a caller waits for a fetch's outcome: the fetch's own
    /// timeout plus a margin. The fetch task is bounded by that timeout; the
    /// limit covers a task whose runtime is no longer driven.
    fn wait_limit(&self) -> Duration {
        self.settings
            .fetch_timeout
            .saturating_add(Duration::from_secs(1))
    }

    /// Fetches the key set now (joining a fetch already under way).
    /// An offline cache answers with the document's keys.
    pub(crate) async fn refresh(self: &Arc<Self>) -> Result<Arc<KeySet>, Error> {
        if !self.network {
            return self.lock().keys.clone().ok_or_else(|| self.offline());
        }
        let (flight, launch) = self.start_or_join(&mut self.lock())?;
        Launch::spawn_if(launch);
        flight.outcome(&self.url, self.wait_limit()).await
    }

    /// Whether this set has keys it may use now; if not, why. A probe
    /// also keeps an idle set fresh: a set due for its refresh is refreshed
    /// in the background, and a set that was fetched once but is now too
    /// stale (or, with `fetch_if_never`, never was) is fetched (both within
    /// the backoff), so that the answer turns ready as soon as the source
    /// answers, with no token needed.
    pub(crate) fn readiness(self: &Arc<Self>, fetch_if_never: bool) -> Result<(), NotReady> {
        let now = Instant::now();
        let (answer, launch) = {
            let mut st = self.lock();
            let usable = self.usable_keys(&st, now).is_some();
            let fetch = !usable
                && (fetch_if_never || st.fetched_at.is_some())
                && st.inflight.is_none()
                && self.may_fetch(&st, now);
            let launch = match fetch {
                true => self.start_or_join(&mut st).ok().and_then(|(_, l)| l),
                false => None,
            };
            match (usable, st.fetched_at) {
                (true, _) => (Ok(()), self.refresh_if_due(&mut st, now)),
                (false, None) => (
                    Err(NotReady::KeysNotFetched {
                        jwks_url: self.url.clone(),
                    }),
                    launch,
                ),
                (false, Some(at)) => {
                    let stale = NotReady::KeysStale {
                        jwks_url: self.url.clone(),
                        fetched_ago: now.saturating_duration_since(at),
                        max_staleness: self.settings.max_staleness,
                    };
                    (Err(stale), launch)
                }
            }
        };
        Launch::spawn_if(launch);
        answer
    }

    /// A snapshot for operators.
    pub(crate) fn status(&self) -> JwksStatus {
        let st = self.lock();
        JwksStatus {
            url: self.url.clone(),
            in_use: st.keys.is_some() || st.counters.fetches > 0,
            kids: st.keys.as_ref().map(|k| k.kids()).unwrap_or_default(),
            fetched_ago: st.fetched_at.map(|t| t.elapsed()),
            ttl: st.fetched_at.map(|_| st.ttl),
            last_error: st.last_error.clone(),
            failures_in_a_row: st.failures_in_a_row,
            counters: st.counters,
        }
    }

    /// The body of a fetch task: one GET, then the state updated with its
    /// outcome and the flight cleared, under one lock.
    async fn fetch_and_store(&self, flight: &Flight) -> Outcome {
        let previous = self.lock().keys.clone();
        let started = Instant::now();
        let fetched = self.fetch(previous.as_deref()).await;
        telemetry::jwks_fetched(
            &self.url,
            started.elapsed(),
            fetched.as_ref().err().map(Error::kind),
        );
        let mut st = self.lock();
        let now = Instant::now();
        let outcome = match fetched {
            Ok((keys, ttl)) => Ok(self.store(&mut st, keys, ttl, now)),
            Err(e) => Err(self.record_failure(&mut st, e, now)),
        };
        if st.inflight.as_ref().is_some_and(|f| f.is(flight)) {
            st.inflight = None;
        }
        outcome
    }

    /// A fetched set replaces the old one whole: a key removed upstream
    /// stops verifying.
    fn store(&self, st: &mut State, keys: KeySet, ttl: Duration, now: Instant) -> Arc<KeySet> {
        let keys = Arc::new(keys);
        if let Some(old) = &st.keys {
            old.retire_missing_from(&keys);
        }
        let quiet = ttl.mul_f64(0.9).min(self.settings.max_staleness);
        let quiet = match self.network {
            true => u64::try_from(quiet.as_nanos()).unwrap_or(u64::MAX),
            false => u64::MAX, // a document's keys need no refresh
        };
        self.quiet_until
            .store(self.nanos(now).saturating_add(quiet), Ordering::Release);
        if st.failures_in_a_row > 0 {
            tracing::info!(jwks_url = %self.url, after_failures = st.failures_in_a_row, "JWKS fetch recovered");
        }
        st.keys = Some(keys.clone());
        st.fetched_at = Some(now);
        st.ttl = ttl;
        st.failures_in_a_row = 0;
        st.retry_at = None;
        st.last_error = None;
        keys
    }

    /// Counts a failed fetch and schedules the next attempt.
    fn record_failure(&self, st: &mut State, e: Error, now: Instant) -> Error {
        st.counters.failures += 1;
        st.failures_in_a_row = st.failures_in_a_row.saturating_add(1);
        let wait = backoff(self.settings.backoff, st.failures_in_a_row);
        st.retry_at = Some(later(now, wait));
        if st.failures_in_a_row == 1 {
            let keeping = match (&st.keys, st.fetched_at) {
                (Some(_), Some(at)) => format!(
                    "keeping the keys fetched {:?} ago",
                    now.saturating_duration_since(at)
                ),
                _ => "no keys cached".to_owned(),
            };
            tracing::warn!(jwks_url = %self.url, error.kind = e.kind(), error = %e, retry_in = ?wait, "JWKS fetch failed; {keeping}");
        } else {
            tracing::debug!(jwks_url = %self.url, error.kind = e.kind(), failures_in_a_row = st.failures_in_a_row, retry_in = ?wait, "JWKS fetch failed again");
        }
        st.last_error = Some(e.clone());
        e
    }

    /// One GET of the JWKS: the parsed set and its TTL.
    async fn fetch(&self, previous: Option<&KeySet>) -> Result<(KeySet, Duration), Error> {
        let unavailable = |reason: String| Error::JwksUnavailable {
            jwks_url: self.url.clone(),
            reason,
        };
        let too_big = || Error::InvalidJwks {
            jwks_url: self.url.clone(),
            reason: format!(
                "the body is larger than {} bytes",
                self.settings.max_body_bytes
            ),
        };
        tracing::debug!(jwks_url = %self.url, "fetching JWKS");
        let fetched = fetch_capped(&self.client, &self.url, "application/json", &self.settings)
            .await
            .map_err(unavailable)?;
        let (body, headers) = match fetched {
            Fetched::Body(body, headers) => (body, headers),
            Fetched::Status(status) => return Err(unavailable(status_reason(status))),
            Fetched::TooBig => return Err(too_big()),
        };
        let ttl = self.ttl_of(&headers);
        Ok((KeySet::parse(&body, &self.url, previous)?, ttl))
    }

    /// The configured TTL, or `Cache-Control: max-age` within the bounds.
    fn ttl_of(&self, headers: &reqwest::header::HeaderMap) -> Duration {
        let (min, max) = self.settings.ttl_bounds;
        match cache_control_max_age(headers) {
            Some(age) => age.clamp(min, max),
            None => self.settings.ttl,
        }
    }
}

/// `max-age` of a `Cache-Control` header; `no-cache`/`no-store` read as 0.
fn cache_control_max_age(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let mut found = None;
    for value in headers.get_all(reqwest::header::CACHE_CONTROL) {
        for directive in value.to_str().ok()?.split(',') {
            let directive = directive.trim().to_ascii_lowercase();
            if directive == "no-cache" || directive == "no-store" {
                return Some(Duration::ZERO);
            }
            if let Some(secs) = directive.strip_prefix("max-age=") {
                found = secs
                    .trim_matches('"')
                    .parse::<u64>()
                    .ok()
                    .map(Duration::from_secs);
            }
        }
    }
    found
}

/// The wait after the `failures`-th failure in a row: `initial` doubled each
/// time up to `max`, then "equal jitter" (between half and all of it), so
/// that many verifiers do not retry in step.
fn backoff((initial, max): (Duration, Duration), failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(30);
    let full = initial.saturating_mul(1u32 << doublings).min(max);
    let mut byte = [0u8; 1];
    let _ = SystemRandom::new().fill(&mut byte);
    full / 2 + (full / 2).mul_f64(f64::from(byte[0]) / 255.0)
}

/// `at + wait`, or `at` itself where that would overflow (the settings
/// are bounded at `build()`, so it never does in practice): an instant
/// computed from a configuration or a server header never panics.
fn later(at: Instant, wait: Duration) -> Instant {
    at.checked_add(wait).unwrap_or(at)
}

/// A fetch task prepared under the state lock, spawned only once the lock
/// is released: on a runtime that is shutting down, spawning drops the task
/// at once, and its guard takes the lock.
struct Launch {
    runtime: tokio::runtime::Handle,
    publish: watch::Sender<Option<Outcome>>,
    guard: InflightGuard,
}

impl Launch {
    fn spawn_if(launch: Option<Launch>) {
        let Some(Launch {
            runtime,
            publish,
            guard,
        }) = launch
        else {
            return;
        };
        runtime.spawn(async move {
            let outcome = guard.cache.fetch_and_store(&guard.flight).await;
            publish.send_replace(Some(outcome));
            drop(guard);
        });
    }
}

/// Clears the cache's in-flight fetch when its task ends, however it ends
/// (done, or dropped with its runtime).
struct InflightGuard {
    cache: Arc<JwksCache>,
    flight: Flight,
}

impl Drop for InflightGuard {
    fn drop(&mut self) {
        let mut st = self.cache.lock();
        if st.inflight.as_ref().is_some_and(|f| f.is(&self.flight)) {
            st.inflight = None;
        }
    }
}

/// A reqwest error in a few words, with its causes.
fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the body could not be read"
    } else {
        "request failed"
    };
    let mut out = what.to_owned();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{CACHE_CONTROL, HeaderMap, HeaderValue};

    #[test]
    fn backoff_doubles_up_to_the_cap_with_bounded_jitter() {
        let b = (Duration::from_secs(1), Duration::from_secs(60));
        for (failures, full) in [(1, 1), (2, 2), (3, 4), (7, 60), (40, 60), (u32::MAX, 60)] {
            let full = Duration::from_secs(full);
            for _ in 0..20 {
                let wait = backoff(b, failures);
                assert!(wait >= full / 2 && wait <= full, "{failures}: {wait:?}");
            }
        }
    }

    #[test]
    fn reads_max_age_from_cache_control() {
        let mut h = HeaderMap::new();
        assert_eq!(cache_control_max_age(&h), None);
        h.insert(
            CACHE_CONTROL,
            HeaderValue::from_static("public, Max-Age=600, must-revalidate"),
        );
        assert_eq!(cache_control_max_age(&h), Some(Duration::from_secs(600)));
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        assert_eq!(cache_control_max_age(&h), Some(Duration::ZERO));
        h.insert(CACHE_CONTROL, HeaderValue::from_static("max-age=lots"));
        assert_eq!(cache_control_max_age(&h), None);
    }
}
