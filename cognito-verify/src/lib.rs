//! Verify Amazon Cognito id and access tokens (and tokens of Cognito-shaped
//! OIDC issuers): RS256 signatures against the pool's JWKS, fetched and
//! cached for you, then `iss`, `exp`/`nbf`/`iat`, `token_use`, the client id,
//! groups and scopes. What comes back is typed [`CognitoClaims`]; what goes
//! wrong is one [`Error`] with a stable [`Error::kind`] code.
//!
//! # How a token flows
//!
//! ```text
//! VerifierBuilder::build (builder.rs): settings checked (settings.rs), pools
//!   resolved to issuers and JWKS URLs (config.rs, pool.rs), each issuer
//!   routed to its pool and key set (routes.rs, jwks.rs)
//!
//! token ─► size cap ─► token cache? ──hit──► checks again ─► claims
//!   (verify.rs)          (cache.rs)   (same bytes, key still current)
//!             │ miss
//!             ▼
//!          parse: 3 segments, header, strict JSON, the claim table typed
//!                 into an unverified Payload   (token.rs, json.rs, claims.rs)
//!             ▼
//!          route: `alg` RS256, `kid`, `iss` ─► Route { pool, key set }   (verify.rs, routes.rs)
//!             ▼
//!          keys: the kid's key, cached; fetched in a task of its own,
//!                single flight, TTL, backoff, stale keys through outages   (jwks.rs)
//!             ▼
//!          signature: RS256 with the key parsed once per kid   (keyset.rs)
//!             ▼
//!          checks: times, token use, client, groups/scopes (checks.rs,
//!                  on the clock of clock.rs) ─► CognitoClaims ─► custom check
//!             ▼
//!          remember in the token cache at its second verification   (cache.rs) ─► claims
//!
//! afterwards, per part of an application: Requirement (requirement.rs)
//!
//! an ALB's x-amzn-oidc-data (alb/): padded segments, ES256 header (alb/token.rs)
//!   ─► signer is a configured load balancer (alb/arn.rs) ─► the kid's PEM key,
//!   single flight, rate-limited (alb/keys.rs) ─► signature, iss, client, exp
//!   (alb/verifier.rs) ─► AlbClaims; the same token cache (cache.rs)
//! ```
//!
//! Every arrow can end in an [`Error`] whose [`kind`](Error::kind) names the
//! step (error.rs). [`Verifier::verify`] waits for keys when it must;
//! [`Verifier::verify_cached`] and [`Verifier::try_verify_cached`] never do.
//!
//! Behind an Application Load Balancer that authenticates users,
//! [`AlbVerifier`] verifies the identity it signs (`x-amzn-oidc-data`).
//!
//! # Verify a token
//!
//! Build a [`Verifier`] once, at start-up, and share it (it is cheap to
//! clone). The client ids and the token use must be chosen: there is no
//! default that accepts everything.
//!
//! ```
//! use cognito_verify::{PoolConfig, TokenUse, Verifier};
//!
//! let verifier = Verifier::builder()
//!     .pool(
//!         PoolConfig::new("us-east-1_Ynsi6EIT0")
//!             .client_id("4kq1s3m5example")
//!             .token_use(TokenUse::Access),
//!     )
//!     .build()?;
//! assert_eq!(
//!     verifier.issuers()[0],
//!     "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Ynsi6EIT0"
//! );
//! # Ok::<(), cognito_verify::Error>(())
//! ```
//!
//! Then, for each request, `verifier.verify(token).await` returns the
//! verified claims or the reason the token was refused. This example runs
//! against the crate's own [`testing::LocalIssuer`] (feature `testing`),
//! which serves a JWKS on 127.0.0.1 and mints Cognito-shaped tokens, so it
//! needs no AWS account:
//!
//! ```
//! # #[cfg(feature = "testing")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use cognito_verify::{testing::LocalIssuer, TokenUse, Verifier};
//!
//! let issuer = LocalIssuer::start().await?;
//! let verifier = Verifier::builder()
//!     .pool(issuer.pool_config().client_id("my-app").token_use(TokenUse::Access))
//!     .build()?;
//!
//! let token = issuer.access_token("my-app").sub("user-1").scopes(["videos/read"]).sign();
//! let claims = verifier.verify(&token).await?;
//! assert_eq!(claims.sub(), "user-1");
//! assert!(claims.has_scope("videos/read"));
//!
//! let expired = issuer.access_token("my-app").expires_in(-60).sign();
//! let err = verifier.verify(&expired).await.unwrap_err();
//! assert_eq!(err.kind(), "expired");
//!
//! let other_app = issuer.access_token("another-app").sign();
//! assert_eq!(verifier.verify(&other_app).await.unwrap_err().kind(), "invalid_client_id");
//! # Ok(()) }
//! # #[cfg(not(feature = "testing"))]
//! # fn main() {}
//! ```
//!
//! # What is checked, in order
//!
//! | step | check | error kind |
//! |---|---|---|
//! | 1 | size cap | `token_too_large` |
//! | 1 | three base64url segments, JSON objects without duplicate keys, claims of the right types | `malformed_token` |
//! | 2 | header `alg` is `RS256` (never taken from the token to choose an algorithm) | `unsupported_algorithm` |
//! | 2 | header `kid` is a string | `missing_kid` |
//! | 3 | `iss` is a configured issuer (exact match) | `invalid_issuer` |
//! | 4 | the JWKS has the `kid` (one rate-limited refetch if not) | `unknown_kid` |
//! | 4 | that key is `kty: RSA`, `use: sig`/absent, `alg: RS256`/absent, 2048–8192 bits | `invalid_key` |
//! | 5 | RS256 signature | `invalid_signature` |
//! | 6 | `exp` present and not past, `nbf` and `iat` not in the future (with leeway; non-integer NumericDates compared exactly) | `malformed_token`, `expired`, `not_yet_valid`, `issued_in_future` |
//! | 7 | `token_use` is `id`/`access` and the one configured | `invalid_token_use` |
//! | 8 | client id: `aud` (id tokens), `client_id` (access tokens) | `invalid_client_id` |
//! | 8 | with [`PoolConfig::resource`]: an access token's `aud` names one of the resources (RFC 8707, exact match) | `invalid_audience` |
//! | 9 | groups, scopes, your custom check | `missing_group`, `missing_scope`, `custom_check_failed` |
//! | 10 | no entry of the [`revocation`] list covers it, and the list is current (on token-cache hits too) | `revoked`, `revocations_unavailable` |
//!
//! Fetching keys can fail with `jwks_unavailable` (network, timeout, HTTP
//! status) or `invalid_jwks` (not a key set, too large);
//! [`Verifier::verify_cached`] fails with `jwks_not_cached` before the keys
//! were fetched. See [`ERROR_KINDS`].
//!
//! # Emulators and other issuers
//!
//! [`PoolConfig::jwks_url`] fetches keys from elsewhere while the `iss`
//! check stays (moto serves the JWKS of a pool whose tokens carry the real
//! AWS issuer); [`PoolConfig::issuer`] accepts an issuer that is not a
//! Cognito pool URL (cognito-local).
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod alb; // AlbVerifier: the identity an Application Load Balancer signs (x-amzn-oidc-data)
mod builder; // VerifierBuilder: the one place a verifier is assembled
mod cache; // the verified-token cache
mod checks; // the claim checks, each on what it checks
mod claims; // the claim table: unverified Payload, verified CognitoClaims
mod clock; // the one clock
mod config; // PoolConfig, resolved into issuers and JWKS URLs
mod error; // Error and its stable kind() codes
mod json; // strict JSON parsed once (duplicate keys refused)
mod jwks; // key sets: one per JWKS URL, one HTTP client; fetch, TTL, refresh, outage, backoff
mod keyset; // a JWKS document -> RS256 keys, each parsed once
mod pool; // user pool ids -> regions, partitions, issuers, JWKS URLs
mod requirement; // Requirement: what one part of an application asks beyond the pool
pub mod revocation; // Revocations: tokens refused before their exp; shared through a store
mod routes; // iss -> route: the pool's rules and the key set
mod settings; // verifier-wide settings, defaults and bounds
mod status; // snapshots for operators: VerifierStatus, JwksStatus, counters
pub mod telemetry; // metrics through the `metrics` facade (feature "metrics"): the names
mod token; // compact JWS: split, canonical base64url, header
mod verify; // the Verifier: the flow above

