//! [`RedisStore`]: revocations shared through Redis, or anything that
//! speaks its protocol (Valkey, Amazon ElastiCache, Amazon MemoryDB).
//!
//! - **Where:** one sorted set, `{<prefix>}:revocations`, each member an
//!   encoded [`RevocationEntry`] scored by its expiry, and one channel,
//!   `{<prefix>}:revocations:new`, on which each new entry is published.
//!   The `{<prefix>}` hash tag puts every key in one hash slot, so a
//!   clustered Redis works.
//! - **Push, not polling:** each replica subscribes to the channel first,
//!   then loads the set, so nothing made in between is missed; from then on
//!   entries arrive as they are published.
//! - **Nothing lost:** after a reconnect a replica loads the set again; a
//!   replica that holds entries the set lacks (Redis restarted empty, or a
//!   publish failed) writes them back.
//! - **Entries expire in Redis too:** each replica removes the expired
//!   members at every heartbeat (a third of `max_staleness`), which is also
//!   how it knows Redis still answers on both connections.
//! - **TLS and users:** `rediss://` URLs (ElastiCache with in-transit
//!   encryption), `redis://user:password@host` for a password or an ACL
//!   user. [`RedisStore::with_root_certificate`] trusts a private
//!   certificate authority.
//!
//! ```no_run
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), cognito_verify::Error> {
//! use std::time::Duration;
//! use cognito_verify::Revocations;
//! use cognito_verify::revocation::redis::RedisStore;
//!
//! let revocations = Revocations::builder()
//!     .store(RedisStore::new("rediss://app:secret@revocations.example.cache.amazonaws.com:6379")?)
//!     .build()?;
//! revocations.wait_ready(Duration::from_secs(5)).await;
//! # Ok(()) }
//! ```

use std::time::Duration;

use futures_util::StreamExt;
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;

use super::store::{BoxFuture, Follower, RevocationStore, StoreError};
use super::{RevocationEntry, now_secs};
use crate::Error;

/// How long one command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(3);
/// Entries per command when loading or writing back.
const PAGE: usize = 5_000;

/// Revocations kept in Redis; see the [module](self) documentation.
pub struct RedisStore {
    client: redis::Client,
    set: String,
    channel: String,
    shown: String,
    /// The connection for commands, made on first use and dropped on error.
    commands: tokio::sync::Mutex<Option<MultiplexedConnection>>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("at", &self.shown)
            .field("set", &self.set)
            .finish_non_exhaustive()
    }
}

/// `url` without its user name and password.
fn without_credentials(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}{path}")
        }
        None => "a Redis URL".into(),
    }
}

fn failed(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("{what}: {e}"))
}

async fn timed<T>(
    what: &str,
    f: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(COMMAND_TIMEOUT, f).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(failed(what, e)),
        Err(_) => Err(StoreError(format!(
            "{what}: no answer within {COMMAND_TIMEOUT:?}"
        ))),
    }
}

impl RedisStore {
    /// A store at `url`: `redis://[user:password@]host[:port][/db]`, or
    /// `rediss://…` for TLS (the system's trusted roots).
    ///
    /// # Errors
    /// `invalid_config` for a URL that is not a Redis URL.
    pub fn new(url: &str) -> Result<Self, Error> {
        Self::check_scheme(url)?;
        let client = redis::Client::open(url).map_err(|e| Self::bad(url, e))?;
        Ok(Self::with_client(client, url))
    }

