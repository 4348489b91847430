//! `videos-lambda`: the function's entry point. Configured by environment
//! variables (set them on the function): `COGNITO_USER_POOL_ID` and
//! `COGNITO_CLIENT_ID`, or `COGNITO_ISSUER` (with `COGNITO_JWKS_URL`) for
//! another issuer; `COGNITO_TOKEN_USE` (default `access`);
//! `VIDEOS_REVOCATIONS_URL` to follow the revocation list the other
//! replicas share in Redis (see the library docs).

use std::time::Duration;

use clap::Parser;
use cognito_verify::args::{PoolArgs, TokenUseArg};
use cognito_verify::revocation::redis::RedisStore;
use cognito_verify::{Revocations, Verifier};

/// The pool whose tokens the function accepts.
#[derive(Parser, Debug)]
#[command(name = "videos-lambda", version)]
struct Args {
    #[command(flatten)]
    pool: PoolArgs,

    /// The revocation list the other replicas share in Redis
    /// (`redis://…`, `rediss://…` for TLS); without it, the list lives in
    /// the instance (and only this function's own revocations count).
    #[arg(
        long = "revocations-url",
        env = "VIDEOS_REVOCATIONS_URL",
        value_name = "URL"
    )]
    revocations_url: Option<String>,
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let args = Args::parse();
    let mut pool = args.pool;
    pool.token_use.get_or_insert(TokenUseArg::Access);
    let config = pool.normalized()?.pool_config()?;
    let revocations = match args.revocations_url.filter(|url| !url.trim().is_empty()) {
        Some(url) => {
            let list = Revocations::builder()
                .store(RedisStore::new(&url)?)
                .build()?;
            // The cold start loads the list; until then tokens are refused
            // with 503, so wait for it within the init phase.
            if !list.wait_ready(Duration::from_secs(5)).await {
                // Lambda sends standard error to the function's log.
                eprintln!(
                    "videos-lambda: revocations not loaded yet: {:?}",
                    list.status()
                );
            }
            list
        }
        None => Revocations::in_process(),
    };
    // Built once per instance: its keys, verified tokens and the copy of
    // the revocation list are kept across the invocations it serves.
    let verifier = Verifier::builder()
        .pool(config)
        .revocations(revocations)
        .build()?;
    lambda_http::run(videos_lambda::service(verifier)).await
}
