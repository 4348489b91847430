//! The one error type of the crate, with a stable machine-readable [`Error::kind`].

use std::fmt;

/// Longest piece of a token's own content (an `iss`, a `kid`, a client id…)
/// that an error message repeats. Token content is attacker-controlled; a
/// message never grows with it.
const MAX_ECHO: usize = 80;

/// A value taken from the token, shortened for messages and logs.
///
/// Displays as a quoted, escaped string of at most 80 characters, or `none`
/// when the token did not carry the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Echo(Option<String>);

impl Echo {
    pub(crate) fn of(value: Option<&str>) -> Self {
        Echo(value.map(|v| {
            if v.chars().count() <= MAX_ECHO {
                v.to_owned()
            } else {
                let mut s: String = v.chars().take(MAX_ECHO).collect();
                s.push('…');
                s
            }
        }))
    }

    pub(crate) fn some(value: &str) -> Self {
        Echo::of(Some(value))
    }

    /// The (possibly shortened) value, if the token carried one.
    #[must_use]
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl fmt::Display for Echo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(v) => write!(f, "{v:?}"),
            None => f.write_str("none"),
        }
    }
}

impl fmt::Debug for Echo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Longest list of a token's values (groups, scopes) an error message repeats.
const MAX_ECHOED_VALUES: usize = 20;

/// Values from the configuration (issuers, client ids, groups, scopes),
/// displayed as `["a", "b"]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Expected(pub(crate) Vec<String>);

impl Expected {
    /// The configured values.
    #[must_use]
    pub fn values(&self) -> &[String] {
        &self.0
    }
}

/// A list of values taken from the token (its groups or scopes), shortened
/// as [`Echo`] shortens one: at most 20 values, each of at most 80
/// characters, then a count of the rest. Displayed as `["a", "b"]`.
#[derive(Clone, PartialEq, Eq)]
pub struct EchoList(Vec<String>);

impl EchoList {
    pub(crate) fn of<'a>(values: impl ExactSizeIterator<Item = &'a str>) -> Self {
        let count = values.len();
        let mut shown: Vec<String> = values
            .take(MAX_ECHOED_VALUES)
            .map(|v| Echo::some(v).0.unwrap_or_default())
            .collect();
        if count > MAX_ECHOED_VALUES {
            shown.push(format!("… {} more", count - MAX_ECHOED_VALUES));
        }
        EchoList(shown)
    }

    /// The (possibly shortened) values.
    #[must_use]
    pub fn values(&self) -> &[String] {
        &self.0
    }
}

/// Both lists display, and debug-print, as `["a", "b"]`.
macro_rules! display_as_list {
    ($($list:ty),*) => {$(
        impl fmt::Display for $list {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:?}", self.0)
            }
        }

        impl fmt::Debug for $list {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }
    )*};
}

display_as_list!(Expected, EchoList);

/// A Unix time in seconds, displayed as RFC 3339 (`2026-11-21T10:00:00Z`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Time(i64);

impl Time {
    /// The time `secs` seconds after the Unix epoch.
    #[must_use]
    pub fn from_unix_seconds(secs: i64) -> Self {
        Time(secs)
    }

    /// Seconds since the Unix epoch.
    #[must_use]
    pub fn unix_seconds(self) -> i64 {
        self.0
    }
}

/// Which check refused a token's `token_use`: the pool's, which every token
/// of the pool must meet, or a [`Requirement`](crate::Requirement) of one
/// part of an application (an HTTP route, a gRPC method).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefusedBy {
    /// The pool's [`token_use`](crate::PoolConfig::token_use): the token
    /// is not one the verifier accepts at all.
    Pool,
    /// A [`Requirement`](crate::Requirement): the token is valid, but not
    /// the kind this part of the application serves.
    Requirement,
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let formatted = u64::try_from(self.0).ok().and_then(|secs| {
            std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(secs))
        });
        match formatted {
            // humantime formats years up to 9999; beyond that it would panic,
            // so larger values are shown as plain seconds.
            Some(t) if self.0 < 253_402_300_800 => {
                write!(f, "{}", humantime::format_rfc3339_seconds(t))
            }
            _ => write!(f, "{}s since the Unix epoch", self.0),
        }
    }
}

