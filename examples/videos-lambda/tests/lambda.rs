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

use std::collections::{HashMap, VecDeque};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use cognito_verify::revocation::redis::RedisStore;
use cognito_verify::testing::{LocalIssuer, LocalRedis};
use cognito_verify::{Revocations, Revoked, TokenUse, Verifier};
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

/// A Runtime API served on 127.0.0.1, and the `videos-lambda` binary
/// started against it with the pool of `issuer` and `env`.
struct Deployed {
    api: RuntimeApi,
    received: mpsc::UnboundedReceiver<(String, Value)>,
    _function: Function,
}

impl Deployed {
    async fn start(issuer: &LocalIssuer, env: &[(&str, &str)]) -> Deployed {
        let (responses, received) = mpsc::unbounded_channel();
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
        let function = Function(
            Command::new(env!("CARGO_BIN_EXE_videos-lambda"))
                .env_clear()
                .env("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string())
                .env("AWS_LAMBDA_FUNCTION_NAME", "videos-lambda")
                .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
                .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
                .env("COGNITO_ISSUER", issuer.issuer())
                .env("COGNITO_JWKS_URL", issuer.jwks_url())
                .env("COGNITO_CLIENT_ID", CLIENT)
                .envs(env.iter().copied())
                .spawn()
                .expect("the videos-lambda binary"),
        );
        Deployed {
            api,
            received,
            _function: function,
        }
    }

    /// Invokes the function with each `(request id, event)`; the answers by
    /// request id.
    async fn invoke(&mut self, invocations: &[(&str, String)]) -> HashMap<String, Value> {
        for (id, event) in invocations {
            self.api
                .events
                .lock()
                .unwrap()
                .push_back(((*id).into(), event.clone()));
            self.api.queued.notify_waiters();
        }
        let mut answers = HashMap::new();
        while answers.len() < invocations.len() {
            let (id, response) =
                tokio::time::timeout(Duration::from_secs(60), self.received.recv())
                    .await
                    .expect("the function answers within a minute")
                    .unwrap();
            answers.insert(id, response);
        }
        answers
    }
}

#[tokio::test]
async fn the_function_binary_answers_api_gateway_events_through_the_runtime_api() {
    let issuer = LocalIssuer::start().await.unwrap();
    let mut function = Deployed::start(&issuer, &[]).await;
    let alice = issuer.access_token(CLIENT).sub("alice").sign();
    let expired = issuer.access_token(CLIENT).expires_in(-600).sign();
    let answers = function
        .invoke(&[
            ("req-verified", event(Some(&format!("Bearer {alice}")))),
            ("req-no-token", event(None)),
            ("req-expired", event(Some(&format!("Bearer {expired}")))),
        ])
        .await;

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

#[tokio::test]
async fn an_instance_follows_the_shared_revocation_list() {
    if !LocalRedis::available() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "redis-server is missing under CI=true: .ci/run installs it"
        );
        eprintln!("skipped: no redis-server here (Debian's package redis-server)");
        return;
    }
    let redis = LocalRedis::start().unwrap();
    let issuer = LocalIssuer::start().await.unwrap();
    let mut function = Deployed::start(&issuer, &[("VIDEOS_REVOCATIONS_URL", &redis.url())]).await;
    let token = issuer.access_token(CLIENT).sub("bob").sign();
    let bearer = event(Some(&format!("Bearer {token}")));
    let before = function.invoke(&[("req-before", bearer.clone())]).await;
    assert_eq!(before["req-before"]["statusCode"], 200, "{before:?}");
    // Another replica (here: this test) signs bob out everywhere.
    let elsewhere = Revocations::builder()
        .store(RedisStore::new(&redis.url()).unwrap())
        .build()
        .unwrap();
    assert!(elsewhere.wait_ready(Duration::from_secs(10)).await);
    elsewhere.revoke(Revoked::user_now("bob")).await.unwrap();
    let started = std::time::Instant::now();
    loop {
        let id = format!("req-after-{}", started.elapsed().as_micros());
        let after = function.invoke(&[(&id, bearer.clone())]).await;
        let answer = &after[&id];
        if answer["statusCode"] == 401 {
            assert_eq!(
                answer["headers"]["www-authenticate"],
                r#"Bearer realm="videos-lambda", error="invalid_token", error_description="revoked""#
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still served: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
