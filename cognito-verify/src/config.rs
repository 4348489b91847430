//! [`PoolConfig`]: what one issuer's tokens must satisfy, and where its
//! keys are; resolved into [`ResolvedPool`]s (issuers and JWKS URLs) at
//! [`VerifierBuilder::build`](crate::VerifierBuilder::build), so a mistake
//! stops start-up instead of failing the first request.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::Error;
use crate::claims::{CognitoClaims, TokenUse};
use crate::pool::{UserPoolId, is_region, jwks_url_of, same_partition};

/// A check of your own, run on the claims after every built-in check has
/// passed. Return `Err(reason)` to refuse the token (`custom_check_failed`).
pub type CustomCheck = Arc<dyn Fn(&CognitoClaims) -> Result<(), String> + Send + Sync>;

#[derive(Clone, Debug)]
enum Source {
    Cognito(String),
    Issuer(String),
}

/// Which issuer a Cognito user pool puts in its tokens: the pool's
/// *issuer type* in the Cognito console and API (`IssuerConfigurationType`,
/// see
/// <https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_IssuerConfigurationType.html>).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IssuerType {
    /// `ORIGINAL`: `https://cognito-idp.<region>.amazonaws.com/<pool id>`,
    /// the issuer of every pool that has not switched. Only it is accepted.
    Original,
    /// `UPDATED`: `https://issuer-cognito-idp.<region>.amazonaws.com/<pool id>`
    /// (recommended by AWS with multi-region replication; the region is the
    /// pool's primary region). Only it is accepted.
    Updated,
    /// Either (the default): for a pool whose type you do not know, or one
    /// that is switching. The ORIGINAL issuer's keys are fetched at
    /// [`hydrate`](crate::Verifier::hydrate); the UPDATED issuer's only when
    /// a token names it, since its endpoint answers HTTP 403 for pools that
    /// have not switched (reported against aws-jwt-verify 5.2.0, its issue
    /// #279; AWS documents no such response either way).
    #[default]
    Both,
}

/// The clients a builder was told to accept: ids, "any client", or both
/// (a contradiction that `build()` refuses rather than letting either win).
#[derive(Clone, Debug, Default)]
pub(crate) struct ClientChoice {
    ids: Vec<String>,
    any: bool,
}

/// What a [`ClientChoice`] resolves to.
pub(crate) enum ClientsResolved {
    /// Any client (chosen explicitly).
    Any,
    /// Only these (not yet checked for empty ids).
    Ids(Vec<String>),
    /// Neither was said.
    Unset,
    /// Both ids and "any client" were said.
    Contradiction,
}

impl ClientChoice {
    pub(crate) fn add(&mut self, id: String) {
        self.ids.push(id);
    }

    pub(crate) fn allow_any(&mut self) {
        self.any = true;
    }

    pub(crate) fn resolve(self) -> ClientsResolved {
        match (self.any, self.ids.is_empty()) {
            (true, true) => ClientsResolved::Any,
            (true, false) => ClientsResolved::Contradiction,
            (false, true) => ClientsResolved::Unset,
            (false, false) => ClientsResolved::Ids(self.ids),
        }
    }
}

#[derive(Clone, Debug)]
enum Use {
    Unset,
    Any,
    One(TokenUse),
}

/// What one issuer (a Cognito user pool, or a Cognito-compatible emulator)
/// must satisfy: which app clients and token use are accepted, which groups
/// or scopes are required, and where its keys are.
///
/// The client ids and the token use have no default: leaving either unset is
/// a build error, and accepting any client takes an explicit
/// [`any_client`](Self::any_client).
///
/// ```
/// use cognito_verify::{PoolConfig, TokenUse};
///
/// let pool = PoolConfig::new("us-east-1_Ynsi6EIT0")
///     .client_id("4kq1s3m5example")
///     .token_use(TokenUse::Access)
///     .scope("videos/read");
/// # let _ = pool;
/// ```
#[derive(Clone)]
#[must_use]
pub struct PoolConfig {
    source: Source,
    clients: ClientChoice,
    token_use: Use,
    /// `None`: no group required; `Some` must not be empty at `build()`.
    groups: Option<Vec<String>>,
    /// `None`: no scope required; `Some` must not be empty at `build()`.
    scopes: Option<Vec<String>>,
    /// Resources access tokens must name in `aud`; none: no audience check.
    resources: Vec<String>,
    jwks_url: Option<String>,
    issuer_type: Option<IssuerType>,
    replica_regions: Vec<String>,
    dns_suffix: Option<String>,
    keys_document: Option<KeysDocument>,
    offline: bool,
    custom_check: Option<CustomCheck>,
}

