//! The protected resource (RFC 9728, RFC 8707) over real HTTP: the
//! metadata document at its well-known paths with CORS, the
//! `resource_metadata` parameter in every challenge, `scope` on a 403 for a
//! missing scope (HTTP and gRPC refusals), the audience check through the
//! layer, and the values checked at build; then the same layer under plain
//! hyper types.

use std::convert::Infallible;

use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use cognito_verify::testing::LocalIssuer;
use cognito_verify::{PoolConfig, TokenUse, Verifier};
use cognito_verify_axum::{CognitoAuthLayer, ProtectedResource, Require};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use tower::{Layer, ServiceExt, service_fn};

const RESOURCE: &str = "https://videos.example.com/mcp";
const METADATA_URL: &str = "https://videos.example.com/.well-known/oauth-protected-resource/mcp";

fn resource(issuer: &LocalIssuer) -> ProtectedResource {
    ProtectedResource::builder(RESOURCE)
        .authorization_server(issuer.issuer())
        .scopes_supported(["videos/read", "videos/write", "videos/admin"])
        .resource_name("Videos")
        .resource_documentation("https://videos.example.com/docs")
        .build()
        .unwrap()
}

/// Access tokens of any client, bound to [`RESOURCE`].
fn verifier(issuer: &LocalIssuer, pool: impl FnOnce(PoolConfig) -> PoolConfig) -> Verifier {
    Verifier::builder()
        .pool(pool(
            issuer
                .pool_config()
                .any_client()
                .token_use(TokenUse::Access)
                .resource(RESOURCE),
        ))
        .build()
        .unwrap()
}

fn app(issuer: &LocalIssuer, verifier: Verifier) -> Router {
    let resource = resource(issuer);
    Router::new()
        .route("/mcp", get(|| async { "tools" }))
        .route(
            "/mcp/admin",
            get(|| async { "admin tools" })
                .layer(Require::any_scope(["videos/admin", "videos/owner"]).unwrap()),
        )
        .route(
            "/mcp/staff",
            get(|| async { "staff" }).layer(Require::any_group(["staff"]).unwrap()),
        )
        .layer(
            CognitoAuthLayer::new(verifier)
                .realm("videos")
                .protected_resource(&resource),
        )
        .layer(resource)
}

struct Server {
    base: String,
    client: reqwest::Client,
}

impl Server {
    async fn start(router: Router) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Server {
            base,
            client: reqwest::Client::new(),
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }

    async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        match token {
            Some(token) => {
                let bearer = format!("Bearer {token}");
                self.send(reqwest::Method::GET, path, &[("authorization", &bearer)])
                    .await
            }
            None => self.send(reqwest::Method::GET, path, &[]).await,
        }
    }
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

fn expected_document(issuer: &LocalIssuer) -> Value {
    json!({
        "resource": RESOURCE,
        "authorization_servers": [issuer.issuer()],
        "scopes_supported": ["videos/read", "videos/write", "videos/admin"],
        "bearer_methods_supported": ["header"],
        "resource_name": "Videos",
        "resource_documentation": "https://videos.example.com/docs",
    })
}

#[tokio::test]
async fn the_metadata_document_is_served_at_its_well_known_paths_with_cors() {
    let issuer = LocalIssuer::start().await.unwrap();
    let server = Server::start(app(&issuer, verifier(&issuer, |p| p))).await;
    assert_eq!(resource(&issuer).metadata_url(), METADATA_URL);
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let response = server
            .send(
                reqwest::Method::GET,
                path,
                &[("origin", "https://client.example.org")],
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            header(&response, "access-control-allow-origin").as_deref(),
            Some("*")
        );
        assert_eq!(
            header(&response, "content-type").as_deref(),
            Some("application/json")
        );
        let document: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
        assert_eq!(document, expected_document(&issuer), "{path}");

        let head = server.send(reqwest::Method::HEAD, path, &[]).await;
        assert_eq!(head.status(), StatusCode::OK);

        // A browser's preflight, as MCP clients cause with MCP-Protocol-Version.
        let preflight = server
            .send(
                reqwest::Method::OPTIONS,
                path,
                &[
                    ("origin", "https://client.example.org"),
                    ("access-control-request-method", "GET"),
                    ("access-control-request-headers", "mcp-protocol-version"),
                ],
            )
            .await;
        assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            header(&preflight, "access-control-allow-origin").as_deref(),
            Some("*")
        );
        assert!(
            header(&preflight, "access-control-allow-methods").is_some_and(|m| m.contains("GET")),
        );
        assert_eq!(
            header(&preflight, "access-control-allow-headers").as_deref(),
            Some("*")
        );
        assert_eq!(header(&preflight, "access-control-allow-credentials"), None);

        let post = server.send(reqwest::Method::POST, path, &[]).await;
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(
            header(&post, "allow").as_deref(),
            Some("GET, HEAD, OPTIONS")
        );
    }
    // Only those paths: the rest is the protected application's.
    for path in [
        "/.well-known/oauth-protected-resource/mcp/",
        "/.well-known/oauth-protected-resource/other",
        "/.well-known/oauth-protected-resource/MCP",
        "/mcp",
    ] {
        let response = server.get(path, None).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
}

