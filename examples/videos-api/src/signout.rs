//! Sign-out that ends the tokens, not only the cookies: the revocation
//! list refuses them on every replica (see [`crate::revocations`]), and
//! Cognito stops refreshing them.
//!
//! | route | revokes in the list | at Cognito (managed login) |
//! |---|---|---|
//! | `POST /auth/logout` | the session: the access token's `origin_jti` ([`Revoked::Session`]), else its `jti` | `RevokeToken` with the refresh token (client id and secret) |
//! | `POST /auth/logout-everywhere` | the user: every token of the `sub` signed in until now ([`Revoked::User`]) | `GlobalSignOut` with the user's access token |
//! | `POST /admin/users/{sub}/sign-out` (group `admin`) | the user, as above | none: `AdminUserGlobalSignOut` needs IAM credentials; run `aws cognito-idp admin-user-global-sign-out --user-pool-id <pool> --username <name>` |
//!
//! Both sign-outs clear the cookies and answer `{"redirect": …}`: the
//! pool's `/logout` with managed login (which ends its own session), `/`
//! otherwise. Development mode revokes in the list alike (its tokens carry
//! `jti` and `origin_jti`), so a signed-out token is refused there too with
//! 401 `invalid_token`, kind `revoked`.
//!
//! Why both sides: Cognito's revocation reaches only Cognito's own APIs; a
//! verifier that checks tokens locally accepts them until `exp` unless a
//! list tells it otherwise. The list alone would let a stolen refresh token
//! mint new tokens (refused here while the entry lives, one day after the
//! sign-out, but not elsewhere).
//!
//! Tokens without `origin_jti` come from an app client with token
//! revocation turned off: `/auth/logout` then revokes only the access token
//! itself (`jti`), and Cognito refuses `RevokeToken` for that client; "sign
//! out everywhere" still covers every such token, since the user entry
//! goes by `sub` and sign-in time (`auth_time`), not by `origin_jti`.
//!
//! A sign-out that could not be completed still clears the cookies, and
//! says what failed: 503 when the list could not record or share the
//! revocation, 502 when Cognito could not be told.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cognito_verify::{Revocations, Revoked, Verifier};
use cognito_verify_axum::Subject;
use serde_json::json;

use crate::cognito_api::CognitoApi;
use crate::signin::{ACCESS_COOKIE, REFRESH_COOKIE, SignIn, cookie_value, signed_out};

/// What sign-out needs: where the page goes next, the list to revoke in,
/// a verifier of the pool's tokens that does not consult the list (none
/// behind a load balancer without a pool), and Cognito's actions with
/// managed login.
pub struct SignOut {
    sign_in: Arc<SignIn>,
    revocations: Revocations,
    signature_checks: Option<Verifier>,
    cognito: Option<CognitoApi>,
}

impl SignOut {
    /// Sign-out for `sign_in`, revoking in `revocations`. `signature_checks`
    /// verifies the pool's tokens without consulting `revocations`: a
    /// sign-out while the shared list is unavailable (Redis down past
    /// `max_staleness`) must still learn which session to revoke; the entry
    /// is enforced here at once and written to Redis when it is back.
    ///
    /// # Errors
    /// When the HTTP client for Cognito's actions cannot be built.
    pub fn new(
        sign_in: Arc<SignIn>,
        revocations: Revocations,
        signature_checks: Option<Verifier>,
    ) -> Result<Self, String> {
        let cognito = match &*sign_in {
            SignIn::ManagedLogin(managed) => Some(CognitoApi::new(managed.settings())?),
            _ => None,
        };
        Ok(SignOut {
            sign_in,
            revocations,
            signature_checks,
            cognito,
        })
    }

    async fn revoke(&self, revoked: Revoked) -> Result<(), cognito_verify::Error> {
        self.revocations.revoke(revoked).await
    }

    fn redirect(&self) -> String {
        match &*self.sign_in {
            SignIn::ManagedLogin(managed) => managed.logout_url(),
            _ => "/".to_owned(),
        }
    }
}

/// The token the auth layer reads: `Authorization: Bearer`, else the
/// access cookie.
fn access_token(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    bearer.or_else(|| cookie_value(headers, ACCESS_COOKIE))
}

/// What went wrong on the way out; the first failure decides the status.
#[derive(Default)]
struct Outcome {
    failure: Option<(StatusCode, String)>,
}