/// A JWKS document given at build time.
#[derive(Clone, Debug)]
pub(crate) enum KeysDocument {
    Text(String),
    File(PathBuf),
}

impl KeysDocument {
    /// The document's bytes, at most `max_bytes` of them (the JWKS body
    /// cap): a file must be a regular file, and is read through the cap.
    pub(crate) fn load(&self, max_bytes: usize) -> Result<Vec<u8>, String> {
        let bytes = match self {
            KeysDocument::Text(text) => text.as_bytes().to_vec(),
            KeysDocument::File(path) => {
                let cannot = |e: &dyn fmt::Display| {
                    format!("cannot read the JWKS file {}: {e}", path.display())
                };
                let file = std::fs::File::open(path).map_err(|e| cannot(&e))?;
                let meta = file.metadata().map_err(|e| cannot(&e))?;
                if !meta.is_file() {
                    return Err(cannot(&"it is not a regular file"));
                }
                let limit = u64::try_from(max_bytes)
                    .unwrap_or(u64::MAX)
                    .saturating_add(1);
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(&mut std::io::Read::take(file, limit), &mut bytes)
                    .map_err(|e| cannot(&e))?;
                bytes
            }
        };
        if bytes.len() > max_bytes {
            return Err(format!(
                "the JWKS document is larger than {max_bytes} bytes (jwks_max_bytes)"
            ));
        }
        Ok(bytes)
    }
}

impl fmt::Debug for PoolConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolConfig")
            .field("source", &self.source)
            .field("clients", &self.clients)
            .field("token_use", &self.token_use)
            .field("groups", &self.groups)
            .field("scopes", &self.scopes)
            .field("resources", &self.resources)
            .field("jwks_url", &self.jwks_url)
            .field("issuer_type", &self.issuer_type)
            .field("replica_regions", &self.replica_regions)
            .field("dns_suffix", &self.dns_suffix)
            .field("keys_document", &self.keys_document.is_some())
            .field("offline", &self.offline)
            .field("custom_check", &self.custom_check.is_some())
            .finish()
    }
}

impl PoolConfig {
    fn with_source(source: Source) -> Self {
        PoolConfig {
            source,
            clients: ClientChoice::default(),
            token_use: Use::Unset,
            groups: None,
            scopes: None,
            resources: Vec::new(),
            jwks_url: None,
            issuer_type: None,
            replica_regions: Vec::new(),
            dns_suffix: None,
            keys_document: None,
            offline: false,
            custom_check: None,
        }
    }

    /// A Cognito user pool by id, e.g. `us-east-1_Ynsi6EIT0`.
    ///
    /// By default tokens are accepted from both issuers of the pool,
    /// `https://cognito-idp.<region>.amazonaws.com/<pool id>` (issuer type
    /// ORIGINAL) and `https://issuer-cognito-idp.<region>.amazonaws.com/<pool id>`
    /// (UPDATED); each issuer's keys come from its own
    /// `/.well-known/jwks.json`. Say which one the pool uses with
    /// [`issuer_type`](Self::issuer_type). The id is validated at build
    /// time.
    pub fn new(user_pool_id: impl Into<String>) -> Self {
        Self::with_source(Source::Cognito(user_pool_id.into()))
    }

    /// An issuer given by URL instead of a user pool id: for emulators such
    /// as cognito-local (`http://127.0.0.1:9229/local_abc12345`) or other
    /// Cognito-shaped OIDC issuers. The token's `iss` must equal it exactly.
    /// Keys come from `<issuer>/.well-known/jwks.json` unless
    /// [`jwks_url`](Self::jwks_url) says otherwise. `http://` is allowed
    /// because you chose the URL.
    pub fn issuer(issuer_url: impl Into<String>) -> Self {
        Self::with_source(Source::Issuer(issuer_url.into()))
    }

