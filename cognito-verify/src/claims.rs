//! Verified claims of Cognito id and access tokens.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::Error;

/// What a Cognito token is for: its `token_use` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenUse {
    /// An id token (`token_use: "id"`): identity for the client app; the
    /// client id is in `aud`.
    Id,
    /// An access token (`token_use: "access"`): authorization for an API;
    /// the client id is in `client_id`, scopes in `scope`.
    Access,
}

impl TokenUse {
    /// The claim's value: `"id"` or `"access"`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenUse::Id => "id",
            TokenUse::Access => "access",
        }
    }
}

impl std::fmt::Display for TokenUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Claims the typed accessors read; everything else is in [`CognitoClaims::extra`].
const STANDARD: &[&str] = &[
    "sub",
    "iss",
    "exp",
    "iat",
    "nbf",
    "auth_time",
    "jti",
    "origin_jti",
    "event_id",
    "token_use",
    "cognito:groups",
    "cognito:username",
    "username",
    "aud",
    "client_id",
    "scope",
    "email",
    "email_verified",
];

/// The claims of a verified Cognito id or access token.
///
/// A value of this type only comes out of a successful verification, so the
/// accessors can promise what the checks established: `token_use` is `id`
/// or `access`, `iss` is a configured issuer, `exp` is present and in the
/// future. Every claim, standard or not, stays readable through
/// [`get`](Self::get), [`extra`](Self::extra) and
/// [`deserialize`](Self::deserialize).
#[derive(Debug, Clone, PartialEq)]
pub struct CognitoClaims {
    pub(crate) sub: String,
    pub(crate) iss: Option<String>,
    pub(crate) exp: Option<i64>,
    pub(crate) iat: Option<i64>,
    pub(crate) nbf: Option<i64>,
    pub(crate) auth_time: Option<i64>,
    pub(crate) token_use: Option<String>,
    pub(crate) username: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) aud: Vec<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) groups: Vec<String>,
    pub(crate) email: Option<String>,
    pub(crate) email_verified: Option<bool>,
    pub(crate) jti: Option<String>,
    pub(crate) origin_jti: Option<String>,
    pub(crate) event_id: Option<String>,
    pub(crate) all: Map<String, Value>,
}

impl CognitoClaims {
    /// Reads and type-checks the claims of a payload. Absent claims are
    /// left for the checks to judge; present claims of the wrong JSON type
    /// are `malformed_token`.
    pub(crate) fn from_payload(all: Map<String, Value>) -> Result<Self, Error> {
        let sub = opt_string(&all, "sub")?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::malformed("the claim \"sub\" must be a non-empty string"))?;
        // Both are type-checked, whichever is read.
        let cognito_username = opt_string(&all, "cognito:username")?;
        let username = cognito_username.or(opt_string(&all, "username")?);
        let aud = match all.get("aud") {
            None => Vec::new(),
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => string_items(items, "aud")?,
            Some(_) => return Err(wrong_type("aud", "a string or an array of strings")),
        };
        let scopes = opt_string(&all, "scope")?
            .map(|s| s.split_ascii_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        let groups = match all.get("cognito:groups") {
            None => Vec::new(),
            Some(Value::Array(items)) => string_items(items, "cognito:groups")?,
            Some(_) => return Err(wrong_type("cognito:groups", "an array of strings")),
        };
        let email_verified = match all.get("email_verified") {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            // Some identity providers federated into Cognito send strings.
            Some(Value::String(s)) if s == "true" => Some(true),
            Some(Value::String(s)) if s == "false" => Some(false),
            Some(_) => return Err(wrong_type("email_verified", "a boolean")),
        };
        Ok(CognitoClaims {
            sub,
            iss: opt_string(&all, "iss")?,
            exp: opt_time(&all, "exp")?,
            iat: opt_time(&all, "iat")?,
            nbf: opt_time(&all, "nbf")?,
            auth_time: opt_time(&all, "auth_time")?,
            token_use: opt_string(&all, "token_use")?,
            username,
            client_id: opt_string(&all, "client_id")?,
            aud,
            scopes,
            groups,
            email: opt_string(&all, "email")?,
            email_verified,
            jti: opt_string(&all, "jti")?,
            origin_jti: opt_string(&all, "origin_jti")?,
            event_id: opt_string(&all, "event_id")?,
            all,
        })
    }