#[cfg(feature = "clap")]
#[cfg_attr(docsrs, doc(cfg(feature = "clap")))]
pub mod args;
#[cfg(feature = "mint")]
#[cfg_attr(docsrs, doc(cfg(feature = "mint")))]
pub mod mint;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

pub use alb::{AlbClaims, AlbVerifier, AlbVerifierBuilder};
pub use builder::VerifierBuilder;
pub use claims::{ClaimList, CognitoClaims, Principal, TokenUse};
pub use clock::unix_now;
pub use config::{CustomCheck, IssuerType, PoolConfig, check_identifier_url};
pub use error::{ERROR_KINDS, Echo, EchoList, Error, Expected, RefusedBy, Time};
pub use pool::{UserPoolId, dns_suffix_of};
pub use requirement::Requirement;
pub use revocation::{RevocationStatus, Revocations, RevocationsBuilder, Revoked};
pub use status::{
    Hydrated, JwksCounters, JwksStatus, NotFetched, NotReady, TokenCacheStats, VerifierStatus,
};
pub use token::{Unverified, decode_unverified};
pub use verify::Verifier;

/// Entry points for the benchmarks in `benches/` and `examples/`; not part
/// of the API.
#[doc(hidden)]
pub mod bench {
    /// The work of a verification without the key lookup and the signature
    /// check (size, parse, `alg`, `kid`, issuer, claim checks), to compare
    /// with the RSA work.
    pub fn parse_and_check(verifier: &crate::Verifier, token: &str) -> Result<(), crate::Error> {
        verifier.parse_and_check(token.as_bytes())
    }
}

/// Entry points for the fuzz targets in `fuzz/` (built with `--cfg fuzzing`);
/// not part of the API.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing {
    /// Parses a token as `verify` does before any key is needed, and reads
    /// every claim of the table as each accessor does.
    pub fn token(data: &[u8]) {
        if let Ok(parsed) = crate::token::parse(data) {
            crate::claims::read_every_claim(parsed.payload);
        }
        if let Ok(text) = std::str::from_utf8(data) {
            let _ = crate::decode_unverified(text);
        }
    }

    /// The ALB parsers, chosen by the first byte: 0 a token
    /// (`x-amzn-oidc-data`), 1 a load balancer ARN and its key host, 2 a
    /// PEM public key.
    pub fn alb(data: &[u8]) {
        crate::alb::fuzz(data);
    }

    /// Parses a JWKS document as a fetch does.
    pub fn jwks(data: &[u8]) {
        let _ = crate::keyset::KeySet::parse(data, "fuzz", None);
    }
}
