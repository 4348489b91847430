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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_tokens_exit_1_with_the_error_kind() {
    let issuer = LocalIssuer::start().await.unwrap();
    let t = |b: cognito_verify::testing::TokenBuilder<'_>| b.sign();
    let now = cognito_verify::unix_now();
    let jwk = issuer.current_jwk();
    issuer.add_jwk(json!({"kid": "enc", "kty": "RSA", "use": "enc", "n": jwk["n"], "e": jwk["e"]}));
    let not_a_jwks = common::FixedServer::start(|_| common::Reply::ok(b"<html>".to_vec())).await;
    let cases: Vec<(Vec<String>, String, &str)> = vec![
        (
            base(&issuer, "access"),
            t(issuer.access_token(CLIENT).claim("nbf", json!(now + 600))),
            "not_yet_valid",
        ),
        (
            base(&issuer, "access"),
            t(issuer.access_token(CLIENT).claim("iat", json!(now + 600))),
            "issued_in_future",
        ),
        (
            base(&issuer, "access"),
            t(issuer.access_token(CLIENT).header("kid", json!("enc"))),
            "invalid_key",
        ),
        (
            with(base(&issuer, "access"), &["--jwks-url", &not_a_jwks.url]),
            t(issuer.access_token(CLIENT)),
            "invalid_jwks",
        ),
        (base(&issuer, "access"), "garbage".into(), "malformed_token"),
        (
            base(&issuer, "access"),
            "a".repeat(20_000),
            "token_too_large",
        ),
        (
            base(&issuer, "access"),
            t(issuer.access_token(CLIENT).header("alg", json!("none"))),
            "unsupported_algorithm",
        ),
        (
            base(&issuer, "access"),
            t(issuer.access_token(CLIENT).without_header("kid")),
            "missing_kid",
        ),
        (
            base(&issuer, "access"),
            t(issuer.access_token(CLIENT).claim("iss", json!("https://x"))),
            "invalid_issuer",
        ),
        (
            base(&issuer, "access"),
            t(issuer.access_token(CLIENT).header("kid", json!("k9"))),
            "unknown_kid",
        ),
        (
            base(&issuer, "access"),
            t(issuer.access_token(CLIENT).expires_in(-5)),
            "expired",
        ),
        (
            base(&issuer, "access"),
            t(issuer.id_token(CLIENT)),
            "invalid_token_use",
        ),
        (
            base(&issuer, "access"),
            t(issuer.access_token("other")),
            "invalid_client_id",
        ),
        (
            with(base(&issuer, "access"), &["--group", "admin"]),
            t(issuer.access_token(CLIENT)),
            "missing_group",
        ),
        (
            with(base(&issuer, "access"), &["--scope", "videos/write"]),
            t(issuer.access_token(CLIENT)),
            "missing_scope",
        ),
        (
            with(
                base(&issuer, "access"),
                &["--jwks-uri", "http://127.0.0.1:9/jwks.json"],
            ),
            t(issuer.access_token(CLIENT)),
            "jwks_unavailable",
        ),
    ];
    for (args, token, kind) in cases {
        let out = run(with(args, &[&token]), None).await;
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
    // Signed by another key under the issuer's kid.
    let token = issuer.access_token(CLIENT).sign();
    let signed_elsewhere = LocalIssuer::start().await.unwrap();
    let header = format!(r#"{{"alg":"RS256","kid":"{}"}}"#, issuer.current_kid());
    let forged = signed_elsewhere.sign_raw(
        header.as_bytes(),
        payload(&token).to_string().as_bytes(),
        None,
    );
    let out = run(with(base(&issuer, "access"), &[&forged]), None).await;
    assert_eq!(stdout_json(&out)["error"]["kind"], "invalid_signature");
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
    let cases: Vec<Vec<&str>> = vec![
        vec![
            "verify",
            "--user-pool-id",
            "not-a-pool",
            "--client-id",
            "c",
            "--token-use",
            "id",
            "t",
        ],
        vec![
            "verify",
            "--user-pool-id",
            "us-east-1_abc",
            "--client-id",
            "c",
            "t",
        ],
        vec![
            "verify",
            "--user-pool-id",
            "us-east-1_abc",
            "--token-use",
            "id",
            "t",
        ],
        vec![
            "verify",
            "--user-pool-id",
            "us-east-1_abc",
            "--client-id",
            "c",
            "--any-client",
            "--token-use",
            "id",
            "t",
        ],
        vec!["verify", "--client-id", "c", "--token-use", "id", "t"],
        vec![
            "verify",
            "--user-pool-id",
            "us-east-1_abc",
            "--client-id",
            "c",
            "--token-use",
            "refresh",
            "t",
        ],
        vec![
            "verify",
            "--issuer",
            "ftp://x",
            "--client-id",
            "c",
            "--token-use",
            "id",
            "t",
        ],
        vec!["frobnicate"],
    ];
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