    /// The subject: the user's stable, unique id in the pool (`sub`). This
    /// is the id to key a user's data by.
    pub fn sub(&self) -> &str {
        &self.sub
    }

    /// The issuer (`iss`), one of the verifier's configured issuers.
    pub fn iss(&self) -> &str {
        self.iss.as_deref().unwrap_or_default()
    }

    /// Expiry (`exp`), in seconds since the Unix epoch.
    pub fn exp(&self) -> i64 {
        self.exp.unwrap_or_default()
    }

    /// Issued at (`iat`), in seconds since the Unix epoch.
    pub fn iat(&self) -> Option<i64> {
        self.iat
    }

    /// Not before (`nbf`), in seconds since the Unix epoch.
    pub fn nbf(&self) -> Option<i64> {
        self.nbf
    }

    /// When the user authenticated (`auth_time`), in seconds since the Unix epoch.
    pub fn auth_time(&self) -> Option<i64> {
        self.auth_time
    }

    /// Whether this is an id or an access token (`token_use`).
    pub fn token_use(&self) -> TokenUse {
        match self.token_use.as_deref() {
            Some("id") => TokenUse::Id,
            _ => TokenUse::Access,
        }
    }

    /// The user name: `cognito:username` in id tokens, `username` in
    /// access tokens. Unlike [`sub`](Self::sub) it can be an alias chosen by
    /// the user; do not key data by it.
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// The app client the token was issued to: `client_id` for access
    /// tokens, the (first) `aud` for id tokens.
    pub fn client_id(&self) -> Option<&str> {
        match self.token_use() {
            TokenUse::Access => self.client_id.as_deref(),
            TokenUse::Id => self.aud.first().map(String::as_str),
        }
    }

    /// The audience (`aud`): one element for Cognito id tokens, empty for
    /// access tokens.
    pub fn aud(&self) -> &[String] {
        &self.aud
    }

    /// The scopes (`scope`, split on spaces); empty for id tokens.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The user's groups (`cognito:groups`); empty when the user is in none.
    pub fn groups(&self) -> &[String] {
        &self.groups
    }

    /// True when the user is in `group`.
    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }

    /// True when the token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// The e-mail address (`email`, id tokens).
    pub fn email(&self) -> Option<&str> {
        self.email.as_deref()
    }

    /// Whether the e-mail address was verified (`email_verified`, id tokens).
    pub fn email_verified(&self) -> Option<bool> {
        self.email_verified
    }

    /// The token's unique id (`jti`).
    pub fn jti(&self) -> Option<&str> {
        self.jti.as_deref()
    }

    /// The id of the refresh token's original authentication (`origin_jti`);
    /// revoking that refresh token revokes the tokens that carry it.
    pub fn origin_jti(&self) -> Option<&str> {
        self.origin_jti.as_deref()
    }

    /// The sign-in event's id (`event_id`).
    pub fn event_id(&self) -> Option<&str> {
        self.event_id.as_deref()
    }

    /// Any claim by name, standard or not (`custom:tenant`, …).
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.all.get(name)
    }

    /// The claims the typed accessors do not read (`custom:*` attributes,
    /// `identities`, anything a pre-token-generation trigger added).
    pub fn extra(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.all
            .iter()
            .filter(|(k, _)| !STANDARD.contains(&k.as_str()))
            .map(|(k, v)| (k.as_str(), v))
    }

    /// Every claim of the payload, exactly as the token carried it.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.all
    }

    /// The claims as your own type.
    ///
    /// ```
    /// # async fn demo(verifier: cognito_verify::Verifier, token: &str)
    /// # -> Result<(), cognito_verify::Error> {
    /// #[derive(serde::Deserialize)]
    /// struct MyClaims {
    ///     sub: String,
    ///     #[serde(rename = "custom:tenant")]
    ///     tenant: String,
    /// }
    /// let claims = verifier.verify(token).await?;
    /// let mine: MyClaims = claims.deserialize()?;
    /// # let _ = (mine.sub, mine.tenant);
    /// # Ok(()) }
    /// ```
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, Error> {
        T::deserialize(&Value::Object(self.all.clone()))
            .map_err(|e| Error::malformed(format!("claims do not fit the requested type: {e}")))
    }
}

