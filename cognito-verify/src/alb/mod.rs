//! Verifying the identity an Application Load Balancer signs: the
//! `x-amzn-oidc-data` header a listener rule with user authentication
//! forwards to its targets. See [`AlbVerifier`].

mod arn;
mod claims;
mod keys;
mod token;
mod verifier;

pub use claims::AlbClaims;
pub use verifier::{AlbVerifier, AlbVerifierBuilder};
