//! `videos-api`: see the library docs, or run with `--help`.

use clap::Parser;
use tokio::net::TcpListener;
use videos_api::admin::Admin;
use videos_api::{App, Args, AuthSettings, Config, DevIssuer};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    videos_api::main_of("videos-api", run(Args::parse())).await
}

async fn run(mut args: Args) -> Result<(), String> {
    // First: the verifiers and the revocation list make their metric
    // handles when they are built.
    let admin = Admin::start(&args.admin)?;
    // The secret comes from the environment only (see `Args::client_secret`).
    args.client_secret = std::env::var("COGNITO_CLIENT_SECRET")
        .ok()
        .map(videos_api::ClientSecret);
    let config = Config::from_args(args).map_err(|e| e.to_string())?;
    let App {
        router,
        dev_issuer,
        verifiers,
    } = videos_api::app(&config).await.map_err(|e| e.to_string())?;
    if let Some(admin) = admin {
        admin.serve(verifiers).await?;
    }
    let listener = TcpListener::bind(config.addr).await.map_err(|e| {
        format!(
            "VIDEOS_API_ADDR (--addr): cannot listen on {}: {e}",
            config.addr
        )
    })?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    match (&config.auth, &dev_issuer) {
        (AuthSettings::Development, Some(dev)) => {
            print_development_banner(dev, &format!("http://{addr}"))?
        }
        (AuthSettings::Alb { .. }, _) => {
            tracing::info!("verifying the load balancer's signed identity (x-amzn-oidc-data)")
        }
        _ => tracing::info!("verifying Cognito tokens"),
    }
    tracing::info!(%addr, db = %config.db, "videos-api listening");
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| format!("server error: {e}"))?;
    tracing::info!("videos-api stopped");
    Ok(())
}

fn print_development_banner(dev: &DevIssuer, base: &str) -> Result<(), String> {
    let alice = dev.access_token("alice", &[])?;
    let bob = dev.access_token("bob", &["admin"])?;
    let line = "=".repeat(78);
    println!(
        "{line}
DEVELOPMENT MODE (--dev): tokens are minted locally by an in-process issuer
for anyone who asks; only requests addressed to localhost are answered.
This is not for production. Set COGNITO_USER_POOL_ID and COGNITO_CLIENT_ID
(without --dev) to verify real Cognito tokens.
{line}
videos-api listening on {base}

Open {base}/ in a browser and sign in as a demo user, or use the API:

Two demo users (tokens valid for 8 hours; alice is a user, bob is in 'admin';
after alice signs out, her token is refused: revoked):

export ALICE='{alice}'
export BOB='{bob}'

curl -s {base}/me -H \"Authorization: Bearer $ALICE\"
curl -s -X POST {base}/videos -H \"Authorization: Bearer $ALICE\" -H 'Content-Type: application/json' -d '{{\"title\":\"My first video\",\"url\":\"https://example.com/v/1\"}}'
curl -s {base}/videos -H \"Authorization: Bearer $ALICE\"
curl -s {base}/videos -H \"Authorization: Bearer $BOB\"
curl -s {base}/admin/videos -H \"Authorization: Bearer $BOB\"
curl -s {base}/admin/videos -H \"Authorization: Bearer $ALICE\"
curl -s -X POST {base}/auth/logout -H \"Authorization: Bearer $ALICE\" -H 'x-videos-csrf: 1'
curl -s {base}/me -H \"Authorization: Bearer $ALICE\"
curl -s -X POST {base}/dev/token -H 'Content-Type: application/json' -d '{{\"username\":\"carol\",\"groups\":[]}}'
"
    );
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
