//! `videos-lambda`: the function's entry point. Configured by environment
//! variables (set them on the function): `COGNITO_USER_POOL_ID` and
//! `COGNITO_CLIENT_ID`, or `COGNITO_ISSUER` (with `COGNITO_JWKS_URL`) for
//! another issuer; `COGNITO_TOKEN_USE` (default `access`).

use clap::Parser;
use cognito_verify::Verifier;
use cognito_verify::args::{PoolArgs, TokenUseArg};

/// The pool whose tokens the function accepts.
#[derive(Parser, Debug)]
#[command(name = "videos-lambda", version)]
struct Args {
    #[command(flatten)]
    pool: PoolArgs,
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let mut pool = Args::parse().pool;
    pool.token_use.get_or_insert(TokenUseArg::Access);
    let config = pool.normalized()?.pool_config()?;
    // Built once per instance: its keys and verified tokens are cached
    // across the invocations the instance serves.
    let verifier = Verifier::builder().pool(config).build()?;
    lambda_http::run(videos_lambda::service(verifier)).await
}
