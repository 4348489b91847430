//! [`AlbVerifier`]: verifies the tokens an Application Load Balancer signs.

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::digest::{SHA256, digest};
use serde_json::Value;

use super::arn::LoadBalancerArn;
use super::claims::AlbClaims;
use super::keys::{AlbKeys, EcKey};
use super::token::{self, AlbToken};
use crate::Error;
use crate::cache::{LookedUp, TokenCache};
use crate::checks::nanos_of;
use crate::claims::NumericDate;
use crate::clock::now_nanos;
use crate::config::{ClientChoice, ClientsResolved};
use crate::error::{Echo, Expected, Time};
use crate::jwks::http_client;
use crate::settings::Settings;
use crate::telemetry;

/// A load balancer the verifier accepts, and where its region's keys are.
struct Signer {
    arn: String,
    key_url_base: String,
}

/// What a verification leaves in the token cache.
#[derive(Clone)]
struct Verified {
    claims: Arc<AlbClaims>,
}

struct Inner {
    signers: Vec<Signer>,
    issuer: String,
    /// `None`: any client (chosen explicitly).
    clients: Option<Vec<String>>,
    settings: Settings,
    keys: AlbKeys,
    cache: Option<TokenCache<Verified>>,
    /// The count of verified tokens.
    verified: telemetry::Counter,
}

/// Verifies the user claims an Application Load Balancer signs and
/// forwards in `x-amzn-oidc-data`, when a listener rule authenticates
/// users (with a Cognito user pool or any OIDC provider).
///
/// Checks, in order (each with its [`Error::kind`]):
///
/// | check | kind |
/// |---|---|
/// | at most the configured size | `token_too_large` |
/// | three segments of base64url **with** `=` padding (ALB's form, and only it), JSON objects without duplicate keys, a 64-byte signature, a non-empty `sub` | `malformed_token` |
/// | header `alg` is `ES256` | `unsupported_algorithm` |
/// | header `kid` is a UUID (it names the key's URL: nothing else is ever fetched) | `missing_kid`, `malformed_token` |
/// | header `signer` is a configured load balancer ARN (checked before any key is fetched) | `invalid_signer` |
/// | the key of `kid`, from the signer's region (`https://public-keys.auth.elb.<region>.amazonaws.com/<kid>`, or AWS GovCloud's S3 bucket) | `unknown_kid`, `invalid_key`, `jwks_unavailable` |
/// | the ES256 signature over the segments as received | `invalid_signature` |
/// | header `iss` (and the payload's, if any) is the configured issuer | `invalid_issuer` |
/// | header `client` is a configured client id (unless [`any_client`](AlbVerifierBuilder::any_client)) | `invalid_client_id` |
/// | header `exp` (and the payload's, if any) has not passed, with the leeway | `expired` |
/// | payload `nbf`, if any, has come | `not_yet_valid` |
///
/// The header's `exp` and the payload's `exp`, `nbf` and `iat` are
/// NumericDates (RFC 7519 §2, §4.1.4–§4.1.6): a JSON number, integer or
/// not, compared to the nanosecond, by the same rule as the Cognito
/// [`Verifier`](crate::Verifier); any other type is `malformed_token`,
/// found when the token is parsed.
///
/// Sources: "Authenticate users using an Application Load Balancer"
/// (Elastic Load Balancing user guide), section on user claims encoding and
/// signature verification: the header fields, the padding, ES256, and the
/// key endpoints. AWS's aws-jwt-verify (`AlbJwtVerifier`) makes the same
/// checks; this one also refuses unpadded segments, rate-limits fetches of
/// unknown kids and checks the signer before fetching.
///
/// ```
/// use cognito_verify::AlbVerifier;
///
/// let verifier = AlbVerifier::builder()
///     .load_balancer_arn("arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/videos/50dc6c495c0c9188")
///     .issuer("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Ynsi6EIT0")
///     .client_id("4kq1s3m5example")
///     .build()?;
/// # let _ = verifier;
/// # Ok::<(), cognito_verify::Error>(())
/// ```
#[derive(Clone)]
pub struct AlbVerifier {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AlbVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlbVerifier")
            .field(
                "load_balancers",
                &self
                    .inner
                    .signers
                    .iter()
                    .map(|s| &s.arn)
                    .collect::<Vec<_>>(),
            )
            .field("issuer", &self.inner.issuer)
            .field("clients", &self.inner.clients)
            .finish_non_exhaustive()
    }
}

