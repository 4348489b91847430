//! The public keys of ALB tokens: one PEM document per key id, at
//! `<base>/<kid>` (there is no JWKS), fetched once per kid, kept parsed.
//!
//! - **Single flight:** concurrent tokens with a new kid wait for one fetch.
//! - **Keys and failures apart:** at most [`MAX_KEYS`] keys are kept, and a
//!   failed lookup never takes a key's place. Failures live in their own
//!   table of at most [`MAX_FAILURES`], each remembered for the verifier's
//!   `key_min_refetch_interval`: a kid the key endpoint does not know (HTTP
//!   403 or 404) is `unknown_kid`; an endpoint that cannot be reached or
//!   answers otherwise is `jwks_unavailable`. When the keys are full, a key
//!   that never verified a token leaves first, then the oldest.
//! - **A budget for new kids:** at most [`NEW_KEYS_PER_INTERVAL`] kids not
//!   seen before are fetched within `key_min_refetch_interval`, so a flood
//!   of tokens with made-up UUIDs costs a few requests, not one each. A kid
//!   whose key verified a token before (and was pushed out since) is
//!   fetched outside that budget: a flood of made-up kids cannot keep a
//!   load balancer's real key away.
//! - **The same caps and timeouts** as a JWKS: the verifier's HTTP client,
//!   fetch timeout and body cap; no redirects.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use aws_lc_rs::digest::Digest;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, ParsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tokio::sync::OnceCell;

use crate::Error;
use crate::error::Echo;
use crate::jwks::{Fetched, JwksSettings, fetch_capped, status_reason};

/// The most keys kept: ALB rotates its keys rarely, and a verifier serves a
/// handful of load balancers.
pub(crate) const MAX_KEYS: usize = 64;
/// The most failed lookups remembered (the new-kid budget lets only a few
/// in per interval anyway).
pub(crate) const MAX_FAILURES: usize = 256;
/// The most key URLs remembered as having verified a token, for refetches
/// outside the new-kid budget.
const MAX_ONCE_GOOD: usize = 4 * MAX_KEYS;
/// The most kids not seen before that are fetched within one
/// `jwks_min_refetch_interval`.
pub(crate) const NEW_KEYS_PER_INTERVAL: usize = 4;

/// A load balancer's P-256 public key, parsed once.
pub(crate) struct EcKey {
    key: ParsedPublicKey,
    /// Set once a token's signature verified with this key.
    verified_a_token: AtomicBool,
}

impl EcKey {
    /// Parses a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) document holding a
    /// P-256 key, and nothing else.
    pub(crate) fn from_pem(body: &[u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(body).map_err(|_| "the key document is not text")?;
        let inner = text
            .trim()
            .strip_prefix("-----BEGIN PUBLIC KEY-----")
            .and_then(|rest| rest.strip_suffix("-----END PUBLIC KEY-----"))
            .ok_or("the key document is not one PEM \"PUBLIC KEY\"")?;
        let base64: String = inner
            .chars()
            .filter(|c| !matches!(c, '\r' | '\n'))
            .collect();
        let der = STANDARD
            .decode(base64.as_bytes())
            .map_err(|_| "the PEM body is not base64")?;
        // A SubjectPublicKeyInfo is a DER SEQUENCE (a bare EC point is not
        // what the key endpoint serves).
        if der.first() != Some(&0x30) {
            return Err("the PEM body is not a SubjectPublicKeyInfo".into());
        }
        let key = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, der)
            .map_err(|e| format!("not a P-256 public key: {e}"))?;
        Ok(EcKey {
            key,
            verified_a_token: AtomicBool::new(false),
        })
    }

    /// True when `signature` (`R ‖ S`) signs the message whose SHA-256 is
    /// `digest`. A key that verified once is kept before one that never did.
    pub(crate) fn verify(&self, digest: &Digest, signature: &[u8]) -> bool {
        let good = self.key.verify_digest_sig(digest, signature).is_ok();
        if good && !self.verified_a_token.load(Ordering::Relaxed) {
            self.verified_a_token.store(true, Ordering::Relaxed);
        }
        good
    }

