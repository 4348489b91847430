//! The revocation entries one process holds: four maps, one per kind of
//! entry, each keyed by the revoked id. Cognito's ids (`jti`,
//! `origin_jti`, `sub`) are lowercase UUIDs, kept as 16-byte integers;
//! any other id is kept as text.

use std::collections::HashMap;

use super::{RevocationEntry as Entry, Revoked};

/// An id's key in a map: a canonical lowercase UUID as its 128 bits, or
/// the text itself.
enum IdKey<'a> {
    Uuid(u128),
    Text(&'a str),
}

impl<'a> IdKey<'a> {
    fn of(id: &'a str) -> Self {
        match parse_lowercase_uuid(id) {
            Some(bits) => IdKey::Uuid(bits),
            None => IdKey::Text(id),
        }
    }
}

/// `8-4-4-4-12` lowercase hexadecimal digits as 128 bits; `None` for any
/// other text (an uppercase UUID is another id, kept as text).
fn parse_lowercase_uuid(id: &str) -> Option<u128> {
    let bytes = id.as_bytes();
    if bytes.len() != 36 {
        return None;
    }
    let mut bits: u128 = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let digit = match (i, b) {
            (8 | 13 | 18 | 23, b'-') => continue,
            (8 | 13 | 18 | 23, _) => return None,
            (_, b'0'..=b'9') => b - b'0',
            (_, b'a'..=b'f') => b - b'a' + 10,
            _ => return None,
        };
        bits = (bits << 4) | u128::from(digit);
    }
    Some(bits)
}

/// One kind's entries: the value is what the check compares and when the
/// entry expires.
struct Keyed<V> {
    uuids: HashMap<u128, V>,
    texts: HashMap<Box<str>, V>,
}

impl<V: Copy> Keyed<V> {
    fn new() -> Self {
        Keyed {
            uuids: HashMap::new(),
            texts: HashMap::new(),
        }
    }

    fn get(&self, id: &str) -> Option<V> {
        if self.uuids.is_empty() && self.texts.is_empty() {
            return None;
        }
        match IdKey::of(id) {
            IdKey::Uuid(bits) => self.uuids.get(&bits).copied(),
            IdKey::Text(text) => self.texts.get(text).copied(),
        }
    }

    /// Inserts, keeping the entry that covers more when one is there: `merge`
    /// picks from the old value and the new. True when it was new.
    fn insert(&mut self, id: &str, value: V, merge: impl Fn(V, V) -> V) -> bool {
        match IdKey::of(id) {
            IdKey::Uuid(bits) => match self.uuids.get_mut(&bits) {
                Some(old) => {
                    *old = merge(*old, value);
                    false
                }
                None => self.uuids.insert(bits, value).is_none(),
            },
            IdKey::Text(text) => match self.texts.get_mut(text) {
                Some(old) => {
                    *old = merge(*old, value);
                    false
                }
                None => self.texts.insert(text.into(), value).is_none(),
            },
        }
    }

    fn retain(&mut self, keep: impl Fn(&V) -> bool) {
        self.uuids.retain(|_, v| keep(v));
        self.texts.retain(|_, v| keep(v));
    }

    fn len(&self) -> usize {
        self.uuids.len() + self.texts.len()
    }

    /// Every entry, its id written back as text.
    fn each(&self, mut f: impl FnMut(String, V)) {
        for (bits, v) in &self.uuids {
            f(format_uuid(*bits), *v);
        }
        for (text, v) in &self.texts {
            f(text.to_string(), *v);
        }
    }
}

