//! How long a revocation made by one process takes to be enforced by
//! another, through Redis: from the start of `revoke()` in the first to the
//! first refusal (kind `revoked`) of the revoked token by the second's
//! `Verifier`.
//!
//! ```text
//! cargo run --release -p cognito-verify --features redis,testing --example revocation_propagation -- [N] [SPACING_MS]
//! ```
//!
//! The program starts a `redis-server` of its own on a free port of
//! 127.0.0.1 (`--redis redis://127.0.0.1:PORT` uses a running one instead;
//! only loopback addresses are taken), then runs itself a second time as
//! the follower. The follower mints `N` tokens (default 1,000), each with
//! its own `jti`, verifies each until the token cache holds it, and polls
//! one token at a time (a token-cache hit every 50 µs) until it is refused.
//! The publisher revokes the tokens one after another, `SPACING_MS`
//! (default 5) apart. Both processes read the same system clock. It prints
//! the lag's p50, p99 and max, stops by itself (a token not refused within
//! 5 s counts as missed), and stops its `redis-server` on the way out.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cognito_verify::revocation::redis::RedisStore;
use cognito_verify::testing::{LocalIssuer, LocalRedis};
use cognito_verify::{Revocations, Revoked, TokenUse, Verifier};

const CLIENT: &str = "propagation-client";
/// How long the follower waits for one token to be refused.
const PATIENCE: Duration = Duration::from_secs(5);
/// How long the publisher waits for the follower to be ready.
const START_UP: Duration = Duration::from_secs(60);
/// Between two polls of the follower.
const POLL: Duration = Duration::from_micros(50);

/// The `jti` of the `i`-th token: a lowercase UUID, as Cognito's.
fn jti_of(i: usize) -> String {
    format!("5e1d0c3b-7a2f-4c61-9b8e-{i:012x}")
}

/// Unix nanoseconds now, from the clock both processes share.
fn unix_nanos() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("follow") {
        let url = &args[1];
        let n: usize = args[2].parse().expect("a number of tokens");
        follow(url, n);
    } else {
        publish(&args);
    }
}

/// Only Redis on this machine.
fn loopback_url(url: &str) -> String {
    let host = url
        .strip_prefix("redis://")
        .and_then(|rest| rest.rsplit_once('@').map_or(Some(rest), |(_, h)| Some(h)))
        .and_then(|rest| rest.split([':', '/']).next())
        .unwrap_or_default();
    assert!(
        matches!(host, "127.0.0.1" | "localhost" | "[::1]"),
        "only a Redis on a loopback address (redis://127.0.0.1:PORT), not {host:?}"
    );
    url.to_owned()
}

/// The follower process, stopped when dropped.
struct FollowerProcess(Child);