    /// A store at a `rediss://` URL whose certificate chains to `root_pem`
    /// (a PEM certificate authority) instead of the system's roots.
    ///
    /// # Errors
    /// `invalid_config` for a URL that is not `rediss://`, or a certificate
    /// that is not PEM.
    pub fn with_root_certificate(url: &str, root_pem: &[u8]) -> Result<Self, Error> {
        if !url.starts_with("rediss://") {
            return Err(Self::bad(url, "a root certificate needs a rediss:// URL"));
        }
        let client = redis::Client::build_with_tls(
            url,
            redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(root_pem.to_vec()),
            },
        )
        .map_err(|e| Self::bad(url, e))?;
        Ok(Self::with_client(client, url))
    }

    /// Keys under another prefix (default `cognito-verify`), so that
    /// several applications can share one Redis: `{<prefix>}:revocations`.
    #[must_use]
    pub fn prefix(mut self, prefix: &str) -> Self {
        self.set = format!("{{{prefix}}}:revocations");
        self.channel = format!("{{{prefix}}}:revocations:new");
        self
    }

    fn with_client(client: redis::Client, url: &str) -> Self {
        RedisStore {
            client,
            shown: without_credentials(url),
            set: String::new(),
            channel: String::new(),
            commands: tokio::sync::Mutex::new(None),
        }
        .prefix("cognito-verify")
    }

    fn check_scheme(url: &str) -> Result<(), Error> {
        match url.split_once("://") {
            Some(("redis" | "rediss", _)) => Ok(()),
            _ => Err(Self::bad(
                url,
                "the URL must start with redis:// or rediss://",
            )),
        }
    }

    fn bad(url: &str, why: impl std::fmt::Display) -> Error {
        Error::InvalidConfig(format!("revocations: {}: {why}", without_credentials(url)))
    }

    async fn connect(&self) -> Result<MultiplexedConnection, StoreError> {
        timed("connect", self.client.get_multiplexed_async_connection()).await
    }

    /// Adds `entries` to the set and publishes each, in one transaction
    /// per page; expired members go at the same time.
    async fn publish_on(
        &self,
        conn: &mut MultiplexedConnection,
        entries: &[RevocationEntry],
    ) -> Result<(), StoreError> {
        for page in entries.chunks(PAGE) {
            let mut pipe = redis::pipe();
            pipe.atomic();
            for entry in page {
                let member = entry.encode();
                pipe.zadd(&self.set, &member, entry.expires_at).ignore();
                pipe.publish(&self.channel, &member).ignore();
            }
            pipe.zrembyscore(&self.set, "-inf", format!("({}", now_secs()))
                .ignore();
            timed("publish", pipe.query_async::<()>(conn)).await?;
        }
        Ok(())
    }

    /// Every entry in force, page by page (the expired ones removed first).
    async fn load(
        &self,
        conn: &mut MultiplexedConnection,
    ) -> Result<Vec<RevocationEntry>, StoreError> {
        let now = now_secs();
        timed(
            "remove expired",
            conn.zrembyscore::<_, _, _, ()>(&self.set, "-inf", format!("({now}")),
        )
        .await?;
        let mut entries = Vec::new();
        let mut offset = 0;
        loop {
            let page: Vec<Vec<u8>> = timed(
                "load",
                conn.zrangebyscore_limit(&self.set, now, "+inf", offset, PAGE as isize),
            )
            .await?;
            let count = page.len();
            for member in page {
                match RevocationEntry::decode(&member) {
                    Ok(entry) => entries.push(entry),
                    Err(why) => {
                        tracing::warn!(%why, "revocations: ignored a member of the set that is not an entry");
                    }
                }
            }
            if count < PAGE {
                return Ok(entries);
            }
            offset += PAGE as isize;
        }
    }

    async fn follow_until_error(&self, follower: &Follower) -> StoreError {
        match self.try_follow(follower).await {
            Ok(()) => StoreError("the list was dropped".into()),
            Err(e) => e,
        }
    }

    async fn try_follow(&self, follower: &Follower) -> Result<(), StoreError> {
        let mut pubsub = timed("subscribe", self.client.get_async_pubsub()).await?;
        timed("subscribe", pubsub.subscribe(&self.channel)).await?;
        let (mut sink, mut stream) = pubsub.split();
        let mut conn = self.connect().await?;
        let entries = self.load(&mut conn).await?;
        let missing = follower.loaded(entries);
        self.publish_on(&mut conn, &missing).await?;
        let heartbeat = follower.heartbeat();
        let mut next_beat = tokio::time::Instant::now() + heartbeat;
        while !follower.is_closed() {
            match tokio::time::timeout_at(next_beat, stream.next()).await {
                Ok(Some(message)) => follower.received(message.get_payload_bytes()),
                Ok(None) => return Err(StoreError("the subscription ended".into())),
                Err(_) => {
                    // Both connections answer, and expired members go.
                    // A subscribed connection answers PING with an array
                    // (`pong`, ``), not a status: any answer will do.
                    timed("ping", sink.ping::<redis::Value>()).await?;
                    timed(
                        "remove expired",
                        conn.zrembyscore::<_, _, _, ()>(
                            &self.set,
                            "-inf",
                            format!("({}", now_secs()),
                        ),
                    )
                    .await?;
                    follower.alive();
                    next_beat = tokio::time::Instant::now() + heartbeat;
                }
            }
        }
        Ok(())
    }
}

impl RevocationStore for RedisStore {
    fn describe(&self) -> String {
        self.shown.clone()
    }

    fn publish<'a>(
        &'a self,
        entries: &'a [RevocationEntry],
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut slot = self.commands.lock().await;
            let mut conn = match slot.take() {
                Some(conn) => conn,
                None => self.connect().await?,
            };
            self.publish_on(&mut conn, entries).await?;
            *slot = Some(conn);
            Ok(())
        })
    }

    fn follow<'a>(&'a self, follower: &'a Follower) -> BoxFuture<'a, StoreError> {
        Box::pin(self.follow_until_error(follower))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_credentials() {
        assert_eq!(
            without_credentials("rediss://app:s3cret@cache.example:6379/0"),
            "rediss://cache.example:6379/0"
        );
        assert_eq!(
            without_credentials("redis://:p@a@127.0.0.1"),
            "redis://127.0.0.1"
        );
        assert_eq!(without_credentials("nonsense"), "a Redis URL");
    }

    #[test]
    fn only_redis_urls_are_taken() {
        for url in ["http://127.0.0.1:6379", "127.0.0.1:6379", ""] {
            assert_eq!(RedisStore::new(url).unwrap_err().kind(), "invalid_config");
        }
        assert!(RedisStore::with_root_certificate("redis://127.0.0.1", b"").is_err());
        let store = RedisStore::new("redis://u:p@127.0.0.1:1")
            .unwrap()
            .prefix("app");
        assert_eq!(store.set, "{app}:revocations");
        assert!(!format!("{store:?}").contains(":p@"));
    }
}
