//! [`LocalRedis`]: a `redis-server` process of the test's own, on a free
//! port of 127.0.0.1, that the test can stop, restart empty and flush.
//! **Test-only.**

use std::io;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How a [`LocalRedis`] is reached.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RedisOptions {
    /// An ACL user and its password (`redis://user:password@…`); the
    /// default user is then turned off.
    pub user: Option<(String, String)>,
    /// TLS only (`rediss://`), with this certificate and key (PEM files).
    pub tls: Option<(PathBuf, PathBuf)>,
}

/// A `redis-server` process (Debian's package, or the binary named by the
/// `REDIS_SERVER` environment variable), stopped when dropped.
#[derive(Debug)]
pub struct LocalRedis {
    port: u16,
    options: RedisOptions,
    dir: PathBuf,
    child: Mutex<Option<Child>>,
}

fn binary() -> String {
    std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into())
}

impl LocalRedis {
    /// Whether a `redis-server` can be started here.
    #[must_use]
    pub fn available() -> bool {
        Command::new(binary())
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// A server without a password, over plain TCP.
    ///
    /// # Errors
    /// When `redis-server` cannot be started or does not listen within
    /// 10 seconds.
    pub fn start() -> io::Result<Self> {
        Self::start_with(RedisOptions::default())
    }

    /// A server reached as `options` say.
    ///
    /// # Errors
    /// As [`start`](Self::start).
    pub fn start_with(options: RedisOptions) -> io::Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let dir = std::env::temp_dir().join(format!(
            "cognito-verify-redis-{}-{port}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir)?;
        let redis = LocalRedis {
            port,
            options,
            dir,
            child: Mutex::new(None),
        };
        redis.spawn()?;
        Ok(redis)
    }

    fn spawn(&self) -> io::Result<()> {
        let port = self.port.to_string();
        let mut args: Vec<String> = vec![
            "--bind".into(),
            "127.0.0.1".into(),
            "--save".into(),
            String::new(),
            "--appendonly".into(),
            "no".into(),
            "--dir".into(),
            self.dir.display().to_string(),
        ];
        match &self.options.tls {
            Some((cert, key)) => args.extend([
                "--port".into(),
                "0".into(),
                "--tls-port".into(),
                port,
                "--tls-cert-file".into(),
                cert.display().to_string(),
                "--tls-key-file".into(),
                key.display().to_string(),
                "--tls-auth-clients".into(),
                "no".into(),
            ]),
            None => args.extend(["--port".into(), port]),
        }
        if let Some((user, password)) = &self.options.user {
            args.extend([
                "--user".into(),
                "default".into(),
                "off".into(),
                "--user".into(),
                user.clone(),
                "on".into(),
                format!(">{password}"),
                "~*".into(),
                "&*".into(),
                "+@all".into(),
            ]);
        }
        let child = Command::new(binary())
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        *self.lock() = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if Instant::now() > deadline {
                return Err(io::Error::other(format!(
                    "redis-server did not listen on port {} within 10 s",
                    self.port
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Child>> {
        self.child.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The URL to reach it: `redis://` or `rediss://`, with the user and
    /// password if any.
    #[must_use]
    pub fn url(&self) -> String {
        let scheme = match self.options.tls {
            Some(_) => "rediss",
            None => "redis",
        };
        let credentials = match &self.options.user {
            Some((user, password)) => format!("{user}:{password}@"),
            None => String::new(),
        };
        format!("{scheme}://{credentials}127.0.0.1:{}", self.port)
    }

    /// The port it listens on.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the process (SIGKILL: nothing is saved).
    pub fn stop(&self) {
        if let Some(mut child) = self.lock().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops it and starts it again on the same port, empty.
    ///
    /// # Errors
    /// As [`start`](Self::start).
    pub fn restart(&self) -> io::Result<()> {
        self.stop();
        self.spawn()
    }
}

impl Drop for LocalRedis {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
