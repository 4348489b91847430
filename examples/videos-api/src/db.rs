//! Storage: one SQLite table of videos, each with its owner's `sub`.
//!
//! Every query that reads or deletes a user's video filters by the owner,
//! so another user's id simply finds nothing.

use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

/// A stored video.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Video {
    /// Its id.
    pub id: i64,
    /// The owner's verified `sub`.
    pub owner: String,
    /// Title.
    pub title: String,
    /// Where the video is.
    pub url: String,
    /// Seconds since the Unix epoch.
    pub created_at: i64,
}

/// The video store. Cheap to clone; queries run on Tokio's blocking pool.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

/// A storage failure.
#[derive(Debug)]
pub struct DbError(pub String);

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DbError {}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        DbError(e.to_string())
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS videos (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    owner      TEXT    NOT NULL,
    title      TEXT    NOT NULL,
    url        TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS videos_owner_id ON videos (owner, id);
";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Video> {
    Ok(Video {
        id: r.get(0)?,
        owner: r.get(1)?,
        title: r.get(2)?,
        url: r.get(3)?,
        created_at: r.get(4)?,
    })
}

impl Db {
    /// Opens (or creates) the database and its schema. `:memory:` keeps it
    /// in memory.
    pub fn open(path: &str) -> Result<Db, DbError> {
        let conn = Connection::open(path)
            .map_err(|e| DbError(format!("cannot open the database {path:?}: {e}")))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Db {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn run<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
            f(&conn).map_err(DbError::from)
        })
        .await
        .map_err(|e| DbError(format!("database task failed: {e}")))?
    }

    /// Adds a video owned by `owner`.
    pub async fn insert(
        &self,
        owner: &str,
        title: &str,
        url: &str,
        now: i64,
    ) -> Result<Video, DbError> {
        let (owner, title, url) = (owner.to_owned(), title.to_owned(), url.to_owned());
        self.run(move |c| {
            c.execute(
                "INSERT INTO videos (owner, title, url, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![owner, title, url, now],
            )?;
            Ok(Video {
                id: c.last_insert_rowid(),
                owner,
                title,
                url,
                created_at: now,
            })
        })
        .await
    }

    /// Up to `limit` of `owner`'s videos with ids above `after`, oldest first.
    /// `owner: None` lists everyone's (for admins).
    pub async fn list(
        &self,
        owner: Option<&str>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Video>, DbError> {
        let owner = owner.map(str::to_owned);
        self.run(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, owner, title, url, created_at FROM videos
                 WHERE (?1 IS NULL OR owner = ?1) AND id > ?2 ORDER BY id LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![owner, after, limit], row)?;
            rows.collect()
        })
        .await
    }

    /// `owner`'s video `id`, if it exists and is theirs.
    pub async fn get(&self, owner: &str, id: i64) -> Result<Option<Video>, DbError> {
        let owner = owner.to_owned();
        self.run(move |c| {
            c.query_row(
                "SELECT id, owner, title, url, created_at FROM videos WHERE id = ?1 AND owner = ?2",
                params![id, owner],
                row,
            )
            .optional()
        })
        .await
    }

    /// Deletes `owner`'s video `id`; false when there is no such video of theirs.
    pub async fn delete(&self, owner: &str, id: i64) -> Result<bool, DbError> {
        let owner = owner.to_owned();
        self.run(move |c| {
            c.execute(
                "DELETE FROM videos WHERE id = ?1 AND owner = ?2",
                params![id, owner],
            )
            .map(|n| n > 0)
        })
        .await
    }
}