impl fmt::Debug for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Everything that can go wrong while building a verifier or verifying a token.
///
/// Each variant's message says what was expected and what was found, in words
/// a user can act on; no message contains the token. [`Error::kind`] gives a
/// stable snake_case code for logs, metrics and HTTP responses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The verifier's configuration is invalid (returned by `build()` only).
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),

    /// The token is longer than the configured maximum.
    #[error("token is {size} bytes, more than the maximum of {max} bytes")]
    TokenTooLarge {
        /// The token's length in bytes.
        size: usize,
        /// The configured maximum.
        max: usize,
    },

    /// The token is not a well-formed JWS compact serialization with JSON
    /// header and claims of the right types.
    #[error("malformed token: {0}")]
    MalformedToken(String),

    /// The header's `alg` is not the algorithm this verifier accepts.
    #[error("unsupported algorithm {actual} in the token header; only \"{expected}\" is accepted")]
    UnsupportedAlgorithm {
        /// The token's `alg`.
        actual: Echo,
        /// The one accepted: `RS256` for Cognito tokens, `ES256` for an
        /// ALB's.
        expected: &'static str,
    },

    /// The header has no string `kid`.
    #[error("the token header has no string \"kid\" (key id)")]
    MissingKid,

    /// The token's `iss` is none of the configured issuers.
    #[error("token issuer {actual} is not one of the configured issuers {expected}")]
    InvalidIssuer {
        /// The configured issuers.
        expected: Expected,
        /// The token's `iss`.
        actual: Echo,
    },

    /// No key with the token's `kid` is in the issuer's JWKS.
    #[error("no key with kid {kid} in the JWKS at {jwks_url}")]
    UnknownKid {
        /// The token's `kid`.
        kid: Echo,
        /// Where the keys were fetched from.
        jwks_url: String,
    },

    /// The JWKS entry for the token's `kid` cannot be used to verify RS256.
    #[error("the key with kid {kid} cannot verify the token's signatures: {reason}")]
    InvalidKey {
        /// The token's `kid`.
        kid: Echo,
        /// Why the key was refused.
        reason: String,
    },

    /// The signature does not match the header and claims.
    #[error("invalid signature: the token was not signed by the key with kid {kid}")]
    InvalidSignature {
        /// The token's `kid`.
        kid: Echo,
    },

    /// The token's `exp` has passed.
    #[error("token expired at {exp} (now {now}, leeway {leeway_secs}s)")]
    Expired {
        /// The token's `exp`.
        exp: Time,
        /// The verifier's clock.
        now: Time,
        /// The configured leeway in seconds.
        leeway_secs: u64,
    },

    /// The token's `nbf` is in the future.
    #[error("token not valid before {nbf} (now {now}, tolerance {leeway_secs}s)")]
    NotYetValid {
        /// The token's `nbf`.
        nbf: Time,
        /// The verifier's clock.
        now: Time,
        /// The tolerance applied in seconds: the larger of the leeway and
        /// the future tolerance.
        leeway_secs: u64,
    },

    /// The token's `iat` is in the future.
    #[error("token issued in the future at {iat} (now {now}, tolerance {leeway_secs}s)")]
    IssuedInFuture {
        /// The token's `iat`.
        iat: Time,
        /// The verifier's clock.
        now: Time,
        /// The tolerance applied in seconds: the larger of the leeway and
        /// the future tolerance.
        leeway_secs: u64,
    },

    /// The token's `token_use` is missing, not `id`/`access`, or not the one
    /// the pool (or a requirement) accepts.
    #[error("token_use {actual} is not accepted; expected one of {expected}")]
    InvalidTokenUse {
        /// What is accepted: `["access"]`, `["id"]` or `["id", "access"]`.
        expected: Expected,
        /// The token's `token_use`.
        actual: Echo,
        /// The pool's check or a requirement's.
        refused_by: RefusedBy,
    },

    /// An ALB token's `signer` (the load balancer's ARN, in its header) is
    /// none of the configured load balancers.
    #[error("the token was signed by load balancer {actual}, not one of the configured {expected}")]
    InvalidSigner {
        /// The configured load balancer ARNs.
        expected: Expected,
        /// The token's `signer`.
        actual: Echo,
    },

    /// The token's client id (`aud` for id tokens, `client_id` for access
    /// tokens, `client` in an ALB token's header) is none of the configured
    /// ones.
    #[error("{claim} {actual} is not one of the configured client ids {expected}")]
    InvalidClientId {
        /// The claim that was read: `aud` or `client_id`.
        claim: &'static str,
        /// The configured client ids.
        expected: Expected,
        /// The token's value.
        actual: Echo,
    },

    /// An access token's audience (`aud`) names none of the resources the
    /// pool serves ([`PoolConfig::resource`](crate::PoolConfig::resource)):
    /// the token was issued for another resource server, or without a
    /// resource indicator (RFC 8707), and must not be used here.
    #[error("the access token's audience {actual} names none of the resources {expected}")]
    InvalidAudience {
        /// The configured resources (any of them suffices).
        expected: Expected,
        /// The token's `aud` values (empty when it has none).
        actual: EchoList,
    },

    /// The token's `cognito:groups` contains none of the required groups.
    #[error("the token's groups {actual} include none of the required groups {expected}")]
    MissingGroup {
        /// The required groups (any of them suffices).
        expected: Expected,
        /// The token's groups.
        actual: EchoList,
    },

    /// The token's `scope` contains none of the required scopes.
    #[error("the token's scopes {actual} include none of the required scopes {expected}")]
    MissingScope {
        /// The required scopes (any of them suffices).
        expected: Expected,
        /// The token's scopes.
        actual: EchoList,
    },

    /// The configured custom check refused the claims.
    #[error("custom check failed: {0}")]
    CustomCheckFailed(String),

    /// A [`Requirement::user`](crate::Requirement::user) refused the token
    /// of an app client acting for itself (machine to machine).
    #[error("the token is an app client's own (machine to machine); a user's token is required")]
    UserRequired,

    /// A [`Requirement::app_client`](crate::Requirement::app_client)
    /// refused a user's token.
    #[error("the token is a user's; an app client's own token (machine to machine) is required")]
    AppClientRequired,

    /// The JWKS could not be fetched (connection, timeout, HTTP status).
    #[error("JWKS unavailable from {jwks_url}: {reason}")]
    JwksUnavailable {
        /// The JWKS URL.
        jwks_url: String,
        /// What went wrong.
        reason: String,
    },

    /// The JWKS response is not a usable key set (bad JSON, no `keys` array,
    /// too large).
    #[error("invalid JWKS from {jwks_url}: {reason}")]
    InvalidJwks {
        /// The JWKS URL.
        jwks_url: String,
        /// What was wrong with it.
        reason: String,
    },

    /// `verify_cached` was called before the issuer's JWKS was fetched.
    #[error("the JWKS at {jwks_url} has not been fetched yet: {remedy}")]
    JwksNotCached {
        /// The JWKS URL.
        jwks_url: String,
        /// What fetches this key set, and so what to call.
        remedy: &'static str,
    },

    /// The token is authentic and valid, but revoked: an entry of the
    /// verifier's [`Revocations`](crate::Revocations) covers it (its user
    /// signed out, its session or the token itself was revoked, or its app
    /// client was retired).
    #[error("the token was revoked (a {by} entry of the revocation list covers it)")]
    Revoked {
        /// Which kind of entry covers it: `token`, `session`, `user` or
        /// `client`.
        by: &'static str,
    },

    /// The revocation list cannot vouch for its copy: it has not heard from
    /// its store for longer than `max_staleness`, has not loaded yet, or is
    /// full. The client did nothing wrong (HTTP 503).
    #[error("revocations unavailable: {reason}")]
    RevocationsUnavailable {
        /// What is wrong.
        reason: String,
    },

    /// Verified claims do not fit the type the application asked for
    /// ([`CognitoClaims::deserialize`](crate::CognitoClaims::deserialize)):
    /// the application's schema and its tokens disagree, which is no fault
    /// of the client's (an HTTP layer answers 500).
    #[error("the verified claims do not fit the requested type: {reason}")]
    ClaimsMismatch {
        /// What serde reported.
        reason: String,
    },
}

