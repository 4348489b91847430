//! The MCP server over real HTTP: discovery from a 401 to the metadata,
//! tools that act for the verified user only, the admin tool behind its
//! group, and tokens not bound to this server refused.

use serde_json::{Value, json};
use videos_api::db::Db;
use videos_mcp::dev::{DEV_ISSUER, DevIssuer};

struct Server {
    base: String,
    resource: String,
    dev: DevIssuer,
    client: reqwest::Client,
}

async fn start() -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let resource = format!("http://localhost:{port}/mcp");
    let dev = DevIssuer::new(&resource);
    let metadata = cognito_verify_axum::ProtectedResource::builder(&resource)
        .authorization_server(DEV_ISSUER)
        .build()
        .unwrap();
    let hosts = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let app = videos_mcp::app(
        Db::open(":memory:").unwrap(),
        dev.verifier().unwrap(),
        &metadata,
        hosts,
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server {
        base: format!("http://127.0.0.1:{port}"),
        resource,
        dev,
        client: reqwest::Client::new(),
    }
}

struct Answer {
    status: u16,
    www_authenticate: Option<String>,
    body: Value,
}

impl Server {
    /// One JSON-RPC request to /mcp.
    async fn rpc(&self, token: Option<&str>, method: &str, params: Value) -> Answer {
        let mut request = self
            .client
            .post(format!("{}/mcp", self.base))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-06-18")
            .body(
                json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string(),
            );
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let www_authenticate = response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned());
        let text = response.text().await.unwrap();
        Answer {
            status,
            www_authenticate,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        }
    }

    async fn call(&self, token: &str, tool: &str, arguments: Value) -> Value {
        let answer = self
            .rpc(
                Some(token),
                "tools/call",
                json!({"name": tool, "arguments": arguments}),
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body
    }
}

fn initialize_params() -> Value {
    json!({
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"},
    })
}

