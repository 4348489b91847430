//! Key sets: a JWKS document parsed into RS256 keys, each parsed once.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aws_lc_rs::digest::Digest;
use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm, PublicKeyUse};
use serde_json::Value;

use crate::Error;
use crate::error::Echo;

/// RSA moduli accepted for RS256: at least 2048 bits (NIST's minimum, and
/// Cognito's size), at most 8192 (aws-lc's verification limit).
const MIN_RSA_BITS: usize = 2048;
const MAX_RSA_BITS: usize = 8192;

/// Most entries a JWKS may have (Cognito publishes two). Bounds the work a
/// hostile key set can cause.
pub(crate) const MAX_KEYS: usize = 100;

/// An RSA public key from a JWKS, parsed once and ready to verify RS256.
pub(crate) struct RsaKey {
    key: ParsedPublicKey,
    /// Set once a fetched set replaced the one holding this key without it:
    /// tokens it verified are no longer trusted from the token cache.
    retired: AtomicBool,
}

impl RsaKey {
    /// Verifies an RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signature, given
    /// the SHA-256 of the signing input (computed once per verification:
    /// the token cache's key is made from it too).
    pub(crate) fn verify(&self, signing_digest: &Digest, signature: &[u8]) -> bool {
        self.key
            .verify_digest_sig(signing_digest, signature)
            .is_ok()
    }

    /// False once the key left its JWKS (see [`KeySet::retire_missing_from`]).
    pub(crate) fn is_current(&self) -> bool {
        !self.retired.load(Ordering::Acquire)
    }
}

/// A JWKS entry: a key that can verify RS256, or why it cannot.
enum Entry {
    Usable(Arc<RsaKey>),
    Unusable(String),
    /// The kid names two different RSA keys: final, whatever else the set
    /// holds under it.
    Ambiguous,
}

const AMBIGUOUS: &str =
    "the kid names two different RSA keys in the JWKS, so which one signed is ambiguous";

/// One fetched JWKS, keyed by `kid`.
pub(crate) struct KeySet {
    entries: HashMap<String, Entry>,
}