impl Error {
    /// True when the failure is the key source's, not the token's: the
    /// client did nothing wrong and may retry (`jwks_unavailable`,
    /// `invalid_jwks`, `jwks_not_cached`). An HTTP layer answers these
    /// with 503 rather than 401.
    #[must_use]
    pub fn is_key_source_failure(&self) -> bool {
        matches!(
            self,
            Error::JwksUnavailable { .. } | Error::InvalidJwks { .. } | Error::JwksNotCached { .. }
        )
    }

    /// True when the verifier cannot decide for want of something it
    /// depends on, not for the token: the key source
    /// ([`is_key_source_failure`](Self::is_key_source_failure)) or the
    /// revocation list (`revocations_unavailable`). The client may retry:
    /// HTTP 503, gRPC `UNAVAILABLE`.
    #[must_use]
    pub fn is_unavailable(&self) -> bool {
        self.is_key_source_failure() || matches!(self, Error::RevocationsUnavailable { .. })
    }

    /// True when the token is authentic but does not meet a requirement:
    /// it lacks a required group or scope (`missing_group`,
    /// `missing_scope`), or a [`Requirement`](crate::Requirement) wants
    /// another token use or principal (`invalid_token_use` refused by a
    /// requirement, `user_required`, `app_client_required`). HTTP 403
    /// rather than 401.
    #[must_use]
    pub fn is_insufficient_permission(&self) -> bool {
        matches!(
            self,
            Error::MissingGroup { .. }
                | Error::MissingScope { .. }
                | Error::UserRequired
                | Error::AppClientRequired
                | Error::InvalidTokenUse {
                    refused_by: RefusedBy::Requirement,
                    ..
                }
        )
    }

