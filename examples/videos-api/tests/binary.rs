//! The `videos-api` binary as a newcomer runs it: development mode prints
//! curl commands, and those commands, pasted into a shell, work.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn videos_api() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_videos-api"));
    for var in [
        "COGNITO_USER_POOL_ID",
        "COGNITO_CLIENT_ID",
        "COGNITO_TOKEN_USE",
        "COGNITO_JWKS_URI",
        "COGNITO_ISSUER",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("VIDEOS_DB", ":memory:").env("RUST_LOG", "warn");
    cmd
}

#[test]
fn development_mode_prints_curl_commands_that_work_as_pasted() {
    let mut child = videos_api()
        .env("VIDEOS_API_ADDR", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut banner = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let done = line.contains("/dev/token");
        banner.push(line);
        if done {
            break;
        }
    }
    let text = banner.join("\n");
    assert!(
        text.contains("DEVELOPMENT MODE") && text.contains("not for production"),
        "{text}"
    );
    let exports: Vec<&String> = banner.iter().filter(|l| l.starts_with("export ")).collect();
    let curls: Vec<&String> = banner.iter().filter(|l| l.starts_with("curl ")).collect();
    assert_eq!((exports.len(), curls.len()), (2, 7), "{text}");

    // Each printed command, run by a shell exactly as printed.
    let prelude: String = exports.iter().map(|e| format!("{e}\n")).collect();
    let run = |curl: &str| -> Value {
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!("{prelude}{curl}"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{curl}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{curl}: {}", String::from_utf8_lossy(&out.stdout)))
    };
    let replies: Vec<Value> = curls.iter().map(|c| run(c)).collect();
    assert_eq!(replies[0]["sub"], "dev-alice", "GET /me as alice");
    assert_eq!(replies[1]["owner"], "dev-alice", "POST /videos as alice");
    assert_eq!(
        replies[2]["videos"].as_array().unwrap().len(),
        1,
        "alice lists her video"
    );
    assert_eq!(
        replies[3]["videos"].as_array().unwrap().len(),
        0,
        "bob sees none of alice's"
    );
    assert_eq!(
        replies[4]["videos"].as_array().unwrap().len(),
        1,
        "bob, an admin, sees all"
    );
    assert_eq!(replies[5]["kind"], "missing_group", "alice is not an admin");
    let minted = replies[6]["token"].as_str().unwrap();
    assert_eq!(minted.split('.').count(), 3);

    // SIGTERM stops the server gracefully.
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn start_failure(envs: &[(&str, &str)]) -> String {
    let out = videos_api().envs(envs.iter().copied()).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn development_mode_refuses_a_non_loopback_address() {
    let err = start_failure(&[("VIDEOS_API_ADDR", "0.0.0.0:0")]);
    assert!(
        err.contains("VIDEOS_API_ADDR") && err.contains("loopback"),
        "{err}"
    );
}

#[test]
fn bad_configuration_names_the_variable() {
    let err = start_failure(&[
        ("COGNITO_USER_POOL_ID", "not-a-pool"),
        ("COGNITO_CLIENT_ID", "c"),
    ]);
    assert!(
        err.contains("COGNITO_USER_POOL_ID") && err.contains("us-east-1_Ynsi6EIT0"),
        "{err}"
    );
    let err = start_failure(&[
        ("COGNITO_USER_POOL_ID", "us-east-1_abc"),
        ("COGNITO_CLIENT_ID", "c"),
        ("COGNITO_TOKEN_USE", "refresh"),
    ]);
    assert!(err.contains("COGNITO_TOKEN_USE"), "{err}");
    let err = start_failure(&[("COGNITO_USER_POOL_ID", "us-east-1_abc")]);
    assert!(err.contains("COGNITO_CLIENT_ID"), "{err}");
}