#[tokio::test]
async fn every_challenge_names_the_resource_metadata() {
    let issuer = LocalIssuer::start().await.unwrap();
    let server = Server::start(app(&issuer, verifier(&issuer, |p| p))).await;
    let prefix = format!(r#"Bearer realm="videos", resource_metadata="{METADATA_URL}""#);

    let none = server.get("/mcp", None).await;
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header(&none, "www-authenticate"), Some(prefix.clone()));

    // A token of the pool, wrong only in not being bound to this resource.
    let unbound = issuer.access_token("mcp-client").sign();
    let refused = server.get("/mcp", Some(&unbound)).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header(&refused, "www-authenticate"),
        Some(format!(
            r#"{prefix}, error="invalid_token", error_description="invalid_audience""#
        ))
    );
    let body: Value = serde_json::from_str(&refused.text().await.unwrap()).unwrap();
    assert_eq!(body["kind"], "invalid_audience");
    let elsewhere = issuer
        .access_token("mcp-client")
        .claim("aud", json!("https://other.example.com/mcp"))
        .sign();
    assert_eq!(
        server.get("/mcp", Some(&elsewhere)).await.status(),
        StatusCode::UNAUTHORIZED
    );

    let bound = issuer
        .access_token("mcp-client")
        .claim("aud", json!(RESOURCE))
        .sign();
    let admitted = server.get("/mcp", Some(&bound)).await;
    assert_eq!(admitted.status(), StatusCode::OK);
    assert_eq!(admitted.text().await.unwrap(), "tools");

    let bad_request = server
        .send(reqwest::Method::GET, "/mcp", &[("authorization", "Bearer")])
        .await;
    assert_eq!(bad_request.status(), StatusCode::BAD_REQUEST);
    assert!(
        header(&bad_request, "www-authenticate").is_some_and(|c| c.starts_with(&prefix)),
        "{:?}",
        header(&bad_request, "www-authenticate")
    );

    // A 403 for a group names the metadata too, and no scope.
    let staff = server.get("/mcp/staff", Some(&bound)).await;
    assert_eq!(staff.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        header(&staff, "www-authenticate"),
        Some(format!(
            r#"{prefix}, error="insufficient_scope", error_description="missing_group""#
        ))
    );
}

