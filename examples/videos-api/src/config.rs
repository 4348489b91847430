//! Configuration from flags and environment variables.

use std::net::SocketAddr;

use clap::Parser;

/// `videos-api`: each user sees only the videos they own.
///
/// Configure a user pool (or an emulator's issuer) to verify real Cognito
/// tokens, or pass `--dev` for development mode: tokens are minted by an
/// in-process issuer, and ready-to-paste curl commands are printed at start.
/// With neither it refuses to start: development mode is never a fallback.
#[derive(Parser, Debug, Clone, Default)]
#[command(name = "videos-api", version)]
pub struct Args {
    /// Cognito user pool id, e.g. us-east-1_Ynsi6EIT0.
    #[arg(long, env = "COGNITO_USER_POOL_ID")]
    pub user_pool_id: Option<String>,

    /// Accepted app client ids, comma-separated.
    #[arg(long, env = "COGNITO_CLIENT_ID")]
    pub client_id: Option<String>,

    /// Which tokens to accept: access (default), id or any.
    #[arg(long, env = "COGNITO_TOKEN_USE")]
    pub token_use: Option<String>,

    /// Fetch keys from this JWKS URL instead of the pool's own (emulators).
    /// `--jwks-uri` and `COGNITO_JWKS_URI` are older spellings.
    #[arg(long, env = "COGNITO_JWKS_URL", alias = "jwks-uri")]
    pub jwks_url: Option<String>,

    /// The older spelling of `COGNITO_JWKS_URL`, still read.
    #[arg(long = "jwks-uri-env", env = "COGNITO_JWKS_URI", hide = true)]
    pub jwks_uri_env: Option<String>,

    /// Accept this issuer instead of the pool's (emulators such as cognito-local).
    #[arg(long, env = "COGNITO_ISSUER")]
    pub issuer: Option<String>,

    /// Address to listen on.
    #[arg(long, env = "VIDEOS_API_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: String,

    /// SQLite database file, or :memory:.
    #[arg(long, env = "VIDEOS_DB", default_value = "./videos.db")]
    pub db: String,

    /// Development mode: tokens minted in-process for anyone who asks
    /// (`POST /dev/token`), loopback only. Never for production.
    #[arg(
        long,
        env = "VIDEOS_API_DEV",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub dev: bool,
}

/// Which tokens the API accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenUseSetting {
    /// Access tokens only (the usual choice for an API).
    Access,
    /// Id tokens only.
    Id,
    /// Both.
    Any,
}

/// A Cognito pool (or emulator) to verify tokens against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSettings {
    /// The user pool id, if given.
    pub user_pool_id: Option<String>,
    /// An issuer URL that replaces the pool's.
    pub issuer: Option<String>,
    /// Accepted client ids.
    pub client_ids: Vec<String>,
    /// Accepted token use.
    pub token_use: TokenUseSetting,
    /// JWKS URL override.
    pub jwks_url: Option<String>,
}

/// Where tokens come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthSettings {
    /// Real tokens from a configured pool or emulator.
    Pool(PoolSettings),
    /// Development mode: tokens minted in-process.
    Development,
}

/// The validated configuration of the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Token source.
    pub auth: AuthSettings,
    /// Listen address.
    pub addr: SocketAddr,
    /// Database path or `:memory:`.
    pub db: String,
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

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
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
        let pool_id = non_empty(args.user_pool_id);
        let issuer = non_empty(args.issuer);
        let client = non_empty(args.client_id);
        let jwks_url = non_empty(args.jwks_url).or_else(|| non_empty(args.jwks_uri_env));
        let token_use = match non_empty(args.token_use).as_deref() {
            None | Some("access") => TokenUseSetting::Access,
            Some("id") => TokenUseSetting::Id,
            Some("any") => TokenUseSetting::Any,
            Some(other) => {
                return Err(bad(
                    "COGNITO_TOKEN_USE",
                    "token-use",
                    format!("{other:?} is not one of access, id, any"),
                ));
            }
        };
        let configured = pool_id.is_some() || issuer.is_some();
        let auth = match (args.dev, configured) {
            (true, true) => {
                return Err(bad(
                    "VIDEOS_API_DEV",
                    "dev",
                    "development mode is on, and so is COGNITO_USER_POOL_ID or COGNITO_ISSUER; choose one",
                ));
            }
            (_, false) if client.is_some() || jwks_url.is_some() => {
                return Err(bad(
                    "COGNITO_USER_POOL_ID",
                    "user-pool-id",
                    "not set, but COGNITO_CLIENT_ID or COGNITO_JWKS_URL is; set the pool id too",
                ));
            }
            (true, false) => AuthSettings::Development,
            (false, false) => return Err(ConfigError(NOTHING_CONFIGURED.into())),
            (false, true) => {
                let client = client.ok_or_else(|| {
                    bad(
                        "COGNITO_CLIENT_ID",
                        "client-id",
                        "not set; give your app client id (comma-separated for several)",
                    )
                })?;
                let client_ids: Vec<String> =
                    client.split(',').map(|c| c.trim().to_owned()).collect();
                if client_ids.iter().any(String::is_empty) {
                    return Err(bad(
                        "COGNITO_CLIENT_ID",
                        "client-id",
                        format!("{client:?} has an empty entry"),
                    ));
                }
                AuthSettings::Pool(PoolSettings {
                    user_pool_id: pool_id,
                    issuer,
                    client_ids,
                    token_use,
                    jwks_url,
                })
            }
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
        Ok(Config { auth, addr, db })
    }
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
                assert_eq!(p.client_ids, ["a", "b"]);
                assert_eq!(p.token_use, TokenUseSetting::Access);
            }
            AuthSettings::Development => panic!("pool expected"),
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
                AuthSettings::Development => panic!("pool expected"),
            }
        }
    }

    #[test]
    fn mistakes_name_their_variable() {
        for (args, var) in [
            (
                vec![
                    "--user-pool-id",
                    "p",
                    "--client-id",
                    "c",
                    "--token-use",
                    "refresh",
                ],
                "COGNITO_TOKEN_USE",
            ),
            (vec!["--client-id", "c"], "COGNITO_USER_POOL_ID"),
            (vec!["--dev", "--client-id", "c"], "COGNITO_USER_POOL_ID"),
            (vec!["--addr", "localhost"], "VIDEOS_API_ADDR"),
            (
                vec!["--user-pool-id", "p", "--client-id", "a,,b"],
                "COGNITO_CLIENT_ID",
            ),
        ] {
            let err = parse(&args).unwrap_err();
            assert!(err.0.starts_with(var), "{args:?}: {err}");
        }
    }
}
