//! `videos-mcp` (the binary) driven by a client the project did not
//! write: the official MCP Python SDK (PyPI `mcp`), through the scripts in
//! `tests/mcp/` at the top of the workspace. Each test is named after the
//! requirement of the MCP authorization specification it checks.
//!
//! - Against MiniStack: the SDK's own OAuth client for the
//!   client-credentials grant follows the chain a client follows (the 401's
//!   `resource_metadata`, the RFC 9728 document, the pool's OpenID
//!   configuration, its token endpoint) and then uses the server. Cognito
//!   (and MiniStack) put no `aud` in client-credentials tokens, so this
//!   server runs with `--unbound-tokens`.
//! - Against `LocalIssuer`: access tokens bound to the server (`aud`), as
//!   Cognito's managed login issues them to a client that sent `resource=`,
//!   used by the SDK's streamable HTTP client as a bearer token.
//!
//! `.ci/run` installs the SDK in a venv of its own and sets `MCP_PYTHON`;
//! the MiniStack tests also need `MINISTACK_ENDPOINT` and
//! `MINISTACK_PYTHON`. Without them the tests say why and skip, except
//! under `CI=true`, where they fail.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cognito_verify::testing::LocalIssuer;
use serde_json::{Value, json};

/// The scope every request needs (`--scope`), and the one a token may hold
/// without it.
const REQUIRED_SCOPE: &str = "videos/read";
const OTHER_SCOPE: &str = "videos/write";

/// `<PREFIX>_<NAME>` for each name, or a skip (a failure under `CI=true`).
fn required_env(vars: &[&str]) -> Option<Vec<String>> {
    let values: Vec<String> = vars
        .iter()
        .map(|v| std::env::var(v).unwrap_or_default())
        .collect();
    if values.iter().all(|v| !v.is_empty()) {
        return Some(values);
    }
    let why = format!(
        "{} not set (.ci/run installs the MCP Python SDK and starts the emulators)",
        vars.join(", ")
    );
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "the MCP client tests need it under CI: {why}"
    );
    eprintln!("skipping: {why}");
    None
}

/// Runs `tests/mcp/<script>` with `python` and returns the JSON it prints.
async fn run_script(python: &str, script: &str, args: &[&str]) -> Value {
    let path = format!("{}/../../tests/mcp/{script}", env!("CARGO_MANIFEST_DIR"));
    let run = tokio::process::Command::new(python)
        .arg(&path)
        .args(args)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .unwrap_or_else(|_| panic!("{script} did not finish in 2 minutes"))
        .expect("run the script");
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the script prints JSON")
}

/// The `videos-mcp` binary on a free loopback port, its resource
/// `http://127.0.0.1:<port>/mcp`; killed when dropped.
struct Server {
    resource: String,
    child: Child,
}