impl Drop for FollowerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn publish(args: &[String]) {
    let mut positional = Vec::new();
    let mut given_url = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--redis" => given_url = Some(loopback_url(rest.next().expect("a Redis URL"))),
            other => positional.push(other.parse::<u64>().expect("N and SPACING_MS are numbers")),
        }
    }
    let n = positional.first().map_or(1_000, |&n| n as usize);
    let spacing = Duration::from_millis(positional.get(1).copied().unwrap_or(5));

    // Dropped last: the follower and the runtime go first.
    let own_redis = match given_url {
        Some(_) => None,
        None => Some(LocalRedis::start().expect("redis-server starts")),
    };
    let url =
        given_url.unwrap_or_else(|| own_redis.as_ref().map(LocalRedis::url).unwrap_or_default());
    eprintln!("redis at {url}; {n} revocations, {spacing:?} apart");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let revocations = runtime.block_on(async {
        let revocations = Revocations::builder()
            .store(RedisStore::new(&url).expect("a Redis URL"))
            .build()
            .expect("a revocation list");
        assert!(
            revocations.wait_ready(Duration::from_secs(10)).await,
            "the list loads from Redis"
        );
        revocations
    });

    let mut follower = FollowerProcess(
        Command::new(std::env::current_exe().expect("this program"))
            .args(["follow", &url, &n.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the follower starts"),
    );
    // The follower's lines, read on a thread of their own.
    let (lines, from_follower) = std::sync::mpsc::channel();
    let stdout = follower.0.stdout.take().expect("its stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    match from_follower.recv_timeout(START_UP) {
        Ok(line) if line == "ready" => {}
        other => panic!("the follower did not get ready: {other:?}"),
    }

    let mut started = Vec::with_capacity(n);
    let mut publish_took = Vec::with_capacity(n);
    runtime.block_on(async {
        for i in 0..n {
            let at = unix_nanos();
            let timer = Instant::now();
            revocations
                .revoke(Revoked::Token { jti: jti_of(i) })
                .await
                .expect("revoked and published");
            publish_took.push(timer.elapsed().as_secs_f64() * 1e3);
            started.push(at);
            tokio::time::sleep(spacing).await;
        }
    });

    // `refused <i> <unix nanos>` or `missed <i>`, then `done`.
    let mut lags = Vec::with_capacity(n);
    let mut missed = 0;
    let deadline = Instant::now() + PATIENCE * 2 + Duration::from_secs(5);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = from_follower.recv_timeout(left) else {
            panic!("the follower did not finish");
        };
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            ["refused", i, at] => {
                let i: usize = i.parse().expect("an index");
                let at: i128 = at.parse().expect("a time");
                lags.push(((at - started[i]) as f64 / 1e6, i));
            }
            ["missed", _] => missed += 1,
            ["done"] => break,
            _ => panic!("unexpected line from the follower: {line}"),
        }
    }
    let _ = follower.0.wait();
    drop(follower);

    assert!(!lags.is_empty(), "no token was refused ({missed} missed)");
    let mut slowest = lags.clone();
    slowest.sort_by(|a, b| b.0.total_cmp(&a.0));
    let over_10ms = slowest.iter().filter(|(lag, _)| *lag > 10.0).count();
    let slowest: Vec<String> = slowest
        .iter()
        .take(5)
        .map(|(lag, i)| format!("#{i} {lag:.1} ms"))
        .collect();
    let mut lags: Vec<f64> = lags.into_iter().map(|(lag, _)| lag).collect();
    lags.sort_by(f64::total_cmp);
    publish_took.sort_by(f64::total_cmp);
    let at = |v: &[f64], q: f64| v[((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1];
    println!(
        "propagation, revoke() in one process to refusal in the other ({} of {n} refused, \
         {missed} missed): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, min {:.2} ms",
        lags.len(),
        at(&lags, 0.5),
        at(&lags, 0.99),
        lags[lags.len() - 1],
        lags[0],
    );
    println!(
        "over 10 ms: {over_10ms}; p90 {:.2} ms; slowest: {}",
        at(&lags, 0.9),
        slowest.join(", ")
    );
    println!(
        "revoke() itself (enforced here, published to Redis): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        at(&publish_took, 0.5),
        at(&publish_took, 0.99),
        publish_took[publish_took.len() - 1],
    );
    drop(revocations);
    drop(runtime);
    drop(own_redis);
}

/// The second process: a verifier that follows Redis, polled until each
/// token in turn is refused.
fn follow(url: &str, n: usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let issuer = runtime
        .block_on(LocalIssuer::start())
        .expect("the local issuer");
    let tokens: Vec<String> = (0..n)
        .map(|i| {
            issuer
                .access_token(CLIENT)
                .claim("jti", serde_json::json!(jti_of(i)))
                .sign()
        })
        .collect();
    let verifier = runtime.block_on(async {
        let revocations = Revocations::builder()
            .store(RedisStore::new(url).expect("a Redis URL"))
            .build()
            .expect("a revocation list");
        let verifier = Verifier::builder()
            .pool(
                issuer
                    .pool_config()
                    .client_id(CLIENT)
                    .token_use(TokenUse::Access),
            )
            .token_cache_capacity(n as u64 * 2)
            .revocations(revocations)
            .build()
            .expect("a verifier");
        verifier.hydrate().await.expect("the keys are fetched");
        assert!(
            verifier
                .revocations()
                .wait_ready(Duration::from_secs(10))
                .await,
            "the list loads from Redis"
        );
        verifier
    });
    // Twice each: a token is cached at its second verification.
    for token in tokens.iter().chain(&tokens) {
        verifier
            .verify_cached(token)
            .expect("verifies before its revocation");
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready").expect("stdout");
    out.flush().expect("stdout");
    for (i, token) in tokens.iter().enumerate() {
        let give_up = Instant::now() + PATIENCE;
        loop {
            match verifier.verify_cached(token) {
                Ok(_) => {}
                Err(e) if e.kind() == "revoked" => {
                    writeln!(out, "refused {i} {}", unix_nanos()).expect("stdout");
                    break;
                }
                Err(e) => panic!("token {i}: {e}"),
            }
            if Instant::now() > give_up {
                writeln!(out, "missed {i}").expect("stdout");
                break;
            }
            std::thread::sleep(POLL);
        }
        out.flush().expect("stdout");
    }
    writeln!(out, "done").expect("stdout");
    out.flush().expect("stdout");
}
