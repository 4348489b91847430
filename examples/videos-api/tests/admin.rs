//! The admin listener of the `videos-api` binary: after known traffic,
//! `/metrics` (read by Python's `prometheus_client` parser, which this
//! project did not write) holds the exact counts; `/readyz` is 503 while
//! the key source is gone past `--jwks-max-staleness`, and 200 again when
//! it is back; a non-loopback `--admin-addr` is refused.
//!
//! Needs `PROMETHEUS_PYTHON` (a Python with `prometheus_client`, made by
//! `.ci/run`); skipped without it, except under `CI=true`.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cognito_verify::testing::LocalIssuer;
use reqwest::StatusCode;
use serde_json::Value;

const CLIENT: &str = "admin-test-client";
const STALENESS: &str = "2s";

/// Turns Prometheus text into JSON samples: `[{"name","labels","value"}]`.
const PARSE: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
samples = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        samples.append({"name": s.name, "labels": s.labels, "value": s.value, "type": family.type})
print(json.dumps(samples))
"#;

fn prometheus_python() -> Option<String> {
    match std::env::var("PROMETHEUS_PYTHON") {
        Ok(python) => Some(python),
        Err(_) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("PROMETHEUS_PYTHON is not set under CI (.ci/run makes it)")
        }
        Err(_) => {
            eprintln!("skipped: PROMETHEUS_PYTHON is not set");
            None
        }
    }
}

/// One sample: name, labels, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// `text` parsed by `prometheus_client`.
fn parse(python: &str, text: &str) -> Vec<Sample> {
    let mut child = Command::new(python)
        .args(["-c", PARSE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the parser refused the text:\n{text}"
    );
    let samples: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    samples
        .into_iter()
        .map(|s| Sample {
            name: s["name"].as_str().unwrap().to_owned(),
            labels: serde_json::from_value(s["labels"].clone()).unwrap(),
            value: s["value"].as_f64().unwrap(),
        })
        .collect()
}

/// The value of the sample `name` with exactly these labels; 0 when absent.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let wanted: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    samples
        .iter()
        .find(|s| s.name == name && s.labels == wanted)
        .map_or(0.0, |s| s.value)
}

/// Kills the server when the test ends, passed or not.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn videos_api(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_videos-api"));
    cmd.env_clear()
        .env("RUST_LOG", "warn")
        .args(["--db", ":memory:"])
        .args(args)
        .stdout(Stdio::null());
    cmd
}