    /// Accepts tokens issued to this app client (call again to accept
    /// several: any of them suffices). Read from `aud` in id tokens and from
    /// `client_id` in access tokens.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.clients.add(client_id.into());
        self
    }

    /// Accepts tokens issued to any of these app clients.
    pub fn client_ids<I, S>(mut self, client_ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        for id in client_ids {
            self = self.client_id(id);
        }
        self
    }

    /// Accepts tokens issued to any app client of the pool. Explicit on
    /// purpose: a pool can have clients you do not control. Together with
    /// [`client_id`](Self::client_id) it is a contradiction that
    /// [`VerifierBuilder::build`](crate::VerifierBuilder::build) refuses.
    pub fn any_client(mut self) -> Self {
        self.clients.allow_any();
        self
    }

    /// Accepts only id tokens or only access tokens. APIs usually want
    /// [`TokenUse::Access`].
    pub fn token_use(mut self, token_use: TokenUse) -> Self {
        self.token_use = Use::One(token_use);
        self
    }

    /// Accepts both id and access tokens.
    pub fn any_token_use(mut self) -> Self {
        self.token_use = Use::Any;
        self
    }

    /// Requires the user to be in this group (`cognito:groups`); call again
    /// to require any of several.
    pub fn group(self, group: impl Into<String>) -> Self {
        self.groups([group])
    }

    /// Requires the user to be in any of these groups.
    ///
    /// A list that comes out empty (say, from an unset environment
    /// variable) is an `invalid_config` error at
    /// [`build`](crate::VerifierBuilder::build), not "no requirement": to require
    /// no group, do not call this.
    pub fn groups<I, S>(mut self, groups: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let list = self.groups.get_or_insert_with(Vec::new);
        list.extend(groups.into_iter().map(Into::into));
        self
    }

    /// Requires this scope in `scope`; call again to require any of several.
    pub fn scope(self, scope: impl Into<String>) -> Self {
        self.scopes([scope])
    }

    /// Requires any of these scopes. As with [`groups`](Self::groups), a
    /// list that comes out empty is an `invalid_config` error at
    /// [`build`](crate::VerifierBuilder::build).
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let list = self.scopes.get_or_insert_with(Vec::new);
        list.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Makes this server a protected resource (RFC 8707, RFC 9728): every
    /// access token must name `resource` in its audience (`aud`), or it is
    /// refused with `invalid_audience` (HTTP 401). Call again to serve
    /// several resources (any of them suffices). Id tokens are not
    /// affected: their `aud` is the app client id, checked as before, so
    /// a protected resource usually accepts access tokens only
    /// ([`TokenUse::Access`]); with [`TokenUse::Id`] alone a resource would
    /// check nothing, and `build()` refuses it, as it refuses a resource
    /// with both [`any_client`](Self::any_client) and
    /// [`any_token_use`](Self::any_token_use) (every id token of the pool
    /// would pass unbound).
    ///
    /// **What Cognito puts there.** With *resource binding* (Cognito's
    /// name for RFC 8707 resource indicators), a client that signs a user
    /// in through managed login sends `resource=<URL>` to
    /// `/oauth2/authorize` (authorization-code and implicit grants), and
    /// Cognito "sets the requested URI as the audience in the `aud` claim
    /// of the access token"; tokens from a refresh keep it; one resource
    /// per request; the value must be an `https://` URL, `http://localhost`
    /// or a custom scheme (Cognito developer guide, "Scopes, M2M, and
    /// resource servers", section "Resource binding":
    /// <https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-define-resource-servers.html#cognito-user-pools-resource-binding>;
    /// "Understanding the access token",
    /// <https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html>:
    /// `aud` is "present only if your application requested a resource
    /// binding"). The guide also says
    /// that *client-credentials (M2M) grants cannot request a binding*, and
    /// that SDK authentication (`InitiateAuth`) cannot either: their
    /// access tokens have no `aud` and are refused here, so serve them
    /// through a pool without resources. Resource binding needs the
    /// Essentials or Plus feature plan (AWS What's New, "Amazon Cognito
    /// now supports resource indicators to simplify enhancing protection
    /// of OAuth 2.0 resources"). Whether `aud` is a string or an array is
    /// not stated; both are accepted (RFC 7519 §4.1.3), and a token
    /// passes when any of its values is one of the resources.
    ///
    /// **Which form to configure.** Exactly the string the clients send
    /// as `resource`, which for an MCP server is its canonical URI, the
    /// `resource` of its RFC 9728 metadata: `https://` (plain `http://`
    /// only on `localhost` or a loopback address, for development), no
    /// fragment (RFC 8707 §2, RFC 9728 §1.2), no query, no user
    /// information, in normal form (lower-case scheme and host, no
    /// default port, no dot segments: the form a URL parser writes back).
    /// A bare origin may be written with or without its `/`; MCP asks for
    /// the form without a trailing slash. The comparison is exact, byte
    /// for byte (RFC 3986 §6.2.1's simple string comparison): no
    /// normalisation ever widens a match, so `https://api.example.com/mcp/`
    /// and `https://api.example.com/mcp` are different resources. A
    /// resource not in that form is an `invalid_config` error at
    /// [`build`](crate::VerifierBuilder::build).
    ///
    /// The client-id allowlist stays required: an MCP server that serves
    /// any client registered in the pool says so with
    /// [`any_client`](Self::any_client); it is never the default.
    ///
    /// ```
    /// use cognito_verify::{PoolConfig, TokenUse, Verifier};
    ///
    /// let verifier = Verifier::builder()
    ///     .pool(
    ///         PoolConfig::new("us-east-1_Ynsi6EIT0")
    ///             .any_client() // every client of the pool, explicitly
    ///             .token_use(TokenUse::Access)
    ///             .resource("https://videos.example.com/mcp"),
    ///     )
    ///     .build()?;
    /// # let _ = verifier;
    /// // A fragment can never be part of a resource indicator:
    /// let err = Verifier::builder()
    ///     .pool(
    ///         PoolConfig::new("us-east-1_Ynsi6EIT0")
    ///             .any_client()
    ///             .token_use(TokenUse::Access)
    ///             .resource("https://videos.example.com/mcp#tools"),
    ///     )
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), "invalid_config");
    /// # Ok::<(), cognito_verify::Error>(())
    /// ```
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resources.push(resource.into());
        self
    }

    /// Fetches keys from this URL instead of the issuer's own, while the
    /// `iss` check stays as it is. For emulators: moto serves a pool's keys
    /// at `http://127.0.0.1:<port>/<pool id>/.well-known/jwks.json` while its
    /// tokens carry the real AWS issuer.
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.jwks_url = Some(url.into());
        self
    }

    /// Which issuer the pool puts in its tokens (the console's "issuer
    /// type"); default [`IssuerType::Both`]. With `Original` or `Updated`,
    /// tokens of the other form are refused as `invalid_issuer` and its key
    /// set is never fetched. Only for pools given by id.
    pub fn issuer_type(mut self, issuer_type: IssuerType) -> Self {
        self.issuer_type = Some(issuer_type);
        self
    }

    /// Also accepts the tokens of these replica regions of a pool with
    /// multi-region replication and the ORIGINAL issuer, which carry the
    /// replica's host: `https://cognito-idp.<replica region>.<dns suffix>/<pool id>`
    /// (reported against aws-jwt-verify, its issue #282). Each replica's keys
    /// come from its own host and are fetched by
    /// [`hydrate`](crate::Verifier::hydrate) beside the primary region's,
    /// each on its own: the pool starts while any of its regions serves
    /// keys (the outage replication is for), and
    /// [`Hydrated::not_fetched`](crate::Hydrated::not_fetched) lists the
    /// others. The regions must be in the pool's partition. Not with
    /// [`IssuerType::Updated`]: there, every replica's tokens carry the
    /// primary region's UPDATED issuer.
    pub fn replica_regions<I, S>(mut self, regions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.replica_regions
            .extend(regions.into_iter().map(Into::into));
        self
    }

    /// The DNS suffix of the pool's issuer and JWKS hosts
    /// (`cognito-idp.<region>.<suffix>`), where the default from the
    /// region's partition ([`dns_suffix_of`](crate::dns_suffix_of)) is not
    /// right for your pool. Only for pools given by id.
    pub fn dns_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.dns_suffix = Some(suffix.into());
        self
    }

    /// Loads the pool's keys from this JWKS document (the JSON a JWKS URL
    /// serves) at [`build`](crate::VerifierBuilder::build), for every issuer of the
    /// pool: [`Verifier::verify_cached`](crate::Verifier::verify_cached) works at once, with no fetch (cold
    /// starts, networks that cannot reach Cognito). Unless
    /// [`offline`](Self::offline), the keys are then refreshed over the
    /// network like fetched ones (after the TTL, or for an unknown `kid`).
    /// A document that is not a usable JWKS is an `invalid_config` error.
    ///
    /// ```
    /// use cognito_verify::{PoolConfig, TokenUse, Verifier};
    ///
    /// let jwks = r#"{"keys": []}"#; // e.g. saved from the pool's jwks.json
    /// let verifier = Verifier::builder()
    ///     .pool(
    ///         PoolConfig::new("us-east-1_Ynsi6EIT0")
    ///             .client_id("4kq1s3m5example")
    ///             .token_use(TokenUse::Access)
    ///             .jwks_document(jwks)
    ///             .offline(),
    ///     )
    ///     .build()?;
    /// assert_eq!(verifier.verify_cached("a.b.c").unwrap_err().kind(), "malformed_token");
    /// # Ok::<(), cognito_verify::Error>(())
    /// ```
    pub fn jwks_document(mut self, json: impl Into<String>) -> Self {
        self.keys_document = Some(KeysDocument::Text(json.into()));
        self
    }

    /// The same, with the document read from a file at
    /// [`build`](crate::VerifierBuilder::build) (an unreadable file is an
    /// `invalid_config` error naming it).
    pub fn jwks_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.keys_document = Some(KeysDocument::File(path.into()));
        self
    }

    /// Never fetches this pool's keys over the network: only the keys of
    /// [`jwks_document`](Self::jwks_document) or
    /// [`jwks_file`](Self::jwks_file) verify, they never go stale, and a
    /// token with another `kid` is `unknown_kid`. Requires one of those.
    pub fn offline(mut self) -> Self {
        self.offline = true;
        self
    }

    /// Runs `check` on the claims after every built-in check passed.
    ///
    /// ```
    /// use cognito_verify::{PoolConfig, TokenUse};
    ///
    /// let pool = PoolConfig::new("us-east-1_Ynsi6EIT0")
    ///     .client_id("4kq1s3m5example")
    ///     .token_use(TokenUse::Id)
    ///     .custom_check(|claims| match claims.email_verified() {
    ///         Some(true) => Ok(()),
    ///         _ => Err("e-mail address not verified".into()),
    ///     });
    /// # let _ = pool;
    /// ```
    pub fn custom_check<F>(mut self, check: F) -> Self
    where
        F: Fn(&CognitoClaims) -> Result<(), String> + Send + Sync + 'static,
    {
        self.custom_check = Some(Arc::new(check));
        self
    }

    pub(crate) fn resolve(self) -> Result<ResolvedPool, Error> {
        let (name, issuers) = match &self.source {
            Source::Cognito(id) => {
                let pool = UserPoolId::new(id)?;
                let suffix = match &self.dns_suffix {
                    Some(suffix) => check_dns_suffix(suffix)?,
                    None => pool.dns_suffix().to_owned(),
                };
                let original = |at_hydrate| {
                    ResolvedIssuer::new(pool.issuer_in(pool.region(), &suffix), at_hydrate)
                };
                let updated =
                    |at_hydrate| ResolvedIssuer::new(pool.updated_issuer_in(&suffix), at_hydrate);
                let replicas = self
                    .replica_regions
                    .iter()
                    .map(|region| {
                        check_replica_region(&pool, region, &self.replica_regions)?;
                        Ok(ResolvedIssuer::new(
                            pool.issuer_in(region, &suffix),
                            AtHydrate::Replica,
                        ))
                    })
                    .collect::<Result<Vec<_>, Error>>()?;
                let mut issuers = match self.issuer_type.unwrap_or_default() {
                    IssuerType::Original => vec![original(AtHydrate::Fetch)],
                    IssuerType::Updated if !replicas.is_empty() => {
                        return Err(Error::InvalidConfig(format!(
                            "pool {pool}: replica_regions apply to the ORIGINAL issuer; with \
                             IssuerType::Updated every replica's tokens carry the primary \
                             region's issuer, so leave them out"
                        )));
                    }
                    IssuerType::Updated => vec![updated(AtHydrate::Fetch)],
                    IssuerType::Both => {
                        vec![original(AtHydrate::Fetch), updated(AtHydrate::Fallback)]
                    }
                };
                issuers.extend(replicas);
                if let Some(url) = &self.jwks_url {
                    let url = check_url(url, "jwks_url")?;
                    for issuer in &mut issuers {
                        issuer.jwks_url.clone_from(&url);
                    }
                }
                (pool.to_string(), issuers)
            }
            Source::Issuer(issuer) => {
                let issuer = check_url(issuer, "issuer")?;
                if self.issuer_type.is_some()
                    || self.dns_suffix.is_some()
                    || !self.replica_regions.is_empty()
                {
                    return Err(Error::InvalidConfig(format!(
                        "pool {issuer}: issuer_type, replica_regions and dns_suffix apply \
                         to a pool given by id, not to an issuer given by URL"
                    )));
                }
                let mut resolved = ResolvedIssuer::new(issuer.clone(), AtHydrate::Fetch);
                if let Some(url) = &self.jwks_url {
                    resolved.jwks_url = check_url(url, "jwks_url")?;
                }
                (issuer, vec![resolved])
            }
        };
        let bad = |what: String| Error::InvalidConfig(format!("pool {name}: {what}"));
        if self.offline && self.keys_document.is_none() {
            return Err(bad(
                "offline() needs the keys: give them with jwks_document(..) or jwks_file(..)"
                    .into(),
            ));
        }
        let client_ids = match self.clients.resolve() {
            ClientsResolved::Contradiction => {
                return Err(bad("both client_id(..) and any_client() are set: one \
                     would silently widen or narrow the other; choose one"
                    .into()));
            }
            ClientsResolved::Unset => {
                return Err(bad(
                    "no client id: call client_id(..) with your app client id, \
                     or any_client() to accept every client of the pool"
                        .into(),
                ));
            }
            ClientsResolved::Any => None,
            ClientsResolved::Ids(list) => {
                check_names(&list, Names::ClientIds).map_err(bad)?;
                Some(list)
            }
        };
        let token_use = match self.token_use {
            Use::Unset => {
                return Err(bad(
                    "no token use: call token_use(TokenUse::Access) (usual for APIs), \
                     token_use(TokenUse::Id), or any_token_use()"
                        .into(),
                ));
            }
            Use::Any => None,
            Use::One(one) => Some(one),
        };
        let required = |list: Option<Vec<String>>, kind: Names| match list {
            None => Ok(Vec::new()),
            Some(list) => check_names(&list, kind).map(|()| list).map_err(bad),
        };
        let groups = required(self.groups, Names::Groups)?;
        let scopes = required(self.scopes, Names::Scopes)?;
        for resource in &self.resources {
            check_identifier("resource", resource).map_err(bad)?;
        }
        if !self.resources.is_empty() && token_use == Some(TokenUse::Id) {
            return Err(bad("resource(..) binds access tokens, and with \
                 token_use(TokenUse::Id) it would check nothing (an id token's aud \
                 is the client id): accept access tokens"
                .into()));
        }
        if !self.resources.is_empty() && client_ids.is_none() && token_use.is_none() {
            return Err(bad(
                "resource(..) with any_client() and any_token_use() would \
                 let through every id token of the pool unbound (an id token's aud \
                 is its client id, which any_client() does not check): accept access \
                 tokens only, with token_use(TokenUse::Access)"
                    .into(),
            ));
        }
        Ok(ResolvedPool {
            name,
            issuers,
            keys_document: self.keys_document,
            offline: self.offline,
            client_ids,
            token_use,
            groups,
            scopes,
            resources: self.resources,
            custom_check: self.custom_check,
        })
    }
}