#[tokio::test]
async fn a_missing_scope_is_403_naming_the_scopes_the_route_requires() {
    let issuer = LocalIssuer::start().await.unwrap();
    let server = Server::start(app(&issuer, verifier(&issuer, |p| p))).await;
    let reader = issuer
        .access_token("mcp-client")
        .claim("aud", json!(RESOURCE))
        .scopes(["videos/read"])
        .sign();
    let refused = server.get("/mcp/admin", Some(&reader)).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        header(&refused, "www-authenticate"),
        Some(format!(
            r#"Bearer realm="videos", resource_metadata="{METADATA_URL}", error="insufficient_scope", error_description="missing_scope", scope="videos/admin videos/owner""#
        ))
    );
    let admin = issuer
        .access_token("mcp-client")
        .claim("aud", json!(RESOURCE))
        .scopes(["videos/read", "videos/owner"])
        .sign();
    assert_eq!(
        server.get("/mcp/admin", Some(&admin)).await.status(),
        StatusCode::OK
    );
    let require = Require::any_scope(["videos/admin", "videos/owner"]).unwrap();
    assert_eq!(
        require.scopes(),
        Some(&["videos/admin".to_owned(), "videos/owner".to_owned()][..])
    );
    assert_eq!(Require::user().scopes(), None);

    // The pool's own scope requirement is named the same way.
    let pool_scoped = verifier(&issuer, |p| p.scope("videos/read"));
    let server = Server::start(app(&issuer, pool_scoped)).await;
    let no_scope = issuer
        .access_token("mcp-client")
        .claim("aud", json!(RESOURCE))
        .sign();
    let refused = server.get("/mcp", Some(&no_scope)).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(
        header(&refused, "www-authenticate")
            .is_some_and(|c| c.ends_with(r#", scope="videos/read""#)),
        "{:?}",
        header(&refused, "www-authenticate")
    );
}

#[tokio::test]
async fn a_401_names_the_scopes_a_client_should_ask_for() {
    let issuer = LocalIssuer::start().await.unwrap();
    let resource = ProtectedResource::builder(RESOURCE)
        .authorization_server(issuer.issuer())
        .scopes_supported(["videos/read", "videos/admin"])
        .challenge_scopes(["videos/read"])
        .build()
        .unwrap();
    assert_eq!(resource.challenge_scope(), Some("videos/read"));
    let router = Router::new()
        .route("/mcp", get(|| async { "tools" }))
        .route(
            "/mcp/admin",
            get(|| async { "admin" }).layer(Require::any_scope(["videos/admin"]).unwrap()),
        )
        .route(
            "/mcp/staff",
            get(|| async { "staff" }).layer(Require::any_group(["staff"]).unwrap()),
        )
        .layer(CognitoAuthLayer::new(verifier(&issuer, |p| p)).protected_resource(&resource))
        .layer(resource);
    let server = Server::start(router).await;
    let prefix = format!(r#"Bearer realm="api", resource_metadata="{METADATA_URL}""#);

    let none = server.get("/mcp", None).await;
    assert_eq!(
        header(&none, "www-authenticate"),
        Some(format!(r#"{prefix}, scope="videos/read""#))
    );
    let unbound = issuer.access_token("mcp-client").sign();
    assert_eq!(
        header(
            &server.get("/mcp", Some(&unbound)).await,
            "www-authenticate"
        ),
        Some(format!(
            r#"{prefix}, error="invalid_token", error_description="invalid_audience", scope="videos/read""#
        ))
    );
    // A 403 names what the route requires, not the general scopes.
    let reader = issuer
        .access_token("mcp-client")
        .claim("aud", json!(RESOURCE))
        .scopes(["videos/read"])
        .sign();
    assert_eq!(
        header(
            &server.get("/mcp/admin", Some(&reader)).await,
            "www-authenticate"
        ),
        Some(format!(
            r#"{prefix}, error="insufficient_scope", error_description="missing_scope", scope="videos/admin""#
        ))
    );
    assert_eq!(
        header(
            &server.get("/mcp/staff", Some(&reader)).await,
            "www-authenticate"
        ),
        Some(format!(
            r#"{prefix}, error="insufficient_scope", error_description="missing_group""#
        ))
    );
}

#[tokio::test]
async fn grpc_refusals_carry_the_same_challenge_as_metadata() {
    let issuer = LocalIssuer::start().await.unwrap();
    let server = Server::start(app(&issuer, verifier(&issuer, |p| p))).await;
    let grpc = ("content-type", "application/grpc");

    let none = server.send(reqwest::Method::GET, "/mcp", &[grpc]).await;
    assert_eq!(none.status(), StatusCode::OK);
    assert_eq!(header(&none, "grpc-status").as_deref(), Some("16"));
    assert_eq!(
        header(&none, "www-authenticate"),
        Some(format!(
            r#"Bearer realm="videos", resource_metadata="{METADATA_URL}""#
        ))
    );

    let unbound = format!("Bearer {}", issuer.access_token("mcp-client").sign());
    let refused = server
        .send(
            reqwest::Method::GET,
            "/mcp",
            &[grpc, ("authorization", &unbound)],
        )
        .await;
    assert_eq!(header(&refused, "grpc-status").as_deref(), Some("16"));
    assert_eq!(
        header(&refused, "grpc-message").as_deref(),
        Some("invalid_audience")
    );

    let reader = issuer
        .access_token("mcp-client")
        .claim("aud", json!(RESOURCE))
        .scopes(["videos/read"])
        .sign();
    let bearer = format!("Bearer {reader}");
    let forbidden = server
        .send(
            reqwest::Method::GET,
            "/mcp/admin",
            &[grpc, ("authorization", &bearer)],
        )
        .await;
    assert_eq!(header(&forbidden, "grpc-status").as_deref(), Some("7"));
    assert_eq!(
        header(&forbidden, "www-authenticate"),
        Some(format!(
            r#"Bearer realm="videos", resource_metadata="{METADATA_URL}", error="insufficient_scope", error_description="missing_scope", scope="videos/admin videos/owner""#
        ))
    );
}

#[test]
fn protected_resource_values_are_checked_at_build() {
    let issuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Ynsi6EIT0";
    let ok = ProtectedResource::builder("http://localhost:3000/mcp")
        .authorization_server(issuer)
        .build()
        .unwrap();
    assert_eq!(
        ok.metadata_url(),
        "http://localhost:3000/.well-known/oauth-protected-resource/mcp"
    );
    let origin_only = ProtectedResource::builder("https://videos.example.com")
        .authorization_server(issuer)
        .build()
        .unwrap();
    assert_eq!(
        origin_only.metadata_url(),
        "https://videos.example.com/.well-known/oauth-protected-resource"
    );
    assert_eq!(
        origin_only.paths(),
        ["/.well-known/oauth-protected-resource"]
    );

    let builder =
        |resource: &str| ProtectedResource::builder(resource).authorization_server(issuer);
    let cases = [
        ("resource", builder("http://videos.example.com/mcp")),
        ("resource", builder("https://videos.example.com/mcp#tools")),
        ("resource", builder("https://videos.example.com/mcp?x=1")),
        ("resource", builder("videos.example.com/mcp")),
        ("resource", builder("https://Videos.example.com/mcp")),
        ("authorization_server", ProtectedResource::builder(RESOURCE)),
        (
            "authorization_server",
            ProtectedResource::builder(RESOURCE).authorization_server("http://issuer.example.com"),
        ),
        (
            "authorization_server",
            builder(RESOURCE).authorization_server("https://issuer.example.com/#x"),
        ),
        (
            "scopes_supported",
            builder(RESOURCE).scopes_supported(Vec::<String>::new()),
        ),
        (
            "scopes_supported",
            builder(RESOURCE).scopes_supported(["a b"]),
        ),
        (
            "scopes_supported",
            builder(RESOURCE).scopes_supported(["say\"hi"]),
        ),
        (
            "challenge_scopes",
            builder(RESOURCE).challenge_scopes(Vec::<String>::new()),
        ),
        (
            "challenge_scopes",
            builder(RESOURCE).challenge_scopes(["back\\slash"]),
        ),
        ("resource_name", builder(RESOURCE).resource_name("")),
        (
            "resource_documentation",
            builder(RESOURCE).resource_documentation("http://docs.example.com"),
        ),
    ];
    for (setting, builder) in cases {
        let err = builder.clone().build().unwrap_err();
        assert_eq!(err.kind(), "invalid_config", "{builder:?}");
        assert!(err.to_string().contains(setting), "{setting}: {err}");
    }
}

#[tokio::test]
async fn the_metadata_layer_works_on_plain_http_types() {
    let issuer = LocalIssuer::start().await.unwrap();
    let resource = resource(&issuer);
    let inner = service_fn(|_req: Request<Full<Bytes>>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("inner"))))
    });
    let service = resource.layer(inner);
    let request = |path: &str| {
        Request::builder()
            .uri(path)
            .body(Full::new(Bytes::new()))
            .unwrap()
    };
    let response = service
        .clone()
        .oneshot(request("/.well-known/oauth-protected-resource/mcp"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let document: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(document, expected_document(&issuer));
    let passed = service.oneshot(request("/mcp")).await.unwrap();
    let body = passed.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"inner");
}
