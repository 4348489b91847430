//! A local token issuer for tests and local development. **Test-only.**
//!
//! [`LocalIssuer`] generates RSA-2048 key pairs in memory, serves their JWKS
//! over HTTP on `127.0.0.1` (an ephemeral port), and mints id and access
//! tokens shaped like Cognito's, with any claims you like. Point a
//! [`Verifier`](crate::Verifier) at it with [`LocalIssuer::pool_config`] and
//! your tests exercise the real verification path, HTTP fetch included, with
//! no AWS account.
//!
//! Enable it only where tests need it:
//!
//! ```toml
//! [dev-dependencies]
//! cognito-verify = { version = "0.1", features = ["testing"] }
//! ```
//!
//! Anyone who can reach a local issuer can mint tokens it signs: never
//! configure one in production.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use cognito_verify::{testing::LocalIssuer, TokenUse, Verifier};
//!
//! let issuer = LocalIssuer::start().await?;
//! let verifier = Verifier::builder()
//!     .pool(issuer.pool_config().client_id("app").token_use(TokenUse::Id))
//!     .build()?;
//! let token = issuer.id_token("app").username("alice").groups(["admin"]).sign();
//! let claims = verifier.verify(&token).await?;
//! assert_eq!(claims.username(), Some("alice"));
//! assert!(claims.in_group("admin"));
//! assert_eq!(issuer.jwks_requests(), 1);
//! # Ok(()) }
//! ```

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio::task::AbortHandle;

use crate::claims::TokenUse;
use crate::config::PoolConfig;
use crate::mint::{SigningKey, random_id, random_uuid, unix_now};

struct Shared {
    jwks_path: String,
    /// The signing keys; the last one signs new tokens.
    keys: Mutex<Vec<SigningKey>>,
    /// Keys removed from the JWKS, kept so tests can still sign with them.
    removed: Mutex<Vec<SigningKey>>,
    /// Extra JWKS entries served as given.
    extra: Mutex<Vec<Value>>,
    requests: AtomicUsize,
    /// How long each JWKS response waits before it is sent.
    delay: Mutex<Duration>,
    connections: Mutex<Vec<AbortHandle>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A token issuer on `127.0.0.1` for tests: RSA keys, a JWKS endpoint and a
/// token minter. See the [module docs](self). Test-only.
///
/// The server runs on the Tokio runtime that started it and stops when the
/// issuer is dropped or [`shutdown`](Self::shutdown) is called.
pub struct LocalIssuer {
    issuer: String,
    jwks_url: String,
    pool_id: Option<String>,
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: AbortHandle,
}

impl LocalIssuer {
    /// Starts an issuer whose `iss` is its own URL,
    /// `http://127.0.0.1:<port>/local_<random>`, with its JWKS at
    /// `<iss>/.well-known/jwks.json` (the shape of cognito-local).
    ///
    /// # Errors
    /// When no port on 127.0.0.1 can be bound.
    pub async fn start() -> io::Result<Self> {
        let pool = format!("local_{}", &random_id()[..8]);
        Self::start_inner(None, pool).await
    }

    /// Starts an issuer that stands in for the Cognito user pool `user_pool_id`:
    /// tokens carry the real issuer
    /// `https://cognito-idp.<region>.amazonaws.com/<pool id>`, while the keys
    /// are served at `http://127.0.0.1:<port>/<pool id>/.well-known/jwks.json`
    /// (the shape of the moto emulator). [`pool_config`](Self::pool_config)
    /// points the JWKS URL there.
    ///
    /// # Errors
    /// When no port on 127.0.0.1 can be bound, or `user_pool_id` is not a
    /// valid pool id (`InvalidInput`).
    pub async fn start_for_pool(user_pool_id: &str) -> io::Result<Self> {
        let pool = crate::UserPoolId::new(user_pool_id)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        Self::start_inner(Some(pool), user_pool_id.to_owned()).await
    }