impl KeySet {
    /// Parses a JWKS document. A document that is not a JSON object with a
    /// `keys` array is `invalid_jwks`; single entries that cannot verify
    /// RS256 are kept as unusable, so that a token naming one gets a clear
    /// `invalid_key` instead of `unknown_kid`.
    ///
    /// A key whose material is unchanged from `previous` keeps its parsed
    /// instance, so tokens it verified stay valid in the token cache across
    /// routine refreshes.
    pub(crate) fn parse(
        body: &[u8],
        url: &str,
        previous: Option<&KeySet>,
    ) -> Result<KeySet, Error> {
        let invalid = |reason: String| Error::InvalidJwks {
            jwks_url: url.to_owned(),
            reason,
        };
        let doc = crate::json::strict_value(body)
            .map_err(|e| invalid(format!("the body is not valid JSON: {e}")))?;
        let Some(Value::Array(keys)) = doc.get("keys") else {
            return Err(invalid(
                "the body is not a JSON object with a \"keys\" array".into(),
            ));
        };
        if keys.len() > MAX_KEYS {
            return Err(invalid(format!(
                "it has {} keys, more than {MAX_KEYS}",
                keys.len()
            )));
        }
        let mut entries = HashMap::with_capacity(keys.len());
        for raw in keys {
            let Some(kid) = raw.get("kid").and_then(Value::as_str) else {
                continue; // a key without a kid can never be selected
            };
            let entry = match parse_entry(raw) {
                Ok(key) => {
                    let same = previous.and_then(|p| match p.entries.get(kid) {
                        Some(Entry::Usable(old)) if old.key.as_ref() == key.key.as_ref() => {
                            Some(old.clone())
                        }
                        _ => None,
                    });
                    Entry::Usable(same.unwrap_or_else(|| Arc::new(key)))
                }
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

    /// The key of `kid`: `None` when the set has no such kid, `Err`
    /// (`invalid_key`) when its entry cannot verify RS256.
    pub(crate) fn get(&self, kid: &str) -> Option<Result<Arc<RsaKey>, Error>> {
        self.entries.get(kid).map(|entry| match entry {
            Entry::Usable(key) => Ok(key.clone()),
            Entry::Unusable(reason) => Err(Error::InvalidKey {
                kid: Echo::some(kid),
                reason: reason.clone(),
            }),
            Entry::Ambiguous => Err(Error::InvalidKey {
                kid: Echo::some(kid),
                reason: AMBIGUOUS.into(),
            }),
        })
    }

    /// True while `key` is the key of `kid` in this set.
    pub(crate) fn holds(&self, kid: &str, key: &Arc<RsaKey>) -> bool {
        matches!(self.entries.get(kid), Some(Entry::Usable(current)) if Arc::ptr_eq(current, key))
    }

    /// Marks the keys of this set that `next` does not hold (under the same
    /// kid, the same instance) as retired; called as `next` replaces it.
    pub(crate) fn retire_missing_from(&self, next: &KeySet) {
        for (kid, entry) in &self.entries {
            if let Entry::Usable(key) = entry
                && !next.holds(kid, key)
            {
                key.retired.store(true, Ordering::Release);
            }
        }
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
/// keys make the kid ambiguous, so none is used, and it stays ambiguous
/// whatever entries follow (`[K, B, K]` is as ambiguous as `[K, B]`).
fn merge(previous: Entry, next: Entry) -> Entry {
    match (previous, next) {
        (Entry::Ambiguous, _) | (_, Entry::Ambiguous) => Entry::Ambiguous,
        (Entry::Usable(a), Entry::Usable(b)) if a.key.as_ref() == b.key.as_ref() => {
            Entry::Usable(a)
        }
        (Entry::Usable(_), Entry::Usable(_)) => Entry::Ambiguous,
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
    Ok(RsaKey {
        key,
        retired: AtomicBool::new(false),
    })
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
        KeySet::parse(json!({ "keys": keys }).to_string().as_bytes(), "u", None).unwrap()
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
    fn an_ambiguous_kid_stays_ambiguous_whatever_follows() {
        let k = json!({"kid": "k", "kty": "RSA", "n": modulus(2048), "e": "AQAB"});
        let b = json!({"kid": "k", "kty": "RSA", "n": modulus(3072), "e": "AQAB"});
        let oct = json!({"kid": "k", "kty": "oct", "k": "c2VjcmV0"});
        for entries in [
            json!([k, b, k]),
            json!([k, b, b]),
            json!([k, b, oct, k]),
            json!([oct, k, b, k, b, k]),
        ] {
            assert!(
                reason(&set(entries.clone()), "k").contains("ambiguous"),
                "{entries}"
            );
        }
        assert!(matches!(set(json!([k, oct, k])).get("k"), Some(Ok(_))));
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
            let err = KeySet::parse(body.as_bytes(), "http://x/jwks", None)
                .err()
                .unwrap();
            assert_eq!(err.kind(), "invalid_jwks", "{body}");
            assert!(err.to_string().contains("http://x/jwks"));
        }
    }

    #[test]
    fn refuses_more_keys_than_the_cap() {
        let keys: Vec<Value> = (0..=MAX_KEYS)
            .map(|i| json!({"kid": i.to_string(), "kty": "oct"}))
            .collect();
        let body = json!({ "keys": keys }).to_string();
        let err = KeySet::parse(body.as_bytes(), "u", None).err().unwrap();
        assert_eq!(err.kind(), "invalid_jwks");
    }

    #[test]
    fn keeps_the_parsed_instance_of_unchanged_keys() {
        let doc = |n2: String| {
            json!({"keys": [
                {"kid": "a", "kty": "RSA", "n": modulus(2048), "e": "AQAB"},
                {"kid": "b", "kty": "RSA", "n": n2, "e": "AQAB"},
            ]})
            .to_string()
        };
        let first = KeySet::parse(doc(modulus(2048)).as_bytes(), "u", None).unwrap();
        let other_b = URL_SAFE_NO_PAD.encode([0xD7u8; 256]);
        let second = KeySet::parse(doc(other_b).as_bytes(), "u", Some(&first)).unwrap();
        let a1 = first.get("a").unwrap().ok().unwrap();
        let b1 = first.get("b").unwrap().ok().unwrap();
        assert!(second.holds("a", &a1), "unchanged key keeps its instance");
        assert!(!second.holds("b", &b1), "a changed key is a new instance");
    }

    #[test]
    fn bit_length_ignores_leading_zero_bytes() {
        assert_eq!(bit_length(strip_leading_zeros(&[0, 0, 1, 0])), 9);
        assert_eq!(bit_length(strip_leading_zeros(&[0, 0])), 0);
        assert_eq!(bit_length(&[0x80, 0]), 16);
    }
}
