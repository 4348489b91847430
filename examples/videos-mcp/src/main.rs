//! `videos-mcp`: see the library docs, or run with `--help`.

use std::io::Write;
use std::net::SocketAddr;

use clap::Parser;
use cognito_verify::args::PoolArgs;
use cognito_verify::{UserPoolId, Verifier};
use cognito_verify_axum::ProtectedResource;
use tokio::net::TcpListener;
use videos_api::admin::{Admin, AdminArgs};
use videos_api::db::Db;
use videos_mcp::MCP_PATH;
use videos_mcp::dev::{DEV_ISSUER, DevIssuer};

/// The videos store as an MCP server (streamable HTTP at /mcp), an OAuth
/// protected resource (RFC 9728) that accepts Cognito access tokens bound
/// to it (RFC 8707).
///
/// Against a user pool: COGNITO_USER_POOL_ID, COGNITO_RESOURCE (this
/// server's URL, e.g. https://videos.example.com/mcp, as clients send it in
/// `resource=`), COGNITO_CLIENT_ID or --any-client, COGNITO_TOKEN_USE=access.
/// Client-credentials clients: add --unbound-tokens. Development (no AWS):
/// --dev.
#[derive(Parser, Debug)]
#[command(name = "videos-mcp", version)]
struct Args {
    /// Development mode: tokens minted locally, printed at start; loopback
    /// addresses only.
    #[arg(long, env = "VIDEOS_MCP_DEV")]
    dev: bool,

    /// Listen address.
    #[arg(long, env = "VIDEOS_MCP_ADDR", default_value = "127.0.0.1:3001")]
    addr: SocketAddr,

    /// SQLite file (shared with videos-api); `:memory:` keeps nothing.
    #[arg(long, env = "VIDEOS_DB", default_value = "./videos.db")]
    db: String,

    /// Scopes to list in the metadata (`scopes_supported`), comma-separated.
    #[arg(long, env = "VIDEOS_MCP_SCOPES", value_delimiter = ',')]
    scopes: Vec<String>,

    /// Name --resource in the metadata without requiring it in the tokens'
    /// aud: for client-credentials (machine-to-machine) clients, whose
    /// Cognito access tokens carry no aud (resource binding is for managed
    /// login only). Any access token of the allowed clients is then
    /// accepted, whatever resource it was issued for: narrow with
    /// --client-id and --scope.
    #[arg(long, env = "VIDEOS_MCP_UNBOUND_TOKENS")]
    unbound_tokens: bool,

    #[command(flatten)]
    pool: PoolArgs,

    /// The admin listener: `--admin-addr` (`VIDEOS_ADMIN_ADDR`) serves
    /// `/metrics`, `/readyz` and `/healthz` there, loopback only unless
    /// `--admin-any-addr`.
    #[command(flatten)]
    admin: AdminArgs,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    videos_api::main_of("videos-mcp", run(Args::parse())).await
}