    async fn start_inner(pool: Option<crate::UserPoolId>, path: String) -> io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let base = format!("http://{addr}/{path}");
        let jwks_url = crate::pool::jwks_url_of(&base);
        let issuer = pool.as_ref().map_or(base, crate::UserPoolId::issuer);
        let shared = Arc::new(Shared {
            jwks_path: format!("/{path}/.well-known/jwks.json"),
            keys: Mutex::new(vec![SigningKey::generate()]),
            removed: Mutex::new(Vec::new()),
            extra: Mutex::new(Vec::new()),
            requests: AtomicUsize::new(0),
            delay: Mutex::new(Duration::ZERO),
            connections: Mutex::new(Vec::new()),
        });
        let accept = tokio::spawn(serve(listener, shared.clone())).abort_handle();
        Ok(LocalIssuer {
            issuer,
            jwks_url,
            pool_id: pool.map(|p| p.to_string()),
            addr,
            shared,
            accept,
        })
    }

    /// The `iss` of the tokens this issuer mints.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Where the JWKS is served.
    #[must_use]
    pub fn jwks_url(&self) -> &str {
        &self.jwks_url
    }

    /// The server's address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A [`PoolConfig`] for this issuer (issuer and JWKS URL set). Add the
    /// client ids and token use your code expects.
    pub fn pool_config(&self) -> PoolConfig {
        match &self.pool_id {
            Some(pool) => PoolConfig::new(pool.clone()).jwks_url(self.jwks_url.clone()),
            None => PoolConfig::issuer(self.issuer.clone()),
        }
    }

    /// How many JWKS requests the server has answered.
    #[must_use]
    pub fn jwks_requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// The `kid` that signs new tokens.
    #[must_use]
    pub fn current_kid(&self) -> String {
        lock(&self.shared.keys)
            .last()
            .map(|k| k.kid().to_owned())
            .unwrap_or_default()
    }

    /// Generates a new key that signs new tokens from now on; the older keys
    /// stay in the JWKS until [`remove_key`](Self::remove_key). Returns the
    /// new `kid`.
    pub fn rotate_key(&self) -> String {
        let key = SigningKey::generate();
        let kid = key.kid().to_owned();
        lock(&self.shared.keys).push(key);
        kid
    }

    /// Removes a key from the JWKS (tokens can still be signed with it via
    /// [`TokenBuilder::signed_by`], to show they are refused).
    pub fn remove_key(&self, kid: &str) {
        let mut keys = lock(&self.shared.keys);
        if let Some(pos) = keys.iter().position(|k| k.kid() == kid) {
            // Out of the JWKS, still able to sign.
            let key = keys.remove(pos);
            lock(&self.shared.removed).push(key);
        }
    }

    /// Delays every JWKS response by `delay` from now on (`Duration::ZERO`
    /// for none), to stand in for a slow key server. The document is read
    /// when the delay is over.
    pub fn delay_jwks(&self, delay: Duration) {
        *lock(&self.shared.delay) = delay;
    }

    /// Adds a JWKS entry served exactly as given (an `enc` key, an RSA-1024
    /// key, an `oct` key…), for tests of hostile key sets.
    pub fn add_jwk(&self, jwk: Value) {
        lock(&self.shared.extra).push(jwk);
    }

    /// The JWKS document the server currently serves.
    #[must_use]
    pub fn jwks(&self) -> Value {
        jwks_document(&self.shared)
    }

    /// The public key of the current signing key, as a JWK.
    pub fn current_jwk(&self) -> Value {
        lock(&self.shared.keys)
            .last()
            .map_or(Value::Null, SigningKey::jwk)
    }

    /// Stops the server: the listener closes and open connections are cut,
    /// so JWKS fetches fail from now on.
    pub fn shutdown(&self) {
        self.accept.abort();
        for conn in lock(&self.shared.connections).drain(..) {
            conn.abort();
        }
    }

