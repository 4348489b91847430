//! The `cognito-verify` binary against the local issuer: exit codes and
//! output exactly as scripts rely on them.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use cognito_verify::testing::LocalIssuer;
use serde_json::{Value, json};

const CLIENT: &str = "cli-client";

/// Runs the binary off the async runtime (the issuer's server keeps serving).
async fn run(args: Vec<String>, stdin: Option<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cognito-verify"))
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
        drop(input);
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

fn base(issuer: &LocalIssuer, token_use: &str) -> Vec<String> {
    [
        "verify",
        "--issuer",
        issuer.issuer(),
        "--client-id",
        CLIENT,
        "--token-use",
        token_use,
    ]
    .map(str::to_owned)
    .to_vec()
}

fn with(mut args: Vec<String>, more: &[&str]) -> Vec<String> {
    args.extend(more.iter().map(|s| (*s).to_owned()));
    args
}

fn stdout_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("stdout is not JSON: {out:?}"))
}

fn payload(token: &str) -> Value {
    Value::Object(cognito_verify::decode_unverified(token).unwrap().payload)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_tokens_exit_0_with_exactly_their_claims() {
    let issuer = LocalIssuer::start().await.unwrap();
    let access = issuer
        .access_token(CLIENT)
        .claim("custom:tenant", json!("t1"))
        .sign();
    let out = run(with(base(&issuer, "access"), &[&access]), None).await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(stdout_json(&out), payload(&access));

    let id = issuer.id_token(CLIENT).groups(["admin"]).sign();
    let out = run(
        with(
            base(&issuer, "any"),
            &["--group", "staff", "--group", "admin", &id],
        ),
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(stdout_json(&out), payload(&id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_the_token_from_standard_input() {
    let issuer = LocalIssuer::start().await.unwrap();
    let token = issuer.access_token(CLIENT).sign();
    for args in [
        base(&issuer, "access"),
        with(base(&issuer, "access"), &["-"]),
    ] {
        let out = run(args, Some(format!("\n  {token}\n"))).await;
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert_eq!(stdout_json(&out)["sub"], payload(&token)["sub"]);
    }
}

/// Runs `verify` with `args` on `token` and expects exit code 1 with the
/// error `kind` (and a message) as the only output.
async fn assert_refused(args: Vec<String>, token: &str, kind: &str) {
    let out = run(with(args, &[token]), None).await;
    assert_eq!(out.status.code(), Some(1), "{kind}: {out:?}");
    let reply = stdout_json(&out);
    assert_eq!(reply["error"]["kind"], kind);
    assert!(
        reply["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert_eq!(reply.as_object().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_tokens_exit_1_with_the_error_kind() {
    let issuer = LocalIssuer::start().await.unwrap();
    let now = cognito_verify::unix_now();
    let token = || issuer.access_token(CLIENT);
    let cases = [
        ("garbage".to_owned(), "malformed_token"),
        ("a".repeat(20_000), "token_too_large"),
        (
            token().header("alg", json!("none")).sign(),
            "unsupported_algorithm",
        ),
        (token().without_header("kid").sign(), "missing_kid"),
        (
            token().claim("iss", json!("https://x")).sign(),
            "invalid_issuer",
        ),
        (token().header("kid", json!("k9")).sign(), "unknown_kid"),
        (token().expires_in(-5).sign(), "expired"),
        (
            token().claim("nbf", json!(now + 600)).sign(),
            "not_yet_valid",
        ),
        (
            token().claim("iat", json!(now + 600)).sign(),
            "issued_in_future",
        ),
        (issuer.id_token(CLIENT).sign(), "invalid_token_use"),
        (issuer.access_token("other").sign(), "invalid_client_id"),
    ];
    for (token, kind) in cases {
        assert_refused(base(&issuer, "access"), &token, kind).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmet_requirements_exit_1_with_their_kind() {
    let issuer = LocalIssuer::start().await.unwrap();
    let token = issuer.access_token(CLIENT).sign();
    for (flags, kind) in [
        (["--group", "admin"], "missing_group"),
        (["--scope", "videos/write"], "missing_scope"),
    ] {
        assert_refused(with(base(&issuer, "access"), &flags), &token, kind).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resource_refuses_access_tokens_bound_elsewhere() {
    let issuer = LocalIssuer::start().await.unwrap();
    let resource = "https://videos.example.com/mcp";
    let args = with(base(&issuer, "access"), &["--resource", resource]);
    let unbound = issuer.access_token(CLIENT).sign();
    assert_refused(args.clone(), &unbound, "invalid_audience").await;
    let bound = issuer
        .access_token(CLIENT)
        .claim("aud", json!(resource))
        .sign();
    let out = run(with(args, &[&bound]), None).await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(stdout_json(&out)["aud"], resource);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_problems_exit_1_with_their_kind() {
    let issuer = LocalIssuer::start().await.unwrap();
    let jwk = issuer.current_jwk();
    issuer.add_jwk(json!({"kid": "enc", "kty": "RSA", "use": "enc", "n": jwk["n"], "e": jwk["e"]}));
    let encryption_key = issuer
        .access_token(CLIENT)
        .header("kid", json!("enc"))
        .sign();
    assert_refused(base(&issuer, "access"), &encryption_key, "invalid_key").await;

    let token = issuer.access_token(CLIENT).sign();
    let not_a_jwks = common::FixedServer::start(|_| common::Reply::ok(b"<html>".to_vec())).await;
    for (flags, kind) in [
        (["--jwks-url", not_a_jwks.url.as_str()], "invalid_jwks"),
        (
            ["--jwks-uri", "http://127.0.0.1:9/jwks.json"],
            "jwks_unavailable",
        ),
    ] {
        assert_refused(with(base(&issuer, "access"), &flags), &token, kind).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_signed_by_another_key_exits_1_invalid_signature() {
    let issuer = LocalIssuer::start().await.unwrap();
    let token = issuer.access_token(CLIENT).sign();
    let signed_elsewhere = LocalIssuer::start().await.unwrap();
    let header = format!(r#"{{"alg":"RS256","kid":"{}"}}"#, issuer.current_kid());
    let forged = signed_elsewhere.sign_raw(
        header.as_bytes(),
        payload(&token).to_string().as_bytes(),
        None,
    );
    assert_refused(base(&issuer, "access"), &forged, "invalid_signature").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leeway_is_honoured() {
    let issuer = LocalIssuer::start().await.unwrap();
    let token = issuer.access_token(CLIENT).expires_in(-30).sign();
    let out = run(
        with(base(&issuer, "access"), &["--leeway", "60", &token]),
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[tokio::test]
async fn usage_and_configuration_errors_exit_2() {
    let cases = [
        "verify --user-pool-id not-a-pool --client-id c --token-use id t",
        "verify --user-pool-id us-east-1_abc --client-id c t",
        "verify --user-pool-id us-east-1_abc --token-use id t",
        "verify --user-pool-id us-east-1_abc --client-id c --any-client --token-use id t",
        "verify --client-id c --token-use id t",
        "verify --user-pool-id us-east-1_abc --client-id c --token-use refresh t",
        "verify --issuer ftp://x --client-id c --token-use id t",
        "frobnicate",
    ]
    .map(|line| line.split(' ').collect::<Vec<_>>());
    for args in cases {
        let out = run(args.iter().map(|s| (*s).to_owned()).collect(), None).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}");
    }
    let out = run(
        vec![
            "verify".into(),
            "--user-pool-id".into(),
            "nope".into(),
            "--any-client".into(),
            "--token-use".into(),
            "id".into(),
            "t".into(),
        ],
        None,
    )
    .await;
    assert!(String::from_utf8_lossy(&out.stderr).contains("us-east-1_Ynsi6EIT0"));
}

#[tokio::test]
async fn decode_prints_header_and_payload_and_warns() {
    let issuer = LocalIssuer::start().await.unwrap();
    let token = issuer.access_token(CLIENT).expires_in(3600).sign();
    let out = run(vec!["decode".into(), token.clone()], None).await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let reply = stdout_json(&out);
    assert_eq!(reply["payload"], payload(&token));
    assert_eq!(reply["header"]["kid"], issuer.current_kid().as_str());
    assert_eq!(reply.as_object().unwrap().len(), 2);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("NOTHING was verified"), "{stderr}");
    assert!(
        stderr.contains("exp: 20") && stderr.contains("Z\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("expires in 59m") || stderr.contains("expires in 1h"),
        "{stderr}"
    );

    let expired = issuer.access_token(CLIENT).expires_in(-90).sign();
    let out = run(vec!["decode".into()], Some(expired)).await;
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("expired 1m 30s ago")
    );

    let out = run(vec!["decode".into(), "x.y".into()], None).await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout_json(&out)["error"]["kind"], "malformed_token");
}

#[tokio::test]
async fn help_explains_every_option_with_an_example() {
    let out = run(vec!["verify".into(), "--help".into()], None).await;
    let help = String::from_utf8(out.stdout).unwrap();
    for option in [
        "--user-pool-id",
        "--issuer",
        "--jwks-url",
        "--client-id",
        "--any-client",
        "--token-use",
        "--group",
        "--scope",
        "--leeway",
        "Examples:",
    ] {
        assert!(help.contains(option), "{option} missing from:\n{help}");
    }
    let out = run(vec!["decode".into(), "--help".into()], None).await;
    assert!(String::from_utf8(out.stdout).unwrap().contains("Example:"));
}

fn alb_base(alb: &cognito_verify::testing::LocalAlb) -> Vec<String> {
    [
        "verify-alb",
        "--alb-arn",
        alb.arn(),
        "--alb-issuer",
        alb.issuer(),
        "--alb-client-id",
        alb.client_id(),
        "--alb-key-url",
        &alb.key_url(),
    ]
    .map(str::to_owned)
    .to_vec()
}

#[tokio::test]
async fn verify_alb_explains_why_a_header_was_refused() {
    let alb = cognito_verify::testing::LocalAlb::start().await.unwrap();
    let token = alb
        .token()
        .sub("alice")
        .claim("email", json!("alice@example.com"))
        .sign();
    let out = run(with(alb_base(&alb), &[&token]), None).await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let shown = stdout_json(&out);
    assert_eq!(shown["load_balancer"], alb.arn());
    assert_eq!(shown["claims"]["sub"], "alice");
    assert_eq!(shown["claims"]["email"], "alice@example.com");

    let other = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/other/0123456789abcdef";
    for (token, kind) in [
        (
            alb.token().header("signer", json!(other)).sign(),
            "invalid_signer",
        ),
        (token.replace('=', ""), "malformed_token"),
        (alb.token().expires_in(-60).sign(), "expired"),
    ] {
        let out = run(with(alb_base(&alb), &["-"]), Some(token)).await;
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert_eq!(stdout_json(&out)["error"]["kind"], kind);
    }
    for args in [
        "verify-alb --alb-issuer https://i --alb-client-id c t",
        "verify-alb --alb-arn not-an-arn --alb-issuer https://i --alb-client-id c t",
        "verify-alb --alb-arn arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/a/b --alb-client-id c t",
        "verify-alb --alb-arn arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/a/b --alb-issuer https://i t",
        "verify-alb --alb-arn arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/a/b --alb-issuer https://i --alb-client-id c --alb-any-client t",
    ] {
        let out = run(args.split(' ').map(str::to_owned).collect(), None).await;
        assert_eq!(out.status.code(), Some(2), "{args}: {out:?}");
    }
}
