//! `cognito-verify`: verify and inspect Cognito tokens from the shell.
//!
//! Exit codes: 0 verified (claims on standard output), 1 refused
//! (`{"error":{"kind","message"}}` on standard output), 2 usage or
//! configuration error (message on standard error).

use std::io::Read;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use cognito_verify::args::{AlbArgs, PoolArgs};
use cognito_verify::{Error, Verifier, decode_unverified};
use serde_json::{Value, json};

/// Largest token read from standard input (the verifier's own default cap
/// refuses anything over 16 KiB with `token_too_large`).
const MAX_STDIN_BYTES: u64 = 1024 * 1024;

#[derive(Parser)]
#[command(
    name = "cognito-verify",
    version,
    about = "Verify and inspect Amazon Cognito tokens"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Verify a token as an API would, and print its claims or why it was refused.
    #[command(after_help = "\
Exit codes: 0 valid (standard output: the token's claims as one JSON object),
1 refused (standard output: {\"error\":{\"kind\":\"<kind>\",\"message\":\"<message>\"}}),
2 usage or configuration error (message on standard error).

Examples:
  cognito-verify verify --user-pool-id us-east-1_Ynsi6EIT0 --client-id 4kq1s3m5example \\
      --token-use access \"$TOKEN\"
  echo \"$TOKEN\" | cognito-verify verify --user-pool-id us-east-1_Ynsi6EIT0 --any-client \\
      --token-use id --group admin -
  cognito-verify verify --user-pool-id us-east-1_abc --client-id c --token-use access \\
      --jwks-url http://127.0.0.1:5050/us-east-1_abc/.well-known/jwks.json \"$TOKEN\"   # moto")]
    Verify(VerifyArgs),
    /// Verify an Application Load Balancer's x-amzn-oidc-data header, and
    /// print its claims or why it was refused.
    #[command(after_help = "\
Exit codes as for verify. Standard output when valid: {\"load_balancer\",\"client_id\",
\"issuer\",\"kid\",\"expires_at\",\"claims\":{...}}.

Example (the header's value, as the target received it):
  cognito-verify verify-alb \\
      --alb-arn arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/videos/50dc6c495c0c9188 \\
      --alb-issuer https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Ynsi6EIT0 \\
      --alb-client-id 4kq1s3m5example \"$X_AMZN_OIDC_DATA\"")]
    VerifyAlb(VerifyAlbArgs),
    /// Print a token's header and payload WITHOUT verifying anything.
    #[command(after_help = "\
Standard output: {\"header\":{...},\"payload\":{...}}. Standard error: a warning that
nothing was verified, and exp/iat/nbf as RFC 3339 times with the time until expiry.

Example:
  cognito-verify decode \"$TOKEN\" | jq .payload")]
    Decode(DecodeArgs),
}

#[derive(Args)]
struct VerifyArgs {
    #[command(flatten)]
    pool: PoolArgs,

    /// Clock skew tolerated for exp, nbf and iat.
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    leeway: u64,

    /// The token; "-" or nothing reads it from standard input.
    #[arg(value_name = "TOKEN")]
    token: Option<String>,
}

#[derive(Args)]
struct VerifyAlbArgs {
    #[command(flatten)]
    alb: AlbArgs,

    /// Clock skew tolerated for exp.
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    leeway: u64,

    /// The header's value; "-" or nothing reads it from standard input.
    #[arg(value_name = "TOKEN")]
    token: Option<String>,
}

#[derive(Args)]
struct DecodeArgs {
    /// The token; "-" or nothing reads it from standard input.
    #[arg(value_name = "TOKEN")]
    token: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Verify(args) => verify(args),
        Command::VerifyAlb(args) => verify_alb(args),
        Command::Decode(args) => decode(args),
    }
}

fn usage_error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("cognito-verify: {message}");
    ExitCode::from(2)
}