/// A replica region: a region of the pool's partition, not its own, listed once.
fn check_replica_region(pool: &UserPoolId, region: &str, all: &[String]) -> Result<(), Error> {
    let bad = |why: &str| {
        Error::InvalidConfig(format!(
            "pool {pool}: replica region {:?} {why}",
            crate::error::Echo::some(region)
                .as_deref()
                .unwrap_or_default()
        ))
    };
    if !is_region(region) {
        return Err(bad("is not an AWS region such as us-west-2"));
    }
    if region == pool.region() {
        return Err(bad("is the pool's own region"));
    }
    if !same_partition(region, pool.region()) {
        return Err(bad("is in another partition than the pool"));
    }
    if all.iter().filter(|r| *r == region).count() > 1 {
        return Err(bad("is listed twice"));
    }
    Ok(())
}

/// A DNS suffix such as `amazonaws.com`: dot-separated labels of lower-case
/// letters, digits and inner hyphens.
fn check_dns_suffix(suffix: &str) -> Result<String, Error> {
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let last_has_letter = suffix
        .rsplit('.')
        .next()
        .is_some_and(|l| l.bytes().any(|b| b.is_ascii_lowercase()));
    if suffix.len() <= 200
        && suffix.contains('.')
        && suffix.split('.').all(label_ok)
        && last_has_letter
    {
        Ok(suffix.to_owned())
    } else {
        Err(Error::InvalidConfig(format!(
            "dns_suffix {:?} is not a DNS suffix such as \"amazonaws.com\"",
            crate::error::Echo::some(suffix)
                .as_deref()
                .unwrap_or_default()
        )))
    }
}