fn format_uuid(bits: u128) -> String {
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// A one-token or one-session entry: when it expires (Unix seconds).
type Until = i64;

/// A user or client entry: the cutoff (tokens at or before it are
/// revoked, Unix seconds) and when the entry expires.
#[derive(Clone, Copy)]
struct Cutoff {
    at_or_before: i64,
    until: i64,
}

/// Every entry of one process.
pub(crate) struct Table {
    tokens: Keyed<Until>,
    sessions: Keyed<Until>,
    users: Keyed<Cutoff>,
    clients: Keyed<Cutoff>,
}

/// What a token states that the entries may cover.
pub(crate) struct Subject<'a> {
    pub jti: Option<&'a str>,
    pub origin_jti: Option<&'a str>,
    pub sub: &'a str,
    /// When the user signed in (`auth_time`), else `iat`: nanoseconds.
    pub signed_in_nanos: Option<i128>,
    pub client_id: Option<&'a str>,
    /// `iat` in nanoseconds.
    pub issued_nanos: Option<i128>,
}

/// Whether `at_nanos` is at or before `cutoff_secs`; an absent time is
/// covered (nothing shows the token came after).
fn at_or_before(at_nanos: Option<i128>, cutoff_secs: i64) -> bool {
    at_nanos.is_none_or(|at| at <= i128::from(cutoff_secs) * 1_000_000_000)
}