fn refused(error: &Error) -> ExitCode {
    let out = json!({ "error": { "kind": error.kind(), "message": error.to_string() } });
    println!("{out}");
    ExitCode::from(1)
}

/// The token from the argument, or from standard input for `-` or none.
fn read_token(arg: Option<String>) -> Result<String, String> {
    match arg.as_deref() {
        Some(t) if t != "-" => Ok(t.trim().to_owned()),
        _ => {
            let mut input = String::new();
            std::io::stdin()
                .take(MAX_STDIN_BYTES)
                .read_to_string(&mut input)
                .map_err(|e| format!("cannot read the token from standard input: {e}"))?;
            Ok(input.trim().to_owned())
        }
    }
}

fn verify(args: VerifyArgs) -> ExitCode {
    let token = match read_token(args.token.clone()) {
        Ok(t) => t,
        Err(e) => return usage_error(e),
    };
    let pool = match args.pool.pool_config() {
        Ok(pool) => pool,
        Err(e) => return usage_error(e),
    };
    let verifier = match Verifier::builder()
        .pool(pool)
        .leeway(Duration::from_secs(args.leeway))
        .token_cache_capacity(0)
        .build()
    {
        Ok(v) => v,
        Err(e) => return usage_error(e),
    };
    run(verifier.verify(&token), |claims| {
        Value::Object(claims.as_map().clone())
    })
}

/// Runs a verification to its end and prints its outcome: the claims
/// (`shown`) with exit code 0, or the refusal with 1.
fn run<T>(
    verification: impl std::future::Future<Output = Result<T, Error>>,
    shown: impl FnOnce(T) -> Value,
) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return usage_error(format!("cannot start the runtime: {e}")),
    };
    match runtime.block_on(verification) {
        Ok(verified) => {
            println!("{}", shown(verified));
            ExitCode::SUCCESS
        }
        Err(e) => refused(&e),
    }
}

fn verify_alb(args: VerifyAlbArgs) -> ExitCode {
    let token = match read_token(args.token.clone()) {
        Ok(t) => t,
        Err(e) => return usage_error(e),
    };
    let verifier = match args
        .alb
        .verifier_builder()
        .leeway(Duration::from_secs(args.leeway))
        .token_cache_capacity(0)
        .build()
    {
        Ok(v) => v,
        Err(e) => return usage_error(e),
    };
    run(verifier.verify(&token), |claims| {
        json!({
            "load_balancer": claims.load_balancer_arn(),
            "client_id": claims.client_id(),
            "issuer": claims.issuer(),
            "kid": claims.kid(),
            "expires_at": claims.expires_at(),
            "claims": Value::Object(claims.claims().clone()),
        })
    })
}

fn decode(args: DecodeArgs) -> ExitCode {
    let token = match read_token(args.token) {
        Ok(t) => t,
        Err(e) => return usage_error(e),
    };
    let decoded = match decode_unverified(&token) {
        Ok(d) => d,
        Err(e) => return refused(&e),
    };
    eprintln!("warning: decoded only; NOTHING was verified (signature, issuer, expiry, audience)");
    let now = cognito_verify::unix_now();
    for claim in ["iat", "nbf", "exp"] {
        if let Some(t) = decoded.payload.get(claim).and_then(Value::as_i64) {
            eprintln!("{claim}: {}", cognito_verify::Time::from_unix_seconds(t));
        }
    }
    if let Some(exp) = decoded.payload.get("exp").and_then(Value::as_i64) {
        let left = i128::from(exp) - i128::from(now);
        if left > 0 {
            eprintln!("expires in {}", humanize(left));
        } else {
            eprintln!("expired {} ago", humanize(-left));
        }
    }
    println!(
        "{}",
        json!({ "header": Value::Object(decoded.header), "payload": Value::Object(decoded.payload) })
    );
    ExitCode::SUCCESS
}

/// `1h 02m 03s`-style.
fn humanize(secs: i128) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m {s:02}s"),
        _ => format!("{h}h {m:02}m {s:02}s"),
    }
}
