//! [`LocalAlb`]: an Application Load Balancer's signing side, for tests.
//! **Test-only.**

// Key generation and signing fail only if the system RNG or aws-lc does;
// a test cannot go on then.
#![allow(clippy::expect_used)]

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio::task::AbortHandle;

use super::lock;
use crate::AlbVerifier;
use crate::alb::AlbVerifierBuilder;
use crate::mint::{random_uuid, unix_now};

/// A P-256 key and its id, as an ALB keeps them.
struct AlbKey {
    kid: String,
    pair: EcdsaKeyPair,
}

impl AlbKey {
    fn generate() -> Self {
        AlbKey {
            kid: random_uuid(),
            pair: EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .expect("a P-256 key pair"),
        }
    }

    /// The public key as ALB's key endpoint serves it: a PEM `PUBLIC KEY`.
    fn pem(&self) -> String {
        let der = self.pair.public_key().as_der().expect("an SPKI encoding");
        let base64 = STANDARD.encode(der.as_ref());
        let lines: Vec<&str> = base64
            .as_bytes()
            .chunks(64)
            .map(|line| std::str::from_utf8(line).unwrap_or_default())
            .collect();
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            lines.join("\n")
        )
    }
}

struct Shared {
    /// Served at `/<kid>`; the last one signs new tokens.
    keys: Mutex<Vec<AlbKey>>,
    requests: AtomicUsize,
}

/// An Application Load Balancer's signing side on `127.0.0.1`, for tests:
/// P-256 keys made at start, each public key served as PEM at
/// `http://127.0.0.1:<port>/<kid>` (the shape of
/// `https://public-keys.auth.elb.<region>.amazonaws.com/<kid>`), and tokens
/// shaped like `x-amzn-oidc-data` (padded base64url, ES256, the header's
/// `signer`, `client`, `iss` and `exp`). **Test-only.**
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use cognito_verify::testing::LocalAlb;
///
/// let alb = LocalAlb::start().await?;
/// let verifier = alb.verifier_builder().build()?;
/// let token = alb.token().sub("alice").claim("email", "alice@example.com".into()).sign();
/// let claims = verifier.verify(&token).await?;
/// assert_eq!(claims.email(), Some("alice@example.com"));
/// assert_eq!(claims.load_balancer_arn(), alb.arn());
/// # Ok(()) }
/// ```
pub struct LocalAlb {
    arn: String,
    issuer: String,
    client_id: String,
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: AbortHandle,
}

impl LocalAlb {
    /// Starts the key server with one key, for a load balancer named by a
    /// random ARN in `us-east-1`.
    ///
    /// # Errors
    /// When no port on 127.0.0.1 can be bound.
    pub async fn start() -> io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            keys: Mutex::new(vec![AlbKey::generate()]),
            requests: AtomicUsize::new(0),
        });
        let accept = tokio::spawn(serve(listener, shared.clone())).abort_handle();
        let id = random_uuid().replace('-', "");
        Ok(LocalAlb {
            arn: format!(
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/local-alb/{}",
                &id[..16]
            ),
            issuer: format!("https://idp.example.com/{}", &id[16..]),
            client_id: "local-alb-client".into(),
            addr,
            shared,
            accept,
        })
    }

    /// The load balancer's ARN (the tokens' `signer`).
    #[must_use]
    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// The identity provider's issuer in the tokens.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The OIDC client id in the tokens.
    #[must_use]
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The base URL of the key server: the key of `kid` is at `<base>/<kid>`.
    #[must_use]
    pub fn key_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The id of the key that signs new tokens.
    #[must_use]
    pub fn current_kid(&self) -> String {
        lock(&self.shared.keys)
            .last()
            .map(|k| k.kid.clone())
            .unwrap_or_default()
    }

    /// The public key of `kid` as the key server serves it (PEM), if the
    /// load balancer has that key.
    #[must_use]
    pub fn public_key_pem(&self, kid: &str) -> Option<String> {
        lock(&self.shared.keys)
            .iter()
            .find(|k| k.kid == kid)
            .map(AlbKey::pem)
    }

    /// Key requests served so far (any path).
    #[must_use]
    pub fn key_requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// A new key signs from now on; the old ones stay served.
    pub fn rotate_key(&self) -> String {
        let key = AlbKey::generate();
        let kid = key.kid.clone();
        lock(&self.shared.keys).push(key);
        kid
    }

    /// Stops the key server.
    pub fn shutdown(&self) {
        self.accept.abort();
    }

    /// A verifier builder for this load balancer: its ARN, issuer, client
    /// id and key server.
    pub fn verifier_builder(&self) -> AlbVerifierBuilder {
        AlbVerifier::builder()
            .load_balancer_arn(&self.arn)
            .issuer(&self.issuer)
            .client_id(&self.client_id)
            .key_url(self.key_url())
    }

    /// A token of this load balancer, valid for two minutes, for a random
    /// user.
    pub fn token(&self) -> AlbTokenBuilder<'_> {
        let exp = unix_now() + 120;
        let mut header = Map::new();
        header.insert("typ".into(), json!("JWT"));
        header.insert("kid".into(), json!(self.current_kid()));
        header.insert("alg".into(), json!("ES256"));
        header.insert("iss".into(), json!(self.issuer));
        header.insert("client".into(), json!(self.client_id));
        header.insert("signer".into(), json!(self.arn));
        header.insert("exp".into(), json!(exp));
        let sub = random_uuid();
        let mut claims = Map::new();
        claims.insert("sub".into(), json!(sub));
        claims.insert("email_verified".into(), json!("true"));
        claims.insert("username".into(), json!(sub));
        claims.insert("exp".into(), json!(exp));
        claims.insert("iss".into(), json!(self.issuer));
        AlbTokenBuilder {
            alb: self,
            header,
            claims,
            foreign_key: false,
        }
    }
}

