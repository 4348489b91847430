//! [`PoolArgs`]: the command-line flags (and environment variables) that
//! configure one pool, shared by the `cognito-verify` command and by
//! services built on clap, such as the `videos-api` example. Feature `clap`.
//!
//! ```
//! use clap::Parser;
//! use cognito_verify::args::PoolArgs;
//!
//! #[derive(Parser)]
//! struct Cli {
//!     #[command(flatten)]
//!     pool: PoolArgs,
//! }
//!
//! let cli = Cli::try_parse_from([
//!     "my-service",
//!     "--user-pool-id", "us-east-1_Ynsi6EIT0",
//!     "--client-id", "4kq1s3m5example,5lr2t4n6example",
//!     "--token-use", "access",
//! ])?;
//! let verifier = cognito_verify::Verifier::builder()
//!     .pool(cli.pool.pool_config()?)
//!     .build()?;
//! # let _ = verifier;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use clap::{Args, ValueEnum};

use crate::{Error, PoolConfig, TokenUse};

/// Which tokens a pool accepts, as a flag value: `access`, `id` or `any`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TokenUseArg {
    /// Access tokens only (the usual choice for an API).
    Access,
    /// Id tokens only.
    Id,
    /// Both.
    Any,
}

/// The flags of one pool. Each flag also reads the environment variable
/// named in `--help` (`COGNITO_USER_POOL_ID`, `COGNITO_ISSUER`,
/// `COGNITO_JWKS_URL`, `COGNITO_CLIENT_ID`, `COGNITO_TOKEN_USE`,
/// `COGNITO_RESOURCE`). A blank
/// value (an empty variable in an environment file) counts as not given;
/// see [`normalized`](Self::normalized).
#[derive(Args, Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolArgs {
    /// The user pool id, e.g. us-east-1_Ynsi6EIT0.
    #[arg(long, env = "COGNITO_USER_POOL_ID", value_name = "ID")]
    pub user_pool_id: Option<String>,

    /// An issuer URL to accept instead of a pool's, e.g.
    /// http://127.0.0.1:9229/local_abc12345 (cognito-local).
    #[arg(long, env = "COGNITO_ISSUER", value_name = "URL")]
    pub issuer: Option<String>,

    /// Fetch the keys from this JWKS URL instead of the issuer's own
    /// (emulators; `--jwks-uri` is an older spelling).
    #[arg(long, env = "COGNITO_JWKS_URL", value_name = "URL", alias = "jwks-uri")]
    pub jwks_url: Option<String>,

    /// An accepted app client id; repeat the flag, or separate ids with
    /// commas, for several (any of them).
    #[arg(
        long,
        env = "COGNITO_CLIENT_ID",
        value_name = "ID",
        value_delimiter = ','
    )]
    pub client_id: Vec<String>,

    /// Accept tokens of any app client of the pool.
    #[arg(long)]
    pub any_client: bool,

    /// Which tokens to accept: access, id or any.
    #[arg(long, env = "COGNITO_TOKEN_USE", value_parser = token_use, value_name = "USE")]
    pub token_use: Option<TokenUseArg>,

    /// Require this group (cognito:groups); repeat for any of several.
    #[arg(long, value_name = "GROUP", value_parser = name)]
    pub group: Vec<String>,

    /// Require this scope; repeat for any of several.
    #[arg(long, value_name = "SCOPE", value_parser = name)]
    pub scope: Vec<String>,

    /// This server's resource identifier (RFC 8707), e.g.
    /// `https://videos.example.com/mcp`: access tokens must name it in aud,
    /// exactly; repeat or separate with commas for several.
    #[arg(
        long,
        env = "COGNITO_RESOURCE",
        value_name = "URI",
        value_delimiter = ','
    )]
    pub resource: Vec<String>,

    /// How old the cached keys may grow while refreshes fail before tokens
    /// are refused with jwks_unavailable (and a readiness probe says not
    /// ready), e.g. `1h` or `30s`; default 1 day
    /// ([`VerifierBuilder::jwks_max_staleness`](crate::VerifierBuilder::jwks_max_staleness)).
    #[arg(long, env = "COGNITO_JWKS_MAX_STALENESS", value_parser = duration, value_name = "DURATION")]
    pub jwks_max_staleness: Option<std::time::Duration>,
}

