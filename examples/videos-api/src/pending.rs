//! A sign-in under way, kept in the browser's own cookie instead of a table
//! on the server: its `state`, its PKCE verifier and when it expires,
//! sealed (AES-256-GCM). The key is derived from the app client's secret
//! (HKDF-SHA256) when there is one, so that every replica of the service
//! opens the sign-ins the others started (the callback may reach any of
//! them); without a secret it is made when the process starts, and a
//! sign-in must come back to the replica that started it.
//!
//! So starting a sign-in costs the same whatever other browsers do: no
//! amount of `/auth/login` traffic can push another browser's sign-in out,
//! and nothing is kept per sign-in. Only this process can make or read a
//! sealed value; a changed byte, a value of another process (or of one
//! before a restart) and an expired one are all refused alike. The cookie
//! is single use: the callback clears it; a replayed authorization code is
//! refused by the token endpoint (codes are single use, and bound to the
//! PKCE verifier).

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::hkdf::{HKDF_SHA256, Salt};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Bytes of randomness in a `state` and in a PKCE verifier (base64url: 43
/// characters, within RFC 7636's 43 to 128).
const RANDOM_BYTES: usize = 32;
/// What a sealed value is for (authenticated with it, so a value sealed
/// for anything else never opens here).
const PURPOSE: &[u8] = b"videos-api pending sign-in v1";
/// The plaintext: expiry (Unix seconds, big-endian), state, verifier.
const PLAIN_LEN: usize = 8 + 2 * RANDOM_BYTES;

/// The key that seals pending sign-ins (made at start, never leaves memory).
pub struct PendingSignIns {
    key: RandomizedNonceKey,
}

/// A sign-in just started: what goes to the authorization endpoint, and
/// the browser's cookie.
pub struct Started {
    /// The `state` parameter (base64url).
    pub state: String,
    /// The PKCE verifier (base64url); its S256 challenge goes to the
    /// authorization endpoint.
    pub code_verifier: String,
    /// The sealed value for the browser's cookie (base64url).
    pub sealed: String,
}

impl PendingSignIns {
    /// A fresh key, known to this process only.
    ///
    /// # Panics
    /// If the operating system provides no randomness.
    pub fn new() -> Self {
        let mut key = [0u8; 32];
        fill_random(&mut key);
        Self::with_key(&key)
    }

    /// The key every replica with the app client's `secret` derives alike
    /// (HKDF-SHA256, RFC 5869, with this module's purpose as its info): the
    /// secret itself never seals anything.
    pub fn from_client_secret(secret: &[u8]) -> Self {
        let mut key = [0u8; 32];
        Salt::new(HKDF_SHA256, b"videos-api")
            .extract(secret)
            .expand(&[PURPOSE], HKDF_SHA256)
            .and_then(|okm| okm.fill(&mut key))
            .unwrap_or_else(|_| panic!("HKDF-SHA256 yields 32 bytes"));
        Self::with_key(&key)
    }

    fn with_key(key: &[u8; 32]) -> Self {
        PendingSignIns {
            key: RandomizedNonceKey::new(&AES_256_GCM, key)
                .unwrap_or_else(|_| panic!("a 32-byte key is an AES-256 key")),
        }
    }

    /// Starts a sign-in that expires at `expires` (Unix seconds).
    pub fn start(&self, expires: i64) -> Started {
        let mut plain = Vec::with_capacity(PLAIN_LEN + 16);
        plain.extend_from_slice(&expires.to_be_bytes());
        plain.resize(PLAIN_LEN, 0);
        fill_random(&mut plain[8..]);
        let state = URL_SAFE_NO_PAD.encode(&plain[8..8 + RANDOM_BYTES]);
        let code_verifier = URL_SAFE_NO_PAD.encode(&plain[8 + RANDOM_BYTES..]);
        let nonce = self
            .key
            .seal_in_place_append_tag(Aad::from(PURPOSE), &mut plain)
            .unwrap_or_else(|_| panic!("AES-GCM sealing of 72 bytes does not fail"));
        let mut sealed = nonce.as_ref().to_vec();
        sealed.extend_from_slice(&plain);
        Started {
            state,
            code_verifier,
            sealed: URL_SAFE_NO_PAD.encode(sealed),
        }
    }

    /// The PKCE verifier of the sign-in sealed in `sealed`, if it opens
    /// here, has not expired at `now`, and its state is `state` (compared
    /// in constant time).
    pub fn finish(&self, sealed: &str, state: &str, now: i64) -> Option<String> {
        let mut bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if bytes.len() <= NONCE_LEN {
            return None;
        }
        let nonce = Nonce::try_assume_unique_for_key(&bytes[..NONCE_LEN]).ok()?;
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(PURPOSE), &mut bytes[NONCE_LEN..])
            .ok()?;
        if plain.len() != PLAIN_LEN {
            return None;
        }
        let (expires, rest) = plain.split_at(8);
        let expires = i64::from_be_bytes(expires.try_into().ok()?);
        let (sealed_state, code_verifier) = rest.split_at(RANDOM_BYTES);
        let given_state = URL_SAFE_NO_PAD.decode(state).ok()?;
        verify_slices_are_equal(sealed_state, &given_state).ok()?;
        (now < expires).then(|| URL_SAFE_NO_PAD.encode(code_verifier))
    }
}

