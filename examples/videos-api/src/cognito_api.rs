//! The two user pool API actions sign-out calls, neither of which needs
//! AWS credentials: `RevokeToken` (a refresh token, with the app client's
//! id and secret) and `GlobalSignOut` (the user's own access token).
//!
//! Each is a JSON `POST` to the pool's API endpoint
//! (`https://cognito-idp.<region>.amazonaws.com/`, see
//! `--cognito-idp-endpoint`) with `X-Amz-Target:
//! AWSCognitoIdentityProviderService.<Action>` and content type
//! `application/x-amz-json-1.1`, unsigned. The administrators' counterpart,
//! `AdminUserGlobalSignOut`, needs IAM credentials (SigV4) and is left to
//! the AWS CLI or SDK (see `POST /admin/users/{sub}/sign-out`).

use std::time::Duration;

use serde_json::{Value, json};

use crate::config::SignInSettings;

/// The content type of the user pool API.
const AMZ_JSON: &str = "application/x-amz-json-1.1";

/// A client of one app client's unsigned user pool actions.
pub struct CognitoApi {
    http: reqwest::Client,
    endpoint: String,
    client_id: String,
    client_secret: Option<String>,
}

impl CognitoApi {
    /// The actions of the app client `settings` sign in with.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(settings: &SignInSettings) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(CognitoApi {
            http,
            endpoint: format!("{}/", settings.api_endpoint),
            client_id: settings.client_id.clone(),
            client_secret: settings.client_secret.as_ref().map(|s| s.0.clone()),
        })
    }

    /// `RevokeToken`: the refresh token, and every id and access token
    /// minted from it, stop working at Cognito (its `origin_jti`).
    ///
    /// # Errors
    /// What Cognito answered (its error type only), or why it could not be
    /// reached.
    pub async fn revoke_token(&self, refresh_token: &str) -> Result<(), String> {
        let mut body = json!({ "Token": refresh_token, "ClientId": self.client_id });
        if let Some(secret) = &self.client_secret {
            body["ClientSecret"] = json!(secret);
        }
        self.call("RevokeToken", &body).await
    }

    /// `GlobalSignOut`: every refresh token of the user stops working at
    /// Cognito, and with them their access and id tokens at Cognito's own
    /// APIs.
    ///
    /// # Errors
    /// As [`revoke_token`](Self::revoke_token).
    pub async fn global_sign_out(&self, access_token: &str) -> Result<(), String> {
        self.call("GlobalSignOut", &json!({ "AccessToken": access_token }))
            .await
    }

    async fn call(&self, action: &str, body: &Value) -> Result<(), String> {
        let response = self
            .http
            .post(&self.endpoint)
            .header(
                "x-amz-target",
                format!("AWSCognitoIdentityProviderService.{action}"),
            )
            .header(reqwest::header::CONTENT_TYPE, AMZ_JSON)
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| format!("{action}: the user pool API cannot be reached: {e}"))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        // The body is `{"__type": "...Exception", "message": "..."}`: the
        // type only (a message may repeat what was sent).
        let text = response.text().await.unwrap_or_default();
        let kind = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["__type"].as_str().map(error_type))
            .unwrap_or_else(|| format!("HTTP {status}"));
        Err(format!("{action}: the user pool API refused: {kind}"))
    }
}

/// `__type` without its namespace (`com.amazon…#NotAuthorizedException`).
fn error_type(raw: &str) -> String {
    raw.rsplit_once('#').map_or(raw, |(_, t)| t).to_owned()
}

#[cfg(test)]
mod tests {
    use super::error_type;

    #[test]
    fn error_types_lose_their_namespace() {
        assert_eq!(
            error_type("com.amazonaws.cognito#NotAuthorizedException"),
            "NotAuthorizedException"
        );
        assert_eq!(
            error_type("UnsupportedTokenTypeException"),
            "UnsupportedTokenTypeException"
        );
    }
}