    /// Starts minting an access token for `client_id`, with Cognito's
    /// claims: `sub`, `iss`, `client_id`, `token_use: "access"`, `scope`,
    /// `auth_time`, `iat`, `exp` (in one hour), `jti`, `origin_jti`,
    /// `event_id`, `username`.
    pub fn access_token(&self, client_id: &str) -> TokenBuilder<'_> {
        let mut b = self.base_token(TokenUse::Access);
        b.claims.insert("client_id".into(), json!(client_id));
        b.claims
            .insert("scope".into(), json!("aws.cognito.signin.user.admin"));
        b.claims.insert("username".into(), json!("test-user"));
        b
    }

    /// Starts minting the access token an app client gets for itself with
    /// the client-credentials grant (machine to machine): `sub` and
    /// `client_id` are both `client_id`, `scope` holds `scopes` (custom
    /// resource-server scopes such as `videos/read`), and there is no user
    /// name and no group.
    pub fn app_client_token<I, S>(&self, client_id: &str, scopes: I) -> TokenBuilder<'_>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut b = self.base_token(TokenUse::Access);
        b.claims.insert("sub".into(), json!(client_id));
        b.claims.insert("client_id".into(), json!(client_id));
        b.claims.remove("event_id");
        b.scopes(scopes)
    }

    /// Starts minting an id token for `client_id`, with Cognito's claims:
    /// `sub`, `iss`, `aud`, `token_use: "id"`, `auth_time`, `iat`, `exp` (in
    /// one hour), `jti`, `origin_jti`, `event_id`, `cognito:username`,
    /// `email`, `email_verified`.
    pub fn id_token(&self, client_id: &str) -> TokenBuilder<'_> {
        let mut b = self.base_token(TokenUse::Id);
        b.claims.insert("aud".into(), json!(client_id));
        b.claims
            .insert("cognito:username".into(), json!("test-user"));
        b.claims
            .insert("email".into(), json!("test-user@example.com"));
        b.claims.insert("email_verified".into(), json!(true));
        b
    }

    fn base_token(&self, token_use: TokenUse) -> TokenBuilder<'_> {
        let now = unix_now();
        let mut header = Map::new();
        header.insert("kid".into(), json!(self.current_kid()));
        header.insert("alg".into(), json!("RS256"));
        let mut claims = Map::new();
        for (k, v) in [
            ("sub", json!(random_uuid())),
            ("iss", json!(self.issuer)),
            ("token_use", json!(token_use.as_str())),
            ("auth_time", json!(now)),
            ("iat", json!(now)),
            ("exp", json!(now + 3600)),
            ("jti", json!(random_uuid())),
            ("origin_jti", json!(random_uuid())),
            ("event_id", json!(random_uuid())),
        ] {
            claims.insert(k.into(), v);
        }
        TokenBuilder {
            issuer: self,
            header,
            claims,
            signer: None,
        }
    }

    /// Signs any header and payload with the current key (or `kid`'s, if
    /// given), for tests of tokens no builder would make.
    #[must_use]
    pub fn sign_raw(&self, header: &[u8], payload: &[u8], kid: Option<&str>) -> String {
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let signature = self.sign_with(kid, signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    fn sign_with(&self, kid: Option<&str>, message: &[u8]) -> Vec<u8> {
        let keys = lock(&self.shared.keys);
        let key = match kid {
            None => keys.last(),
            Some(kid) => keys.iter().find(|k| k.kid() == kid),
        };
        if let Some(key) = key {
            return key.sign(message);
        }
        drop(keys);
        let removed = lock(&self.shared.removed);
        match removed.iter().find(|k| Some(k.kid()) == kid) {
            Some(key) => key.sign(message),
            // No such key: a signature of the right size that verifies under none.
            None => vec![0x5a; 256],
        }
    }
}

impl Drop for LocalIssuer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl std::fmt::Debug for LocalIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalIssuer")
            .field("issuer", &self.issuer)
            .field("jwks_url", &self.jwks_url)
            .finish_non_exhaustive()
    }
}

/// A token being minted by a [`LocalIssuer`]. Every setter replaces a claim;
/// [`sign`](Self::sign) produces the compact JWS.
#[must_use]
pub struct TokenBuilder<'a> {
    issuer: &'a LocalIssuer,
    header: Map<String, Value>,
    claims: Map<String, Value>,
    signer: Option<String>,
}

