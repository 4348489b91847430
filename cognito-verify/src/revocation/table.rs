//! The revocation entries one process holds: four maps, one per kind of
//! entry, each keyed by the revoked id. Cognito's ids (`jti`,
//! `origin_jti`, `sub`) are lowercase UUIDs, kept as 16-byte integers;
//! any other id is kept as text.
//!
//! The check runs on every verification and token-cache hit, so the UUID
//! path is kept short: digits read through a table, and the 128 bits hashed
//! by one keyed multiplication rather than SipHash (see [`UuidHasher`]).
//!
//! Nearly every token the check sees is covered by no entry, and with a
//! large list the maps are far bigger than the CPU caches: each lookup of
//! an absent id would read memory. So each map sits behind a [`Filter`] of
//! one byte per map slot (a thirtieth of the map), which answers most
//! absent ids alone with one cache line; and [`Table::covering`] hashes
//! every id of a token before it reads any filter, so that the reads are
//! independent and those that miss the caches can overlap.

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

/// Filter bits per slot of the map behind it (per id it can hold before it
/// grows): an id has 8 bits when the map is at its fullest and up to 16
/// just after it grows. With 9 bits, 1.6% of absent ids pass (the tests
/// below); with 12.5 (1,000,000 entries, a third per kind), about 0.5%.
const FILTER_BITS_PER_SLOT: usize = 8;

/// One cache line of a [`Filter`]: eight words, one bit of each set per
/// id.
#[derive(Clone, Copy, Default)]
#[repr(align(64))]
struct Block([u64; 8]);

/// Odd multipliers that pick an id's bit in each word of its block (those
/// of Parquet's split block Bloom filter).
const SALTS: [u32; 8] = [
    0x47b6_137b,
    0x4497_4d91,
    0x8824_ad5b,
    0xa2b7_289d,
    0x7054_95c7,
    0x2df1_424b,
    0x9efc_4947,
    0x5c6b_fb31,
];

impl Block {
    /// The bit of each word for an id whose hash is `hash` (its low 32
    /// bits).
    fn bits_of(hash: u64) -> [u64; 8] {
        // Truncation intended: the low half picks the bits.
        #[allow(clippy::cast_possible_truncation)]
        let low = hash as u32;
        SALTS.map(|salt| 1u64 << (low.wrapping_mul(salt) >> 26))
    }
}

/// A blocked Bloom filter of one map's ids: never a false negative (an
/// id a map holds always passes), and an absent id passes rarely (see
/// [`FILTER_BITS_PER_SLOT`]). An id's hash (the map's own) picks one block
/// by its high bits and one bit in each of the block's words by its low
/// bits, so a lookup reads one cache line.
struct Filter {
    blocks: Vec<Block>,
    /// The map slots it was sized for.
    slots: usize,
}

impl Filter {
    /// An empty filter for maps of `slots` slots (at least one block).
    fn for_slots(slots: usize) -> Self {
        let bits = slots.saturating_mul(FILTER_BITS_PER_SLOT);
        Filter {
            blocks: vec![Block::default(); bits.div_ceil(512).max(1)],
            slots,
        }
    }

    /// The block of `hash`: its high bits scaled to the block count.
    fn block_of(&self, hash: u64) -> usize {
        let scaled = (u128::from(hash) * self.blocks.len() as u128) >> 64;
        // Below the block count, which is a usize.
        #[allow(clippy::cast_possible_truncation)]
        let at = scaled as usize;
        at
    }

    fn add(&mut self, hash: u64) {
        let at = self.block_of(hash);
        if let Some(block) = self.blocks.get_mut(at) {
            for (word, bit) in block.0.iter_mut().zip(Block::bits_of(hash)) {
                *word |= bit;
            }
        }
    }

    /// False when no id of this hash was added. Every word is tested
    /// without branching on the read.
    fn may_hold(&self, hash: u64) -> bool {
        self.blocks.get(self.block_of(hash)).is_some_and(|block| {
            block
                .0
                .iter()
                .zip(Block::bits_of(hash))
                .fold(true, |all, (word, bit)| all & (word & bit != 0))
        })
    }

    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.blocks.len() * std::mem::size_of::<Block>()
    }
}