impl Drop for LocalAlb {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// A token being made by [`LocalAlb::token`]. Test-only.
#[must_use]
pub struct AlbTokenBuilder<'a> {
    alb: &'a LocalAlb,
    header: Map<String, Value>,
    claims: Map<String, Value>,
    foreign_key: bool,
}

impl AlbTokenBuilder<'_> {
    /// The user's `sub`.
    #[allow(clippy::should_implement_trait)]
    pub fn sub(self, sub: &str) -> Self {
        self.claim("sub", json!(sub))
    }

    /// Sets a user claim.
    pub fn claim(mut self, name: &str, value: Value) -> Self {
        self.claims.insert(name.into(), value);
        self
    }

    /// Removes a user claim.
    pub fn without(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// Sets a header field (`signer`, `client`, `alg`, `kid`, …).
    pub fn header(mut self, name: &str, value: Value) -> Self {
        self.header.insert(name.into(), value);
        self
    }

    /// Expires `seconds` from now (negative: already expired), in the
    /// header and the payload.
    pub fn expires_in(self, seconds: i64) -> Self {
        let exp = json!(unix_now() + seconds);
        self.header("exp", exp.clone()).claim("exp", exp)
    }

    /// Signs with a key the load balancer never published (under the
    /// current kid): the signature cannot verify.
    pub fn signed_with_another_key(mut self) -> Self {
        self.foreign_key = true;
        self
    }

    /// The token, as ALB writes it: base64url segments with `=` padding,
    /// the ES256 signature over them as written.
    pub fn sign(self) -> String {
        let signing_input = format!(
            "{}.{}",
            URL_SAFE.encode(Value::Object(self.header.clone()).to_string()),
            URL_SAFE.encode(Value::Object(self.claims.clone()).to_string())
        );
        let kid = self
            .header
            .get("kid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let rng = SystemRandom::new();
        let signature = if self.foreign_key {
            AlbKey::generate().pair.sign(&rng, signing_input.as_bytes())
        } else {
            let keys = lock(&self.alb.shared.keys);
            let key = keys
                .iter()
                .find(|k| k.kid == kid)
                .or_else(|| keys.last())
                .expect("the load balancer has a key");
            key.pair.sign(&rng, signing_input.as_bytes())
        }
        .expect("an ES256 signature");
        format!("{signing_input}.{}", URL_SAFE.encode(signature.as_ref()))
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let conn_shared = shared.clone();
        let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
            let shared = conn_shared.clone();
            async move { Ok::<_, Infallible>(respond(&shared, &req)) }
        });
        let io = hyper_util::rt::TokioIo::new(stream);
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await;
        });
    }
}

fn respond<B>(shared: &Shared, req: &Request<B>) -> Response<Full<Bytes>> {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let kid = req.uri().path().trim_start_matches('/');
    let pem = lock(&shared.keys)
        .iter()
        .find(|k| k.kid == kid)
        .map(AlbKey::pem);
    let (status, body) = match pem {
        Some(pem) => (StatusCode::OK, pem),
        // The public endpoint answers an unknown key id with an error too.
        None => (StatusCode::FORBIDDEN, "no such key".to_owned()),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
}
