//! Development mode: an in-process issuer that mints Cognito-shaped tokens,
//! so the API runs on a fresh machine with no AWS account. Never for
//! production: anyone who can reach `POST /dev/token` can mint a token.

use std::net::IpAddr;

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cognito_verify::mint::{SigningKey, random_uuid, unix_now};
use cognito_verify::{PoolConfig, Revocations, TokenUse, Verifier};
use serde::Deserialize;
use serde_json::json;

/// The app client id of development tokens.
pub const DEV_CLIENT_ID: &str = "videos-api-dev";
/// How long development tokens live: a working day.
pub const TOKEN_LIFETIME_SECS: i64 = 8 * 3600;

/// `POST /dev/token`'s body.
#[derive(Debug, Deserialize)]
pub struct TokenRequest {
    /// The user name; the token's `sub` is derived from it, so the same name
    /// always owns the same videos.
    pub username: String,
    /// Groups (`cognito:groups`), e.g. `["admin"]`.
    #[serde(default)]
    pub groups: Vec<String>,
    /// `access` (default) or `id`.
    pub token_use: Option<String>,
    /// `false`: a token as an app client with token revocation turned off
    /// issues it, without `origin_jti` (sign-out can then revoke only the
    /// token itself, or the user). Default `true`: `jti` and `origin_jti`.
    #[serde(default = "revocation_on")]
    pub token_revocation: bool,
}

fn revocation_on() -> bool {
    true
}

/// The `iss` of development tokens (never fetched: the verifier is given
/// the key itself).
pub const DEV_ISSUER: &str = "http://localhost/videos-api-dev";

/// The issuer of development mode: a key made at start, kept in memory.
/// The verifier gets its public key as a JWKS document and never fetches,
/// so development mode needs no key server.
pub struct DevIssuer {
    key: SigningKey,
}

fn valid_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._@-".contains(c))
}

impl Default for DevIssuer {
    fn default() -> Self {
        Self::new()
    }
}

impl DevIssuer {
    /// Generates a key.
    pub fn new() -> Self {
        DevIssuer {
            key: SigningKey::generate(),
        }
    }

    /// A verifier for this issuer's access tokens, offline: the key is
    /// given, never fetched.
    pub fn verifier(&self) -> Result<Verifier, cognito_verify::Error> {
        self.verifier_with(Revocations::in_process())
    }

    /// As [`verifier`](Self::verifier), consulting `revocations` (sign-out
    /// works in development mode too: its tokens carry `jti` and
    /// `origin_jti`).
    pub fn verifier_with(
        &self,
        revocations: Revocations,
    ) -> Result<Verifier, cognito_verify::Error> {
        Verifier::builder()
            .pool(
                PoolConfig::issuer(DEV_ISSUER)
                    .client_id(DEV_CLIENT_ID)
                    .token_use(TokenUse::Access)
                    .jwks_document(self.key.jwks().to_string())
                    .offline(),
            )
            .revocations(revocations)
            .build()
    }

    /// The `sub` of a development user.
    pub fn sub_of(username: &str) -> String {
        format!("dev-{username}")
    }

    /// Mints a token, or says what is wrong with the request.
    pub fn mint(&self, request: &TokenRequest) -> Result<String, String> {
        if !valid_name(&request.username) {
            return Err("username must be 1 to 64 letters, digits or . _ @ -".into());
        }
        if request.groups.len() > 20 || !request.groups.iter().all(|g| valid_name(g)) {
            return Err("groups must be at most 20 names of letters, digits or . _ @ -".into());
        }
        let now = unix_now();
        let mut claims = json!({
            "sub": Self::sub_of(&request.username),
            "iss": DEV_ISSUER,
            "auth_time": now,
            "iat": now,
            "exp": now + TOKEN_LIFETIME_SECS,
            "jti": random_uuid(),
            "event_id": random_uuid(),
        });
        if request.token_revocation {
            // One sign-in: Cognito's `origin_jti`, what RevokeToken revokes.
            claims["origin_jti"] = json!(random_uuid());
        }
        let specific = match request.token_use.as_deref() {
            None | Some("access") => json!({
                "token_use": "access",
                "client_id": DEV_CLIENT_ID,
                "scope": "aws.cognito.signin.user.admin",
                "username": request.username,
            }),
            Some("id") => json!({
                "token_use": "id",
                "aud": DEV_CLIENT_ID,
                "cognito:username": request.username,
                "email": format!("{}@example.com", request.username),
                "email_verified": true,
            }),
            Some(_) => return Err("token_use must be \"access\" or \"id\"".into()),
        };
        if let (Some(all), Some(more)) = (claims.as_object_mut(), specific.as_object()) {
            all.extend(more.clone());
            if !request.groups.is_empty() {
                all.insert("cognito:groups".into(), json!(request.groups));
            }
        }
        Ok(self.key.sign_claims(&claims))
    }

    /// An access token for `username` in `groups`.
    pub fn access_token(&self, username: &str, groups: &[&str]) -> Result<String, String> {
        self.mint(&TokenRequest {
            username: username.to_owned(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            token_use: None,
            token_revocation: true,
        })
    }
}

/// Development mode answers only requests addressed to a loopback name or
/// address. Listening on 127.0.0.1 is not enough: a web page on another
/// site can reach it through DNS rebinding (its own host name made to
/// resolve to 127.0.0.1), and such requests carry that host name, not a
/// loopback one. Refused with 403.
pub async fn loopback_host_only(request: Request, next: Next) -> Response {
    // An absolute-form target names the host (without any user info);
    // otherwise the Host header does.
    let host = match request.uri().authority() {
        Some(authority) => Some(authority.host()),
        None => request
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok()),
    };
    if host.is_some_and(is_loopback_host) {
        return next.run(request).await;
    }
    tracing::warn!(host = ?host, "development mode: request for a host that is not a loopback name refused");
    let message =
        "development mode answers only requests addressed to localhost or a loopback address";
    (
        StatusCode::FORBIDDEN,
        axum::Json(json!({ "error": message })),
    )
        .into_response()
}

/// `localhost`, a name under `.localhost` (RFC 6761 §6.3), or a loopback
/// address (`127.0.0.0/8`, `[::1]`), with or without a port.
pub fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(bracketed) => match bracketed.split_once(']') {
            Some((v6, "")) => v6,
            Some((v6, port)) if port.starts_with(':') => v6,
            _ => return false,
        },
        None => host.split_once(':').map_or(host, |(name, _)| name),
    };
    if let Ok(ip) = name.parse::<IpAddr>() {
        return ip.is_loopback();
    }
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

#[cfg(test)]
mod tests {
    use super::is_loopback_host;

    #[test]
    fn knows_loopback_hosts() {
        for host in [
            "localhost",
            "LOCALHOST:3000",
            "localhost.",
            "app.localhost:8080",
            "127.0.0.1",
            "127.0.0.1:3000",
            "127.1.2.3:80",
            "[::1]",
            "[::1]:3000",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "",
            "example.com",
            "localhost.example.com",
            "127.0.0.1.nip.io",
            "rebind.attacker.example:3000",
            "10.0.0.1:3000",
            "[::2]:3000",
            "[::1",
            "[::1]x",
            "0.0.0.0:3000",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