/// One kind's entries: the value is what the check compares and when the
/// entry expires. Each map has its filter, which holds every id of the
/// map, and is rebuilt from it when the map grows past the filter's sizing
/// and when a sweep removed entries (a Bloom filter cannot forget one).
struct Keyed<V> {
    uuids: HashMap<u128, V, UuidHashing>,
    texts: HashMap<Box<str>, V>,
    uuid_filter: Filter,
    text_filter: Filter,
}

/// A filter of every key of `map`, sized for its slots.
fn filter_of_map<K: std::hash::Hash, V, S: BuildHasher>(map: &HashMap<K, V, S>) -> Filter {
    let mut filter = Filter::for_slots(map.capacity());
    for key in map.keys() {
        filter.add(map.hasher().hash_one(key));
    }
    filter
}

impl<V: Copy> Keyed<V> {
    fn new() -> Self {
        Keyed {
            uuids: HashMap::with_hasher(UuidHashing::new()),
            texts: HashMap::new(),
            uuid_filter: Filter::for_slots(0),
            text_filter: Filter::for_slots(0),
        }
    }

    /// The key's hash in its map, which its filter uses too.
    fn hash_of(&self, key: &IdKey<'_>) -> u64 {
        match key {
            IdKey::Uuid(bits) => self.uuids.hasher().hash_one(bits),
            IdKey::Text(text) => self.texts.hasher().hash_one(text),
        }
    }

    /// The filter of the key's map.
    fn filter_of(&self, key: &IdKey<'_>) -> &Filter {
        match key {
            IdKey::Uuid(_) => &self.uuid_filter,
            IdKey::Text(_) => &self.text_filter,
        }
    }

