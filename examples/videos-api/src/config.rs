//! Configuration from flags and environment variables.

use std::net::SocketAddr;

use clap::Parser;
use cognito_verify::UserPoolId;
use cognito_verify::args::{AlbArgs, PoolArgs, TokenUseArg};

use crate::admin::AdminArgs;
use crate::revocations::RevocationArgs;

/// `videos-api`: each user sees only the videos they own.
///
/// Configure a user pool (or an emulator's issuer) to verify real Cognito
/// tokens, or pass `--dev` for development mode: tokens are minted by an
/// in-process issuer, and ready-to-paste curl commands are printed at start.
/// With neither it refuses to start: development mode is never a fallback.
#[derive(Parser, Debug, Clone, Default)]
#[command(name = "videos-api", version)]
pub struct Args {
    /// The pool: `--user-pool-id`, `--client-id`, `--token-use` (default
    /// access here), `--jwks-url`, `--issuer`, and their variables.
    #[command(flatten)]
    pub pool: PoolArgs,

    /// Behind an Application Load Balancer that authenticates users:
    /// `--alb-arn`, `--alb-issuer`, `--alb-client-id`, `--alb-key-url` and
    /// their variables. The identity is the load balancer's signed
    /// `x-amzn-oidc-data`; with a pool configured too, the access token the
    /// load balancer forwards is verified as well (and gives the groups).
    #[command(flatten)]
    pub alb: AlbArgs,

    /// The older spelling of `COGNITO_JWKS_URL`, still read.
    #[arg(long = "jwks-uri-env", env = "COGNITO_JWKS_URI", hide = true)]
    pub jwks_uri_env: Option<String>,

    /// Address to listen on.
    #[arg(long, env = "VIDEOS_API_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: String,

    /// SQLite database file, or :memory:.
    #[arg(long, env = "VIDEOS_DB", default_value = "./videos.db")]
    pub db: String,

    /// The user pool's managed login (its Cognito domain), for signing in
    /// from a browser: e.g. `https://videos.auth.eu-west-1.amazoncognito.com`.
    #[arg(long, env = "COGNITO_DOMAIN", value_name = "URL")]
    pub cognito_domain: Option<String>,

    /// Where managed login sends the browser back: this service's
    /// `/auth/callback` as the browser reaches it, registered on the app
    /// client as a callback URL.
    #[arg(long, env = "VIDEOS_API_REDIRECT_URI", value_name = "URL")]
    pub redirect_uri: Option<String>,

    /// The user pool's API endpoint, where sign-out revokes the refresh token
    /// (RevokeToken) and signs the user out everywhere (GlobalSignOut):
    /// `https://cognito-idp.<region>.amazonaws.com/` by default (from the
    /// pool id; with `--issuer`, the issuer's origin). An emulator's URL in
    /// tests, e.g. MiniStack's `http://127.0.0.1:4566`.
    #[arg(long, env = "COGNITO_IDP_ENDPOINT", value_name = "URL")]
    pub cognito_idp_endpoint: Option<String>,

    /// The revocation list: `--revocations-url` (`VIDEOS_REVOCATIONS_URL`)
    /// shares it through Redis; without it, it lives in this process.
    #[command(flatten)]
    pub revocations: RevocationArgs,

    /// The app client's secret, from `COGNITO_CLIENT_SECRET` only (never a
    /// flag: command lines are visible to other users of the machine).
    #[arg(skip)]
    pub client_secret: Option<ClientSecret>,

    /// Origins of pages hosted elsewhere that may call the API with a
    /// bearer token (CORS), comma-separated exact origins such as
    /// `https://videos.example.com,http://localhost:8080`. None by default.
    #[arg(
        long,
        env = "VIDEOS_API_ALLOWED_ORIGINS",
        value_name = "ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,

    /// The admin listener: `--admin-addr` (`VIDEOS_ADMIN_ADDR`) serves
    /// `/metrics`, `/readyz` and `/healthz` there (see [`crate::admin`]).
    #[command(flatten)]
    pub admin: AdminArgs,

