//! The layer under `lambda_http`, driven by an API Gateway HTTP API event
//! (payload format 2.0, `tests/data`), two ways:
//!
//! - in process: the event parsed by `lambda_http::request::from_str` into
//!   the request `lambda_http` hands the service, and the service called;
//! - as Lambda runs it: the `videos-lambda` binary started with
//!   `AWS_LAMBDA_RUNTIME_API` pointing at a Lambda Runtime API served on
//!   127.0.0.1 by this test (the HTTP protocol AWS documents in "Using the
//!   Lambda runtime API for custom runtimes"), which hands it the events
//!   and receives the API Gateway responses `lambda_http` writes.
//!
//! The signing keys come from a local issuer over real HTTP in both.

use std::collections::VecDeque;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use cognito_verify::testing::LocalIssuer;
use cognito_verify::{TokenUse, Verifier};
use serde_json::Value;
use tokio::sync::{Notify, mpsc};
use tower::ServiceExt;

const CLIENT: &str = "lambda-client";
const EVENT: &str = include_str!("data/apigw-v2-get-me.json");

/// The recorded event with `Authorization: <authorization>`, or without
/// the header.
fn event(authorization: Option<&str>) -> String {
    match authorization {
        Some(value) => EVENT.replace("{{AUTHORIZATION}}", value),
        None => EVENT
            .lines()
            .filter(|line| !line.contains("{{AUTHORIZATION}}"))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

fn verifier(issuer: &LocalIssuer) -> Verifier {
    Verifier::builder()
        .pool(
            issuer
                .pool_config()
                .client_id(CLIENT)
                .token_use(TokenUse::Access),
        )
        .build()
        .unwrap()
}

#[tokio::test]
async fn lambda_http_requests_are_verified_in_process() {
    let issuer = LocalIssuer::start().await.unwrap();
    let service = videos_lambda::service(verifier(&issuer));
    let call = |event: String| {
        let service = service.clone();
        async move {
            let request = lambda_http::request::from_str(&event).unwrap();
            let response = service.oneshot(request).await.unwrap();
            let status = response.status();
            let headers = response.headers().clone();
            let body = String::from_utf8(response.into_body().to_vec()).unwrap();
            (status, headers, body)
        }
    };

    let alice = issuer.access_token(CLIENT).sub("alice").sign();
    let (status, _, body) = call(event(Some(&format!("Bearer {alice}")))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let me: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(me["sub"], "alice");

    let (status, headers, body) = call(event(None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        headers["www-authenticate"],
        r#"Bearer realm="videos-lambda""#
    );
    assert_eq!(headers["content-type"], "application/problem+json");
    let problem: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(problem["kind"], "missing_token");

    let id_token = issuer.id_token(CLIENT).sign();
    let (status, headers, _) = call(event(Some(&format!("Bearer {id_token}")))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains(r#"error_description="invalid_token_use: expected an access token""#)
    );
}

/// A Lambda Runtime API: hands out queued events, collects responses.
#[derive(Clone)]
struct RuntimeApi {
    events: Arc<Mutex<VecDeque<(String, String)>>>,
    queued: Arc<Notify>,
    responses: mpsc::UnboundedSender<(String, Value)>,
}

async fn next_invocation(State(api): State<RuntimeApi>) -> impl IntoResponse {
    loop {
        // Registered before the queue is looked at, so that an event queued
        // in between still wakes this request.
        let queued = api.queued.notified();
        tokio::pin!(queued);
        queued.as_mut().enable();
        let next = api.events.lock().unwrap().pop_front();
        match next {
            Some((id, event)) => {
                let mut headers = HeaderMap::new();
                headers.insert("lambda-runtime-aws-request-id", id.parse().unwrap());
                let deadline = (std::time::SystemTime::now() + Duration::from_secs(30))
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_millis();
                headers.insert(
                    "lambda-runtime-deadline-ms",
                    u64::try_from(deadline).unwrap().into(),
                );
                headers.insert(
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:us-east-2:123456789012:function:videos-lambda"
                        .parse()
                        .unwrap(),
                );
                headers.insert(
                    "lambda-runtime-trace-id",
                    "Root=1-5e6722a7-cc56xmpl46db7ae02d4da47e".parse().unwrap(),
                );
                return (headers, event);
            }
            None => queued.await,
        }
    }
}

async fn invocation_response(
    State(api): State<RuntimeApi>,
    Path(id): Path<String>,
    body: String,
) -> StatusCode {
    api.responses
        .send((id, serde_json::from_str(&body).unwrap()))
        .unwrap();
    StatusCode::ACCEPTED
}

async fn invocation_error(
    State(api): State<RuntimeApi>,
    Path(id): Path<String>,
    body: String,
) -> StatusCode {
    api.responses
        .send((id, serde_json::json!({ "runtime_error": body })))
        .unwrap();
    StatusCode::ACCEPTED
}

/// Kills the function's process when the test ends, pass or fail.
struct Function(Child);

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_function_binary_answers_api_gateway_events_through_the_runtime_api() {
    let issuer = LocalIssuer::start().await.unwrap();
    let (responses, mut received) = mpsc::unbounded_channel();
    let api = RuntimeApi {
        events: Arc::default(),
        queued: Arc::default(),
        responses,
    };
    let router = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(invocation_response),
        )
        .route(
            "/2018-06-01/runtime/invocation/{id}/error",
            post(invocation_error),
        )
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let runtime_api = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });

    let _function = Function(
        Command::new(env!("CARGO_BIN_EXE_videos-lambda"))
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "videos-lambda")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("COGNITO_ISSUER", issuer.issuer())
            .env("COGNITO_JWKS_URL", issuer.jwks_url())
            .env("COGNITO_CLIENT_ID", CLIENT)
            .spawn()
            .expect("the videos-lambda binary"),
    );

    let alice = issuer.access_token(CLIENT).sub("alice").sign();
    let expired = issuer.access_token(CLIENT).expires_in(-600).sign();
    let invocations = [
        ("req-verified", event(Some(&format!("Bearer {alice}")))),
        ("req-no-token", event(None)),
        ("req-expired", event(Some(&format!("Bearer {expired}")))),
    ];
    for (id, event) in invocations {
        api.events.lock().unwrap().push_back((id.into(), event));
        api.queued.notify_waiters();
    }
    let mut answers = std::collections::HashMap::new();
    while answers.len() < 3 {
        let (id, response) = tokio::time::timeout(Duration::from_secs(60), received.recv())
            .await
            .expect("the function answers within a minute")
            .unwrap();
        answers.insert(id, response);
    }

    // API Gateway's response format 2.0, as lambda_http writes it.
    let verified = &answers["req-verified"];
    assert_eq!(verified["statusCode"], 200, "{verified}");
    let me: Value = serde_json::from_str(verified["body"].as_str().unwrap()).unwrap();
    assert_eq!(me["sub"], "alice");

    let refused = &answers["req-no-token"];
    assert_eq!(refused["statusCode"], 401, "{refused}");
    assert_eq!(
        refused["headers"]["www-authenticate"],
        r#"Bearer realm="videos-lambda""#
    );
    let expired = &answers["req-expired"];
    assert_eq!(expired["statusCode"], 401, "{expired}");
    assert_eq!(
        expired["headers"]["www-authenticate"],
        r#"Bearer realm="videos-lambda", error="invalid_token", error_description="expired""#
    );
    assert_eq!(issuer.jwks_requests(), 1, "the instance kept its keys");
}