    /// `id`'s key and hash; `None` when the map it would be in is empty.
    fn hashed<'a>(&self, id: &'a str) -> Option<(IdKey<'a>, u64)> {
        if self.uuids.is_empty() && self.texts.is_empty() {
            return None;
        }
        let key = IdKey::of(id);
        let empty = match key {
            IdKey::Uuid(_) => self.uuids.is_empty(),
            IdKey::Text(_) => self.texts.is_empty(),
        };
        if empty {
            return None;
        }
        let hash = self.hash_of(&key);
        Some((key, hash))
    }

    /// The key of a hashed id when its filter lets it through (its map
    /// may hold it); `None` when the map surely does not.
    fn passing<'a>(&self, hashed: Option<(IdKey<'a>, u64)>) -> Option<IdKey<'a>> {
        hashed.and_then(|(key, hash)| self.filter_of(&key).may_hold(hash).then_some(key))
    }

    /// `id`'s key when its filter lets it through.
    fn candidate<'a>(&self, id: &'a str) -> Option<IdKey<'a>> {
        self.passing(self.hashed(id))
    }

    /// The entry of a key the filter let through.
    fn get_key(&self, key: &IdKey<'_>) -> Option<V> {
        match key {
            IdKey::Uuid(bits) => self.uuids.get(bits).copied(),
            IdKey::Text(text) => self.texts.get(*text).copied(),
        }
    }

    fn get(&self, id: &str) -> Option<V> {
        self.candidate(id).and_then(|key| self.get_key(&key))
    }

    /// Inserts, keeping the entry that covers more when one is there: `merge`
    /// picks from the old value and the new. True when it was new.
    fn insert(&mut self, id: &str, value: V, merge: impl Fn(V, V) -> V) -> bool {
        let key = IdKey::of(id);
        let hash = self.hash_of(&key);
        match key {
            IdKey::Uuid(bits) => match self.uuids.get_mut(&bits) {
                Some(old) => {
                    *old = merge(*old, value);
                    false
                }
                None => {
                    self.uuids.insert(bits, value);
                    if self.uuids.capacity() > self.uuid_filter.slots {
                        self.uuid_filter = filter_of_map(&self.uuids);
                    } else {
                        self.uuid_filter.add(hash);
                    }
                    true
                }
            },
            IdKey::Text(text) => match self.texts.get_mut(text) {
                Some(old) => {
                    *old = merge(*old, value);
                    false
                }
                None => {
                    self.texts.insert(text.into(), value);
                    if self.texts.capacity() > self.text_filter.slots {
                        self.text_filter = filter_of_map(&self.texts);
                    } else {
                        self.text_filter.add(hash);
                    }
                    true
                }
            },
        }
    }

    fn retain(&mut self, keep: impl Fn(&V) -> bool) {
        let before = self.uuids.len();
        self.uuids.retain(|_, v| keep(v));
        if self.uuids.len() < before {
            self.uuid_filter = filter_of_map(&self.uuids);
        }
        let before = self.texts.len();
        self.texts.retain(|_, v| keep(v));
        if self.texts.len() < before {
            self.text_filter = filter_of_map(&self.texts);
        }
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
    ///
    /// Every id is hashed before any filter is read, so that the filter
    /// reads are independent and those that miss the caches can overlap.
    /// The maps are read only for the ids a filter lets through.
    pub(crate) fn covering(&self, subject: &Subject<'_>) -> Option<&'static str> {
        let token = subject.jti.and_then(|id| self.tokens.hashed(id));
        let session = subject.origin_jti.and_then(|id| self.sessions.hashed(id));
        let user = self.users.hashed(subject.sub);
        let client = subject.client_id.and_then(|id| self.clients.hashed(id));
        let token = self.tokens.passing(token);
        let session = self.sessions.passing(session);
        let user = self.users.passing(user);
        let client = self.clients.passing(client);
        if token.is_some_and(|key| self.tokens.get_key(&key).is_some()) {
            return Some("token");
        }
        if session.is_some_and(|key| self.sessions.get_key(&key).is_some()) {
            return Some("session");
        }
        if let Some(cutoff) = user.and_then(|key| self.users.get_key(&key))
            && at_or_before(subject.signed_in_nanos, cutoff.at_or_before)
        {
            return Some("user");
        }
        if let Some(cutoff) = client.and_then(|key| self.clients.get_key(&key))
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

    /// Whether the filter lets through every id the maps hold.
    fn filter_holds_every_id<V: Copy>(keyed: &Keyed<V>) -> bool {
        let uuids = keyed.uuids.keys().map(|bits| IdKey::Uuid(*bits));
        let texts = keyed.texts.keys().map(|text| IdKey::Text(text));
        uuids
            .chain(texts)
            .all(|key| keyed.filter_of(&key).may_hold(keyed.hash_of(&key)))
    }

    /// An id of one of the shapes the table keeps apart: a lowercase UUID
    /// (kept as 128 bits), an uppercase one, or other text (kept as text).
    fn any_id() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![
            any::<u128>().prop_map(format_uuid),
            any::<u128>().prop_map(|bits| format_uuid(bits).to_uppercase()),
            "[a-z0-9]{1,40}",
        ]
    }

    fn entry_of(kind: u8, id: String, expires_at: i64) -> Entry {
        let revoked = match kind % 4 {
            0 => Revoked::Token { jti: id },
            1 => Revoked::Session { origin_jti: id },
            2 => Revoked::User {
                sub: id,
                at_or_before: 0,
            },
            _ => Revoked::Client {
                client_id: id,
                at_or_before: 0,
            },
        };
        Entry {
            revoked,
            revoked_at_ms: 0,
            expires_at,
        }
    }

    /// A token that states `revoked`'s id where its kind is read.
    fn subject_of(revoked: &Revoked) -> Subject<'_> {
        let mut subject = Subject {
            jti: None,
            origin_jti: None,
            sub: "",
            signed_in_nanos: Some(0),
            client_id: None,
            issued_nanos: Some(0),
        };
        match revoked {
            Revoked::Token { jti } => subject.jti = Some(jti),
            Revoked::Session { origin_jti } => subject.origin_jti = Some(origin_jti),
            Revoked::User { sub, .. } => subject.sub = sub,
            Revoked::Client { client_id, .. } => subject.client_id = Some(client_id),
        }
        subject
    }

    proptest::proptest! {
        /// Inserts (some of the same id again), sweeps between them, and
        /// the rebuilds both cause (the maps grow past the filter's
        /// sizing; a sweep removes entries): every id still held passes
        /// its filter and is found, every swept one is gone.
        #[test]
        fn every_id_held_passes_its_filter_through_inserts_sweeps_and_rebuilds(
            steps in proptest::collection::vec(
                (0u8..4, any_id(), 0i64..8, proptest::option::weighted(0.05, 0i64..8)),
                1..400,
            ),
        ) {
            let mut table = Table::new();
            let mut model: HashMap<(u8, String), i64> = HashMap::new();
            for (kind, id, expires_at, sweep) in steps {
                table.insert(&entry_of(kind, id.clone(), expires_at));
                let until = model.entry((kind, id)).or_insert(expires_at);
                *until = (*until).max(expires_at);
                if let Some(now) = sweep {
                    table.sweep(now);
                    model.retain(|_, until| *until >= now);
                }
                proptest::prop_assert!(filter_holds_every_id(&table.tokens));
                proptest::prop_assert!(filter_holds_every_id(&table.sessions));
                proptest::prop_assert!(filter_holds_every_id(&table.users));
                proptest::prop_assert!(filter_holds_every_id(&table.clients));
            }
            proptest::prop_assert_eq!(table.len(), model.len());
            for ((kind, id), until) in &model {
                let entry = entry_of(*kind, id.clone(), *until);
                proptest::prop_assert!(table.contains(&entry.revoked), "{id}");
                let expected = ["token", "session", "user", "client"][usize::from(*kind)];
                proptest::prop_assert_eq!(
                    table.covering(&subject_of(&entry.revoked)),
                    Some(expected),
                    "{}", id
                );
            }
        }
    }

    /// The share of `absent` ids the filter lets through.
    fn passing<V: Copy>(keyed: &Keyed<V>, absent: impl Iterator<Item = String>) -> f64 {
        let (mut passed, mut tried) = (0u32, 0u32);
        for id in absent {
            assert!(keyed.get(&id).is_none(), "{id} is absent");
            passed += u32::from(keyed.candidate(&id).is_some());
            tried += 1;
        }
        f64::from(passed) / f64::from(tried)
    }

    #[test]
    fn the_filter_turns_away_nearly_every_absent_id() {
        // Fixed ids: UUIDs spread by an odd multiplier, and text ids.
        let uuid = |i: u128| format_uuid(i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835));
        let text = |i: u32| format!("client-{i}");
        // 100,000 UUIDs fill their map to 87% (114,688 slots), about its
        // fullest: 9 filter bits per id.
        let mut keyed = Keyed::new();
        for i in 0..100_000 {
            keyed.insert(&uuid(i), 0u8, |a, _| a);
        }
        assert_eq!(keyed.uuids.capacity(), 114_688);
        assert!(filter_holds_every_id(&keyed));
        let rate = passing(&keyed, (100_000..200_000).map(uuid));
        assert!(rate < 0.03, "{:.2}% of absent UUIDs pass", rate * 100.0);
        // A byte per slot: 1.15 bytes per id here.
        assert_eq!(keyed.uuid_filter.bytes(), 114_688);

        let mut keyed = Keyed::new();
        for i in 0..50_000 {
            keyed.insert(&text(i), 0u8, |a, _| a);
        }
        assert!(filter_holds_every_id(&keyed));
        let rate = passing(&keyed, (50_000..150_000).map(text));
        assert!(rate < 0.03, "{:.2}% of absent text ids pass", rate * 100.0);

        // A sweep that empties most of the map rebuilds the filter, which
        // then forgets the swept ids.
        let mut keyed = Keyed::new();
        for i in 0..100_000 {
            keyed.insert(&uuid(i), i64::from(i < 1_000), |a, _| a);
        }
        keyed.retain(|until| *until >= 1);
        assert_eq!(keyed.len(), 1_000);
        assert!(filter_holds_every_id(&keyed));
        let rate = passing(&keyed, (1_000..100_000).map(uuid));
        assert!(rate < 0.001, "{:.3}% of swept UUIDs pass", rate * 100.0);
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