    /// Development mode: tokens minted in-process for anyone who asks
    /// (`POST /dev/token`), loopback only. Never for production.
    #[arg(
        long,
        env = "VIDEOS_API_DEV",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub dev: bool,
}

/// Where tokens come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthSettings {
    /// Real tokens from a configured pool or emulator (its token use and
    /// JWKS URL filled in from the defaults and older spellings).
    Pool(PoolArgs),
    /// Development mode: tokens minted in-process.
    Development,
    /// Behind an Application Load Balancer: its signed identity, and the
    /// pool's access token when a pool is configured too.
    Alb {
        /// The load balancers, issuer and client ids.
        alb: AlbArgs,
        /// The pool whose access tokens the load balancer forwards.
        access_tokens: Option<PoolArgs>,
    },
}

/// An app client secret: never shown (its `Debug` says only that there is
/// one).
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret(pub String);

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecret(..)")
    }
}

/// Browser sign-in through the pool's managed login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInSettings {
    /// The managed login's base URL (no trailing slash).
    pub domain: String,
    /// This service's callback URL, as registered on the app client.
    pub redirect_uri: String,
    /// The app client that signs users in.
    pub client_id: String,
    /// Its secret, when it has one ("traditional web application").
    pub client_secret: Option<ClientSecret>,
    /// The user pool's API endpoint (RevokeToken, GlobalSignOut), no
    /// trailing slash.
    pub api_endpoint: String,
}

/// The validated configuration of the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Token source.
    pub auth: AuthSettings,
    /// Browser sign-in, when the pool's managed login is configured.
    pub sign_in: Option<SignInSettings>,
    /// Listen address.
    pub addr: SocketAddr,
    /// Database path or `:memory:`.
    pub db: String,
    /// Exact origins whose pages may call the API (CORS); empty: none.
    pub allowed_origins: Vec<String>,
    /// The revocation list: in this process, or shared through Redis.
    pub revocations: RevocationArgs,
}

/// A configuration mistake, naming the variable (and flag) to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// Why the service will not start with no token source at all.
pub const NOTHING_CONFIGURED: &str = "no user pool is configured: set COGNITO_USER_POOL_ID (--user-pool-id) \
and COGNITO_CLIENT_ID (--client-id) to verify Cognito tokens, or pass --dev (VIDEOS_API_DEV=1) \
for development mode, where tokens are minted locally for anyone who asks (loopback only, never \
for production)";

fn bad(var: &str, flag: &str, why: impl std::fmt::Display) -> ConfigError {
    ConfigError(format!("{var} (--{flag}): {why}"))
}

