//! JWKS: parse key sets, fetch them over HTTP, cache one set per URL.
//!
//! Each key is parsed once, when its set is fetched; a verify only looks it
//! up. Fetches are single flight (concurrent callers share one request),
//! bounded in time and size, and refetches caused by an unknown `kid` are
//! rate limited. No lock is held across network I/O.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm, PublicKeyUse};
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::Error;
use crate::error::Echo;

/// RSA moduli accepted for RS256: at least 2048 bits (NIST's minimum, and
/// Cognito's size), at most 8192 (aws-lc's verification limit).
const MIN_RSA_BITS: usize = 2048;
const MAX_RSA_BITS: usize = 8192;

/// An RSA public key from a JWKS, parsed once and ready to verify RS256.
pub(crate) struct RsaKey {
    key: ParsedPublicKey,
}

impl RsaKey {
    /// Verifies an RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signature.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.key.verify_sig(message, signature).is_ok()
    }
}

/// A JWKS entry: a key that can verify RS256, or why it cannot.
enum Entry {
    Usable(Arc<RsaKey>),
    Unusable(String),
}

/// One fetched JWKS, keyed by `kid`.
pub(crate) struct KeySet {
    entries: HashMap<String, Entry>,
}

impl KeySet {
    /// Parses a JWKS document. A document that is not a JSON object with a
    /// `keys` array is `invalid_jwks`; single entries that cannot verify
    /// RS256 are kept as unusable, so that a token naming one gets a clear
    /// `invalid_key` instead of `unknown_kid`.
    pub(crate) fn parse(body: &[u8], url: &str) -> Result<KeySet, Error> {
        let invalid = |reason: String| Error::InvalidJwks {
            url: url.to_owned(),
            reason,
        };
        let doc = crate::token::strict_json(body)
            .map_err(|e| invalid(format!("the body is not valid JSON: {e}")))?;
        let Some(Value::Array(keys)) = doc.get("keys") else {
            return Err(invalid(
                "the body is not a JSON object with a \"keys\" array".into(),
            ));
        };
        let mut entries = HashMap::with_capacity(keys.len());
        for raw in keys {
            let Some(kid) = raw.get("kid").and_then(Value::as_str) else {
                continue; // a key without a kid can never be selected
            };
            let entry = match parse_entry(raw) {
                Ok(key) => Entry::Usable(Arc::new(key)),
                Err(reason) => Entry::Unusable(reason),
            };
            let merged = match entries.remove(kid) {
                None => entry,
                Some(previous) => merge(previous, entry),
            };
            entries.insert(kid.to_owned(), merged);
        }
        Ok(KeySet { entries })
    }

    fn get(&self, kid: &str) -> Option<Result<Arc<RsaKey>, Error>> {
        self.entries.get(kid).map(|entry| match entry {
            Entry::Usable(key) => Ok(key.clone()),
            Entry::Unusable(reason) => Err(Error::InvalidKey {
                kid: Echo::some(kid),
                reason: reason.clone(),
            }),
        })
    }

    /// The key ids of the set, sorted.
    pub(crate) fn kids(&self) -> Vec<String> {
        let mut kids: Vec<String> = self.entries.keys().cloned().collect();
        kids.sort();
        kids
    }
}

/// Two entries under one `kid`. An entry that cannot verify RS256 (an `enc`
/// key, an `oct` key) never displaces one that can; two different RS256
/// keys make the kid ambiguous, so neither is used.
fn merge(previous: Entry, next: Entry) -> Entry {
    match (previous, next) {
        (Entry::Usable(a), Entry::Usable(b)) if a.key.as_ref() == b.key.as_ref() => {
            Entry::Usable(a)
        }
        (Entry::Usable(_), Entry::Usable(_)) => Entry::Unusable(
            "the kid names two different RSA keys in the JWKS, so which one signed is ambiguous"
                .into(),
        ),
        (Entry::Usable(key), Entry::Unusable(_)) | (Entry::Unusable(_), Entry::Usable(key)) => {
            Entry::Usable(key)
        }
        (unusable @ Entry::Unusable(_), Entry::Unusable(_)) => unusable,
    }
}