/// A URL the user configured: `https://` or `http://`, with a host, no
/// credentials, query or fragment.
fn check_url(raw: &str, what: &str) -> Result<String, Error> {
    let bad = |why: &str| Error::InvalidConfig(format!("{what} {raw:?} is not usable: {why}"));
    let url = reqwest::Url::parse(raw).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(bad("the scheme must be https or http"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("it has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("it must not carry credentials"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("it must not have a query or fragment"));
    }
    // Keep the user's spelling: `iss` is compared to it byte for byte.
    Ok(raw.to_owned())
}

/// Checks an identifier URL of OAuth: a protected resource's (as
/// [`PoolConfig::resource`] takes it, and as an RFC 9728 metadata document
/// publishes it) or an authorization server's issuer (RFC 8414 §2): an
/// absolute `https` URL (`http` on `localhost` or a loopback address, for
/// development) with a host, without user information, query or fragment,
/// already in the form a URL parser writes back (a bare origin with or
/// without its `/`), so that an exact comparison matches what a client
/// derived from it. `setting` names the setting in the error.
///
/// # Errors
/// `invalid_config` naming the setting and saying what is wrong (and the
/// normal form, when that is what differs).
///
/// ```
/// use cognito_verify::check_identifier_url;
///
/// assert!(check_identifier_url("resource", "https://videos.example.com/mcp").is_ok());
/// assert!(check_identifier_url("resource", "http://localhost:3000/mcp").is_ok());
/// assert!(check_identifier_url("resource", "http://videos.example.com/mcp").is_err());
/// let err = check_identifier_url("resource", "https://Videos.example.com/mcp").unwrap_err();
/// assert!(err.to_string().contains("https://videos.example.com/mcp"));
/// ```
pub fn check_identifier_url(setting: &str, raw: &str) -> Result<(), Error> {
    check_identifier(setting, raw).map_err(Error::InvalidConfig)
}

/// [`check_identifier_url`], with the reason as text.
fn check_identifier(setting: &str, raw: &str) -> Result<(), String> {
    let bad = |why: &str| {
        format!(
            "{setting} {:?} is not usable: {why}",
            crate::error::Echo::some(raw).as_deref().unwrap_or_default()
        )
    };
    let url = reqwest::Url::parse(raw).map_err(|e| bad(&e.to_string()))?;
    let loopback = url.host_str().is_some_and(|host| {
        let ip = host.trim_start_matches('[').trim_end_matches(']');
        host == "localhost"
            || ip
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    });
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(bad(
                "plain http is only for localhost or a loopback address (development); use https",
            ));
        }
        _ => return Err(bad("the scheme must be https (http on a loopback host)")),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("it has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("it must not carry user information"));
    }
    if url.fragment().is_some() {
        return Err(bad(
            "an identifier has no fragment (RFC 8707 §2, RFC 8414 §2)",
        ));
    }
    if url.query().is_some() {
        return Err(bad("a query is not supported in an identifier"));
    }
    let written_back = url.as_str();
    let bare_origin = written_back.strip_suffix('/') == Some(raw) && url.path() == "/";
    if written_back != raw && !bare_origin {
        return Err(bad(&format!(
            "it is not in normal form; configure {written_back:?} (identifiers are \
             compared exactly, so another spelling would never match)"
        )));
    }
    Ok(())
}

/// What a list of configured names holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Names {
    /// App client ids.
    ClientIds,
    /// Required groups (any of them).
    Groups,
    /// Required scopes (any of them).
    Scopes,
}

