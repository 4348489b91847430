//! Signing Cognito-shaped tokens with a key made at run time: what a
//! development mode needs (the example's `videos-api --dev`) and what
//! [`testing`](crate::testing) builds on. Feature `mint`.
//!
//! Anyone who holds a [`SigningKey`] mints tokens that a verifier of its
//! JWKS accepts: never configure one in production.
//!
//! ```
//! use cognito_verify::mint::{SigningKey, unix_now};
//! use cognito_verify::{PoolConfig, TokenUse, Verifier};
//! use serde_json::json;
//!
//! let key = SigningKey::generate();
//! let verifier = Verifier::builder()
//!     .pool(
//!         PoolConfig::issuer("http://localhost/dev")
//!             .client_id("dev-app")
//!             .token_use(TokenUse::Access)
//!             .jwks_document(key.jwks().to_string())
//!             .offline(),
//!     )
//!     .build()?;
//! let token = key.sign_claims(&json!({
//!     "sub": "dev-alice", "iss": "http://localhost/dev", "token_use": "access",
//!     "client_id": "dev-app", "exp": unix_now() + 60,
//! }));
//! assert_eq!(verifier.verify_cached(&token)?.sub(), "dev-alice");
//! # Ok::<(), cognito_verify::Error>(())
//! ```

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// An RSA-2048 key pair made at run time, with a random `kid`, that signs
/// RS256 tokens. Anyone holding it mints tokens a verifier of its JWKS
/// accepts: for development modes and tests, never for production.
pub struct SigningKey {
    kid: String,
    pair: RsaKeyPair,
}

impl SigningKey {
    /// Generates a key with a random `kid`.
    ///
    /// # Panics
    /// If the system's random number generator fails.
    #[must_use]
    pub fn generate() -> Self {
        // Generation fails only if the system RNG does; tests cannot go on then.
        #[allow(clippy::expect_used)]
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA-2048 key generation");
        SigningKey {
            kid: random_id(),
            pair,
        }
    }

    /// The key id.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK (`kty` RSA, `alg` RS256, `use` sig).
    #[must_use]
    pub fn jwk(&self) -> Value {
        let public = self.pair.public_key();
        json!({
            "alg": "RS256",
            "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
            "kid": self.kid,
            "kty": "RSA",
            "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
            "use": "sig",
        })
    }

    /// A JWKS document holding only this key.
    #[must_use]
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk()] })
    }

    /// A compact RS256 JWS of `claims`, with `kid` in its header.
    #[must_use]
    pub fn sign_claims(&self, claims: &Value) -> String {
        let header = json!({"alg": "RS256", "kid": self.kid});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// An RS256 signature of `message`.
    ///
    /// # Panics
    /// If the system's random number generator fails.
    #[must_use]
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let mut signature = vec![0; self.pair.public_modulus_len()];
        // Signing with a key we generated fails only on RNG failure.
        #[allow(clippy::expect_used)]
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message,
                &mut signature,
            )
            .expect("RS256 signing");
        signature
    }
}

pub use crate::clock::unix_now;

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // The system RNG does not fail on supported platforms; if it did, an
    // all-zero id still works for a test issuer.
    let _ = SystemRandom::new().fill(&mut bytes);
    bytes
}

pub(crate) fn random_id() -> String {
    use std::fmt::Write;
    random_bytes::<16>()
        .iter()
        .fold(String::with_capacity(32), |mut id, b| {
            let _ = write!(id, "{b:02x}");
            id
        })
}

/// A random id in the shape of a UUID, as Cognito's `jti` and `sub`.
#[must_use]
pub fn random_uuid() -> String {
    let h = random_id();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}