impl TokenBuilder<'_> {
    /// Sets `sub`.
    #[allow(clippy::should_implement_trait)]
    pub fn sub(self, sub: &str) -> Self {
        self.claim("sub", json!(sub))
    }

    /// Sets the user name (`username` in access tokens, `cognito:username`
    /// in id tokens).
    pub fn username(self, username: &str) -> Self {
        let name = if self.claims.contains_key("cognito:username") {
            "cognito:username"
        } else {
            "username"
        };
        self.claim(name, json!(username))
    }

    /// Sets `cognito:groups`.
    pub fn groups<I: IntoIterator<Item = S>, S: Into<String>>(self, groups: I) -> Self {
        let groups: Vec<String> = groups.into_iter().map(Into::into).collect();
        self.claim("cognito:groups", json!(groups))
    }

    /// Sets `scope` (joined with spaces).
    pub fn scopes<I: IntoIterator<Item = S>, S: Into<String>>(self, scopes: I) -> Self {
        let scopes: Vec<String> = scopes.into_iter().map(Into::into).collect();
        self.claim("scope", json!(scopes.join(" ")))
    }

    /// Sets `exp` to now plus `seconds` (negative for an expired token).
    pub fn expires_in(self, seconds: i64) -> Self {
        self.claim("exp", json!(unix_now().saturating_add(seconds)))
    }

    /// Sets any claim.
    pub fn claim(mut self, name: &str, value: Value) -> Self {
        self.claims.insert(name.to_owned(), value);
        self
    }

    /// Removes a claim.
    pub fn without(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// Sets any header field (`alg`, `kid`, `typ`…). The token is still
    /// signed with RS256; only the header says otherwise.
    pub fn header(mut self, name: &str, value: Value) -> Self {
        self.header.insert(name.to_owned(), value);
        self
    }

    /// Removes a header field.
    pub fn without_header(mut self, name: &str) -> Self {
        self.header.remove(name);
        self
    }

    /// Signs with the key `kid` (current or removed) and names it in the
    /// header.
    pub fn signed_by(mut self, kid: &str) -> Self {
        self.header.insert("kid".into(), json!(kid));
        self.signer = Some(kid.to_owned());
        self
    }

    /// The claims as they stand.
    #[must_use]
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// Signs and returns the compact token.
    #[must_use]
    pub fn sign(self) -> String {
        let header = Value::Object(self.header).to_string();
        let claims = Value::Object(self.claims).to_string();
        self.issuer
            .sign_raw(header.as_bytes(), claims.as_bytes(), self.signer.as_deref())
    }
}

fn jwks_document(shared: &Shared) -> Value {
    let mut keys: Vec<Value> = lock(&shared.keys).iter().map(SigningKey::jwk).collect();
    keys.extend(lock(&shared.extra).iter().cloned());
    json!({ "keys": keys })
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let conn_shared = shared.clone();
        let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
            let shared = conn_shared.clone();
            async move {
                let delay = *lock(&shared.delay);
                if !delay.is_zero() && req.uri().path() == shared.jwks_path {
                    tokio::time::sleep(delay).await;
                }
                Ok::<_, Infallible>(respond(&shared, &req))
            }
        });
        let io = hyper_util::rt::TokioIo::new(stream);
        let task = tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await;
        });
        let mut conns = lock(&shared.connections);
        conns.retain(|c| !c.is_finished());
        conns.push(task.abort_handle());
    }
}

fn respond<B>(shared: &Shared, req: &Request<B>) -> Response<Full<Bytes>> {
    let (status, body) = if req.uri().path() == shared.jwks_path {
        shared.requests.fetch_add(1, Ordering::SeqCst);
        (StatusCode::OK, jwks_document(shared).to_string())
    } else {
        (StatusCode::NOT_FOUND, r#"{"error":"not found"}"#.to_owned())
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

mod alb;
pub use alb::{AlbTokenBuilder, LocalAlb};

#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
pub use redis::{LocalRedis, RedisOptions};