/// Polls `url` every 100 ms until its status is `status`, at most
/// `within`; the last answer.
async fn wait_for(url: &str, status: StatusCode, within: Duration) -> (StatusCode, String) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + within;
    loop {
        let answer = match client.get(url).send().await {
            Ok(response) => (response.status(), response.text().await.unwrap_or_default()),
            Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()),
        };
        if answer.0 == status || Instant::now() > deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn metrics_count_known_traffic_and_readyz_follows_the_key_source() {
    let Some(python) = prometheus_python() else {
        return;
    };
    let issuer = LocalIssuer::start().await.unwrap();
    let (port, admin_port) = (free_port(), free_port());
    let (addr, admin) = (
        format!("127.0.0.1:{port}"),
        format!("127.0.0.1:{admin_port}"),
    );
    let _server = KillOnDrop(
        videos_api(&[
            "--issuer",
            issuer.issuer(),
            "--client-id",
            CLIENT,
            "--addr",
            &addr,
            "--admin-addr",
            &admin,
            "--jwks-max-staleness",
            STALENESS,
        ])
        .spawn()
        .unwrap(),
    );
    let (status, body) = wait_for(
        &format!("http://{admin}/readyz"),
        StatusCode::OK,
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        wait_for(
            &format!("http://{admin}/healthz"),
            StatusCode::OK,
            Duration::ZERO
        )
        .await
        .0,
        StatusCode::OK
    );

    // Known traffic: 3 verified, 2 expired, 1 without a token, 1 refused
    // by the admin requirement (verified first).
    let client = reqwest::Client::new();
    let alice = issuer.access_token(CLIENT).sub("alice-secret-sub").sign();
    let expired = issuer.access_token(CLIENT).expires_in(-60).sign();
    let me = format!("http://{addr}/me");
    for (url, token, status) in [
        (&me, Some(&alice), StatusCode::OK),
        (&me, Some(&alice), StatusCode::OK),
        (&me, Some(&alice), StatusCode::OK),
        (&me, Some(&expired), StatusCode::UNAUTHORIZED),
        (&me, Some(&expired), StatusCode::UNAUTHORIZED),
        (&me, None, StatusCode::UNAUTHORIZED),
        (
            &format!("http://{addr}/admin/videos"),
            Some(&alice),
            StatusCode::FORBIDDEN,
        ),
    ] {
        let mut request = client.get(url.as_str());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        assert_eq!(request.send().await.unwrap().status(), status, "{url}");
    }

    let response = client
        .get(format!("http://{admin}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    let samples = parse(&python, &text);
    let verifications = "cognito_verify_verifications_total";
    assert_eq!(
        value(
            &samples,
            verifications,
            &[
                ("verifier", "cognito"),
                ("outcome", "verified"),
                ("kind", "ok"),
                ("issuer", issuer.issuer()),
            ],
        ),
        4.0,
        "{text}"
    );
    assert_eq!(
        value(
            &samples,
            verifications,
            &[
                ("verifier", "cognito"),
                ("outcome", "refused"),
                ("kind", "expired"),
                ("issuer", "-"),
            ],
        ),
        2.0,
        "{text}"
    );
    let refusals = "cognito_verify_layer_refusals_total";
    assert_eq!(
        value(
            &samples,
            refusals,
            &[("protocol", "http"), ("status", "401")]
        ),
        3.0,
        "{text}"
    );
    assert_eq!(
        value(
            &samples,
            refusals,
            &[("protocol", "http"), ("status", "403")]
        ),
        1.0,
        "{text}"
    );
    // The cache admits a token the second time it is seen (its
    // doorkeeper): alice's first two verifications and both expired
    // tokens miss, her last two hit.
    let lookups = "cognito_verify_token_cache_lookups_total";
    for (result, n) in [("hit", 2.0), ("miss", 4.0)] {
        assert_eq!(
            value(
                &samples,
                lookups,
                &[("verifier", "cognito"), ("result", result)]
            ),
            n,
            "{result}: {text}"
        );
    }
    assert!(
        value(
            &samples,
            "cognito_verify_jwks_fetches_total",
            &[
                ("jwks_url", issuer.jwks_url()),
                ("outcome", "ok"),
                ("kind", "ok")
            ],
        ) >= 1.0,
        "{text}"
    );
    // No label carries what a request chose.
    for secret in ["alice-secret-sub", &issuer.current_kid(), &alice, &expired] {
        assert!(
            samples
                .iter()
                .all(|s| s.labels.values().all(|v| !v.contains(secret))),
            "{secret} in a label:\n{text}"
        );
    }

    // The key source goes away: once the keys are older than the bound,
    // not ready; ready again once it is back.
    issuer.delay_jwks(Duration::from_secs(120));
    let gone = Instant::now();
    let (status, body) = wait_for(
        &format!("http://{admin}/readyz"),
        StatusCode::SERVICE_UNAVAILABLE,
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.starts_with("keys_stale: "), "{body}");
    assert!(
        gone.elapsed() >= Duration::from_secs(1),
        "{:?}",
        gone.elapsed()
    );
    issuer.delay_jwks(Duration::ZERO);
    let (status, body) = wait_for(
        &format!("http://{admin}/readyz"),
        StatusCode::OK,
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn readyz_is_503_until_the_keys_are_fetched() {
    let issuer = LocalIssuer::start().await.unwrap();
    issuer.delay_jwks(Duration::from_secs(120));
    let admin = format!("127.0.0.1:{}", free_port());
    let _server = KillOnDrop(
        videos_api(&[
            "--issuer",
            issuer.issuer(),
            "--client-id",
            CLIENT,
            "--addr",
            "127.0.0.1:0",
            "--admin-addr",
            &admin,
        ])
        .spawn()
        .unwrap(),
    );
    // Hydration fails at start (the fetch times out after 5 s).
    let (status, body) = wait_for(
        &format!("http://{admin}/readyz"),
        StatusCode::SERVICE_UNAVAILABLE,
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.starts_with("keys_not_fetched: "), "{body}");
    issuer.delay_jwks(Duration::ZERO);
    let (status, body) = wait_for(
        &format!("http://{admin}/readyz"),
        StatusCode::OK,
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[test]
fn a_non_loopback_admin_address_needs_its_own_flag() {
    let output = videos_api(&[
        "--dev",
        "--addr",
        "127.0.0.1:0",
        "--admin-addr",
        "0.0.0.0:0",
    ])
    .stderr(Stdio::piped())
    .output()
    .unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(
        err.contains("VIDEOS_ADMIN_ADDR (--admin-addr)") && err.contains("--admin-any-addr"),
        "{err}"
    );
}