impl Table {
    pub(crate) fn new() -> Self {
        Table {
            tokens: Keyed::new(),
            sessions: Keyed::new(),
            users: Keyed::new(),
            clients: Keyed::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.tokens.len() + self.sessions.len() + self.users.len() + self.clients.len()
    }

    /// The entry that covers `subject`, if any, as the kind that matched.
    /// Expired entries still count: every token they cover has expired
    /// too, so the answer is the same, and sweeping is only for memory.
    pub(crate) fn covering(&self, subject: &Subject<'_>) -> Option<&'static str> {
        if subject.jti.and_then(|jti| self.tokens.get(jti)).is_some() {
            return Some("token");
        }
        if subject
            .origin_jti
            .and_then(|id| self.sessions.get(id))
            .is_some()
        {
            return Some("session");
        }
        if let Some(cutoff) = self.users.get(subject.sub)
            && at_or_before(subject.signed_in_nanos, cutoff.at_or_before)
        {
            return Some("user");
        }
        if let Some(cutoff) = subject.client_id.and_then(|id| self.clients.get(id))
            && at_or_before(subject.issued_nanos, cutoff.at_or_before)
        {
            return Some("client");
        }
        None
    }

    /// Adds `entry`; true when it was not there. The same id revoked again
    /// keeps the later cutoff and the later expiry.
    pub(crate) fn insert(&mut self, entry: &Entry) -> bool {
        let later = |a: Until, b: Until| a.max(b);
        let wider = |a: Cutoff, b: Cutoff| Cutoff {
            at_or_before: a.at_or_before.max(b.at_or_before),
            until: a.until.max(b.until),
        };
        match &entry.revoked {
            Revoked::Token { jti } => self.tokens.insert(jti, entry.expires_at, later),
            Revoked::Session { origin_jti } => {
                self.sessions.insert(origin_jti, entry.expires_at, later)
            }
            Revoked::User { sub, at_or_before } => self.users.insert(
                sub,
                Cutoff {
                    at_or_before: *at_or_before,
                    until: entry.expires_at,
                },
                wider,
            ),
            Revoked::Client {
                client_id,
                at_or_before,
            } => self.clients.insert(
                client_id,
                Cutoff {
                    at_or_before: *at_or_before,
                    until: entry.expires_at,
                },
                wider,
            ),
        }
    }

    /// Whether the list holds an entry for `revoked`'s id (of its kind).
    pub(crate) fn contains(&self, revoked: &Revoked) -> bool {
        match revoked {
            Revoked::Token { jti } => self.tokens.get(jti).is_some(),
            Revoked::Session { origin_jti } => self.sessions.get(origin_jti).is_some(),
            Revoked::User { sub, .. } => self.users.get(sub).is_some(),
            Revoked::Client { client_id, .. } => self.clients.get(client_id).is_some(),
        }
    }

    /// Drops entries that expired before `now` (Unix seconds).
    pub(crate) fn sweep(&mut self, now: i64) {
        self.tokens.retain(|until| *until >= now);
        self.sessions.retain(|until| *until >= now);
        self.users.retain(|c| c.until >= now);
        self.clients.retain(|c| c.until >= now);
    }

    /// Every entry still in force at `now`, as entries (for writing back to
    /// a store that lost them). `revoked_at_ms` is not kept: 0.
    pub(crate) fn entries(&self, now: i64) -> Vec<Entry> {
        let mut all = Vec::with_capacity(self.len());
        let mut push = |revoked: Revoked, expires_at: i64| {
            if expires_at >= now {
                all.push(Entry {
                    revoked,
                    revoked_at_ms: 0,
                    expires_at,
                });
            }
        };
        self.tokens
            .each(|jti, until| push(Revoked::Token { jti }, until));
        self.sessions
            .each(|origin_jti, until| push(Revoked::Session { origin_jti }, until));
        self.users.each(|sub, c| {
            push(
                Revoked::User {
                    sub,
                    at_or_before: c.at_or_before,
                },
                c.until,
            );
        });
        self.clients.each(|client_id, c| {
            push(
                Revoked::Client {
                    client_id,
                    at_or_before: c.at_or_before,
                },
                c.until,
            );
        });
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowercase_uuids_are_kept_as_integers_and_written_back_the_same() {
        let id = "0f8fad5b-d9cb-469f-a165-70867728950e";
        let bits = parse_lowercase_uuid(id).unwrap();
        assert_eq!(format_uuid(bits), id);
        for other in [
            "0F8FAD5B-D9CB-469F-A165-70867728950E",
            "0f8fad5bd9cb469fa16570867728950e",
            "0f8fad5b-d9cb-469f-a165-70867728950",
            "0f8fad5b-d9cb-469f-a165-70867728950g",
            "0f8fad5b_d9cb-469f-a165-70867728950e",
            "",
        ] {
            assert!(parse_lowercase_uuid(other).is_none(), "{other}");
        }
    }

    fn subject(sub: &str) -> Subject<'_> {
        Subject {
            jti: None,
            origin_jti: None,
            sub,
            signed_in_nanos: Some(100_000_000_000),
            client_id: None,
            issued_nanos: Some(100_000_000_000),
        }
    }

    #[test]
    fn a_user_cutoff_covers_sign_ins_at_or_before_it_exactly() {
        let mut table = Table::new();
        table.insert(&Entry {
            revoked: Revoked::User {
                sub: "Alice".into(),
                at_or_before: 100,
            },
            revoked_at_ms: 0,
            expires_at: 200,
        });
        assert_eq!(table.covering(&subject("Alice")), Some("user"));
        let later = Subject {
            signed_in_nanos: Some(100_000_000_001),
            ..subject("Alice")
        };
        assert_eq!(table.covering(&later), None, "half a second later");
        let unknown_time = Subject {
            signed_in_nanos: None,
            ..subject("Alice")
        };
        assert_eq!(table.covering(&unknown_time), Some("user"));
        assert_eq!(table.covering(&subject("alice")), None, "ids are exact");
    }

    #[test]
    fn revoking_again_keeps_the_wider_entry_and_sweep_drops_expired_ones() {
        let mut table = Table::new();
        let user = |at_or_before, expires_at| Entry {
            revoked: Revoked::User {
                sub: "0f8fad5b-d9cb-469f-a165-70867728950e".into(),
                at_or_before,
            },
            revoked_at_ms: 0,
            expires_at,
        };
        assert!(table.insert(&user(100, 200)));
        assert!(!table.insert(&user(50, 150)));
        let entries = table.entries(0);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].expires_at, 200);
        assert_eq!(
            entries[0].revoked,
            Revoked::User {
                sub: "0f8fad5b-d9cb-469f-a165-70867728950e".into(),
                at_or_before: 100
            }
        );
        table.sweep(200);
        assert_eq!(table.len(), 1, "in force until its expiry second");
        table.sweep(201);
        assert_eq!(table.len(), 0);
    }
}