impl Server {
    async fn start(pool_args: &[&str]) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let resource = format!("http://127.0.0.1:{port}/mcp");
        let child = Command::new(env!("CARGO_BIN_EXE_videos-mcp"))
            .args(["--db", ":memory:", "--addr", &format!("127.0.0.1:{port}")])
            .args(["--resource", &resource, "--token-use", "access"])
            .args(["--scope", REQUIRED_SCOPE])
            .args(["--scopes", &format!("{REQUIRED_SCOPE},{OTHER_SCOPE}")])
            .args(pool_args)
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut server = Server { resource, child };
        let metadata = format!("http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp");
        let started = Instant::now();
        while reqwest::get(&metadata).await.is_err() {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("videos-mcp exited: {status}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "videos-mcp did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server
    }

    fn metadata_url(&self) -> String {
        self.resource
            .replace("/mcp", "/.well-known/oauth-protected-resource/mcp")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The SDK's streamable HTTP client with `token`: initialize, list the
/// tools, then `calls` (`tool` or `tool=<JSON arguments>`).
async fn with_bearer(python: &str, server: &Server, token: &str, calls: &[&str]) -> Value {
    let mut args = vec!["bearer", &server.resource, token];
    args.extend_from_slice(calls);
    run_script(python, "mcp_client.py", &args).await
}

/// The only exchange of a session the server refused at once.
fn refusal(session: &Value) -> &Value {
    let exchanges = session["exchanges"].as_array().unwrap();
    assert_eq!(exchanges.len(), 1, "{session:#}");
    assert!(session["server"].is_null(), "{session:#}");
    &exchanges[0]
}

fn challenge(exchange: &Value) -> &str {
    exchange["www_authenticate"].as_str().unwrap_or_default()
}

/// A pool on MiniStack (resource server `videos`, a client-credentials
/// client) and the server pointed at it.
struct MiniStack {
    endpoint: String,
    pool: Value,
    server: Server,
}

impl MiniStack {
    async fn start() -> Option<(MiniStack, String)> {
        let [endpoint, boto_python, mcp_python] = <[String; 3]>::try_from(required_env(&[
            "MINISTACK_ENDPOINT",
            "MINISTACK_PYTHON",
            "MCP_PYTHON",
        ])?)
        .unwrap();
        let endpoint = endpoint.trim_end_matches('/').to_owned();
        let pool = run_script(&boto_python, "ministack_pool.py", &[&endpoint]).await;
        let (id, client) = (
            pool["pool_id"].as_str().unwrap(),
            pool["client_id"].as_str().unwrap(),
        );
        let jwks = format!("{endpoint}/{id}/.well-known/jwks.json");
        let server = Server::start(&[
            "--user-pool-id",
            id,
            "--client-id",
            client,
            "--jwks-url",
            &jwks,
            "--unbound-tokens",
        ])
        .await;
        Some((
            MiniStack {
                endpoint,
                pool,
                server,
            },
            mcp_python,
        ))
    }

    fn s(&self, key: &str) -> &str {
        self.pool[key].as_str().unwrap()
    }

    /// The pool's issuer, as its tokens and discovery document name it.
    fn issuer(&self) -> String {
        format!(
            "https://cognito-idp.us-east-1.amazonaws.com/{}",
            self.s("pool_id")
        )
    }

    /// The SDK's OAuth client for the client-credentials grant, from the
    /// first unauthenticated request on.
    async fn client_credentials_session(&self, python: &str, calls: &[&str]) -> Value {
        let issuer = self.issuer();
        let mut args = vec![
            "client-credentials",
            &self.server.resource,
            self.s("client_id"),
            self.s("client_secret"),
            &issuer,
            &self.endpoint,
        ];
        args.extend_from_slice(calls);
        run_script(python, "mcp_client.py", &args).await
    }
}

/// MCP authorization, "Authorization Server Location" and "Authorization
/// Server Discovery": the server's 401 names its RFC 9728 document in
/// `WWW-Authenticate`, the document names the authorization server, and
/// the client finds the server's OpenID configuration and token endpoint
/// from there (the SDK does each step, and validates each document).
#[tokio::test(flavor = "multi_thread")]
async fn protected_resource_metadata_is_discoverable_from_the_401() {
    let Some((ministack, python)) = MiniStack::start().await else {
        return;
    };
    let session = ministack
        .client_credentials_session(&python, &["list_my_videos"])
        .await;
    assert!(session["error"].is_null(), "{session:#}");
    let exchanges = session["exchanges"].as_array().unwrap();
    let resource = &ministack.server.resource;
    let (endpoint, pool) = (&ministack.endpoint, ministack.s("pool_id"));
    // Each step of the chain, in order, as the SDK made it.
    let steps: Vec<(&str, &str, u64)> = exchanges
        .iter()
        .map(|e| {
            (
                e["method"].as_str().unwrap(),
                e["url"].as_str().unwrap(),
                e["status"].as_u64().unwrap(),
            )
        })
        .filter(|(_, _, status)| *status != 404)
        .take(5)
        .collect();
    let metadata = ministack.server.metadata_url();
    let openid = format!("{endpoint}/{pool}/.well-known/openid-configuration");
    let token_endpoint = format!("{endpoint}/oauth2/token");
    assert_eq!(
        steps,
        [
            ("POST", resource.as_str(), 401),
            ("GET", metadata.as_str(), 200),
            ("GET", openid.as_str(), 200),
            ("POST", token_endpoint.as_str(), 200),
            ("POST", resource.as_str(), 200),
        ],
        "{session:#}"
    );
    assert_eq!(
        challenge(&exchanges[0]),
        format!(r#"Bearer realm="videos", resource_metadata="{metadata}""#)
    );
    // The token request: the scopes the metadata lists (the SDK's choice
    // when the 401 names none) and this server as the resource (RFC 8707).
    let token_request = exchanges
        .iter()
        .find(|e| e["url"] == token_endpoint.as_str())
        .unwrap();
    assert_eq!(
        token_request["form"],
        json!({
            "grant_type": "client_credentials",
            "scope": format!("{REQUIRED_SCOPE} {OTHER_SCOPE}"),
            "resource": resource,
        })
    );
}

/// MCP authorization, "Token Requirements" and "Token Handling": a token
/// from the authorization server, sent as `Authorization: Bearer` on every
/// request, lets the client initialize, list the tools and call them;
/// a machine's token (client credentials) owns no videos and is refused
/// by the tools that act for a user.
#[tokio::test(flavor = "multi_thread")]
async fn access_tokens_from_the_authorization_server_are_accepted_in_the_authorization_header() {
    let Some((ministack, python)) = MiniStack::start().await else {
        return;
    };
    let session = ministack
        .client_credentials_session(
            &python,
            &[
                "list_my_videos",
                r#"add_video={"title":"from a machine","url":"https://example.com/v/1"}"#,
            ],
        )
        .await;
    assert!(session["error"].is_null(), "{session:#}");
    assert_eq!(session["server"]["name"], "videos-mcp");
    assert_eq!(
        session["tools"],
        json!(["add_video", "list_all_videos", "list_my_videos"])
    );
    for call in session["calls"].as_array().unwrap() {
        assert!(
            call["error"]
                .as_str()
                .is_some_and(|e| e.starts_with("user_required")),
            "{session:#}"
        );
    }
    // A client that already holds a token (the same grant, outside the SDK).
    let held = with_bearer(&python, &ministack.server, ministack.s("read_token"), &[]).await;
    assert!(held["error"].is_null(), "{held:#}");
    assert_eq!(held["server"]["name"], "videos-mcp");
}

/// MCP authorization, "Scope Challenge Handling" (RFC 6750 §3.1): a token
/// without the scope the server requires is 403 `insufficient_scope`, and
/// the challenge names the scope to ask for and the metadata.
#[tokio::test(flavor = "multi_thread")]
async fn tokens_without_the_required_scope_get_403_naming_the_scope() {
    let Some((ministack, python)) = MiniStack::start().await else {
        return;
    };
    let session = with_bearer(
        &python,
        &ministack.server,
        ministack.s("write_only_token"),
        &[],
    )
    .await;
    let refused = refusal(&session);
    assert_eq!(refused["status"], 403, "{session:#}");
    let metadata = ministack.server.metadata_url();
    let challenge = challenge(refused);
    for part in [
        r#"error="insufficient_scope""#.to_owned(),
        format!(r#"scope="{REQUIRED_SCOPE}""#),
        format!(r#"resource_metadata="{metadata}""#),
    ] {
        assert!(challenge.contains(&part), "{part} in {challenge}");
    }
}

/// A `LocalIssuer` standing in for a pool, and the server accepting only
/// access tokens bound to it (`aud`).
async fn bound_server() -> Option<(LocalIssuer, Server, String)> {
    let [python] = <[String; 1]>::try_from(required_env(&["MCP_PYTHON"])?).unwrap();
    let issuer = LocalIssuer::start().await.unwrap();
    let server = Server::start(&[
        "--issuer",
        issuer.issuer(),
        "--jwks-url",
        issuer.jwks_url(),
        "--any-client",
    ])
    .await;
    Some((issuer, server, python))
}

/// A user's access token with the required scope, its `aud` given.
fn user_token(issuer: &LocalIssuer, user: &str, groups: &[&str], aud: Option<&str>) -> String {
    let mut token = issuer
        .access_token("videos-mcp-client")
        .sub(&format!("sub-{user}"))
        .username(user)
        .groups(groups.iter().copied())
        .scopes([REQUIRED_SCOPE]);
    token = match aud {
        Some(aud) => token.claim("aud", json!(aud)),
        None => token.without("aud"),
    };
    token.sign()
}

/// MCP authorization, "Token Handling" and "Access Token Privilege
/// Restriction": with tokens bound to this server, each user's tools act
/// for that user alone (the identity comes from the verified token, never
/// from the arguments); the admin tool needs the admin group.
#[tokio::test(flavor = "multi_thread")]
async fn each_user_sees_only_their_own_videos_with_tokens_bound_to_the_server() {
    let Some((issuer, server, python)) = bound_server().await else {
        return;
    };
    let resource = Some(server.resource.as_str());
    let alice = user_token(&issuer, "alice", &[], resource);
    let bob = user_token(&issuer, "bob", &["admin"], resource);

    let session = with_bearer(
        &python,
        &server,
        &alice,
        &[
            r#"add_video={"title":"Holiday","url":"https://example.com/v/1"}"#,
            "list_my_videos",
            "list_all_videos",
        ],
    )
    .await;
    assert!(session["error"].is_null(), "{session:#}");
    assert_eq!(
        session["tools"],
        json!(["add_video", "list_all_videos", "list_my_videos"])
    );
    let calls = &session["calls"];
    assert_eq!(calls[0]["structured"]["owner"], "sub-alice", "{session:#}");
    let mine = &calls[1]["structured"]["videos"];
    assert_eq!(mine.as_array().map(Vec::len), Some(1), "{session:#}");
    assert_eq!(mine[0]["title"], "Holiday");
    assert!(
        calls[2]["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("missing_group")),
        "{session:#}"
    );

    let session = with_bearer(
        &python,
        &server,
        &bob,
        &["list_my_videos", "list_all_videos"],
    )
    .await;
    assert!(session["error"].is_null(), "{session:#}");
    assert_eq!(
        session["calls"][0]["structured"]["videos"],
        json!([]),
        "{session:#}"
    );
    let all = &session["calls"][1]["structured"]["videos"];
    assert_eq!(all.as_array().map(Vec::len), Some(1), "{session:#}");
    assert_eq!(all[0]["owner"], "sub-alice");
}

/// MCP authorization, "Token Audience Binding and Validation" (RFC 8707):
/// an access token issued for another resource, or for none, is 401
/// `invalid_token` with the kind `invalid_audience`, and the challenge
/// still names the metadata.
#[tokio::test(flavor = "multi_thread")]
async fn tokens_issued_for_another_resource_are_refused() {
    let Some((issuer, server, python)) = bound_server().await else {
        return;
    };
    let trailing_slash = format!("{}/", server.resource);
    for aud in [
        Some("https://other.example.com/mcp"),
        Some(trailing_slash.as_str()),
        None,
    ] {
        let token = user_token(&issuer, "alice", &[], aud);
        let session = with_bearer(&python, &server, &token, &[]).await;
        let refused = refusal(&session);
        assert_eq!(refused["status"], 401, "{aud:?}: {session:#}");
        let challenge = challenge(refused);
        for part in [
            r#"error="invalid_token""#.to_owned(),
            r#"error_description="invalid_audience"#.to_owned(),
            format!(r#"resource_metadata="{}""#, server.metadata_url()),
        ] {
            assert!(challenge.contains(&part), "{aud:?}: {part} in {challenge}");
        }
    }
}

/// MCP authorization, "Token Requirements": the server accepts access
/// tokens only; an id token (`token_use: id`, `aud` = the client id) is
/// refused even with the resource as an extra audience.
#[tokio::test(flavor = "multi_thread")]
async fn id_tokens_are_refused() {
    let Some((issuer, server, python)) = bound_server().await else {
        return;
    };
    for aud in [
        json!("videos-mcp-client"),
        json!(["videos-mcp-client", server.resource]),
    ] {
        let token = issuer
            .id_token("videos-mcp-client")
            .claim("aud", aud.clone())
            .claim("scope", json!(REQUIRED_SCOPE))
            .sign();
        let session = with_bearer(&python, &server, &token, &[]).await;
        let refused = refusal(&session);
        assert_eq!(refused["status"], 401, "{aud}: {session:#}");
        let challenge = challenge(refused);
        for part in [
            r#"error="invalid_token""#,
            r#"error_description="invalid_token_use"#,
            "resource_metadata=",
        ] {
            assert!(challenge.contains(part), "{aud}: {part} in {challenge}");
        }
    }
}