    fn has_verified_a_token(&self) -> bool {
        self.verified_a_token.load(Ordering::Relaxed)
    }
}

/// A kid's key being fetched: every token that needs it waits on the cell.
type Slot = Arc<OnceCell<Result<Arc<EcKey>, Error>>>;

/// A bounded table whose oldest entry leaves first.
struct Fifo<V> {
    map: HashMap<String, V>,
    order: VecDeque<String>,
    cap: usize,
}

impl<V> Fifo<V> {
    fn new(cap: usize) -> Self {
        Fifo {
            map: HashMap::new(),
            order: VecDeque::new(),
            cap,
        }
    }

    fn get(&self, url: &str) -> Option<&V> {
        self.map.get(url)
    }

    fn remove(&mut self, url: &str) -> Option<V> {
        let removed = self.map.remove(url)?;
        self.order.retain(|u| u != url);
        Some(removed)
    }

    /// Inserts (or replaces) `url`. When full, the oldest entry that
    /// `evict_first` picks leaves, else the oldest; it is returned.
    fn insert(
        &mut self,
        url: &str,
        value: V,
        evict_first: impl Fn(&V) -> bool,
    ) -> Option<(String, V)> {
        self.remove(url);
        let mut evicted = None;
        if self.map.len() >= self.cap {
            let position = self
                .order
                .iter()
                .position(|u| self.map.get(u).is_some_and(&evict_first))
                .unwrap_or(0);
            if let Some(gone) = self.order.remove(position) {
                evicted = self.map.remove(&gone).map(|value| (gone, value));
            }
        }
        self.map.insert(url.to_owned(), value);
        self.order.push_back(url.to_owned());
        evicted
    }
}

struct State {
    /// Keys that were fetched and parsed.
    keys: Fifo<Arc<EcKey>>,
    /// Failed lookups, with when they failed.
    failures: Fifo<(Error, Instant)>,
    /// Fetches in flight.
    pending: HashMap<String, Slot>,
    /// Key URLs whose key verified a token and then left `keys`.
    once_good: Fifo<()>,
    /// When recent fetches of new kids started.
    new_fetches: VecDeque<Instant>,
}

/// The keys of every load balancer of one verifier.
pub(crate) struct AlbKeys {
    client: reqwest::Client,
    settings: Arc<JwksSettings>,
    state: Mutex<State>,
}

/// What a lookup found without waiting.
enum Found {
    Decided(Result<Arc<EcKey>, Error>),
    Wait(Slot),
}