/// Builds an [`AlbVerifier`]: the load balancer ARN(s), the issuer, and the
/// client id(s) or an explicit [`any_client`](Self::any_client) are required.
#[derive(Debug, Clone)]
#[must_use]
pub struct AlbVerifierBuilder {
    arns: Vec<String>,
    issuer: Option<String>,
    clients: ClientChoice,
    key_url: Option<String>,
    settings: Settings,
}

impl AlbVerifier {
    /// A builder.
    pub fn builder() -> AlbVerifierBuilder {
        AlbVerifierBuilder {
            arns: Vec::new(),
            issuer: None,
            clients: ClientChoice::default(),
            key_url: None,
            settings: Settings::default(),
        }
    }
}

impl AlbVerifierBuilder {
    /// Accepts tokens signed by this load balancer (its ARN, as in the
    /// token header's `signer`). Call once per load balancer.
    pub fn load_balancer_arn(mut self, arn: impl Into<String>) -> Self {
        self.arns.push(arn.into());
        self
    }

    /// The identity provider's issuer, as the listener rule's OIDC (or user
    /// pool) configuration has it: for a Cognito user pool,
    /// `https://cognito-idp.<region>.amazonaws.com/<pool id>`.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Accepts tokens of this OIDC client id (the header's `client`). Call
    /// once per client.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.clients.add(client_id.into());
        self
    }

    /// Accepts any client id: an explicit choice, never a default. Together
    /// with [`client_id`](Self::client_id) it is a contradiction that
    /// [`build`](Self::build) refuses.
    pub fn any_client(mut self) -> Self {
        self.clients.allow_any();
        self
    }

    /// Where the keys are published, instead of the documented host of the
    /// load balancers' region: `<url>/<kid>` is fetched. Needed outside
    /// the commercial regions and AWS GovCloud (US), and for tests.
    pub fn key_url(mut self, base: impl Into<String>) -> Self {
        self.key_url = Some(base.into());
        self
    }

    /// Tolerance for `exp` and `nbf` (default 0).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.settings.leeway = leeway;
        self
    }

    /// Verified tokens remembered (default 10,000; 0 turns the cache off).
    pub fn token_cache_capacity(mut self, capacity: u64) -> Self {
        self.settings.token_cache_capacity = capacity;
        self
    }

    /// The HTTP client that fetches keys (its own timeouts apply, and the
    /// fetch timeout on top; redirects are refused either way).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.settings.jwks.http_client = Some(client);
        self
    }

    /// How long one key fetch may take (default 5 s).
    pub fn key_fetch_timeout(mut self, timeout: Duration) -> Self {
        self.settings.jwks.fetch_timeout = timeout;
        self
    }

    /// How long a failed key lookup is remembered, and the window of the
    /// budget for kids not seen before (default 10 s, as
    /// [`jwks_min_refetch_interval`](crate::VerifierBuilder::jwks_min_refetch_interval)):
    /// at most 4 new kids are fetched per interval. A kid whose key verified
    /// a token before is fetched outside that budget.
    pub fn key_min_refetch_interval(mut self, interval: Duration) -> Self {
        self.settings.jwks.min_refetch_interval = interval;
        self
    }

    /// The verifier.
    ///
    /// # Errors
    /// `invalid_config`: no load balancer, an ARN that is not an
    /// Application Load Balancer's, a region whose key host AWS does not
    /// document without [`key_url`](Self::key_url), no issuer, neither
    /// client ids nor `any_client()`, both, an empty client id, or a setting out
    /// of bounds.
    pub fn build(self) -> Result<AlbVerifier, Error> {
        let config = |why: &str| Error::InvalidConfig(format!("ALB verifier: {why}"));
        self.settings.validate()?;
        if self.arns.is_empty() {
            return Err(config("no load balancer: call load_balancer_arn(...)"));
        }
        let key_url = match self.key_url {
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
                Some(url.trim_end_matches('/').to_owned())
            }
            Some(url) => return Err(config(&format!("key_url {url:?} is not an http(s) URL"))),
            None => None,
        };
        let signers = self
            .arns
            .iter()
            .map(|arn| {
                let parsed = LoadBalancerArn::parse(arn)?;
                let key_url_base = match &key_url {
                    Some(url) => url.clone(),
                    None => parsed.key_url_base()?,
                };
                Ok(Signer {
                    arn: parsed.arn,
                    key_url_base,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let issuer = match self.issuer {
            Some(issuer) if !issuer.is_empty() => issuer,
            _ => return Err(config("no issuer: call issuer(...)")),
        };
        let clients = match self.clients.resolve() {
            ClientsResolved::Contradiction => {
                return Err(config(
                    "both client_id(..) (--alb-client-id, ALB_CLIENT_ID) and any_client() \
                     (--alb-any-client) are set; choose one",
                ));
            }
            ClientsResolved::Unset => {
                return Err(config(
                    "no client id: call client_id(...), or any_client() to accept every client",
                ));
            }
            ClientsResolved::Any => None,
            ClientsResolved::Ids(ids) if ids.iter().any(String::is_empty) => {
                return Err(config("a client id is empty"));
            }
            ClientsResolved::Ids(ids) => Some(ids),
        };
        let client = http_client(&self.settings.jwks)?;
        let keys = AlbKeys::new(client, Arc::new(self.settings.jwks.clone()));
        let cache = (self.settings.token_cache_capacity > 0)
            .then(|| TokenCache::new(self.settings.token_cache_capacity, "alb"));
        Ok(AlbVerifier {
            inner: Arc::new(Inner {
                signers,
                verified: telemetry::verified_counter("alb", &issuer),
                issuer,
                clients,
                settings: self.settings,
                keys,
                cache,
            }),
        })
    }
}

/// Where a verification stands once the token is parsed.
// Made once per verification and matched at once: boxing the parsed token
// would cost an allocation for nothing.
#[allow(clippy::large_enum_variant)]
enum Start<'t> {
    /// A byte-identical token verified before; its claims re-checked.
    CacheHit(Arc<AlbClaims>),
    /// Parsed and its signer accepted: the key at `key_url` decides.
    NeedsKey {
        token: AlbToken<'t>,
        key_url: String,
        /// The cache miss, when the cache is on (its hash state is the
        /// signature check's digest).
        looked_up: Option<LookedUp>,
    },
}

impl AlbVerifier {
    /// Verifies `token`, fetching its key if needed.
    ///
    /// # Errors
    /// The first check that fails (see the table above).
    pub async fn verify(&self, token: impl AsRef<[u8]>) -> Result<Arc<AlbClaims>, Error> {
        let result = match self.begin(token.as_ref()) {
            Ok(Start::CacheHit(claims)) => Ok(claims),
            Ok(Start::NeedsKey {
                token,
                key_url,
                looked_up,
            }) => {
                let key = self.inner.keys.key(&key_url, &token.header.kid).await;
                self.finish(token, key, looked_up)
            }
            Err(e) => Err(e),
        };
        self.count(&result);
        result
    }

    /// Counts the outcome (feature `metrics`).
    fn count(&self, result: &Result<Arc<AlbClaims>, Error>) {
        match result {
            Ok(_) => self.inner.verified.increment(1),
            Err(e) => telemetry::refused("alb", e.kind()),
        }
    }

    /// The verified-token cache's counters (`None` when it is off).
    #[must_use]
    pub fn token_cache_stats(&self) -> Option<crate::TokenCacheStats> {
        self.inner.cache.as_ref().map(TokenCache::stats)
    }

    /// Verifies `token` when its key is already cached; `None` when the key
    /// must be fetched first (then call [`verify`](Self::verify)).
    pub fn try_verify_cached(
        &self,
        token: impl AsRef<[u8]>,
    ) -> Option<Result<Arc<AlbClaims>, Error>> {
        let result = match self.begin(token.as_ref()) {
            Err(e) => Err(e),
            Ok(Start::CacheHit(claims)) => Ok(claims),
            Ok(Start::NeedsKey {
                token,
                key_url,
                looked_up,
            }) => {
                let key = self.inner.keys.cached(&key_url)?;
                self.finish(token, key, looked_up)
            }
        };
        self.count(&result);
        Some(result)
    }

    fn begin<'t>(&self, token: &'t [u8]) -> Result<Start<'t>, Error> {
        let max = self.inner.settings.max_token_bytes;
        if token.len() > max {
            return Err(Error::TokenTooLarge {
                size: token.len(),
                max,
            });
        }
        let looked_up = match (
            &self.inner.cache,
            crate::token::signing_input_and_signature(token),
        ) {
            (Some(cache), Some((signing_input, signature))) => {
                let miss = LookedUp::of(signing_input, signature);
                let key = miss.cache_key;
                if let Some(hit) = cache.get(&key) {
                    cache.record(true);
                    return match self.check_time(&hit.claims) {
                        Ok(()) => Ok(Start::CacheHit(hit.claims)),
                        Err(e) => {
                            cache.remove(&key);
                            Err(e)
                        }
                    };
                }
                cache.record(false);
                Some(miss)
            }
            _ => None,
        };
        let token = token::parse(token)?;
        let signer = self
            .inner
            .signers
            .iter()
            .find(|s| s.arn == token.header.signer)
            .ok_or_else(|| Error::InvalidSigner {
                expected: Expected(self.inner.signers.iter().map(|s| s.arn.clone()).collect()),
                actual: Echo::some(&token.header.signer),
            })?;
        let key_url = format!("{}/{}", signer.key_url_base, token.header.kid);
        Ok(Start::NeedsKey {
            token,
            key_url,
            looked_up,
        })
    }

    fn finish(
        &self,
        token: AlbToken<'_>,
        key: Result<Arc<EcKey>, Error>,
        looked_up: Option<LookedUp>,
    ) -> Result<Arc<AlbClaims>, Error> {
        let key = key?;
        let (signing_digest, cache_key) = match looked_up {
            Some(LookedUp { signing, cache_key }) => (signing.finish(), Some(cache_key)),
            None => (digest(&SHA256, token.signing_input), None),
        };
        if !key.verify(&signing_digest, &token.signature) {
            return Err(Error::InvalidSignature {
                kid: Echo::some(&token.header.kid),
            });
        }
        self.check_claims(&token)?;
        let claims = Arc::new(AlbClaims::new(token.header, token.payload, token.times));
        self.check_time(&claims)?;
        if let (Some(cache), Some(cache_key)) = (&self.inner.cache, cache_key) {
            cache.admit(cache_key, || Verified {
                claims: claims.clone(),
            });
        }
        Ok(claims)
    }

    /// `iss` and `client`, once the signature holds.
    fn check_claims(&self, token: &AlbToken<'_>) -> Result<(), Error> {
        let issuer = &self.inner.issuer;
        let payload_iss = match token.payload.get("iss") {
            None => None,
            Some(Value::String(iss)) => Some(iss.as_str()),
            Some(_) => return Err(Error::malformed("the claim \"iss\" must be a string")),
        };
        for iss in [Some(token.header.iss.as_str()), payload_iss]
            .into_iter()
            .flatten()
        {
            if iss != issuer {
                return Err(Error::InvalidIssuer {
                    expected: Expected(vec![issuer.clone()]),
                    actual: Echo::some(iss),
                });
            }
        }
        if let Some(clients) = &self.inner.clients
            && !clients.contains(&token.header.client)
        {
            return Err(Error::InvalidClientId {
                claim: "client",
                expected: Expected(clients.clone()),
                actual: Echo::some(&token.header.client),
            });
        }
        Ok(())
    }

    /// `exp` (header and payload) and `nbf`, on every verification and hit,
    /// compared exactly as the Cognito verifier compares them: valid only
    /// before `exp` (RFC 7519 §4.1.4), a NumericDate's fraction included.
    fn check_time(&self, claims: &AlbClaims) -> Result<(), Error> {
        let times = claims.times();
        let leeway = self.inner.settings.leeway;
        let leeway_nanos = nanos_of(leeway);
        let now = now_nanos();
        let now_secs = || Time::from_unix_seconds(NumericDate::from_nanos(now).whole_seconds());
        if now >= times.exp.nanos().saturating_add(leeway_nanos) {
            return Err(Error::Expired {
                exp: Time::from_unix_seconds(times.exp.whole_seconds()),
                now: now_secs(),
                leeway_secs: leeway.as_secs(),
            });
        }
        if let Some(nbf) = times.nbf
            && nbf.nanos() > now.saturating_add(leeway_nanos)
        {
            return Err(Error::NotYetValid {
                nbf: Time::from_unix_seconds(nbf.whole_seconds()),
                now: now_secs(),
                leeway_secs: leeway.as_secs(),
            });
        }
        Ok(())
    }
}