/// Checks a configured list of client ids, groups or scopes: not empty (an
/// empty requirement would silently require nothing), no empty name, and no
/// white space inside a scope (RFC 6749 §3.3: a scope token is visible
/// ASCII, and tokens are separated by spaces, so such a scope could never
/// be granted). Shared with [`Requirement`](crate::Requirement).
pub(crate) fn check_names(names: &[String], kind: Names) -> Result<(), String> {
    let (what, list) = match kind {
        Names::ClientIds => ("client id", "client id list"),
        Names::Groups => ("group", "list of required groups"),
        Names::Scopes => ("scope", "list of required scopes"),
    };
    if names.is_empty() {
        return Err(format!(
            "the {list} is empty; an empty list would require nothing \
             (to require none, do not set one)"
        ));
    }
    for name in names {
        if name.is_empty() {
            return Err(format!("an empty {what}"));
        }
        if kind == Names::Scopes && name.chars().any(char::is_whitespace) {
            return Err(format!("the {what} {name:?} contains white space"));
        }
    }
    Ok(())
}

/// What `hydrate` does with an issuer's key set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AtHydrate {
    /// Fetched: the pool's keys in its own region.
    Fetch,
    /// Fetched only when the pool's `Fetch` key set could not be.
    Fallback,
    /// A replica region's keys: fetched too, each on its own. A pool starts
    /// when any of its regions serves keys, which is what replication is
    /// for.
    Replica,
}