impl Default for PendingSignIns {
    fn default() -> Self {
        Self::new()
    }
}

/// Fills `bytes` from the system's random number generator.
fn fill_random(bytes: &mut [u8]) {
    // The system RNG fails only if the OS cannot provide randomness.
    SystemRandom::new()
        .fill(bytes)
        .unwrap_or_else(|_| panic!("the system random number generator failed"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_with_the_client_secret_open_each_others_sign_ins_and_no_one_else() {
        let (a, b) = (
            PendingSignIns::from_client_secret(b"test-only-secret"),
            PendingSignIns::from_client_secret(b"test-only-secret"),
        );
        let started = a.start(1_000);
        assert_eq!(
            b.finish(&started.sealed, &started.state, 999),
            Some(started.code_verifier)
        );
        for other in [
            PendingSignIns::from_client_secret(b"another-secret"),
            PendingSignIns::new(),
        ] {
            let started = a.start(1_000);
            assert_eq!(other.finish(&started.sealed, &started.state, 999), None);
        }
    }

    #[test]
    fn a_sealed_sign_in_opens_once_per_state_before_it_expires() {
        let pending = PendingSignIns::new();
        let started = pending.start(1_000);
        assert_eq!(started.state.len(), 43);
        assert_eq!(started.code_verifier.len(), 43);
        assert!(!started.sealed.contains(&started.state));
        assert!(!started.sealed.contains(&started.code_verifier));
        assert_eq!(
            pending.finish(&started.sealed, &started.state, 999),
            Some(started.code_verifier.clone())
        );
        assert_eq!(pending.finish(&started.sealed, &started.state, 1_000), None);
        let other = pending.start(1_000);
        assert_eq!(pending.finish(&started.sealed, &other.state, 999), None);
        assert_eq!(pending.finish(&started.sealed, "not base64!", 999), None);
        assert_eq!(pending.finish(&started.sealed, "", 999), None);
        // Another process's key.
        let restarted = PendingSignIns::new();
        assert_eq!(restarted.finish(&started.sealed, &started.state, 999), None);
    }

    #[test]
    fn a_changed_or_cut_sealed_value_does_not_open() {
        let pending = PendingSignIns::new();
        let started = pending.start(1_000);
        let bytes = URL_SAFE_NO_PAD.decode(&started.sealed).unwrap();
        for i in 0..bytes.len() {
            let mut changed = bytes.clone();
            changed[i] ^= 1;
            let changed = URL_SAFE_NO_PAD.encode(changed);
            assert_eq!(pending.finish(&changed, &started.state, 999), None, "{i}");
        }
        for len in 0..bytes.len() {
            let cut = URL_SAFE_NO_PAD.encode(&bytes[..len]);
            assert_eq!(pending.finish(&cut, &started.state, 999), None, "{len}");
        }
        assert_eq!(pending.finish("%%%", &started.state, 999), None);
    }
}
