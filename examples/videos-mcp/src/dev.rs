//! Development mode: an in-process issuer that mints Cognito-shaped access
//! tokens bound to this server's resource (`aud`), as Cognito's managed
//! login does for a client that asked for it with `resource=`. Never for
//! production: the tokens it prints let anyone in.

use cognito_verify::mint::{SigningKey, random_uuid, unix_now};
use cognito_verify::{PoolConfig, TokenUse, Verifier};
use serde_json::json;

/// The `iss` of development tokens, and the authorization server the
/// metadata names (it serves no sign-in: development clients paste a
/// token).
pub const DEV_ISSUER: &str = "http://localhost/videos-mcp-dev";
/// The app client id of development tokens.
pub const DEV_CLIENT_ID: &str = "videos-mcp-dev";
/// How long development tokens live: a working day.
pub const TOKEN_LIFETIME_SECS: i64 = 8 * 3600;

/// The development issuer: a key made at start, kept in memory, and the
/// resource its tokens are bound to.
pub struct DevIssuer {
    key: SigningKey,
    resource: String,
}

impl DevIssuer {
    /// A key for tokens bound to `resource`.
    pub fn new(resource: impl Into<String>) -> Self {
        DevIssuer {
            key: SigningKey::generate(),
            resource: resource.into(),
        }
    }

    /// A verifier of this issuer's access tokens for the resource, from
    /// any client, offline (the key is given, never fetched).
    pub fn verifier(&self) -> Result<Verifier, cognito_verify::Error> {
        Verifier::builder()
            .pool(
                PoolConfig::issuer(DEV_ISSUER)
                    .any_client()
                    .token_use(TokenUse::Access)
                    .resource(&self.resource)
                    .jwks_document(self.key.jwks().to_string())
                    .offline(),
            )
            .build()
    }

    /// An access token for `username` in `groups`, bound to the resource
    /// (`aud`); the `sub` is the one `videos-api`'s development mode gives
    /// the same name, so both examples show one user the same videos.
    pub fn access_token(&self, username: &str, groups: &[&str]) -> String {
        self.token(username, groups, Some(&self.resource))
    }

    /// The same token without a resource binding (no `aud`): what a client
    /// gets that did not send `resource=`, refused here.
    pub fn unbound_access_token(&self, username: &str) -> String {
        self.token(username, &[], None)
    }

    /// A token bound to another resource: what a client got for another
    /// server, refused here.
    pub fn access_token_for(&self, resource: &str, username: &str) -> String {
        self.token(username, &[], Some(resource))
    }

    fn token(&self, username: &str, groups: &[&str], aud: Option<&str>) -> String {
        let now = unix_now();
        let mut claims = json!({
            "sub": videos_api::DevIssuer::sub_of(username),
            "iss": DEV_ISSUER,
            "token_use": "access",
            "client_id": DEV_CLIENT_ID,
            "scope": "openid",
            "username": username,
            "auth_time": now,
            "iat": now,
            "exp": now + TOKEN_LIFETIME_SECS,
            "jti": random_uuid(),
            "origin_jti": random_uuid(),
        });
        if let Some(aud) = aud {
            claims["aud"] = json!(aud);
        }
        if !groups.is_empty() {
            claims["cognito:groups"] = json!(groups);
        }
        self.key.sign_claims(&claims)
    }
}