/// A duration from a flag, in humantime's spelling (`30s`, `1h 30m`).
fn duration(value: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(value.trim()).map_err(|e| e.to_string())
}

/// A name from a flag: trimmed, not empty.
fn name(value: &str) -> Result<String, String> {
    match value.trim() {
        "" => Err("an empty name".into()),
        name => Ok(name.to_owned()),
    }
}

/// A token use from `--token-use` or `COGNITO_TOKEN_USE`.
fn token_use(value: &str) -> Result<TokenUseArg, String> {
    TokenUseArg::from_str(value.trim(), true)
        .map_err(|_| "not one of access, id, any (in --token-use or COGNITO_TOKEN_USE)".into())
}

/// A value that was given: trimmed, and not blank.
fn given(value: Option<&String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

impl PoolArgs {
    /// The flags with values trimmed and blank ones dropped, checked for
    /// contradictions that clap cannot see once blank values are dropped.
    ///
    /// # Errors
    /// `invalid_config`, naming the flags and variables: both a pool id
    /// and an issuer; client ids and `--any-client`; a client id list with
    /// an empty entry (`a,,b`).
    pub fn normalized(&self) -> Result<Self, Error> {
        let bad = |why: &str| Error::InvalidConfig(why.to_owned());
        let client_id: Vec<String> = self.client_id.iter().map(|c| c.trim().to_owned()).collect();
        let client_id = match client_id.iter().filter(|c| c.is_empty()).count() {
            0 => client_id,
            blank if blank == client_id.len() => Vec::new(),
            _ => {
                return Err(bad(
                    "--client-id (COGNITO_CLIENT_ID) has an empty entry; separate client \
                     ids with single commas",
                ));
            }
        };
        let args = PoolArgs {
            user_pool_id: given(self.user_pool_id.as_ref()),
            issuer: given(self.issuer.as_ref()),
            jwks_url: given(self.jwks_url.as_ref()),
            client_id,
            any_client: self.any_client,
            token_use: self.token_use,
            group: self.group.clone(),
            scope: self.scope.clone(),
            resource: self
                .resource
                .iter()
                .filter_map(|r| given(Some(r)))
                .collect(),
            jwks_max_staleness: self.jwks_max_staleness,
        };
        if args.user_pool_id.is_some() && args.issuer.is_some() {
            return Err(bad(
                "both --user-pool-id (COGNITO_USER_POOL_ID) and --issuer (COGNITO_ISSUER) \
                 are given; give one",
            ));
        }
        if args.any_client && !args.client_id.is_empty() {
            return Err(bad(
                "both --client-id (COGNITO_CLIENT_ID) and --any-client are given; give one",
            ));
        }
        Ok(args)
    }

    /// `builder` with the verifier-wide settings these flags give
    /// (`--jwks-max-staleness`); the pool itself is
    /// [`pool_config`](Self::pool_config).
    pub fn verifier_settings(&self, builder: crate::VerifierBuilder) -> crate::VerifierBuilder {
        match self.jwks_max_staleness {
            Some(staleness) => builder.jwks_max_staleness(staleness),
            None => builder,
        }
    }

    /// The pool these flags describe (after [`normalized`](Self::normalized)).
    ///
    /// # Errors
    /// `invalid_config`, naming the flag and variable, when the flags
    /// contradict each other, or no pool or issuer, no client id (nor
    /// `--any-client`), or no token use is given. The values themselves
    /// are checked by [`VerifierBuilder::build`](crate::VerifierBuilder::build).
    pub fn pool_config(&self) -> Result<PoolConfig, Error> {
        let args = self.normalized()?;
        let missing = |what: &str| Error::InvalidConfig(format!("no {what}"));
        let mut pool = match (&args.issuer, &args.user_pool_id) {
            (Some(issuer), _) => PoolConfig::issuer(issuer.clone()),
            (None, Some(id)) => PoolConfig::new(id.clone()),
            (None, None) => {
                return Err(missing(
                    "user pool: give --user-pool-id (COGNITO_USER_POOL_ID) or --issuer \
                     (COGNITO_ISSUER)",
                ));
            }
        };
        pool = match (args.any_client, args.client_id.is_empty()) {
            (true, _) => pool.any_client(),
            (false, false) => pool.client_ids(args.client_id.iter().cloned()),
            (false, true) => {
                return Err(missing(
                    "client id: give --client-id (COGNITO_CLIENT_ID), or --any-client to \
                     accept every client of the pool",
                ));
            }
        };
        pool = match args.token_use {
            Some(TokenUseArg::Access) => pool.token_use(TokenUse::Access),
            Some(TokenUseArg::Id) => pool.token_use(TokenUse::Id),
            Some(TokenUseArg::Any) => pool.any_token_use(),
            None => {
                return Err(missing(
                    "token use: give --token-use access, id or any (COGNITO_TOKEN_USE)",
                ));
            }
        };
        // Repeated flags: none given means no requirement.
        if !args.group.is_empty() {
            pool = pool.groups(args.group.iter().cloned());
        }
        if !args.scope.is_empty() {
            pool = pool.scopes(args.scope.iter().cloned());
        }
        for resource in &args.resource {
            pool = pool.resource(resource.clone());
        }
        if let Some(url) = &args.jwks_url {
            pool = pool.jwks_url(url.clone());
        }
        Ok(pool)
    }
}

/// The flags of an [`AlbVerifier`](crate::AlbVerifier): the load balancer
/// ARN(s), the identity provider's issuer, and the client id(s) (or
/// `--alb-any-client`). Each also reads the environment variable named in
/// `--help` (`ALB_ARN`, `ALB_ISSUER`, `ALB_CLIENT_ID`, `ALB_KEY_URL`);
/// blank values count as not given. They are prefixed so that a service can
/// take them beside [`PoolArgs`].
#[derive(Args, Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AlbArgs {
    /// An Application Load Balancer whose `x-amzn-oidc-data` is accepted
    /// (its ARN); repeat the flag, or separate ARNs with commas, for several.
    #[arg(
        long = "alb-arn",
        env = "ALB_ARN",
        value_name = "ARN",
        value_delimiter = ','
    )]
    pub alb_arn: Vec<String>,

    /// The identity provider's issuer the listener rule uses, e.g.
    /// `https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Ynsi6EIT0`.
    #[arg(long = "alb-issuer", env = "ALB_ISSUER", value_name = "URL")]
    pub alb_issuer: Option<String>,

    /// The OIDC client id the listener rule signs in with; repeat or
    /// separate with commas for several.
    #[arg(
        long = "alb-client-id",
        env = "ALB_CLIENT_ID",
        value_name = "ID",
        value_delimiter = ','
    )]
    pub alb_client_id: Vec<String>,

    /// Accept tokens of any client id.
    #[arg(long = "alb-any-client")]
    pub alb_any_client: bool,

    /// Fetch the keys from `<URL>/<kid>` instead of the documented host of
    /// the load balancer's region (needed outside the commercial regions
    /// and AWS GovCloud (US)).
    #[arg(long = "alb-key-url", env = "ALB_KEY_URL", value_name = "URL")]
    pub alb_key_url: Option<String>,
}

impl AlbArgs {
    /// True when at least one load balancer ARN is given.
    #[must_use]
    pub fn is_configured(&self) -> bool {
        self.alb_arn.iter().any(|arn| !arn.trim().is_empty())
    }

    /// A builder with these flags applied (its `build()` checks them).
    pub fn verifier_builder(&self) -> crate::AlbVerifierBuilder {
        let mut builder = crate::AlbVerifier::builder();
        for arn in self.alb_arn.iter().filter_map(|a| given(Some(a))) {
            builder = builder.load_balancer_arn(arn);
        }
        if let Some(issuer) = given(self.alb_issuer.as_ref()) {
            builder = builder.issuer(issuer);
        }
        for client in self.alb_client_id.iter().filter_map(|c| given(Some(c))) {
            builder = builder.client_id(client);
        }
        if self.alb_any_client {
            builder = builder.any_client();
        }
        if let Some(url) = given(self.alb_key_url.as_ref()) {
            builder = builder.key_url(url);
        }
        builder
    }
}