impl AlbKeys {
    pub(crate) fn new(client: reqwest::Client, settings: Arc<JwksSettings>) -> Self {
        AlbKeys {
            client,
            settings,
            state: Mutex::new(State {
                keys: Fifo::new(MAX_KEYS),
                failures: Fifo::new(MAX_FAILURES),
                pending: HashMap::new(),
                once_good: Fifo::new(MAX_ONCE_GOOD),
                new_fetches: VecDeque::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update leaves the state consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The key at `url` if it is known: fetched, or failed recently.
    pub(crate) fn cached(&self, url: &str) -> Option<Result<Arc<EcKey>, Error>> {
        let st = self.lock();
        if let Some(key) = st.keys.get(url) {
            return Some(Ok(key.clone()));
        }
        match st.failures.get(url) {
            Some((e, at)) if at.elapsed() < self.settings.min_refetch_interval => {
                Some(Err(e.clone()))
            }
            _ => None,
        }
    }

    /// The key at `url` (`<base>/<kid>`), fetched if needed.
    pub(crate) async fn key(&self, url: &str, kid: &str) -> Result<Arc<EcKey>, Error> {
        let slot = match self.find_or_start(url, kid) {
            Found::Decided(result) => return result,
            Found::Wait(slot) => slot,
        };
        // If the caller that started the fetch goes away, the next waiter
        // runs it: a fetch never stays half-done.
        let result = slot.get_or_init(|| self.fetch(url, kid)).await.clone();
        self.settle(url, &slot, &result);
        result
    }

    /// Moves a finished fetch from `pending` to the keys or the failures
    /// (once, whichever waiter comes first).
    fn settle(&self, url: &str, slot: &Slot, result: &Result<Arc<EcKey>, Error>) {
        let mut st = self.lock();
        if !st.pending.get(url).is_some_and(|p| Arc::ptr_eq(p, slot)) {
            return;
        }
        st.pending.remove(url);
        match result {
            Ok(key) => {
                st.failures.remove(url);
                let evicted = st
                    .keys
                    .insert(url, key.clone(), |k| !k.has_verified_a_token());
                if let Some((gone, key)) = evicted {
                    tracing::debug!(key_url = %gone, "an ALB public key left the cache");
                    if key.has_verified_a_token() {
                        st.once_good.insert(&gone, (), |()| true);
                    }
                }
            }
            Err(e) => {
                st.failures
                    .insert(url, (e.clone(), Instant::now()), |_| true);
            }
        }
    }

    fn find_or_start(&self, url: &str, kid: &str) -> Found {
        let now = Instant::now();
        let interval = self.settings.min_refetch_interval;
        let mut st = self.lock();
        if let Some(key) = st.keys.get(url) {
            return Found::Decided(Ok(key.clone()));
        }
        if let Some(slot) = st.pending.get(url) {
            return Found::Wait(slot.clone());
        }
        match st.failures.get(url) {
            Some((e, at)) if now.duration_since(*at) < interval => {
                return Found::Decided(Err(e.clone()));
            }
            Some(_) => {
                st.failures.remove(url);
            }
            None => {}
        }
        if st.once_good.get(url).is_none() {
            while st
                .new_fetches
                .front()
                .is_some_and(|started| now.duration_since(*started) >= interval)
            {
                st.new_fetches.pop_front();
            }
            if st.new_fetches.len() >= NEW_KEYS_PER_INTERVAL {
                return Found::Decided(Err(Error::UnknownKid {
                    kid: Echo::some(kid),
                    jwks_url: format!(
                        "{url} (not fetched: {NEW_KEYS_PER_INTERVAL} new key ids were fetched in the last {interval:?})"
                    ),
                }));
            }
            st.new_fetches.push_back(now);
        }
        let slot = Slot::default();
        st.pending.insert(url.to_owned(), slot.clone());
        Found::Wait(slot)
    }

    async fn fetch(&self, url: &str, kid: &str) -> Result<Arc<EcKey>, Error> {
        let unavailable = |reason: String| Error::JwksUnavailable {
            jwks_url: url.to_owned(),
            reason,
        };
        let invalid = |reason: String| Error::InvalidKey {
            kid: Echo::some(kid),
            reason,
        };
        tracing::debug!(key_url = %url, "fetching an ALB public key");
        let fetched = fetch_capped(
            &self.client,
            url,
            "application/x-pem-file, text/plain, */*",
            &self.settings,
        )
        .await
        .map_err(unavailable)?;
        match fetched {
            Fetched::Body(body, _) => EcKey::from_pem(&body).map(Arc::new).map_err(invalid),
            Fetched::Status(reqwest::StatusCode::NOT_FOUND | reqwest::StatusCode::FORBIDDEN) => {
                Err(Error::UnknownKid {
                    kid: Echo::some(kid),
                    jwks_url: url.to_owned(),
                })
            }
            Fetched::Status(status) => Err(unavailable(status_reason(status))),
            Fetched::TooBig => Err(invalid(format!(
                "the key document is larger than {} bytes",
                self.settings.max_body_bytes
            ))),
        }
    }
}
