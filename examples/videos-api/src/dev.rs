//! Development mode: an in-process issuer that mints Cognito-shaped tokens,
//! so the API runs on a fresh machine with no AWS account. Never for
//! production: anyone who can reach `POST /dev/token` can mint a token.

use cognito_verify::testing::LocalIssuer;
use cognito_verify::{TokenUse, Verifier};
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
}

/// The local issuer of development mode.
pub struct DevIssuer {
    issuer: LocalIssuer,
}

fn valid_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._@-".contains(c))
}

impl DevIssuer {
    /// Generates a key and serves its JWKS on 127.0.0.1.
    pub async fn start() -> std::io::Result<Self> {
        Ok(DevIssuer {
            issuer: LocalIssuer::start().await?,
        })
    }

    /// A verifier for this issuer's access tokens.
    pub fn verifier(&self) -> Result<Verifier, cognito_verify::Error> {
        Verifier::builder()
            .pool(
                self.issuer
                    .pool_config()
                    .client_id(DEV_CLIENT_ID)
                    .token_use(TokenUse::Access),
            )
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
        let builder = match request.token_use.as_deref() {
            None | Some("access") => self.issuer.access_token(DEV_CLIENT_ID),
            Some("id") => self
                .issuer
                .id_token(DEV_CLIENT_ID)
                .claim("email", json!(format!("{}@example.com", request.username))),
            Some(_) => return Err("token_use must be \"access\" or \"id\"".into()),
        };
        let mut builder = builder
            .sub(&Self::sub_of(&request.username))
            .username(&request.username)
            .expires_in(TOKEN_LIFETIME_SECS);
        if !request.groups.is_empty() {
            builder = builder.groups(request.groups.iter().map(String::as_str));
        }
        Ok(builder.sign())
    }

    /// An access token for `username` in `groups`.
    pub fn access_token(&self, username: &str, groups: &[&str]) -> Result<String, String> {
        self.mint(&TokenRequest {
            username: username.to_owned(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            token_use: None,
        })
    }
}
