//! The public keys of ALB tokens: one PEM document per key id, at
//! `<base>/<kid>` (there is no JWKS), fetched once per kid, kept parsed.
//!
//! - **Single flight:** concurrent tokens with a new kid wait for one fetch.
//! - **Bounded:** at most [`MAX_KEYS`] keys are kept (the oldest leaves
//!   first), and at most [`NEW_KEYS_PER_INTERVAL`] new kids are fetched
//!   within the verifier's `jwks_min_refetch_interval`, so a flood of
//!   tokens with made-up UUIDs costs a few requests, not one each.
//! - **Failures** are remembered for that interval too: a kid the key
//!   endpoint does not know (HTTP 403 or 404) is `unknown_kid`; an endpoint
//!   that cannot be reached or answers otherwise is `jwks_unavailable`.
//! - **The same caps and timeouts** as a JWKS: the verifier's HTTP client,
//!   fetch timeout and body cap; no redirects.

use std::collections::{HashMap, VecDeque};
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
/// The most kids not seen before that are fetched within one
/// `jwks_min_refetch_interval`.
pub(crate) const NEW_KEYS_PER_INTERVAL: usize = 4;

/// A load balancer's P-256 public key, parsed once.
pub(crate) struct EcKey {
    key: ParsedPublicKey,
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
        Ok(EcKey { key })
    }

    /// True when `signature` (`R ‖ S`) signs the message whose SHA-256 is
    /// `digest`.
    pub(crate) fn verify(&self, digest: &Digest, signature: &[u8]) -> bool {
        self.key.verify_digest_sig(digest, signature).is_ok()
    }
}

/// A kid's key: being fetched (the cell not yet set), fetched, or failed
/// (with when).
type Slot = Arc<OnceCell<(Result<Arc<EcKey>, Error>, Instant)>>;

#[derive(Default)]
struct State {
    by_url: HashMap<String, Slot>,
    /// Key URLs in the order they were added: the first leaves first.
    order: VecDeque<String>,
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
            state: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update leaves the state consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The key at `url` if it is known: fetched, or failed recently.
    pub(crate) fn cached(&self, url: &str) -> Option<Result<Arc<EcKey>, Error>> {
        let st = self.lock();
        let (result, at) = st.by_url.get(url)?.get()?;
        match result {
            Ok(key) => Some(Ok(key.clone())),
            Err(e) if at.elapsed() < self.settings.min_refetch_interval => Some(Err(e.clone())),
            Err(_) => None,
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
        let (result, _) = slot
            .get_or_init(|| async { (self.fetch(url, kid).await, Instant::now()) })
            .await;
        result.clone()
    }

    fn find_or_start(&self, url: &str, kid: &str) -> Found {
        let now = Instant::now();
        let interval = self.settings.min_refetch_interval;
        let mut st = self.lock();
        if let Some(slot) = st.by_url.get(url) {
            match slot.get() {
                None => return Found::Wait(slot.clone()),
                Some((Ok(key), _)) => return Found::Decided(Ok(key.clone())),
                Some((Err(e), at)) if now.duration_since(*at) < interval => {
                    return Found::Decided(Err(e.clone()));
                }
                Some((Err(_), _)) => {
                    st.by_url.remove(url);
                    st.order.retain(|u| u != url);
                }
            }
        }
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
        if st.by_url.len() >= MAX_KEYS
            && let Some(oldest) = st.order.pop_front()
        {
            st.by_url.remove(&oldest);
        }
        let slot = Slot::default();
        st.by_url.insert(url.to_owned(), slot.clone());
        st.order.push_back(url.to_owned());
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
