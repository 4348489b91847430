//! `videos-grpc`: see the library docs, or run with `--help`.

use std::net::SocketAddr;

use clap::Parser;
use cognito_verify::args::{PoolArgs, TokenUseArg};
use tokio::net::TcpListener;
use videos_api::DevIssuer;
use videos_api::admin::{Admin, AdminArgs};
use videos_api::db::Db;
use videos_api::revocations::{RevocationArgs, revocations};

/// `videos-grpc`: the videos service over gRPC; each caller sees only the
/// videos they own.
///
/// Configure a user pool to verify real Cognito access tokens, or pass
/// `--dev` for development mode: tokens are minted by an in-process issuer
/// and printed at start (loopback only).
#[derive(Parser, Debug)]
#[command(name = "videos-grpc", version)]
struct Args {
    /// The pool: `--user-pool-id`, `--client-id`, `--jwks-url`, `--issuer`,
    /// and their variables (access tokens unless `--token-use` says otherwise).
    #[command(flatten)]
    pool: PoolArgs,

    /// Address to listen on (HTTP/2 without TLS: put TLS in front).
    #[arg(long, env = "VIDEOS_GRPC_ADDR", default_value = "127.0.0.1:50051")]
    addr: SocketAddr,

    /// SQLite database file (the HTTP example's format), or :memory:.
    #[arg(long, env = "VIDEOS_DB", default_value = "./videos.db")]
    db: String,

    /// Development mode: tokens minted in-process, loopback only. Never for
    /// production.
    #[arg(long, env = "VIDEOS_GRPC_DEV")]
    dev: bool,

    /// The revocation list: `--revocations-url` (`VIDEOS_REVOCATIONS_URL`)
    /// follows the one the HTTP service's replicas share in Redis.
    #[command(flatten)]
    revocations: RevocationArgs,

    /// The admin listener: `--admin-addr` (`VIDEOS_ADMIN_ADDR`) serves
    /// `/metrics`, `/readyz` and `/healthz` there, loopback only unless
    /// `--admin-any-addr`.
    #[command(flatten)]
    admin: AdminArgs,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    videos_api::main_of("videos-grpc", run(Args::parse())).await
}

async fn run(args: Args) -> Result<(), String> {
    // First: the verifier and the revocation list make their metric
    // handles when they are built.
    let admin = Admin::start(&args.admin)?;
    let mut pool = args.pool;
    pool.token_use.get_or_insert(TokenUseArg::Access);
    let configured = pool.user_pool_id.is_some() || pool.issuer.is_some();
    let revocations = revocations(&args.revocations)
        .await
        .map_err(|e| e.to_string())?;
    let (verifier, dev) = match (args.dev, configured) {
        (true, true) => {
            return Err(
                "--dev and a user pool (--user-pool-id or --issuer) are both set; choose one"
                    .into(),
            );
        }
        (false, false) => {
            return Err("no user pool is configured: set COGNITO_USER_POOL_ID (--user-pool-id) and COGNITO_CLIENT_ID (--client-id), or pass --dev for development mode".into());
        }
        (true, false) if !args.addr.ip().is_loopback() => {
            return Err(format!(
                "development mode mints tokens for anyone who asks, so it only listens on a loopback address, not {}",
                args.addr
            ));
        }
        (true, false) => {
            let dev = DevIssuer::new();
            (
                dev.verifier_with(revocations).map_err(|e| e.to_string())?,
                Some(dev),
            )
        }
        (false, true) => {
            let pool = pool.normalized().map_err(|e| e.to_string())?;
            (
                videos_api::pool_verifier_with(&pool, revocations).map_err(|e| e.to_string())?,
                None,
            )
        }
    };
    if let Err(e) = verifier.hydrate().await {
        tracing::warn!(error.kind = e.kind(), error = %e, "could not fetch the signing keys at start");
    }
    if let Some(admin) = admin {
        admin.serve(vec![verifier.clone()]).await?;
    }
    let db = Db::open(&args.db).map_err(|e| format!("VIDEOS_DB (--db): {e}"))?;
    let listener = TcpListener::bind(args.addr).await.map_err(|e| {
        format!(
            "VIDEOS_GRPC_ADDR (--addr): cannot listen on {}: {e}",
            args.addr
        )
    })?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    if let Some(dev) = &dev {
        print_development_banner(dev, addr)?;
    }
    tracing::info!(%addr, db = %args.db, "videos-grpc listening");
    videos_grpc::serve(listener, verifier, db, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .map_err(|e| format!("server error: {e}"))
}

fn print_development_banner(dev: &DevIssuer, addr: SocketAddr) -> Result<(), String> {
    let alice = dev.access_token("alice", &[])?;
    let bob = dev.access_token("bob", &["admin"])?;
    println!(
        "DEVELOPMENT MODE (--dev): tokens are minted locally; not for production.
videos-grpc listening on {addr}

export ALICE='{alice}'
export BOB='{bob}'

grpcurl -plaintext -import-path examples/videos-grpc/proto -proto videos.proto \\
  -H \"authorization: Bearer $ALICE\" -d '{{\"title\":\"My first video\",\"url\":\"https://example.com/v/1\"}}' \\
  {addr} videos.v1.Videos/AddVideo
grpcurl -plaintext -import-path examples/videos-grpc/proto -proto videos.proto \\
  -H \"authorization: Bearer $ALICE\" {addr} videos.v1.Videos/ListVideos
grpcurl -plaintext -import-path examples/videos-grpc/proto -proto videos.proto \\
  -H \"authorization: Bearer $BOB\" {addr} videos.v1.AdminVideos/ListAllVideos
"
    );
    Ok(())
}
