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
        "COGNITO_JWKS_URL",
        "COGNITO_JWKS_URI",
        "COGNITO_ISSUER",
        "VIDEOS_API_DEV",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("VIDEOS_DB", ":memory:").env("RUST_LOG", "warn");
    cmd
}

/// Kills the server when the test ends, passed or not, so that a failing
/// test does not leave it running (and holding the test's output open).
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts development mode as the README does (`cargo run -p videos-api --
/// --dev`) on a free port, and reads its banner up to the last command.
fn start_development_mode() -> (KillOnDrop, Vec<String>) {
    let child = videos_api()
        .arg("--dev")
        .env("VIDEOS_API_ADDR", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let stdout = child.0.stdout.take().unwrap();
    let mut banner = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let done = line.contains("/dev/token");
        banner.push(line);
        if done {
            break;
        }
    }
    (child, banner)
}

/// The server's base URL, read from the banner's first curl command.
fn base_url(banner: &[String]) -> String {
    banner
        .iter()
        .filter(|l| l.starts_with("curl "))
        .flat_map(|l| l.split_whitespace())
        .find_map(|w| w.strip_suffix("/me"))
        .unwrap()
        .to_owned()
}

#[test]
fn development_mode_prints_curl_commands_that_work_as_pasted() {
    let (_server, banner) = start_development_mode();
    let text = banner.join("\n");
    assert!(
        text.contains("DEVELOPMENT MODE") && text.contains("not for production"),
        "{text}"
    );
    let exports: Vec<&String> = banner.iter().filter(|l| l.starts_with("export ")).collect();
    let curls: Vec<&String> = banner.iter().filter(|l| l.starts_with("curl ")).collect();
    assert_eq!((exports.len(), curls.len()), (2, 9), "{text}");

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
    let listed = |reply: &Value| reply["videos"].as_array().map(Vec::len);
    assert_eq!(replies[0]["sub"], "dev-alice", "GET /me as alice");
    assert_eq!(replies[1]["owner"], "dev-alice", "POST /videos as alice");
    assert_eq!(listed(&replies[2]), Some(1), "alice lists her video");
    assert_eq!(listed(&replies[3]), Some(0), "bob sees none of alice's");
    assert_eq!(listed(&replies[4]), Some(1), "bob, an admin, sees all");
    assert_eq!(replies[5]["kind"], "missing_group", "alice is not an admin");
    assert_eq!(replies[6]["redirect"], "/", "alice signs out");
    assert_eq!(
        replies[7]["kind"], "revoked",
        "her token is refused from then on"
    );
    let minted = replies[8]["token"].as_str().unwrap();
    assert_eq!(minted.split('.').count(), 3);
}

#[test]
fn development_mode_refuses_requests_for_other_host_names() {
    // DNS rebinding: the same requests addressed to another host name that
    // resolves here are refused, /dev/token and /healthz included.
    let (_server, banner) = start_development_mode();
    let base = base_url(&banner);
    let status = |path: &str, host: &str, post: bool| -> String {
        let method = if post { "POST" } else { "GET" };
        let out = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", method])
            .args([
                "-H",
                &format!("Host: {host}"),
                "-H",
                "Content-Type: application/json",
            ])
            .args(["-d", r#"{"username":"mallory","groups":["admin"]}"#])
            .arg(format!("{base}{path}"))
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    for host in [
        "rebind.attacker.example",
        "rebind.attacker.example:3000",
        "10.0.0.1",
    ] {
        assert_eq!(status("/dev/token", host, true), "403", "{host}");
        assert_eq!(status("/healthz", host, false), "403", "{host}");
    }
    assert_eq!(status("/dev/token", "localhost:3000", true), "200");
    assert_eq!(status("/healthz", "127.0.0.1", false), "200");
}

#[test]
fn sigterm_stops_the_server_gracefully() {
    let (mut server, _) = start_development_mode();
    let killed = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let started = Instant::now();
    loop {
        if let Some(status) = server.0.try_wait().unwrap() {
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

/// Runs the binary with `envs`, which must make it refuse to start: exit 2
/// within 10 seconds (a server that starts instead is killed). Its stderr.
fn start_failure(envs: &[(&str, &str)]) -> String {
    let child = videos_api()
        .env("VIDEOS_API_ADDR", "127.0.0.1:0")
        .envs(envs.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{envs:?}: started instead of refusing to"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.0.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(2), "{envs:?}: {stderr}");
    stderr
}

#[test]
fn without_a_pool_or_the_flag_it_refuses_to_start() {
    // A typo or an env file that was not loaded must not open a token mint.
    let err = start_failure(&[]);
    assert!(
        err.contains("COGNITO_USER_POOL_ID")
            && err.contains("--dev")
            && err.contains("VIDEOS_API_DEV"),
        "{err}"
    );
    let err = start_failure(&[("COGNITO_USER_POOL_ID", " ")]);
    assert!(err.contains("--dev"), "{err}");
    // Only a clear yes or no turns it on or off.
    let err = start_failure(&[("VIDEOS_API_DEV", "perhaps")]);
    assert!(err.contains("perhaps") && err.contains("--dev"), "{err}");
    let err = start_failure(&[("VIDEOS_API_DEV", "0")]);
    assert!(err.contains("--dev"), "VIDEOS_API_DEV=0 is off: {err}");
}

#[test]
fn development_mode_refuses_a_non_loopback_address() {
    let err = start_failure(&[("VIDEOS_API_DEV", "1"), ("VIDEOS_API_ADDR", "0.0.0.0:0")]);
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
