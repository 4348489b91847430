//! The revocation entries one process holds: four maps, one per kind of
//! entry, each keyed by the revoked id. Cognito's ids (`jti`,
//! `origin_jti`, `sub`) are lowercase UUIDs, kept as 16-byte integers;
//! any other id is kept as text.
//!
//! The check runs on every verification and token-cache hit, so the UUID
//! path is kept short: digits read through a table, and the 128 bits hashed
//! by one keyed multiplication rather than SipHash (see [`UuidHasher`]).

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher, RandomState};

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

/// The value of each lowercase hexadecimal digit; `INVALID` for any other
/// byte.
const HEX_DIGITS: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};
const INVALID: u8 = 0xff;

/// Where the 32 digits of `8-4-4-4-12` are.
const DIGIT_AT: [usize; 32] = [
    0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 14, 15, 16, 17, 19, 20, 21, 22, 24, 25, 26, 27, 28, 29,
    30, 31, 32, 33, 34, 35,
];

/// `8-4-4-4-12` lowercase hexadecimal digits as 128 bits; `None` for any
/// other text (an uppercase UUID is another id, kept as text).
fn parse_lowercase_uuid(id: &str) -> Option<u128> {
    let bytes: &[u8; 36] = id.as_bytes().try_into().ok()?;
    if [bytes[8], bytes[13], bytes[18], bytes[23]] != [b'-'; 4] {
        return None;
    }
    // Every digit's value ORed: a byte that is not a digit sets the high bits.
    let mut seen: u8 = 0;
    let mut half = |digits: &[usize]| {
        digits.iter().fold(0u64, |bits, &at| {
            let digit = HEX_DIGITS[usize::from(bytes[at])];
            seen |= digit;
            (bits << 4) | u64::from(digit & 0x0f)
        })
    };
    let high = half(&DIGIT_AT[..16]);
    let low = half(&DIGIT_AT[16..]);
    let bits = (u128::from(high) << 64) | u128::from(low);
    (seen & 0xf0 == 0).then_some(bits)
}

/// Hashes the 128 bits of a UUID id with one multiplication of its two
/// halves, each mixed with a key drawn once per map from the standard
/// library's random source, then folded to 64 bits (the folded multiply of
/// foldhash and aHash's fallback). SipHash costs several times more, and
/// buys no more here: the ids are Cognito's random UUIDs, and a map's keys
/// are secret, so an attacker cannot pick ids that collide.
#[derive(Clone)]
struct UuidHasher {
    keys: [u64; 2],
    state: u64,
}

impl Hasher for UuidHasher {
    fn write_u128(&mut self, bits: u128) {
        // Truncations intended: the two halves of the id.
        #[allow(clippy::cast_possible_truncation)]
        let (high, low) = ((bits >> 64) as u64, bits as u64);
        let product = u128::from(high ^ self.keys[0]) * u128::from(low ^ self.keys[1]);
        #[allow(clippy::cast_possible_truncation)]
        let folded = (product as u64) ^ ((product >> 64) as u64);
        self.state ^= folded;
    }

    /// Only `u128` keys are hashed here; anything else goes byte by byte
    /// through the same mix, 16 bytes at a time.
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(16) {
            let mut block = [0u8; 16];
            block[..chunk.len()].copy_from_slice(chunk);
            self.write_u128(u128::from_le_bytes(block));
        }
    }

    fn finish(&self) -> u64 {
        self.state
    }
}

/// Makes a [`UuidHasher`] with this map's keys.
#[derive(Clone)]
struct UuidHashing {
    keys: [u64; 2],
}

impl UuidHashing {
    fn new() -> Self {
        let random = RandomState::new();
        UuidHashing {
            keys: [random.hash_one(0u8), random.hash_one(1u8)],
        }
    }
}

impl BuildHasher for UuidHashing {
    type Hasher = UuidHasher;

    fn build_hasher(&self) -> UuidHasher {
        UuidHasher {
            keys: self.keys,
            state: 0,
        }
    }
}

/// One kind's entries: the value is what the check compares and when the
/// entry expires.
struct Keyed<V> {
    uuids: HashMap<u128, V, UuidHashing>,
    texts: HashMap<Box<str>, V>,
}

impl<V: Copy> Keyed<V> {
    fn new() -> Self {
        Keyed {
            uuids: HashMap::with_hasher(UuidHashing::new()),
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
    use std::collections::HashSet;

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

    /// A lowercase UUID with up to two of its bytes replaced by bytes next
    /// to the digits and the dash (`/`, `:`, `` ` ``, `g`, `A`–`F`, `_`…).
    fn near_uuids() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let near = proptest::sample::select(b"0123456789abcdefABCDEFg/:`@-_ ".to_vec());
        (
            any::<u128>(),
            proptest::collection::vec((0..36usize, near), 0..=2),
        )
            .prop_map(|(bits, changes)| {
                let mut id = format_uuid(bits).into_bytes();
                for (at, byte) in changes {
                    id[at] = byte;
                }
                String::from_utf8(id).unwrap()
            })
    }

    proptest::proptest! {
        #[test]
        fn the_uuid_parser_takes_exactly_the_lowercase_uuids(id in near_uuids()) {
            let groups: Vec<&str> = id.split('-').collect();
            let lowercase_hex = |g: &str| g.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
            let is_uuid = groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
                && groups.iter().all(|g| lowercase_hex(g));
            let expected = is_uuid.then(|| u128::from_str_radix(&groups.concat(), 16).unwrap());
            proptest::prop_assert_eq!(parse_lowercase_uuid(&id), expected);
        }
    }

    #[test]
    fn a_uuid_map_finds_what_it_holds_and_nothing_else() {
        let mut keyed = Keyed::new();
        let id = |i: u128| format_uuid(i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835));
        for i in 0..10_000 {
            assert!(keyed.insert(&id(i), i, |a, _| a));
        }
        assert_eq!(keyed.uuids.len(), 10_000);
        // The hashes spread: all distinct, and over the low bits (the
        // bucket) and the top seven (the tag the map compares first).
        let hashes: HashSet<u64> = keyed
            .uuids
            .keys()
            .map(|k| keyed.uuids.hasher().hash_one(k))
            .collect();
        assert_eq!(hashes.len(), 10_000);
        let buckets: HashSet<u64> = hashes.iter().map(|h| h & 0x3fff).collect();
        assert!(buckets.len() > 6_000, "{} of 16,384 buckets", buckets.len());
        let tags: HashSet<u64> = hashes.iter().map(|h| h >> 57).collect();
        assert_eq!(tags.len(), 128);
        for i in 0..10_000 {
            assert_eq!(keyed.get(&id(i)), Some(i));
            assert_eq!(keyed.get(&id(i + 10_000)), None);
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