impl Config {
    /// Validates flags and environment. Pool id and client id problems are
    /// reported here; the pool id's shape is checked when the verifier is
    /// built, with the same variable named.
    pub fn from_args(args: Args) -> Result<Config, ConfigError> {
        let addr: SocketAddr = args.addr.trim().parse().map_err(|e| {
            bad(
                "VIDEOS_API_ADDR",
                "addr",
                format!(
                    "{:?} is not an address such as 127.0.0.1:3000 ({e})",
                    args.addr
                ),
            )
        })?;
        let db = args.db.trim().to_owned();
        if db.is_empty() {
            return Err(bad("VIDEOS_DB", "db", "empty; use a file path or :memory:"));
        }
        let allowed_origins = allowed_origins(&args.allowed_origins)?;
        let revocations = args.revocations;
        let mut pool = args.pool;
        if pool.jwks_url.is_none() {
            pool.jwks_url = args.jwks_uri_env;
        }
        pool.token_use.get_or_insert(TokenUseArg::Access);
        let pool = pool.normalized().map_err(|e| ConfigError(e.to_string()))?;
        let configured = pool.user_pool_id.is_some() || pool.issuer.is_some();
        let domain = given(args.cognito_domain.as_ref());
        let redirect_uri = given(args.redirect_uri.as_ref());
        if args.alb.is_configured() {
            if domain.is_some() {
                return Err(bad(
                    "COGNITO_DOMAIN",
                    "cognito-domain",
                    "behind a load balancer, the load balancer signs users in; unset it",
                ));
            }
            let config = Self::behind_alb(args.alb, args.dev, pool, configured, addr, db)?;
            return Ok(Config {
                allowed_origins,
                revocations,
                ..config
            });
        }
        let sign_in = match (domain, redirect_uri) {
            (None, None) => None,
            (Some(_), None) => {
                return Err(bad(
                    "VIDEOS_API_REDIRECT_URI",
                    "redirect-uri",
                    "not set; give this service's /auth/callback URL as registered on the app client",
                ));
            }
            (None, Some(_)) => {
                return Err(bad(
                    "COGNITO_DOMAIN",
                    "cognito-domain",
                    "not set; give the user pool's domain (its managed login)",
                ));
            }
            (Some(domain), Some(redirect_uri)) => Some(sign_in_settings(
                domain,
                redirect_uri,
                given(args.cognito_idp_endpoint.as_ref()),
                &pool,
                args.client_secret,
            )?),
        };
        let auth = match (args.dev, configured) {
            (true, true) => {
                return Err(bad(
                    "VIDEOS_API_DEV",
                    "dev",
                    "development mode is on, and so is COGNITO_USER_POOL_ID or COGNITO_ISSUER; choose one",
                ));
            }
            (_, false) if !pool.client_id.is_empty() || pool.jwks_url.is_some() => {
                return Err(bad(
                    "COGNITO_USER_POOL_ID",
                    "user-pool-id",
                    "not set, but COGNITO_CLIENT_ID or COGNITO_JWKS_URL is; set the pool id too",
                ));
            }
            (true, false) => AuthSettings::Development,
            (false, false) => return Err(ConfigError(NOTHING_CONFIGURED.into())),
            (false, true) if pool.client_id.is_empty() && !pool.any_client => {
                return Err(bad(
                    "COGNITO_CLIENT_ID",
                    "client-id",
                    "not set; give your app client id (comma-separated for several)",
                ));
            }
            (false, true) => AuthSettings::Pool(pool),
        };
        if auth == AuthSettings::Development && !addr.ip().is_loopback() {
            return Err(bad(
                "VIDEOS_API_ADDR",
                "addr",
                format!(
                    "development mode mints tokens for anyone who asks, so it only listens on a loopback address, not {addr}; configure COGNITO_USER_POOL_ID to serve other hosts"
                ),
            ));
        }
        if sign_in.is_some() && !matches!(auth, AuthSettings::Pool(_)) {
            return Err(bad(
                "COGNITO_DOMAIN",
                "cognito-domain",
                "browser sign-in needs a user pool; development mode has its own",
            ));
        }
        Ok(Config {
            auth,
            sign_in,
            addr,
            db,
            allowed_origins,
            revocations,
        })
    }

    /// The configuration behind a load balancer (`--alb-arn` given).
    fn behind_alb(
        alb: AlbArgs,
        dev: bool,
        pool: PoolArgs,
        pool_configured: bool,
        addr: SocketAddr,
        db: String,
    ) -> Result<Config, ConfigError> {
        if dev {
            return Err(bad(
                "VIDEOS_API_DEV",
                "dev",
                "development mode is on, and so is ALB_ARN; choose one",
            ));
        }
        let access_tokens = match pool_configured {
            false => None,
            true if pool.client_id.is_empty() && !pool.any_client => {
                return Err(bad(
                    "COGNITO_CLIENT_ID",
                    "client-id",
                    "not set; the pool verifies the access tokens the load balancer forwards, so give the listener rule's app client id",
                ));
            }
            true => Some(pool),
        };
        Ok(Config {
            auth: AuthSettings::Alb { alb, access_tokens },
            sign_in: None,
            addr,
            db,
            allowed_origins: Vec::new(),
            revocations: RevocationArgs::default(),
        })
    }
}