fn wrong_type(claim: &str, expected: &str) -> Error {
    Error::malformed(format!("the claim {claim:?} must be {expected}"))
}

fn opt_string(all: &Map<String, Value>, claim: &str) -> Result<Option<String>, Error> {
    match all.get(claim) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(wrong_type(claim, "a string")),
    }
}

/// A NumericDate: an integer number of seconds. Fractions and values past
/// `i64` are refused rather than rounded.
fn opt_time(all: &Map<String, Value>, claim: &str) -> Result<Option<i64>, Error> {
    match all.get(claim) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| wrong_type(claim, "an integer number of seconds")),
        Some(_) => Err(wrong_type(claim, "an integer number of seconds")),
    }
}

fn string_items(items: &[Value], claim: &str) -> Result<Vec<String>, Error> {
    items
        .iter()
        .map(|v| match v {
            Value::String(s) => Ok(s.clone()),
            _ => Err(wrong_type(claim, "an array of strings")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<CognitoClaims, Error> {
        match v {
            Value::Object(m) => CognitoClaims::from_payload(m),
            _ => unreachable!(),
        }
    }

    #[test]
    fn reads_an_access_token() {
        let c = parse(json!({
            "sub": "u1", "iss": "i", "exp": 10, "token_use": "access",
            "client_id": "c", "scope": "a  b\tc", "username": "bob",
            "cognito:groups": ["g"], "custom:tenant": "t1"
        }))
        .unwrap();
        assert_eq!(c.token_use(), TokenUse::Access);
        assert_eq!(c.scopes(), ["a", "b", "c"]);
        assert_eq!(c.client_id(), Some("c"));
        assert_eq!(c.username(), Some("bob"));
        assert!(c.in_group("g"));
        let extra: Vec<_> = c.extra().collect();
        assert_eq!(extra, vec![("custom:tenant", &json!("t1"))]);
    }

    #[test]
    fn reads_an_id_token_with_array_aud() {
        let c = parse(json!({
            "sub": "u1", "token_use": "id", "aud": ["c1", "c2"],
            "cognito:username": "alice", "email_verified": "true"
        }))
        .unwrap();
        assert_eq!(c.client_id(), Some("c1"));
        assert_eq!(c.username(), Some("alice"));
        assert_eq!(c.email_verified(), Some(true));
    }

    #[test]
    fn refuses_claims_of_the_wrong_type() {
        for bad in [
            json!({"sub": 1}),
            json!({"sub": ""}),
            json!({}),
            json!({"sub": "u", "exp": "10"}),
            json!({"sub": "u", "exp": 1.5}),
            json!({"sub": "u", "exp": 1e30}),
            json!({"sub": "u", "iss": ["a"]}),
            json!({"sub": "u", "aud": 5}),
            json!({"sub": "u", "aud": ["a", 5]}),
            json!({"sub": "u", "cognito:groups": "admin"}),
            json!({"sub": "u", "scope": ["a"]}),
            json!({"sub": "u", "email_verified": 1}),
            json!({"sub": "u", "token_use": null}),
            json!({"sub": "u", "cognito:username": "a", "username": 5}),
        ] {
            let err = parse(bad.clone()).unwrap_err();
            assert_eq!(err.kind(), "malformed_token", "{bad}");
        }
    }
}