#[tokio::test]
async fn a_client_finds_the_metadata_from_the_401_and_the_issuer_there() {
    let server = start().await;
    let refused = server.rpc(None, "initialize", initialize_params()).await;
    assert_eq!(refused.status, 401);
    let metadata_url = format!(
        "{}/.well-known/oauth-protected-resource/mcp",
        server.resource.trim_end_matches("/mcp")
    );
    assert_eq!(
        refused.www_authenticate,
        Some(format!(
            r#"Bearer realm="videos", resource_metadata="{metadata_url}""#
        ))
    );
    let path = metadata_url.trim_start_matches(&server.resource.replace("/mcp", ""));
    let document: Value = serde_json::from_str(
        &server
            .client
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(document["resource"], server.resource);
    assert_eq!(document["authorization_servers"], json!([DEV_ISSUER]));
    assert_eq!(document["bearer_methods_supported"], json!(["header"]));
}

#[tokio::test]
async fn tools_act_for_the_verified_user_only() {
    let server = start().await;
    let alice = server.dev.access_token("alice", &[]);
    let bob = server.dev.access_token("bob", &["admin"]);

    let init = server
        .rpc(Some(&alice), "initialize", initialize_params())
        .await;
    assert_eq!(init.status, 200, "{}", init.body);
    assert_eq!(init.body["result"]["serverInfo"]["name"], "videos-mcp");
    let tools = server.rpc(Some(&alice), "tools/list", json!({})).await;
    let mut names: Vec<&str> = tools.body["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["add_video", "list_all_videos", "list_my_videos"]);

    let added = server
        .call(
            &alice,
            "add_video",
            json!({"title": "Holiday", "url": "https://example.com/v/1"}),
        )
        .await;
    let video = &added["result"]["structuredContent"];
    assert_eq!(video["owner"], "dev-alice", "{added}");
    assert_eq!(video["title"], "Holiday");

    let mine = server.call(&alice, "list_my_videos", json!({})).await;
    assert_eq!(
        mine["result"]["structuredContent"]["videos"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "{mine}"
    );
    // Bob sees none of alice's among his own, and all of them as an admin.
    let bobs = server.call(&bob, "list_my_videos", json!({})).await;
    assert_eq!(
        bobs["result"]["structuredContent"]["videos"],
        json!([]),
        "{bobs}"
    );
    let all = server.call(&bob, "list_all_videos", json!({})).await;
    assert_eq!(
        all["result"]["structuredContent"]["videos"][0]["owner"], "dev-alice",
        "{all}"
    );
    // Alice is not in the admin group.
    let refused = server.call(&alice, "list_all_videos", json!({})).await;
    assert!(
        refused["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("missing_group")),
        "{refused}"
    );
    // A bad video is refused with a reason.
    let bad = server
        .call(&alice, "add_video", json!({"title": "", "url": "ftp://x"}))
        .await;
    assert!(bad["error"]["message"].is_string(), "{bad}");
}

#[tokio::test]
async fn tokens_not_bound_to_this_server_are_refused() {
    let server = start().await;
    let unbound = server.dev.unbound_access_token("alice");
    let refused = server
        .rpc(Some(&unbound), "initialize", initialize_params())
        .await;
    assert_eq!(refused.status, 401);
    assert!(
        refused
            .www_authenticate
            .as_deref()
            .is_some_and(|c| c.contains(r#"error_description="invalid_audience""#)
                && c.contains("resource_metadata=")),
        "{:?}",
        refused.www_authenticate
    );
    for other in [
        "http://localhost:1/mcp".to_owned(),
        format!("{}/", server.resource),
    ] {
        let token = server.dev.access_token_for(&other, "alice");
        let refused = server
            .rpc(Some(&token), "initialize", initialize_params())
            .await;
        assert_eq!(refused.status, 401, "{other}");
    }
    let bound = server.dev.access_token("alice", &[]);
    let admitted = server
        .rpc(Some(&bound), "initialize", initialize_params())
        .await;
    assert_eq!(admitted.status, 200);
}

/// The binary in development mode: the banner's endpoint and tokens work
/// as printed, and the server refuses to leave loopback.
#[tokio::test]
async fn development_mode_prints_an_endpoint_and_tokens_that_work() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let refused = Command::new(env!("CARGO_BIN_EXE_videos-mcp"))
        .args(["--dev", "--db", ":memory:", "--addr", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("loopback"));
    // Development tokens are always bound: --unbound-tokens is refused.
    let refused = Command::new(env!("CARGO_BIN_EXE_videos-mcp"))
        .args(["--dev", "--db", ":memory:", "--unbound-tokens"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--unbound-tokens"));

    let mut child = Command::new(env!("CARGO_BIN_EXE_videos-mcp"))
        .args(["--dev", "--db", ":memory:", "--addr", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // Read the banner on a thread that keeps draining standard output
    // afterwards (a closed pipe would end the server at its next line).
    let (sender, banner) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = Vec::new();
        let mut sender = Some(sender);
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(tx) = &sender {
                let done = line.starts_with("export BOB=");
                lines.push(line);
                if done {
                    let _ = tx.send(std::mem::take(&mut lines));
                    sender = None;
                }
            }
        }
    });
    let banner = tokio::task::spawn_blocking(move || banner.recv().unwrap())
        .await
        .unwrap();
    let value = |prefix: &str| {
        banner
            .iter()
            .find_map(|l| l.strip_prefix(prefix))
            .map(|v| v.trim_matches('\'').to_owned())
            .unwrap_or_else(|| panic!("{prefix} in {banner:?}"))
    };
    let endpoint = value("MCP endpoint: ");
    let alice = value("export ALICE=");
    let bob = value("export BOB=");
    let client = reqwest::Client::new();
    let call = |token: String, tool: &str| {
        client
            .post(&endpoint)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-06-18")
            .header("authorization", format!("Bearer {token}"))
            .body(
                json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                       "params": {"name": tool, "arguments": {}}})
                .to_string(),
            )
            .send()
    };
    let mine = call(alice.clone(), "list_my_videos").await.unwrap();
    assert_eq!(mine.status(), 200);
    let mine: Value = serde_json::from_str(&mine.text().await.unwrap()).unwrap();
    assert_eq!(mine["result"]["structuredContent"]["videos"], json!([]));
    let all: Value = serde_json::from_str(
        &call(bob, "list_all_videos")
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(
        all["result"]["structuredContent"]["videos"].is_array(),
        "{all}"
    );
    let denied: Value = serde_json::from_str(
        &call(alice, "list_all_videos")
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(denied["error"].is_object(), "{denied}");
    child.kill().unwrap();
    child.wait().unwrap();
}
