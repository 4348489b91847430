//! Shared helpers: start `videos-api` in-process on 127.0.0.1 from command-line
//! style arguments, and talk to it over HTTP.
#![allow(dead_code)]

use clap::Parser;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// A running `videos-api`, configured exactly as its command line would be.
pub struct Service {
    pub base: String,
    client: reqwest::Client,
    runs_in: RunsIn,
}

/// Where a [`Service`] runs: stopped when the `Service` is dropped.
enum RunsIn {
    /// A task of the test's runtime.
    Task(tokio::task::JoinHandle<()>),
    /// Another OS process: the test binary again, running
    /// [`serve_in_this_process`].
    Process(std::process::Child),
}

/// The variable that carries a child replica's arguments (separated by
/// U+001F): set, [`serve_in_this_process`] serves them.
const CHILD_ARGS: &str = "VIDEOS_API_TEST_CHILD_ARGS";

/// Serves `videos-api` with the arguments in [`CHILD_ARGS`] on a free
/// port of 127.0.0.1, printing `listening on <addr>` first, until killed.
/// Each test binary that starts replicas in processes names it in an
/// `#[ignore]`d test, which [`Service::start_process`] runs by name; run
/// without the variable it returns at once.
pub async fn serve_in_this_process() {
    let Ok(joined) = std::env::var(CHILD_ARGS) else {
        return;
    };
    // The parent holds this process's standard input: when it goes away,
    // so does this process, even if the parent was killed.
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
    let args: Vec<&str> = joined.split('\u{1f}').collect();
    let service = Service::start(&args).await;
    println!("listening on {}", service.base);
    std::future::pending::<()>().await;
}

impl Service {
    pub async fn start(args: &[&str]) -> Service {
        Service::start_with_secret(args, None).await
    }

    /// As [`start`](Self::start), with `COGNITO_CLIENT_SECRET` set to
    /// `secret` (the service reads it from the environment only).
    pub async fn start_with_secret(args: &[&str], secret: Option<&str>) -> Service {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Service::start_on(listener, args, secret).await
    }