/// The allowed origins, each an exact origin; blank entries are skipped.
fn allowed_origins(values: &[String]) -> Result<Vec<String>, ConfigError> {
    values
        .iter()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .map(|v| {
            crate::cors::exact_origin(v)
                .map_err(|why| bad("VIDEOS_API_ALLOWED_ORIGINS", "allowed-origins", why))
        })
        .collect()
}

/// A value that was given: trimmed, and not blank.
fn given(value: Option<&String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// The browser sign-in settings, checked: http(s) URLs, a callback at
/// `/auth/callback`, and exactly one app client.
fn sign_in_settings(
    domain: String,
    redirect_uri: String,
    api_endpoint: Option<String>,
    pool: &PoolArgs,
    client_secret: Option<ClientSecret>,
) -> Result<SignInSettings, ConfigError> {
    let url = |value: &str| value.starts_with("https://") || value.starts_with("http://");
    if !url(&domain) || domain.contains(['?', '#']) {
        return Err(bad(
            "COGNITO_DOMAIN",
            "cognito-domain",
            format!(
                "{domain:?} is not a base URL such as https://videos.auth.eu-west-1.amazoncognito.com"
            ),
        ));
    }
    if !url(&redirect_uri) || !redirect_uri.ends_with("/auth/callback") {
        return Err(bad(
            "VIDEOS_API_REDIRECT_URI",
            "redirect-uri",
            format!("{redirect_uri:?} must be this service's http(s) URL ending in /auth/callback"),
        ));
    }
    let [client_id] = &pool.client_id[..] else {
        return Err(bad(
            "COGNITO_CLIENT_ID",
            "client-id",
            "browser sign-in needs exactly one app client id (the one managed login signs in with)",
        ));
    };
    let api_endpoint = match api_endpoint {
        Some(endpoint) if url(&endpoint) && !endpoint.contains(['?', '#']) => endpoint,
        Some(endpoint) => {
            return Err(bad(
                "COGNITO_IDP_ENDPOINT",
                "cognito-idp-endpoint",
                format!(
                    "{endpoint:?} is not a base URL such as https://cognito-idp.eu-west-1.amazonaws.com"
                ),
            ));
        }
        None => default_api_endpoint(pool)?,
    };
    Ok(SignInSettings {
        domain: domain.trim_end_matches('/').to_owned(),
        redirect_uri,
        client_id: client_id.clone(),
        client_secret: client_secret.filter(|s| !s.0.is_empty()),
        api_endpoint: api_endpoint.trim_end_matches('/').to_owned(),
    })
}

/// The user pool's API endpoint: the origin of its issuer
/// (`https://cognito-idp.<region>.<dns suffix>`, Cognito's ORIGINAL
/// issuer host, from the pool id), or of `--issuer` (an emulator serves
/// its API where it issues).
fn default_api_endpoint(pool: &PoolArgs) -> Result<String, ConfigError> {
    let issuer = match (&pool.user_pool_id, &pool.issuer) {
        (Some(id), _) => UserPoolId::new(id)
            .map_err(|e| bad("COGNITO_USER_POOL_ID", "user-pool-id", e))?
            .issuer(),
        (None, Some(issuer)) => issuer.clone(),
        (None, None) => {
            return Err(bad(
                "COGNITO_USER_POOL_ID",
                "user-pool-id",
                "browser sign-in needs a user pool",
            ));
        }
    };
    let origin = url::Url::parse(&issuer)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
        .map(|u| u.origin().ascii_serialization())
        .ok_or_else(|| {
            bad(
                "COGNITO_IDP_ENDPOINT",
                "cognito-idp-endpoint",
                format!("not set, and the issuer {issuer:?} has no origin to default to; set it"),
            )
        })?;
    Ok(origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, ConfigError> {
        let mut all = vec!["videos-api"];
        all.extend_from_slice(args);
        Config::from_args(Args::try_parse_from(all).unwrap())
    }

    #[test]
    fn development_mode_only_when_asked_for_and_on_loopback() {
        let err = parse(&[]).unwrap_err();
        assert_eq!(err.0, NOTHING_CONFIGURED);
        assert!(err.0.contains("COGNITO_USER_POOL_ID") && err.0.contains("--dev"));
        let c = parse(&["--dev"]).unwrap();
        assert_eq!(c.auth, AuthSettings::Development);
        assert_eq!(c.addr.to_string(), "127.0.0.1:3000");
        let err = parse(&["--dev", "--addr", "0.0.0.0:3000"]).unwrap_err();
        assert!(err.0.starts_with("VIDEOS_API_ADDR"), "{err}");
        let err = parse(&[
            "--dev",
            "--user-pool-id",
            "us-east-1_abc",
            "--client-id",
            "c",
        ])
        .unwrap_err();
        assert!(err.0.starts_with("VIDEOS_API_DEV"), "{err}");
    }

    #[test]
    fn a_pool_needs_a_client_id() {
        let err = parse(&["--user-pool-id", "us-east-1_abc"]).unwrap_err();
        assert!(err.0.starts_with("COGNITO_CLIENT_ID"), "{err}");
        let c = parse(&[
            "--user-pool-id",
            "us-east-1_abc",
            "--client-id",
            "a, b",
            "--addr",
            "0.0.0.0:80",
        ])
        .unwrap();
        match c.auth {
            AuthSettings::Pool(p) => {
                assert_eq!(p.client_id, ["a", "b"]);
                assert_eq!(p.token_use, Some(TokenUseArg::Access));
            }
            _ => panic!("pool expected"),
        }
    }

    #[test]
    fn behind_a_load_balancer_the_pool_is_optional() {
        let arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/a/b";
        let c = parse(&[
            "--alb-arn",
            arn,
            "--alb-issuer",
            "https://i",
            "--alb-client-id",
            "c",
        ])
        .unwrap();
        assert!(matches!(
            c.auth,
            AuthSettings::Alb {
                access_tokens: None,
                ..
            }
        ));
        let c = parse(&[
            "--alb-arn",
            arn,
            "--alb-issuer",
            "https://i",
            "--alb-client-id",
            "c",
            "--user-pool-id",
            "us-east-1_abc",
            "--client-id",
            "c",
        ])
        .unwrap();
        assert!(matches!(
            c.auth,
            AuthSettings::Alb {
                access_tokens: Some(_),
                ..
            }
        ));
        let err = parse(&["--alb-arn", arn, "--user-pool-id", "us-east-1_abc"]).unwrap_err();
        assert!(err.0.starts_with("COGNITO_CLIENT_ID"), "{err}");
        let err = parse(&["--alb-arn", arn, "--dev"]).unwrap_err();
        assert!(err.0.starts_with("VIDEOS_API_DEV"), "{err}");
    }

    #[test]
    fn the_user_pool_api_is_the_issuers_origin_unless_given() {
        let sign_in = |extra: &[&str]| {
            let mut args = vec![
                "--client-id",
                "c",
                "--cognito-domain",
                "https://videos.auth.eu-west-1.amazoncognito.com",
                "--redirect-uri",
                "https://videos.example.com/auth/callback",
            ];
            args.extend_from_slice(extra);
            parse(&args).map(|c| c.sign_in.unwrap().api_endpoint)
        };
        assert_eq!(
            sign_in(&["--user-pool-id", "eu-west-1_abc"]).unwrap(),
            "https://cognito-idp.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            sign_in(&["--user-pool-id", "cn-north-1_abc"]).unwrap(),
            "https://cognito-idp.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            sign_in(&["--issuer", "http://127.0.0.1:9229/local_abc"]).unwrap(),
            "http://127.0.0.1:9229"
        );
        let given = [
            "--user-pool-id",
            "us-east-1_abc",
            "--cognito-idp-endpoint",
            "http://127.0.0.1:4566/",
        ];
        assert_eq!(sign_in(&given).unwrap(), "http://127.0.0.1:4566");
        let err = sign_in(&[
            "--user-pool-id",
            "us-east-1_abc",
            "--cognito-idp-endpoint",
            "ftp://x",
        ])
        .unwrap_err();
        assert!(
            err.0
                .starts_with("COGNITO_IDP_ENDPOINT (--cognito-idp-endpoint)"),
            "{err}"
        );
    }

    #[test]
    fn allowed_origins_are_exact_origins() {
        let c = parse(&[
            "--dev",
            "--allowed-origins",
            "http://127.0.0.1:8080, https://videos.example.com,",
        ])
        .unwrap();
        assert_eq!(
            c.allowed_origins,
            ["http://127.0.0.1:8080", "https://videos.example.com"]
        );
        assert!(parse(&["--dev"]).unwrap().allowed_origins.is_empty());
        for bad in [
            "*",
            "https://*.example.com",
            "https://videos.example.com/",
            "https://videos.example.com/app",
            "https://videos.example.com:443",
            "https://Videos.example.com",
            "videos.example.com",
            "file:///tmp/page.html",
            "null",
        ] {
            let err = parse(&["--dev", "--allowed-origins", bad]).unwrap_err();
            assert!(
                err.0
                    .starts_with("VIDEOS_API_ALLOWED_ORIGINS (--allowed-origins)"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn reads_the_jwks_url_under_both_spellings() {
        for flag in ["--jwks-url", "--jwks-uri"] {
            let c = parse(&[
                "--user-pool-id",
                "us-east-1_abc",
                "--client-id",
                "c",
                flag,
                "http://127.0.0.1:9/jwks.json",
            ])
            .unwrap();
            match c.auth {
                AuthSettings::Pool(p) => {
                    assert_eq!(p.jwks_url.as_deref(), Some("http://127.0.0.1:9/jwks.json"));
                }
                _ => panic!("pool expected"),
            }
        }
    }

    #[test]
    fn mistakes_name_their_variable() {
        for (args, var) in [
            (vec!["--client-id", "c"], "COGNITO_USER_POOL_ID"),
            (vec!["--dev", "--client-id", "c"], "COGNITO_USER_POOL_ID"),
            (vec!["--addr", "localhost"], "VIDEOS_API_ADDR"),
        ] {
            let err = parse(&args).unwrap_err();
            assert!(err.0.starts_with(var), "{args:?}: {err}");
        }
    }

    #[test]
    fn clap_refuses_values_that_cannot_be_right() {
        let mut all = vec!["videos-api"];
        all.extend_from_slice(&[
            "--user-pool-id",
            "p",
            "--client-id",
            "c",
            "--token-use",
            "refresh",
        ]);
        let err = Args::try_parse_from(all).unwrap_err().to_string();
        assert!(
            err.contains("--token-use") && err.contains("COGNITO_TOKEN_USE"),
            "{err}"
        );
    }

    #[test]
    fn blank_values_count_as_not_given() {
        let err = parse(&["--user-pool-id", " ", "--issuer", ""]).unwrap_err();
        assert_eq!(err.0, NOTHING_CONFIGURED);
        let c = parse(&[
            "--user-pool-id",
            "us-east-1_abc",
            "--issuer",
            " ",
            "--client-id",
            "c",
        ]);
        assert!(matches!(c.unwrap().auth, AuthSettings::Pool(p) if p.issuer.is_none()));
        for contradiction in [
            vec!["--user-pool-id", "p", "--client-id", "a,,b"],
            vec![
                "--user-pool-id",
                "p",
                "--issuer",
                "http://i",
                "--client-id",
                "c",
            ],
            vec!["--user-pool-id", "p", "--client-id", "c", "--any-client"],
        ] {
            let err = parse(&contradiction).unwrap_err();
            assert!(
                err.0.contains("invalid configuration"),
                "{contradiction:?}: {err}"
            );
        }
    }
}