impl Outcome {
    fn list(&mut self, result: Result<(), cognito_verify::Error>) {
        if let Err(e) = result {
            tracing::warn!(error.kind = e.kind(), error = %e, "sign-out: the revocation list did not take it");
            self.fail(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("signed out in this browser, but the revocation was not recorded everywhere: {e}"),
            );
        }
    }

    fn cognito(&mut self, result: Result<(), String>) {
        if let Err(why) = result {
            tracing::warn!(why, "sign-out: Cognito was not told");
            self.fail(
                StatusCode::BAD_GATEWAY,
                format!("signed out here, but Cognito was not told: {why}"),
            );
        }
    }

    fn fail(&mut self, status: StatusCode, message: String) {
        self.failure.get_or_insert((status, message));
    }

    /// The cookies cleared either way; where the page goes, or what failed.
    fn answer(self, redirect: String) -> Response {
        match self.failure {
            None => (signed_out(), Json(json!({ "redirect": redirect }))).into_response(),
            Some((status, message)) => (
                status,
                signed_out(),
                Json(json!({ "error": message, "redirect": redirect })),
            )
                .into_response(),
        }
    }
}

/// `POST /auth/logout`: revokes this sign-in's tokens in the list (from a
/// valid access token: its `origin_jti`, else its `jti`) and the refresh
/// token at Cognito, clears the cookies, and names the pool's `/logout`
/// for the page to go to. An access token that is not valid any more
/// (expired, forged) has nothing left to revoke in the list.
pub async fn logout(State(sign_out): State<Arc<SignOut>>, headers: HeaderMap) -> Response {
    let mut outcome = Outcome::default();
    if let (Some(verifier), Some(token)) = (&sign_out.signature_checks, access_token(&headers)) {
        match verifier.verify(token).await {
            Ok(claims) => {
                let session = match (claims.origin_jti(), claims.jti()) {
                    (Some(origin_jti), _) => Some(Revoked::Session {
                        origin_jti: origin_jti.to_owned(),
                    }),
                    (None, Some(jti)) => Some(Revoked::Token {
                        jti: jti.to_owned(),
                    }),
                    (None, None) => None,
                };
                match session {
                    Some(revoked) => outcome.list(sign_out.revoke(revoked).await),
                    None => tracing::warn!(
                        "sign-out: the access token has neither origin_jti nor jti; it stays valid until it expires"
                    ),
                }
            }
            Err(e) => {
                tracing::info!(
                    error.kind = e.kind(),
                    "sign-out: the access token is not valid; nothing to revoke in the list"
                );
            }
        }
    }
    if let (Some(cognito), Some(refresh_token)) =
        (&sign_out.cognito, cookie_value(&headers, REFRESH_COOKIE))
    {
        outcome.cognito(cognito.revoke_token(refresh_token).await);
    }
    outcome.answer(sign_out.redirect())
}

/// `POST /auth/logout-everywhere` (behind the auth layer: a valid user
/// token): revokes every token of the user signed in until now, in the
/// list and at Cognito (GlobalSignOut), and clears the cookies.
pub async fn logout_everywhere(
    State(sign_out): State<Arc<SignOut>>,
    Subject(sub): Subject,
    headers: HeaderMap,
) -> Response {
    let mut outcome = Outcome::default();
    outcome.list(sign_out.revoke(Revoked::user_now(sub)).await);
    if let (Some(cognito), Some(token)) = (&sign_out.cognito, access_token(&headers)) {
        outcome.cognito(cognito.global_sign_out(token).await);
    }
    outcome.answer(sign_out.redirect())
}

/// `POST /admin/users/{sub}/sign-out` (group `admin`): every token of the
/// user `sub` signed in until now is refused, on every replica. Cognito's
/// side (`AdminUserGlobalSignOut`, which ends the refresh tokens) needs IAM
/// credentials and is left to the AWS CLI or SDK.
pub async fn admin_sign_out(
    State(sign_out): State<Arc<SignOut>>,
    Path(sub): Path<String>,
) -> Response {
    match sign_out.revoke(Revoked::user_now(sub.clone())).await {
        Ok(()) => Json(json!({ "signed_out": sub })).into_response(),
        Err(e) => {
            let status = match e.kind() {
                "invalid_config" => StatusCode::UNPROCESSABLE_ENTITY,
                _ => StatusCode::SERVICE_UNAVAILABLE,
            };
            (
                status,
                Json(json!({ "error": e.to_string(), "kind": e.kind() })),
            )
                .into_response()
        }
    }
}