    /// As [`start_with_secret`](Self::start_with_secret), on `listener`
    /// (whose address a test may need first, for a callback URL).
    pub async fn start_on(
        listener: tokio::net::TcpListener,
        args: &[&str],
        secret: Option<&str>,
    ) -> Service {
        let mut all = vec!["videos-api", "--db", ":memory:", "--addr", "127.0.0.1:0"];
        all.extend_from_slice(args);
        let mut parsed = videos_api::Args::try_parse_from(all).unwrap();
        parsed.client_secret = secret.map(|s| videos_api::ClientSecret(s.to_owned()));
        let config = videos_api::Config::from_args(parsed).unwrap();
        let app = videos_api::app(&config).await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app.router).await.unwrap();
        });
        Service {
            base,
            client: reqwest::Client::new(),
            runs_in: RunsIn::Task(task),
        }
    }

    /// As [`start`](Self::start), in another OS process: this test binary
    /// run again, for its test `entry` only (an `#[ignore]`d test that
    /// calls [`serve_in_this_process`]).
    pub async fn start_process(entry: &str, args: &[&str]) -> Service {
        use std::io::BufRead;
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                entry,
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ARGS, args.join("\u{1f}"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("the test binary, again");
        let stdout = child.stdout.take().unwrap();
        let base = tokio::task::spawn_blocking(move || {
            std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                // libtest may print the test's name on the same line first.
                .find_map(|line| {
                    line.split_once("listening on ")
                        .map(|(_, base)| base.trim().to_owned())
                })
        })
        .await
        .unwrap()
        .expect("the child replica says where it listens");
        Service {
            base,
            client: reqwest::Client::new(),
            runs_in: RunsIn::Process(child),
        }
    }

    /// The process id of a replica in its own process.
    pub fn pid(&self) -> Option<u32> {
        match &self.runs_in {
            RunsIn::Process(child) => Some(child.id()),
            RunsIn::Task(_) => None,
        }
    }

    /// `videos-api` verifying the tokens of an emulator's pool: the real
    /// Cognito issuer, the keys from the emulator at
    /// `<endpoint>/<pool>/.well-known/jwks.json` (returned too).
    pub async fn start_for_emulator(endpoint: &str, pool: &str, client: &str) -> (Service, String) {
        let jwks = format!(
            "{}/{pool}/.well-known/jwks.json",
            endpoint.trim_end_matches('/')
        );
        let service = Service::start(&[
            "--user-pool-id",
            pool,
            "--client-id",
            client,
            "--jwks-url",
            &jwks,
        ])
        .await;
        (service, jwks)
    }

    /// Sends a request; returns the status, the `WWW-Authenticate` header and the JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        extra: &[(&str, &str)],
        body: Option<Value>,
    ) -> (StatusCode, Option<String>, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        for (k, v) in extra {
            request = request.header(*k, *v);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned());
        let text = response.text().await.unwrap();
        (
            status,
            challenge,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let (status, _, body) = self.call(Method::GET, path, Some(token), &[], None).await;
        (status, body)
    }

    pub async fn post_video(&self, token: &str, title: &str) -> (StatusCode, Value) {
        let body =
            serde_json::json!({ "title": title, "url": format!("https://videos.example/{title}") });
        let (status, _, body) = self
            .call(Method::POST, "/videos", Some(token), &[], Some(body))
            .await;
        (status, body)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        match &mut self.runs_in {
            RunsIn::Task(task) => task.abort(),
            RunsIn::Process(child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// The titles of a `{"videos": [...]}` page.
pub fn titles(page: &Value) -> Vec<String> {
    page["videos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["title"].as_str().unwrap().to_owned())
        .collect()
}

/// An emulator that `.ci/run` starts: its endpoint and a Python interpreter
/// with boto3, from `<PREFIX>_ENDPOINT` and `<PREFIX>_PYTHON`. Without them
/// the test says why and skips, except under `CI=true`, where a missing
/// emulator is a failure.
pub fn emulator(prefix: &str) -> Option<(String, String)> {
    let var = |name: &str| std::env::var(format!("{prefix}_{name}")).unwrap_or_default();
    let (endpoint, python) = (var("ENDPOINT"), var("PYTHON"));
    if !endpoint.is_empty() && !python.is_empty() {
        return Some((endpoint, python));
    }
    let why = format!(
        "{prefix}_ENDPOINT and {prefix}_PYTHON are not set (see .ci/run for how to start the emulator)"
    );
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "the emulator tests need it under CI: {why}"
    );
    eprintln!("skipping: {why}");
    None
}

/// Runs the script `tests/emulator/<script>` with `python` and `args`, and
/// returns the JSON object it prints.
pub async fn run_emulator_script(python: &str, script: &str, args: &[&str]) -> Value {
    let path = format!("{}/emulator/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = tokio::process::Command::new(python)
        .arg(&path)
        .args(args)
        .output()
        .await
        .expect("run the emulator script");
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the script prints JSON")
}

/// `videos-api` with browser sign-in through MiniStack's managed login:
/// a pool, a "traditional web application" client with a secret, and a
/// user signed up the labs' way (`tests/emulator/ministack_web_client.py`).
pub struct ManagedLoginSetup {
    pub service: Service,
    /// MiniStack's base URL (the managed login's domain, and the user
    /// pool API's endpoint).
    pub endpoint: String,
    pub pool_id: String,
    pub client_id: String,
    pub client_secret: String,
    pub username: String,
    pub password: String,
}

impl ManagedLoginSetup {
    pub async fn start(endpoint: &str, python: &str) -> ManagedLoginSetup {
        ManagedLoginSetup::start_with(endpoint, python, &[]).await
    }

    /// As [`start`](Self::start), with more command-line arguments.
    pub async fn start_with(endpoint: &str, python: &str, extra: &[&str]) -> ManagedLoginSetup {
        let endpoint = endpoint.trim_end_matches('/').to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let callback = format!("{base}/auth/callback");
        let got = run_emulator_script(
            python,
            "ministack_web_client.py",
            &[&endpoint, &callback, &format!("{base}/")],
        )
        .await;
        let s = |k: &str| got[k].as_str().unwrap().to_owned();
        let (pool, client_id, client_secret) = (s("pool_id"), s("client_id"), s("client_secret"));
        let jwks = format!("{endpoint}/{pool}/.well-known/jwks.json");
        let mut args = vec![
            "--user-pool-id",
            &pool,
            "--client-id",
            &client_id,
            "--jwks-url",
            &jwks,
            "--cognito-domain",
            &endpoint,
            "--redirect-uri",
            &callback,
            "--cognito-idp-endpoint",
            &endpoint,
        ];
        args.extend_from_slice(extra);
        let service = Service::start_on(listener, &args, Some(&client_secret)).await;
        ManagedLoginSetup {
            service,
            endpoint,
            pool_id: pool,
            client_id,
            client_secret,
            username: s("username"),
            password: s("password"),
        }
    }
}

/// Whether `redis-server` can be started here (after saying why not).
/// Under `CI=true` a missing `redis-server` is a failure: `.ci/run`
/// installs it.
pub fn redis_here() -> bool {
    if cognito_verify::testing::LocalRedis::available() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "redis-server is missing under CI=true: .ci/run installs it"
    );
    eprintln!("skipping: no redis-server here (Debian's package redis-server)");
    false
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The value a response sets for cookie `name` (not a clearing one).
pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|c| {
            let (pair, _) = c.to_str().ok()?.split_once(';')?;
            let (key, value) = pair.split_once('=')?;
            (key == name && !value.is_empty()).then(|| value.to_owned())
        })
}

/// A browser's sign-in cookies after managed login.
pub struct SignedIn {
    pub access: String,
    pub refresh: String,
}

impl ManagedLoginSetup {
    /// Signs the user in through MiniStack's managed login without a
    /// browser (the steps `ministack.rs` checks one by one): the service's
    /// `/auth/login`, the sign-in form, the callback.
    pub async fn sign_in(&self) -> SignedIn {
        use videos_api::signin::{ACCESS_COOKIE, REFRESH_COOKIE, STATE_COOKIE};
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let location = |r: &reqwest::Response| r.headers()["location"].to_str().unwrap().to_owned();
        let base = &self.service.base;
        let login = http.get(format!("{base}/auth/login")).send().await.unwrap();
        let state_cookie = format!(
            "{STATE_COOKIE}={}",
            set_cookie(&login, STATE_COOKIE).unwrap()
        );
        let authorize = location(&login);
        let mut form: Vec<(String, String)> = reqwest::Url::parse(&authorize)
            .unwrap()
            .query_pairs()
            .into_owned()
            .collect();
        form.push(("nonce".into(), String::new()));
        form.push(("username".into(), self.username.clone()));
        form.push(("password".into(), self.password.clone()));
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let signed_in = http
            .post(format!("{}/login", self.endpoint))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(signed_in.status(), StatusCode::FOUND);
        let done = http
            .get(location(&signed_in))
            .header("cookie", &state_cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(location(&done), "/");
        SignedIn {
            access: set_cookie(&done, ACCESS_COOKIE).expect("the access cookie"),
            refresh: set_cookie(&done, REFRESH_COOKIE).expect("the refresh cookie"),
        }
    }
}