impl AtHydrate {
    /// What to do about a key set `verify_cached` finds not fetched (the
    /// end of the `jwks_not_cached` message).
    pub(crate) fn remedy(self) -> &'static str {
        match self {
            AtHydrate::Fetch | AtHydrate::Replica => {
                "hydrate() fetches it at start-up (if it was called, its fetch failed: \
                 see what hydrate() returned); verify() fetches it when a token needs it"
            }
            AtHydrate::Fallback => {
                "hydrate() fetches it only when the pool's ORIGINAL key set cannot be \
                 fetched; verify() fetches it when a token names its issuer"
            }
        }
    }
}

/// An accepted issuer of a pool, and where its keys are.
pub(crate) struct ResolvedIssuer {
    pub issuer: String,
    pub jwks_url: String,
    pub at_hydrate: AtHydrate,
}

impl ResolvedIssuer {
    fn new(issuer: String, at_hydrate: AtHydrate) -> Self {
        ResolvedIssuer {
            jwks_url: jwks_url_of(&issuer),
            issuer,
            at_hydrate,
        }
    }
}

/// A pool after validation.
pub(crate) struct ResolvedPool {
    pub name: String,
    pub issuers: Vec<ResolvedIssuer>,
    /// A JWKS document that seeds the pool's key sets.
    pub keys_document: Option<KeysDocument>,
    /// Keys only from the document, never fetched.
    pub offline: bool,
    /// `None`: any client.
    pub client_ids: Option<Vec<String>>,
    /// `None`: id or access.
    pub token_use: Option<TokenUse>,
    pub groups: Vec<String>,
    pub scopes: Vec<String>,
    /// Access tokens must name one of these in `aud`; empty: no check.
    pub resources: Vec<String>,
    pub custom_check: Option<CustomCheck>,
}