    /// True when the fault is the application's, not the client's nor the
    /// key source's (`invalid_config`, `claims_mismatch`): HTTP 500.
    #[must_use]
    pub fn is_application_fault(&self) -> bool {
        matches!(self, Error::InvalidConfig(_) | Error::ClaimsMismatch { .. })
    }

    pub(crate) fn malformed(reason: impl Into<String>) -> Self {
        Error::MalformedToken(reason.into())
    }
}

/// One table gives both [`Error::kind`] and [`ERROR_KINDS`]: a kind cannot
/// be added to one and forgotten in the other.
macro_rules! error_kinds {
    ($($variant:ident => $kind:literal,)*) => {
        impl Error {
            /// A stable snake_case code for this error, for logs, metrics and
            /// HTTP responses. These strings never change meaning.
            ///
            /// ```
            /// use cognito_verify::Error;
            /// assert_eq!(Error::MissingKid.kind(), "missing_kid");
            /// ```
            pub fn kind(&self) -> &'static str {
                match self {
                    $(Error::$variant { .. } => $kind,)*
                }
            }
        }

        /// Every stable error code, in the order of the checks.
        pub const ERROR_KINDS: &[&str] = &[$($kind,)*];
    };
}

error_kinds! {
    InvalidConfig => "invalid_config",
    TokenTooLarge => "token_too_large",
    MalformedToken => "malformed_token",
    UnsupportedAlgorithm => "unsupported_algorithm",
    MissingKid => "missing_kid",
    InvalidIssuer => "invalid_issuer",
    InvalidSigner => "invalid_signer",
    UnknownKid => "unknown_kid",
    InvalidKey => "invalid_key",
    InvalidSignature => "invalid_signature",
    Expired => "expired",
    NotYetValid => "not_yet_valid",
    IssuedInFuture => "issued_in_future",
    InvalidTokenUse => "invalid_token_use",
    InvalidClientId => "invalid_client_id",
    InvalidAudience => "invalid_audience",
    MissingGroup => "missing_group",
    MissingScope => "missing_scope",
    CustomCheckFailed => "custom_check_failed",
    UserRequired => "user_required",
    AppClientRequired => "app_client_required",
    JwksUnavailable => "jwks_unavailable",
    InvalidJwks => "invalid_jwks",
    JwksNotCached => "jwks_not_cached",
    Revoked => "revoked",
    RevocationsUnavailable => "revocations_unavailable",
    ClaimsMismatch => "claims_mismatch",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_shortens_long_values_and_escapes() {
        let long = "a".repeat(10_000);
        let shown = Echo::some(&long).to_string();
        assert!(shown.len() < 100, "{shown}");
        assert_eq!(Echo::some("x\"y").to_string(), r#""x\"y""#);
        assert_eq!(Echo::of(None).to_string(), "none");
    }

    #[test]
    fn time_formats_rfc3339_and_never_panics() {
        assert_eq!(Time(1_700_000_000).to_string(), "2023-11-14T22:13:20Z");
        assert!(Time(-5).to_string().contains("-5s"));
        assert!(Time(i64::MAX).to_string().contains("s since"));
    }
}
