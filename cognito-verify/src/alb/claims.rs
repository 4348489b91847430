//! [`AlbClaims`]: the identity an Application Load Balancer signed.

use serde_json::{Map, Value};

use super::token::{AlbHeader, AlbTimes};

/// The claims of an ALB token (`x-amzn-oidc-data`) that verified: the
/// load balancer's header fields, and the user's claims as the identity
/// provider's user info endpoint returned them (AWS: "The JWT payload is a
/// JSON object that contains the user claims received from the IdP user
/// info endpoint").
///
/// Claims pass through as the provider sends them: with a Cognito user
/// pool, `email_verified` arrives as the string `"true"`, not a boolean.
#[derive(Debug, Clone, PartialEq)]
pub struct AlbClaims {
    header: AlbHeader,
    claims: Map<String, Value>,
    times: AlbTimes,
}

impl AlbClaims {
    pub(crate) fn new(header: AlbHeader, claims: Map<String, Value>, times: AlbTimes) -> Self {
        AlbClaims {
            header,
            claims,
            times,
        }
    }

    fn text(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// The user's `sub` at the identity provider (always a non-empty
    /// string).
    #[must_use]
    pub fn sub(&self) -> &str {
        self.text("sub").unwrap_or_default()
    }

    /// `email`, if the provider sent a string.
    #[must_use]
    pub fn email(&self) -> Option<&str> {
        self.text("email")
    }

    /// `name`, if the provider sent a string.
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        self.text("name")
    }

    /// `username` (Cognito's user info has it), if a string.
    #[must_use]
    pub fn username(&self) -> Option<&str> {
        self.text("username")
    }

    /// Any claim of the user info, as sent.
    #[must_use]
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.claims.get(name)
    }

    /// All the user's claims.
    #[must_use]
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// The ARN of the load balancer that signed (the header's `signer`).
    #[must_use]
    pub fn load_balancer_arn(&self) -> &str {
        &self.header.signer
    }

    /// The OIDC client id the load balancer signed the user in with (the
    /// header's `client`).
    #[must_use]
    pub fn client_id(&self) -> &str {
        &self.header.client
    }

    /// The identity provider's issuer (the header's `iss`).
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.header.iss
    }

    /// When the token expires, in whole seconds since the Unix epoch (the
    /// header's `exp`, rounded down if it has a fraction).
    #[must_use]
    pub fn expires_at(&self) -> i64 {
        self.header.exp.whole_seconds()
    }

    /// The id of the load balancer's key that signed.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.header.kid
    }

    /// The times the checks read, typed at parse.
    pub(crate) fn times(&self) -> AlbTimes {
        self.times
    }
}