/// Turns one JWKS entry into an RS256 key, or says why it is not one.
/// Only `kty: RSA` entries become keys: an `oct` entry is never an HMAC
/// secret here, whatever `kid` it carries.
fn parse_entry(raw: &Value) -> Result<RsaKey, String> {
    let kty = raw.get("kty").and_then(Value::as_str).unwrap_or("none");
    if kty != "RSA" {
        return Err(format!(
            "kty is {:?}, not \"RSA\"",
            Echo::some(kty).as_deref().unwrap_or_default()
        ));
    }
    let jwk: Jwk = serde_json::from_value(raw.clone())
        .map_err(|e| format!("the entry is not a valid JWK: {e}"))?;
    match &jwk.common.public_key_use {
        None | Some(PublicKeyUse::Signature) => {}
        Some(other) => return Err(format!("use is {other:?}, not \"sig\"")),
    }
    match jwk.common.key_algorithm {
        None | Some(KeyAlgorithm::RS256) => {}
        Some(other) => return Err(format!("alg is {other:?}, not RS256")),
    }
    let AlgorithmParameters::RSA(rsa) = &jwk.algorithm else {
        return Err("the RSA key lacks its modulus \"n\" or exponent \"e\"".into());
    };
    let n = URL_SAFE_NO_PAD
        .decode(&rsa.n)
        .map_err(|_| "the modulus \"n\" is not unpadded base64url".to_owned())?;
    let e = URL_SAFE_NO_PAD
        .decode(&rsa.e)
        .map_err(|_| "the exponent \"e\" is not unpadded base64url".to_owned())?;
    let n = strip_leading_zeros(&n);
    let e = strip_leading_zeros(&e);
    let bits = bit_length(n);
    if bits < MIN_RSA_BITS {
        return Err(format!(
            "the modulus has {bits} bits, fewer than {MIN_RSA_BITS}"
        ));
    }
    if bits > MAX_RSA_BITS {
        return Err(format!(
            "the modulus has {bits} bits, more than {MAX_RSA_BITS}"
        ));
    }
    if e.is_empty() || e.len() > 4 {
        return Err("the exponent \"e\" is not a 1 to 32 bit number".into());
    }
    let key = RsaPublicKeyComponents { n, e }
        .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
        .map_err(|err| format!("the RSA key was rejected: {err}"))?;
    Ok(RsaKey { key })
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

fn bit_length(be: &[u8]) -> usize {
    match be.first() {
        None => 0,
        Some(&top) => be.len() * 8 - top.leading_zeros() as usize,
    }
}

/// Limits of one JWKS source.
#[derive(Clone, Debug)]
pub(crate) struct JwksLimits {
    pub max_body_bytes: usize,
    pub min_refetch_interval: Duration,
}

/// A shared fetch: the first caller runs it, the others wait for its result.
type Flight = Arc<OnceCell<Result<Arc<KeySet>, Error>>>;

#[derive(Default)]
struct State {
    keys: Option<Arc<KeySet>>,
    fetched_at: Option<Instant>,
    /// When an unknown `kid` last caused a refetch.
    last_kid_refetch: Option<Instant>,
    inflight: Option<Flight>,
}

/// The cached key set of one JWKS URL.
pub(crate) struct JwksCache {
    url: String,
    client: reqwest::Client,
    limits: JwksLimits,
    state: Mutex<State>,
}

impl JwksCache {
    pub(crate) fn new(url: String, client: reqwest::Client, limits: JwksLimits) -> Self {
        JwksCache {
            url,
            client,
            limits,
            state: Mutex::new(State::default()),
        }
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
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

    /// The key for `kid` from the cached set only: never touches the network.
    pub(crate) fn cached_key(&self, kid: &str) -> Result<Arc<RsaKey>, Error> {
        let keys = self
            .lock()
            .keys
            .clone()
            .ok_or_else(|| Error::JwksNotCached {
                url: self.url.clone(),
            })?;
        keys.get(kid).unwrap_or_else(|| Err(self.unknown_kid(kid)))
    }

    /// True while `key` is still the key of `kid` in the current set, so that
    /// a token verified with it may be trusted from the token cache.
    pub(crate) fn still_holds(&self, kid: &str, key: &Arc<RsaKey>) -> bool {
        let st = self.lock();
        matches!(
            st.keys.as_ref().and_then(|k| k.entries.get(kid)),
            Some(Entry::Usable(current)) if Arc::ptr_eq(current, key)
        )
    }

    /// The key for `kid`, fetching the set when none is cached, and
    /// refetching once when the kid is unknown (rate limited).
    pub(crate) async fn key(&self, kid: &str) -> Result<Arc<RsaKey>, Error> {
        let flight = {
            let mut st = self.lock();
            match st.keys.as_ref().map(|keys| keys.get(kid)) {
                Some(Some(found)) => return found,
                Some(None) => {
                    let now = Instant::now();
                    let in_window = st
                        .last_kid_refetch
                        .is_some_and(|t| now.duration_since(t) < self.limits.min_refetch_interval);
                    if in_window {
                        tracing::debug!(jwks_url = %self.url, "unknown kid inside the refetch interval; not refetching");
                        return Err(self.unknown_kid(kid));
                    }
                    st.last_kid_refetch = Some(now);
                    tracing::debug!(jwks_url = %self.url, "unknown kid; refetching the JWKS");
                    join_or_start(&mut st)
                }
                None => join_or_start(&mut st),
            }
        };
        let keys = self.run(flight).await?;
        keys.get(kid).unwrap_or_else(|| Err(self.unknown_kid(kid)))
    }

    /// Fetches the key set now (joining a fetch already under way).
    pub(crate) async fn refresh(&self) -> Result<Arc<KeySet>, Error> {
        let flight = join_or_start(&mut self.lock());
        self.run(flight).await
    }

    /// The cached set and when it was fetched.
    pub(crate) fn snapshot(&self) -> Option<(Arc<KeySet>, Instant)> {
        let st = self.lock();
        st.keys.clone().zip(st.fetched_at)
    }

    async fn run(&self, flight: Flight) -> Result<Arc<KeySet>, Error> {
        flight
            .get_or_init(|| async {
                let result = self.fetch().await.map(Arc::new);
                let mut st = self.lock();
                match &result {
                    // A fetched set replaces the old one whole: a key removed
                    // upstream stops verifying.
                    Ok(keys) => {
                        st.keys = Some(keys.clone());
                        st.fetched_at = Some(Instant::now());
                    }
                    Err(e) => {
                        tracing::warn!(jwks_url = %self.url, error.kind = e.kind(), error = %e, "JWKS fetch failed");
                    }
                }
                if st.inflight.as_ref().is_some_and(|f| Arc::ptr_eq(f, &flight)) {
                    st.inflight = None;
                }
                result
            })
            .await
            .clone()
    }

    async fn fetch(&self) -> Result<KeySet, Error> {
        let unavailable = |reason: String| Error::JwksUnavailable {
            url: self.url.clone(),
            reason,
        };
        let too_big = || Error::InvalidJwks {
            url: self.url.clone(),
            reason: format!(
                "the body is larger than {} bytes",
                self.limits.max_body_bytes
            ),
        };
        tracing::debug!(jwks_url = %self.url, "fetching JWKS");
        let mut response = self
            .client
            .get(&self.url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| unavailable(describe(&e)))?;
        let status = response.status();
        if status != reqwest::StatusCode::OK {
            let extra = if status.is_redirection() {
                " (redirects are not followed)"
            } else {
                ""
            };
            return Err(unavailable(format!("HTTP status {status}{extra}")));
        }
        if response
            .content_length()
            .is_some_and(|len| len > self.limits.max_body_bytes as u64)
        {
            return Err(too_big());
        }
        // The cap holds while the body streams in, not after it is buffered.
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| unavailable(describe(&e)))?
        {
            if body.len() + chunk.len() > self.limits.max_body_bytes {
                return Err(too_big());
            }
            body.extend_from_slice(&chunk);
        }
        KeySet::parse(&body, &self.url)
    }
}

fn join_or_start(st: &mut State) -> Flight {
    st.inflight
        .get_or_insert_with(|| Arc::new(OnceCell::new()))
        .clone()
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
    use serde_json::json;

    fn modulus(bits: usize) -> String {
        let mut n = vec![0xC5u8; bits / 8];
        n[0] = 0xC5;
        *n.last_mut().unwrap() |= 1;
        URL_SAFE_NO_PAD.encode(n)
    }

    fn set(keys: Value) -> KeySet {
        KeySet::parse(json!({ "keys": keys }).to_string().as_bytes(), "u").unwrap()
    }

    fn reason(set: &KeySet, kid: &str) -> String {
        match set.get(kid) {
            Some(Err(e)) => {
                assert_eq!(e.kind(), "invalid_key");
                e.to_string()
            }
            Some(Ok(_)) => panic!("{kid} was usable"),
            None => panic!("{kid} was missing"),
        }
    }

    #[test]
    fn keeps_rsa_sig_keys_and_explains_the_others() {
        let s = set(json!([
            {"kid": "good", "kty": "RSA", "alg": "RS256", "use": "sig", "n": modulus(2048), "e": "AQAB"},
            {"kid": "bare", "kty": "RSA", "n": modulus(2048), "e": "AQAB"},
            {"kid": "enc", "kty": "RSA", "use": "enc", "n": modulus(2048), "e": "AQAB"},
            {"kid": "rs512", "kty": "RSA", "alg": "RS512", "n": modulus(2048), "e": "AQAB"},
            {"kid": "small", "kty": "RSA", "n": modulus(1024), "e": "AQAB"},
            {"kid": "huge", "kty": "RSA", "n": modulus(16384), "e": "AQAB"},
            {"kid": "oct", "kty": "oct", "k": "c2VjcmV0"},
            {"kid": "no-n", "kty": "RSA", "e": "AQAB"},
            {"kid": "bad-n", "kty": "RSA", "n": "***", "e": "AQAB"},
            {"kid": "bad-e", "kty": "RSA", "n": modulus(2048), "e": "AQABAQAB"},
            {"kid": "dup", "kty": "RSA", "n": modulus(2048), "e": "AQAB"},
            {"kid": "dup", "kty": "RSA", "n": modulus(4096), "e": "AQAB"},
            {"kid": "same", "kty": "RSA", "n": modulus(2048), "e": "AQAB"},
            {"kid": "same", "kty": "RSA", "n": modulus(2048), "e": "AQAB"},
            {"kid": "shadowed", "kty": "oct", "k": "c2VjcmV0"},
            {"kid": "shadowed", "kty": "RSA", "n": modulus(2048), "e": "AQAB"},
            {"kid": "shadowed", "kty": "RSA", "use": "enc", "n": modulus(3072), "e": "AQAB"},
            {"kty": "RSA", "n": modulus(2048), "e": "AQAB"},
            "not an object",
        ]));
        assert!(matches!(s.get("good"), Some(Ok(_))));
        assert!(matches!(s.get("bare"), Some(Ok(_))));
        assert!(reason(&s, "enc").contains("use"));
        assert!(reason(&s, "rs512").contains("RS512"));
        assert!(reason(&s, "small").contains("fewer than 2048"));
        assert!(reason(&s, "huge").contains("more than 8192"));
        assert!(reason(&s, "oct").contains(r#"kty is "oct", not "RSA""#));
        assert!(reason(&s, "no-n").contains("modulus"));
        assert!(reason(&s, "bad-n").contains("base64url"));
        assert!(reason(&s, "bad-e").contains("exponent"));
        assert!(reason(&s, "dup").contains("ambiguous"));
        assert!(
            matches!(s.get("same"), Some(Ok(_))),
            "the same key twice is not ambiguous"
        );
        assert!(
            matches!(s.get("shadowed"), Some(Ok(_))),
            "oct and enc entries never displace an RS256 key"
        );
        assert_eq!(s.kids().len(), 13, "entries without a kid are dropped");
    }

    #[test]
    fn refuses_documents_that_are_not_key_sets() {
        for body in [
            "",
            "not json",
            "[]",
            r#"{"keys": 1}"#,
            r#"{"keys": {}}"#,
            r#"{"nokeys": []}"#,
            r#"{"keys": [], "keys": []}"#,
        ] {
            let err = KeySet::parse(body.as_bytes(), "http://x/jwks")
                .err()
                .unwrap();
            assert_eq!(err.kind(), "invalid_jwks", "{body}");
            assert!(err.to_string().contains("http://x/jwks"));
        }
    }

    #[test]
    fn bit_length_ignores_leading_zero_bytes() {
        assert_eq!(bit_length(strip_leading_zeros(&[0, 0, 1, 0])), 9);
        assert_eq!(bit_length(strip_leading_zeros(&[0, 0])), 0);
        assert_eq!(bit_length(&[0x80, 0]), 16);
    }
}