async fn run(args: Args) -> Result<(), String> {
    // First: the verifier makes its metric handles when it is built.
    let admin = Admin::start(&args.admin)?;
    let db = Db::open(&args.db).map_err(|e| e.to_string())?;
    if args.dev && !args.addr.ip().is_loopback() {
        return Err(format!(
            "development mode listens on a loopback address only, not {}",
            args.addr
        ));
    }
    let listener = TcpListener::bind(args.addr).await.map_err(|e| {
        format!(
            "VIDEOS_MCP_ADDR (--addr): cannot listen on {}: {e}",
            args.addr
        )
    })?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (verifier, resource, allowed_hosts, dev) = if args.dev {
        if args.pool.normalized().map_err(|e| e.to_string())? != PoolArgs::default()
            || args.unbound_tokens
        {
            return Err(
                "--dev mints its own tokens, bound to this server: leave out the pool flags \
                 and --unbound-tokens"
                    .into(),
            );
        }
        let uri = format!("http://localhost:{}{MCP_PATH}", addr.port());
        let dev = DevIssuer::new(&uri);
        let resource = metadata(&uri, DEV_ISSUER, &args.scopes)?;
        // rmcp's default: loopback names only (no DNS rebinding).
        let hosts = ["localhost", "127.0.0.1", "::1"]
            .map(str::to_owned)
            .to_vec();
        (
            dev.verifier().map_err(|e| e.to_string())?,
            resource,
            hosts,
            Some(dev),
        )
    } else {
        let pool = args.pool.normalized().map_err(|e| e.to_string())?;
        let [uri] = &pool.resource[..] else {
            return Err(
                "give this server's resource identifier, once: COGNITO_RESOURCE (--resource), \
                 e.g. https://videos.example.com/mcp; or --dev"
                    .into(),
            );
        };
        let issuer = match (&pool.user_pool_id, &pool.issuer) {
            (Some(id), _) => UserPoolId::new(id).map_err(|e| e.to_string())?.issuer(),
            (None, Some(issuer)) => issuer.clone(),
            (None, None) => return Err("no user pool: COGNITO_USER_POOL_ID, or --dev".into()),
        };
        let resource = metadata(uri, &issuer, &args.scopes)?;
        let mut accepted = pool.clone();
        if args.unbound_tokens {
            accepted.resource.clear();
        }
        let verifier = accepted
            .verifier_settings(Verifier::builder())
            .pool(accepted.pool_config().map_err(|e| e.to_string())?)
            .build()
            .map_err(|e| e.to_string())?;
        if let Err(e) = verifier.hydrate().await {
            tracing::warn!(error = %e, "keys not fetched at start; the first request fetches them");
        }
        let host = uri
            .parse::<http::Uri>()
            .ok()
            .and_then(|u| u.authority().map(|a| a.host().to_owned()))
            .ok_or("the resource has no host")?;
        (verifier, resource, vec![host], None)
    };
    if let Some(admin) = admin {
        admin.serve(vec![verifier.clone()]).await?;
    }
    let router = videos_mcp::app(db, verifier, &resource, allowed_hosts);
    if let Some(dev) = &dev {
        print_development_banner(dev, resource.resource());
    }
    tracing::info!(%addr, resource = resource.resource(), "videos-mcp listening");
    axum::serve(listener, router)
        .await
        .map_err(|e| format!("server error: {e}"))
}

/// The resource's RFC 9728 metadata.
fn metadata(uri: &str, issuer: &str, scopes: &[String]) -> Result<ProtectedResource, String> {
    let mut builder = ProtectedResource::builder(uri)
        .authorization_server(issuer)
        .resource_name("Videos");
    if !scopes.is_empty() {
        builder = builder.scopes_supported(scopes.iter().cloned());
    }
    builder.build().map_err(|e| e.to_string())
}

fn print_development_banner(dev: &DevIssuer, resource: &str) {
    let alice = dev.access_token("alice", &[]);
    let bob = dev.access_token("bob", &["admin"]);
    let line = "=".repeat(78);
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}"#;
    let add = r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add_video","arguments":{"title":"My first video","url":"https://example.com/v/1"}}}"#;
    let list = r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"list_my_videos","arguments":{}}}"#;
    let all = r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"list_all_videos","arguments":{}}}"#;
    let headers = r#"-H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2025-06-18'"#;
    // A closed standard output must not end the server: errors ignored.
    let _ = writeln!(
        std::io::stdout().lock(),
        "{line}
DEVELOPMENT MODE (--dev): tokens are minted locally and printed here; only
loopback hosts are answered. Not for production.
{line}
MCP endpoint: {resource}

Two demo users (tokens bound to {resource}, valid 8 hours; bob is in 'admin'):

export ALICE='{alice}'
export BOB='{bob}'

curl -s {resource} {headers} -d '{init}'
curl -s {resource} {headers} -H \"Authorization: Bearer $ALICE\" -d '{init}'
curl -s {resource} {headers} -H \"Authorization: Bearer $ALICE\" -d '{add}'
curl -s {resource} {headers} -H \"Authorization: Bearer $ALICE\" -d '{list}'
curl -s {resource} {headers} -H \"Authorization: Bearer $BOB\" -d '{all}'
curl -s {resource} {headers} -H \"Authorization: Bearer $ALICE\" -d '{all}'

(the first answers 401 with the resource_metadata URL; an MCP client with a
bearer-token setting, such as the MCP Inspector, takes $ALICE as is)
"
    );
}
