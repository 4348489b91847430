//! Verifying the identity an Application Load Balancer signs: the
//! `x-amzn-oidc-data` header a listener rule with user authentication
//! forwards to its targets. See [`AlbVerifier`].

mod arn;
mod claims;
mod keys;
mod token;
mod verifier;

pub use claims::AlbClaims;

/// The ALB parsers on untrusted bytes, for the fuzz target `alb`: the first
/// byte picks the parser (see `crate::fuzzing::alb`).
#[cfg(fuzzing)]
pub(crate) fn fuzz(data: &[u8]) {
    match data.split_first() {
        Some((0, token)) => {
            if let Ok(parsed) = token::parse(token) {
                let _ = claims::AlbClaims::new(parsed.header, parsed.payload, parsed.times);
            }
        }
        Some((1, arn)) => {
            if let Ok(parsed) = std::str::from_utf8(arn)
                .map_err(|_| ())
                .and_then(|text| arn::LoadBalancerArn::parse(text).map_err(|_| ()))
            {
                let _ = parsed.key_url_base();
            }
        }
        Some((_, pem)) => {
            let _ = keys::EcKey::from_pem(pem);
        }
        None => {}
    }
}
pub use verifier::{AlbVerifier, AlbVerifierBuilder};
