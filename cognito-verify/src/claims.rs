//! Verified claims of Cognito id and access tokens.

use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::Error;
use crate::json::{self, EntriesError, Json, KeyIs};

/// What a Cognito token is for: its `token_use` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenUse {
    /// An id token (`token_use: "id"`): identity for the client app; the
    /// client id is in `aud`.
    Id,
    /// An access token (`token_use: "access"`): authorization for an API;
    /// the client id is in `client_id`, scopes in `scope`.
    Access,
}

impl TokenUse {
    /// The claim's value: `"id"` or `"access"`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            TokenUse::Id => "id",
            TokenUse::Access => "access",
        }
    }
}

impl std::fmt::Display for TokenUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who a verified token speaks for: a user of the pool, or an app client
/// acting for itself (machine to machine). See [`CognitoClaims::principal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Principal<'a> {
    /// A user who signed in: `sub` is the user's stable, unique id in the
    /// pool (key their data by it); the user name may be an alias.
    User {
        /// The user's `sub`.
        sub: &'a str,
        /// `cognito:username` or `username`, when present.
        username: Option<&'a str>,
    },
    /// An app client with a client secret that authenticated as itself
    /// (the OAuth 2.0 client-credentials grant, or `GetClientToken`): no
    /// user is involved.
    AppClient {
        /// The app client's id (`client_id`, equal to `sub`).
        client_id: &'a str,
    },
}

/// One table of the claims the checks and the typed accessors read: it
/// gives the [`Claim`] names, how each is typed, and (by omission) which
/// claims [`CognitoClaims::extra`] returns.
macro_rules! claim_table {
    ($($claim:ident = $name:literal as $kind:ident,)*) => {
        /// A claim the checks or the typed accessors read.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum Claim {
            $($claim,)*
        }

        impl Claim {
            /// Every claim of the table, in its order.
            pub(crate) const ALL: &[Claim] = &[$(Claim::$claim,)*];

            /// The claim's name in the payload.
            pub(crate) fn name(self) -> &'static str {
                match self {
                    $(Claim::$claim => $name,)*
                }
            }

            /// The claim of a payload name, if the table has it.
            #[inline]
            fn named(name: &str) -> Option<Claim> {
                match name {
                    $($name => Some(Claim::$claim),)*
                    _ => None,
                }
            }

            fn kind(self) -> Kind {
                match self {
                    $(Claim::$claim => Kind::$kind,)*
                }
            }
        }
    };
}

claim_table! {
    Sub = "sub" as Text,
    Iss = "iss" as Text,
    Exp = "exp" as Time,
    Iat = "iat" as Time,
    Nbf = "nbf" as Time,
    AuthTime = "auth_time" as Time,
    Jti = "jti" as Text,
    OriginJti = "origin_jti" as Text,
    EventId = "event_id" as AnyText,
    TokenUse = "token_use" as Text,
    Groups = "cognito:groups" as Strings,
    CognitoUsername = "cognito:username" as AnyText,
    Username = "username" as AnyText,
    Aud = "aud" as Audience,
    ClientId = "client_id" as Text,
    Scope = "scope" as Scopes,
    Email = "email" as AnyText,
    EmailVerified = "email_verified" as AnyBool,
}

const CLAIM_COUNT: usize = Claim::ALL.len();
// The parser numbers the claims in a 64-bit set (`KeyIs::Known`).
const _: () = assert!(CLAIM_COUNT <= 64);

/// How a claim of the table is typed. Claims a check reads must have their
/// type, or the token is `malformed_token`; the others (`Any…`) may have
/// any JSON type, since a pre-token-generation trigger may set them so, and
/// read as absent when their type is another.
#[derive(Clone, Copy)]
enum Kind {
    /// A string.
    Text,
    /// A NumericDate.
    Time,
    /// An array of strings.
    Strings,
    /// A string or an array of strings.
    Audience,
    /// A string of scope tokens separated by spaces.
    Scopes,
    /// A string, else absent.
    AnyText,
    /// A boolean or the string `"true"`/`"false"` (some identity providers
    /// federated into Cognito send strings), else absent.
    AnyBool,
}

/// A typed claim value, 16 bytes: strings are [`Span`]s, lists a run of
/// the payload's spans.
#[derive(Clone, Copy)]
enum Slot {
    Absent,
    Text(Span),
    Time { secs: i64, subsec_nanos: u32 },
    List { first: u32, len: u32 },
    Bool(bool),
}

/// Where a string sits: in the payload text (the usual case: a JSON string
/// without escapes), or in the payload's buffer of decoded strings.
#[derive(Clone, Copy)]
struct Span {
    /// The start, with [`DECODED`] set for the buffer of decoded strings.
    start: u32,
    end: u32,
}

/// The flag of a [`Span`] in the buffer of decoded strings.
const DECODED: u32 = 1 << 31;

/// A token's claims as the token states them, typed but **not verified**:
/// what the parser makes and the checks read. Only a verification turns it
/// into [`CognitoClaims`].
#[derive(Clone)]
pub(crate) struct Payload {
    slots: [Slot; CLAIM_COUNT],
    /// The items of the list claims, in runs.
    items: Box<[Span]>,
    /// The payload's JSON text (a strict-parsed object), followed by the
    /// strings whose JSON form has escapes, decoded (usually none).
    text: Box<str>,
    /// Where the JSON text ends in `text`.
    json_len: u32,
}

/// What [`Payload::parse`] builds up.
struct Reader<'t> {
    text: &'t str,
    items: Vec<Span>,
    decoded: String,
}

impl Reader<'_> {
    /// The span of `value`: in the text when the parser borrowed it from
    /// there, else a copy in the decoded buffer.
    fn span(&mut self, value: &str) -> Result<Span, Error> {
        let offset = (value.as_ptr() as usize).wrapping_sub(self.text.as_ptr() as usize);
        let inside = self
            .text
            .get(offset..offset.wrapping_add(value.len()))
            .is_some_and(|s| std::ptr::eq(s.as_ptr(), value.as_ptr()));
        let (flag, start) = if inside {
            (0, offset)
        } else {
            let start = self.decoded.len();
            self.decoded.push_str(value);
            (DECODED, start)
        };
        let end = start + value.len();
        match (u32::try_from(start), u32::try_from(end)) {
            (Ok(start), Ok(end)) if end < DECODED => Ok(Span {
                start: start | flag,
                end,
            }),
            _ => Err(Error::malformed("the payload is larger than 2 GiB")),
        }
    }

    /// A run of items, as a list slot.
    fn list(&mut self, items: impl IntoIterator<Item = Span>) -> Result<Slot, Error> {
        let first = self.items.len();
        self.items.extend(items);
        self.run_from(first)
    }

    /// The items pushed since `first`, as a list slot.
    fn run_from(&self, first: usize) -> Result<Slot, Error> {
        match (
            u32::try_from(first),
            u32::try_from(self.items.len() - first),
        ) {
            (Ok(first), Ok(len)) => Ok(Slot::List { first, len }),
            _ => Err(Error::malformed("a list claim has too many items")),
        }
    }

    /// The scope tokens of a `scope` claim: separated by spaces (`%x20`),
    /// and only by spaces (RFC 6749 §3.3).
    fn scopes(&mut self, scope: &str) -> Result<Slot, Error> {
        let whole = self.span(scope)?;
        let first = self.items.len();
        // Offsets within `scope`, which fits in a span: no overflow.
        let base = whole.start & !DECODED;
        let mut start = 0usize;
        let ends = memchr::memchr_iter(b' ', scope.as_bytes()).chain([scope.len()]);
        for end in ends {
            if end > start {
                self.items.push(Span {
                    start: whole.start + start as u32,
                    end: base + end as u32,
                });
            }
            start = end + 1;
        }
        self.run_from(first)
    }

    /// The strings of a JSON array.
    fn strings(&mut self, claim: &str, items: &[Json<'_>]) -> Result<Slot, Error> {
        let first = self.items.len();
        for item in items {
            match item {
                Json::Str(s) => {
                    let span = self.span(s)?;
                    self.items.push(span);
                }
                _ => return Err(wrong_type(claim, "an array of strings")),
            }
        }
        self.run_from(first)
    }

    /// Reads one claim of the table as its [`Kind`] says.
    fn read(&mut self, claim: Claim, value: &Json<'_>) -> Result<Slot, Error> {
        let name = claim.name();
        let slot = match (claim.kind(), value) {
            (Kind::Text | Kind::AnyText, Json::Str(s)) => Slot::Text(self.span(s)?),
            (Kind::Scopes, Json::Str(s)) => self.scopes(s)?,
            (Kind::Text | Kind::Scopes, _) => return Err(wrong_type(name, "a string")),
            (Kind::Time, value) => {
                let date = time(name, value)?;
                Slot::Time {
                    secs: date.secs,
                    subsec_nanos: date.subsec_nanos,
                }
            }
            (Kind::Strings | Kind::Audience, Json::Array(items)) => self.strings(name, items)?,
            (Kind::Audience, Json::Str(s)) => {
                let span = self.span(s)?;
                self.list([span])?
            }
            (Kind::Strings, _) => return Err(wrong_type(name, "an array of strings")),
            (Kind::Audience, _) => {
                return Err(wrong_type(name, "a string or an array of strings"));
            }
            (Kind::AnyBool, Json::Bool(b)) => Slot::Bool(*b),
            (Kind::AnyBool, Json::Str(s)) if s == "true" => Slot::Bool(true),
            (Kind::AnyBool, Json::Str(s)) if s == "false" => Slot::Bool(false),
            (Kind::AnyText | Kind::AnyBool, _) => Slot::Absent,
        };
        Ok(slot)
    }
}

impl Payload {
    /// Parses and types the claims of a decoded payload in one pass.
    /// Absent claims are left for the checks to judge; a payload that is
    /// not a JSON object (duplicate keys refused), a claim of the table
    /// whose type a check relies on but which has another, and an empty or
    /// absent `sub` are `malformed_token`.
    pub(crate) fn parse(bytes: Vec<u8>) -> Result<Self, Error> {
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::malformed("the payload is not valid JSON: it is not UTF-8"))?;
        let mut slots = [Slot::Absent; CLAIM_COUNT];
        let mut reader = Reader {
            text: &text,
            items: Vec::with_capacity(16),
            decoded: String::new(),
        };
        let read = json::for_each_entry(&text, |name, value| {
            let Some(claim) = Claim::named(name) else {
                return Ok(KeyIs::Unknown);
            };
            slots[claim as usize] = reader.read(claim, &value)?;
            Ok(KeyIs::Known(claim as u8))
        });
        match read {
            Ok(()) => {}
            Err(EntriesError::Entry(refused)) => return Err(refused),
            // Says "expected a JSON object" for another JSON value.
            Err(EntriesError::Json(e)) => {
                return Err(Error::malformed(format!(
                    "the payload is not valid JSON: {e}"
                )));
            }
        }
        let (items, decoded) = (reader.items, reader.decoded);
        let json_len = u32::try_from(text.len())
            .ok()
            .filter(|len| *len < DECODED)
            .ok_or_else(|| Error::malformed("the payload is larger than 2 GiB"))?;
        let mut text = text;
        text.push_str(&decoded);
        let payload = Payload {
            slots,
            items: items.into_boxed_slice(),
            text: text.into_boxed_str(),
            json_len,
        };
        match payload.text_of(Claim::Sub) {
            Some(sub) if !sub.is_empty() => Ok(payload),
            _ => Err(Error::malformed(
                "the claim \"sub\" must be a non-empty string",
            )),
        }
    }

    fn slot(&self, claim: Claim) -> &Slot {
        &self.slots[claim as usize]
    }

    /// The string a span points at.
    fn get(&self, span: Span) -> &str {
        let (start, end) = match span.start & DECODED {
            0 => (span.start as usize, span.end as usize),
            // Decoded strings follow the JSON text.
            _ => {
                let after = self.json_len as usize;
                (
                    (span.start & !DECODED) as usize + after,
                    span.end as usize + after,
                )
            }
        };
        self.text.get(start..end).unwrap_or_default()
    }

    /// The payload's JSON text.
    pub(crate) fn json(&self) -> &str {
        self.text.get(..self.json_len as usize).unwrap_or_default()
    }

    /// A string claim, if present with that type.
    pub(crate) fn text_of(&self, claim: Claim) -> Option<&str> {
        match *self.slot(claim) {
            Slot::Text(span) => Some(self.get(span)),
            _ => None,
        }
    }

    /// A time claim, if present with that type.
    pub(crate) fn time_of(&self, claim: Claim) -> Option<NumericDate> {
        match *self.slot(claim) {
            Slot::Time { secs, subsec_nanos } => Some(NumericDate { secs, subsec_nanos }),
            _ => None,
        }
    }

    /// A list claim (`aud`, `scope`, `cognito:groups`); empty when absent.
    pub(crate) fn list_of(&self, claim: Claim) -> ClaimList<'_> {
        let items = match *self.slot(claim) {
            Slot::List { first, len } => {
                let (first, len) = (first as usize, len as usize);
                self.items.get(first..first + len).unwrap_or_default()
            }
            _ => &[],
        };
        ClaimList {
            payload: self,
            items,
        }
    }

    fn flag_of(&self, claim: Claim) -> Option<bool> {
        match *self.slot(claim) {
            Slot::Bool(flag) => Some(flag),
            _ => None,
        }
    }

    /// `token_use`, if it is `id` or `access`.
    pub(crate) fn token_use(&self) -> Option<TokenUse> {
        match self.text_of(Claim::TokenUse) {
            Some("id") => Some(TokenUse::Id),
            Some("access") => Some(TokenUse::Access),
            _ => None,
        }
    }

    /// The app client the token names, in the claim its use puts it in:
    /// `aud` for id tokens, `client_id` for access tokens.
    pub(crate) fn client_ids(&self, token_use: TokenUse) -> ClientIds<'_> {
        match token_use {
            TokenUse::Id => ClientIds::Aud(self.list_of(Claim::Aud)),
            TokenUse::Access => ClientIds::ClientId(self.text_of(Claim::ClientId)),
        }
    }
}

/// Reads every claim of the table, typed and as JSON, as if the payload
/// had been verified (for the fuzz target).
#[cfg(fuzzing)]
pub(crate) fn read_every_claim(payload: Payload) {
    for &claim in Claim::ALL {
        std::hint::black_box((
            payload.text_of(claim),
            payload.time_of(claim),
            payload.list_of(claim),
            payload.flag_of(claim),
        ));
    }
    let established = Established {
        token_use: payload.token_use().unwrap_or(TokenUse::Access),
        exp: payload
            .time_of(Claim::Exp)
            .unwrap_or(NumericDate::from_seconds(0)),
    };
    let claims = CognitoClaims::verified(payload, established);
    std::hint::black_box((
        claims.principal(),
        claims.client_id(),
        claims.extra().count(),
    ));
}

/// The app client ids of a token: every `aud` value of an id token, or the
/// `client_id` of an access token.
pub(crate) enum ClientIds<'a> {
    Aud(ClaimList<'a>),
    ClientId(Option<&'a str>),
}

impl<'a> ClientIds<'a> {
    /// The claim they come from.
    pub(crate) fn claim(&self) -> Claim {
        match self {
            ClientIds::Aud(_) => Claim::Aud,
            ClientIds::ClientId(_) => Claim::ClientId,
        }
    }

    /// The first (for an access token, the only) one.
    pub(crate) fn first(&self) -> Option<&'a str> {
        match self {
            ClientIds::Aud(aud) => aud.first(),
            ClientIds::ClientId(id) => *id,
        }
    }

    /// True when any of them is in `allowed`.
    pub(crate) fn any_in(&self, allowed: &[String]) -> bool {
        match self {
            ClientIds::Aud(aud) => aud.iter().any(|a| allowed.iter().any(|x| x == a)),
            ClientIds::ClientId(id) => id.is_some_and(|id| allowed.iter().any(|a| a == id)),
        }
    }
}

/// The values of a list claim of verified claims (`cognito:groups`, the
/// tokens of `scope`, `aud`), borrowed from them: iterate it, or compare it
/// with an array.
///
/// ```
/// # fn demo(claims: &cognito_verify::CognitoClaims) {
/// let groups = claims.groups();
/// if groups.contains("admin") {
///     println!("{} groups, the first {:?}", groups.len(), groups.first());
/// }
/// for group in groups {
///     println!("{group}");
/// }
/// let owned: Vec<String> = groups.to_vec();
/// # let _ = owned;
/// # }
/// ```
#[derive(Clone, Copy)]
pub struct ClaimList<'a> {
    payload: &'a Payload,
    items: &'a [Span],
}

impl<'a> ClaimList<'a> {
    /// How many values.
    #[must_use]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The values, in the token's order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &'a str> + Clone + 'a {
        let payload = self.payload;
        self.items.iter().map(move |span| payload.get(*span))
    }

    /// The first value.
    #[must_use]
    pub fn first(&self) -> Option<&'a str> {
        self.items.first().map(|span| self.payload.get(*span))
    }

    /// True when `value` is one of them.
    #[must_use]
    pub fn contains(&self, value: &str) -> bool {
        self.iter().any(|v| v == value)
    }

    /// The values, owned.
    #[must_use]
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }
}

impl<'a> IntoIterator for ClaimList<'a> {
    type Item = &'a str;
    type IntoIter = Box<dyn ExactSizeIterator<Item = &'a str> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl std::fmt::Debug for ClaimList<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl serde::Serialize for ClaimList<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<const N: usize> PartialEq<[&str; N]> for ClaimList<'_> {
    fn eq(&self, other: &[&str; N]) -> bool {
        self.len() == N && self.iter().zip(other).all(|(a, b)| a == *b)
    }
}

impl PartialEq<[String]> for ClaimList<'_> {
    fn eq(&self, other: &[String]) -> bool {
        self.len() == other.len() && self.iter().zip(other).all(|(a, b)| a == b)
    }
}

impl PartialEq for ClaimList<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

/// What the checks established about a token's claims, beyond their types.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Established {
    pub token_use: TokenUse,
    pub exp: NumericDate,
}

/// The claims of a verified Cognito id or access token.
///
/// Pre-token-generation triggers (Cognito's V2 and V3 events, see
/// <https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-pre-token-generation.html>)
/// may add and override claims with any JSON type. The claims a check reads (`sub`,
/// `iss`, `exp`, `nbf`, `iat`, `token_use`, `client_id`, `aud`, `scope`,
/// `cognito:groups`) must have their type, or the token is
/// `malformed_token`; an accessor of any other claim returns `None` for a
/// type it does not expect, and [`get`](Self::get) returns the value as the
/// token has it.
///
/// A value of this type only comes out of a successful verification (the
/// parser makes a type of its own, which the checks read), so the
/// accessors state what the checks established: `token_use` is `id` or
/// `access`, `iss` is a configured issuer, `exp` is present and was in the
/// future. Every claim, standard or not, stays readable through
/// [`get`](Self::get), [`extra`](Self::extra) and
/// [`deserialize`](Self::deserialize).
///
/// The claims the checks read are parsed into typed fields once; the
/// payload's text is kept beside them and turned into a map of every claim
/// only when [`get`](Self::get), [`extra`](Self::extra) or
/// [`as_map`](Self::as_map) first asks (once per verified token, since
/// cached tokens share their claims).
#[derive(Clone)]
pub struct CognitoClaims {
    payload: Payload,
    /// What the checks established: `exp` (in whole seconds) and `token_use`.
    exp: i64,
    token_use: TokenUse,
    /// Every claim, built from the payload's text on first use.
    all: OnceLock<Box<Map<String, Value>>>,
}

impl CognitoClaims {
    /// The claims of a token whose signature and built-in checks passed.
    pub(crate) fn verified(payload: Payload, established: Established) -> Self {
        CognitoClaims {
            payload,
            exp: established.exp.whole_seconds(),
            token_use: established.token_use,
            all: OnceLock::new(),
        }
    }

    /// The typed claims, for the checks a token-cache hit runs again.
    pub(crate) fn payload(&self) -> &Payload {
        &self.payload
    }

    fn text(&self, claim: Claim) -> Option<&str> {
        self.payload.text_of(claim)
    }

    fn time(&self, claim: Claim) -> Option<i64> {
        self.payload.time_of(claim).map(NumericDate::whole_seconds)
    }

    /// The subject (`sub`): for a user, the stable, unique id in the pool,
    /// the id to key a user's data by; for an app client acting for itself,
    /// its client id (see [`principal`](Self::principal)).
    pub fn sub(&self) -> &str {
        self.text(Claim::Sub).unwrap_or_default()
    }

    /// Who the token speaks for: an [`AppClient`](Principal::AppClient) for
    /// an access token whose `sub` is its own `client_id`, a
    /// [`User`](Principal::User) for every other token.
    ///
    /// The rule follows the shape of Cognito's machine-to-machine access
    /// tokens (the client-credentials grant and `GetClientToken`, see
    /// <https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-define-resource-servers.html>):
    /// AWS documents the grant but not the claims' values; the tokens carry
    /// the app client id in both `sub` and `client_id`, with no user name
    /// and no groups (as the MiniStack emulator reproduces them). A user's
    /// `sub` is a UUID, never an app client id, so the two do not meet, and
    /// the rule reads no claim a pre-token-generation trigger could add.
    /// For an issuer given by URL that shapes machine tokens otherwise,
    /// check `client_id` yourself.
    ///
    /// ```
    /// use cognito_verify::{CognitoClaims, Principal};
    ///
    /// fn owner(claims: &CognitoClaims) -> Option<&str> {
    ///     match claims.principal() {
    ///         Principal::User { sub, .. } => Some(sub),
    ///         Principal::AppClient { .. } => None, // a machine owns no videos
    ///         _ => None,
    ///     }
    /// }
    /// # let _ = owner;
    /// ```
    pub fn principal(&self) -> Principal<'_> {
        let sub = self.sub();
        match (self.token_use(), self.text(Claim::ClientId)) {
            (TokenUse::Access, Some(client_id)) if client_id == sub => {
                Principal::AppClient { client_id }
            }
            _ => Principal::User {
                sub,
                username: self.username(),
            },
        }
    }

    /// True for an app client acting for itself (machine to machine); see
    /// [`principal`](Self::principal).
    pub fn is_app_client(&self) -> bool {
        matches!(self.principal(), Principal::AppClient { .. })
    }

    /// The issuer (`iss`), one of the verifier's configured issuers.
    pub fn iss(&self) -> &str {
        self.text(Claim::Iss).unwrap_or_default()
    }

    /// Expiry (`exp`), in whole seconds since the Unix epoch.
    ///
    /// The four time accessors round a non-integer NumericDate down
    /// (`1795350075.5` reads `1795350075`); the checks use the exact value,
    /// and [`get`](Self::get) returns the claim as the token has it.
    pub fn exp(&self) -> i64 {
        self.exp
    }

    /// Issued at (`iat`), in whole seconds since the Unix epoch (rounded
    /// down, see [`exp`](Self::exp)).
    pub fn iat(&self) -> Option<i64> {
        self.time(Claim::Iat)
    }

    /// Not before (`nbf`), in whole seconds since the Unix epoch (rounded
    /// down, see [`exp`](Self::exp)).
    pub fn nbf(&self) -> Option<i64> {
        self.time(Claim::Nbf)
    }

    /// When the user authenticated (`auth_time`), in whole seconds since
    /// the Unix epoch (rounded down, see [`exp`](Self::exp)); `None` when
    /// absent (any other type is `malformed_token`).
    pub fn auth_time(&self) -> Option<i64> {
        self.time(Claim::AuthTime)
    }

    /// Whether this is an id or an access token (`token_use`).
    pub fn token_use(&self) -> TokenUse {
        self.token_use
    }

    /// The user name: `cognito:username` in id tokens, `username` in
    /// access tokens. Unlike [`sub`](Self::sub) it can be an alias chosen by
    /// the user; do not key data by it, nor authorize by it (it is for
    /// display). `None` when absent or not a string (the other spelling is
    /// read then).
    pub fn username(&self) -> Option<&str> {
        self.text(Claim::CognitoUsername)
            .or_else(|| self.text(Claim::Username))
    }

    /// The app client the token was issued to: `client_id` for access
    /// tokens, the (first) `aud` for id tokens.
    pub fn client_id(&self) -> Option<&str> {
        self.payload.client_ids(self.token_use()).first()
    }

    /// The audience (`aud`): one element for Cognito id tokens (the app
    /// client id); for access tokens the resource a client bound them to
    /// with a resource indicator (see
    /// [`PoolConfig::resource`](crate::PoolConfig::resource)), else empty.
    pub fn aud(&self) -> ClaimList<'_> {
        self.payload.list_of(Claim::Aud)
    }

    /// The scopes (`scope`, split on spaces); empty for id tokens.
    ///
    /// RFC 6749 §3.3 separates scope tokens by the space character
    /// (`%x20`) only: a tab or a line break is part of a scope token, so
    /// `"a\tb"` is the one scope `a\tb`. Repeated spaces separate no empty
    /// scope.
    pub fn scopes(&self) -> ClaimList<'_> {
        self.payload.list_of(Claim::Scope)
    }

    /// The user's groups (`cognito:groups`); empty when the user is in none.
    pub fn groups(&self) -> ClaimList<'_> {
        self.payload.list_of(Claim::Groups)
    }

    /// True when the user is in `group`.
    pub fn in_group(&self, group: &str) -> bool {
        self.groups().contains(group)
    }

    /// True when the token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().contains(scope)
    }

    /// The e-mail address (`email`, id tokens); `None` when absent or not a
    /// string.
    pub fn email(&self) -> Option<&str> {
        self.text(Claim::Email)
    }

    /// Whether the e-mail address was verified (`email_verified`, id
    /// tokens): a boolean, or the strings `"true"`/`"false"`; `None`
    /// otherwise.
    pub fn email_verified(&self) -> Option<bool> {
        self.payload.flag_of(Claim::EmailVerified)
    }

    /// The token's unique id (`jti`); `None` when absent (any other type
    /// than a string is `malformed_token`).
    pub fn jti(&self) -> Option<&str> {
        self.text(Claim::Jti)
    }

    /// The id of the refresh token's original authentication (`origin_jti`);
    /// revoking that refresh token revokes the tokens that carry it.
    pub fn origin_jti(&self) -> Option<&str> {
        self.text(Claim::OriginJti)
    }

    /// The sign-in event's id (`event_id`); `None` when absent or not a
    /// string.
    pub fn event_id(&self) -> Option<&str> {
        self.text(Claim::EventId)
    }

    /// Any claim by name, standard or not (`custom:tenant`, …).
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.as_map().get(name)
    }

    /// The claims the typed accessors do not read (`custom:*` attributes,
    /// `identities`, anything a pre-token-generation trigger added).
    pub fn extra(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.as_map()
            .iter()
            .filter(|(k, _)| Claim::named(k).is_none())
            .map(|(k, v)| (k.as_str(), v))
    }

    /// Every claim of the payload, exactly as the token carried it.
    pub fn as_map(&self) -> &Map<String, Value> {
        self.all.get_or_init(|| {
            // The text parsed as a JSON object when the token was verified,
            // so this cannot fail; an empty map would be the fallback.
            Box::new(serde_json::from_str(self.payload.json()).unwrap_or_default())
        })
    }

    /// The payload's JSON text, exactly as the token carried it (decoded
    /// from base64url): for passing the verified claims on as they are.
    ///
    /// ```
    /// # async fn demo(verifier: cognito_verify::Verifier, token: &str)
    /// # -> Result<(), Box<dyn std::error::Error>> {
    /// let claims = verifier.verify(token).await?;
    /// let parsed: serde_json::Value = serde_json::from_str(claims.as_json())?;
    /// assert_eq!(parsed["sub"], claims.sub());
    /// # Ok(()) }
    /// ```
    pub fn as_json(&self) -> &str {
        self.payload.json()
    }

    /// The claims as your own type.
    ///
    /// # Errors
    /// `claims_mismatch` when the claims do not fit `T` (a claim `T`
    /// requires is absent, or of another type): the application's schema
    /// and its tokens disagree, which is not the client's fault.
    ///
    /// ```
    /// # async fn demo(verifier: cognito_verify::Verifier, token: &str)
    /// # -> Result<(), cognito_verify::Error> {
    /// #[derive(serde::Deserialize)]
    /// struct MyClaims {
    ///     sub: String,
    ///     #[serde(rename = "custom:tenant")]
    ///     tenant: String,
    /// }
    /// let claims = verifier.verify(token).await?;
    /// let mine: MyClaims = claims.deserialize()?;
    /// # let _ = (mine.sub, mine.tenant);
    /// # Ok(()) }
    /// ```
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_str(self.payload.json()).map_err(|e| Error::ClaimsMismatch {
            reason: e.to_string(),
        })
    }
}

impl PartialEq for CognitoClaims {
    /// Equal when the payloads are the same text (every typed field is
    /// read from it).
    fn eq(&self, other: &Self) -> bool {
        self.payload.json() == other.payload.json()
    }
}

impl std::fmt::Debug for CognitoClaims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CognitoClaims")
            .field("claims", self.as_map())
            .finish()
    }
}

fn wrong_type(claim: &str, expected: &str) -> Error {
    Error::malformed(format!("the claim {claim:?} must be {expected}"))
}

/// A NumericDate (RFC 7519 §2): seconds since the Unix epoch, "a JSON
/// numeric value" that may be non-integer. Kept to the nanosecond, so the
/// time checks compare the stated value, not a rounded one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct NumericDate {
    /// Whole seconds since the Unix epoch, rounded down.
    secs: i64,
    /// Nanoseconds past `secs`, below one second.
    subsec_nanos: u32,
}

/// Largest magnitude of a non-integer NumericDate: 2^53 seconds (285
/// million years), past which an `f64` holds no fraction.
const MAX_FRACTIONAL_SECONDS: f64 = 9_007_199_254_740_992.0;

pub(crate) const NANOS_PER_SEC: i128 = 1_000_000_000;

impl NumericDate {
    /// An integer within `i64` exactly; a non-integer (or an integer written
    /// with a fraction or exponent) within ±2^53 seconds, to the nearest
    /// nanosecond. `None` for anything else.
    fn from_json(number: &serde_json::Number) -> Option<NumericDate> {
        if let Some(secs) = number.as_i64() {
            return Some(NumericDate::from_seconds(secs));
        }
        if number.is_u64() {
            return None; // an integer past i64
        }
        let value = number
            .as_f64()
            .filter(|v| v.abs() < MAX_FRACTIONAL_SECONDS)?;
        let whole = value.floor();
        // The fraction, rounded to the nanosecond: at today's dates an f64
        // resolves about a quarter of a microsecond, so the checks compare
        // the value the token states, to that precision. Both casts are
        // exact: |value| < 2^53 and the fraction is below 1e9.
        #[allow(clippy::cast_possible_truncation)]
        let fraction = ((value - whole) * 1e9).round() as i128;
        #[allow(clippy::cast_possible_truncation)]
        let whole = whole as i128;
        Some(NumericDate::from_nanos(whole * NANOS_PER_SEC + fraction))
    }

    pub(crate) fn from_seconds(secs: i64) -> NumericDate {
        NumericDate {
            secs,
            subsec_nanos: 0,
        }
    }

    /// Nanoseconds since the Unix epoch, saturating at the range of `i64`
    /// seconds.
    pub(crate) fn from_nanos(nanos: i128) -> NumericDate {
        let secs = nanos.div_euclid(NANOS_PER_SEC);
        match i64::try_from(secs) {
            Ok(secs) => NumericDate {
                secs,
                subsec_nanos: u32::try_from(nanos.rem_euclid(NANOS_PER_SEC)).unwrap_or(0),
            },
            Err(_) if nanos < 0 => NumericDate::from_seconds(i64::MIN),
            Err(_) => NumericDate::from_seconds(i64::MAX),
        }
    }

    pub(crate) fn nanos(self) -> i128 {
        i128::from(self.secs) * NANOS_PER_SEC + i128::from(self.subsec_nanos)
    }

    /// Whole seconds, rounded down.
    pub(crate) fn whole_seconds(self) -> i64 {
        self.secs
    }
}

/// What a NumericDate claim must be, in the words of the error.
const NUMERIC_DATE_RULE: &str =
    "a number of seconds (an integer within 64 bits, or a fraction within 2^53 seconds)";

/// A time claim. Non-numbers and values out of range are refused rather
/// than rounded.
fn time(claim: &str, value: &Json<'_>) -> Result<NumericDate, Error> {
    match value {
        Json::Number(n) => NumericDate::from_json(n),
        _ => None,
    }
    .ok_or_else(|| wrong_type(claim, NUMERIC_DATE_RULE))
}

/// A time claim of a token parsed into [`serde_json::Value`]s (the ALB
/// verifier's), by the same rule as [`time`]: `None` when absent, and
/// `malformed_token` for any value that is not a NumericDate.
pub(crate) fn time_in(
    object: &serde_json::Map<String, serde_json::Value>,
    claim: &str,
) -> Result<Option<NumericDate>, Error> {
    match object.get(claim) {
        None => Ok(None),
        Some(serde_json::Value::Number(n)) => NumericDate::from_json(n)
            .map(Some)
            .ok_or_else(|| wrong_type(claim, NUMERIC_DATE_RULE)),
        Some(_) => Err(wrong_type(claim, NUMERIC_DATE_RULE)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<CognitoClaims, Error> {
        from_text(&v.to_string())
    }

    /// Claims as a verification would make them (with `exp` 0 when absent).
    fn from_text(text: &str) -> Result<CognitoClaims, Error> {
        let payload = Payload::parse(text.as_bytes().to_vec())?;
        let established = Established {
            token_use: payload.token_use().unwrap_or(TokenUse::Access),
            exp: payload
                .time_of(Claim::Exp)
                .unwrap_or(NumericDate::from_seconds(0)),
        };
        Ok(CognitoClaims::verified(payload, established))
    }

    #[test]
    fn reads_an_access_token() {
        let c = parse(json!({
            "sub": "u1", "iss": "i", "exp": 10, "token_use": "access",
            "client_id": "c", "scope": "a  b c", "username": "bob",
            "cognito:groups": ["g"], "custom:tenant": "t1"
        }))
        .unwrap();
        assert_eq!(c.token_use(), TokenUse::Access);
        assert_eq!(c.scopes(), ["a", "b", "c"]);
        assert_eq!(c.client_id(), Some("c"));
        assert_eq!(c.username(), Some("bob"));
        assert!(c.in_group("g"));
        let extra: Vec<_> = c.extra().collect();
        assert_eq!(extra, vec![("custom:tenant", &json!("t1"))]);
    }

    #[test]
    fn keeps_the_payload_text_and_builds_the_map_on_first_use() {
        let text = r#"{"sub":"u1","exp":10,"custom:n":{"deep":[1,"x\u0041"]}}"#;
        let c = from_text(text).unwrap();
        assert_eq!(c.as_json(), text);
        assert!(c.all.get().is_none(), "built before it was asked for");
        assert_eq!(c.get("custom:n"), Some(&json!({"deep": [1, "xA"]})));
        assert_eq!(
            Value::Object(c.as_map().clone()),
            serde_json::from_str::<Value>(text).unwrap()
        );
        #[derive(serde::Deserialize)]
        struct Mine {
            sub: String,
            #[serde(rename = "custom:n")]
            n: Value,
        }
        let mine: Mine = c.deserialize().unwrap();
        assert_eq!(
            (mine.sub.as_str(), &mine.n["deep"][1]),
            ("u1", &json!("xA"))
        );
        assert!(c.deserialize::<Vec<u8>>().is_err());
        // Equality is by payload; Debug shows the claims.
        let same = from_text(text).unwrap();
        assert_eq!(c, same);
        assert!(format!("{same:?}").contains("custom:n"));
    }

    #[test]
    fn reads_escaped_and_plain_strings_alike() {
        let text = r#"{"sub":"u\u0031","iss":"https://i","jti":"\"j\"","username":"b\u00f6b","client_id":"c"}"#;
        let c = from_text(text).unwrap();
        let span = |claim| match *c.payload().slot(claim) {
            Slot::Text(span) => span.start & DECODED,
            _ => panic!("{claim:?} is not a string"),
        };
        assert_eq!(span(Claim::Sub), DECODED, "escaped: decoded");
        assert_eq!(span(Claim::Iss), 0, "plain: in the text");
        assert_eq!(c.sub(), "u1");
        assert_eq!(c.iss(), "https://i");
        assert_eq!(c.jti(), Some("\"j\""));
        assert_eq!(c.username(), Some("böb"));
        assert_eq!(c.payload().text_of(Claim::ClientId), Some("c"));
        assert_eq!(c.email(), None);
        // A clone reads the same text.
        let copy = c.clone();
        assert_eq!((copy.sub(), copy.iss()), ("u1", "https://i"));
    }

    #[test]
    fn reads_an_id_token_with_array_aud() {
        let c = parse(json!({
            "sub": "u1", "token_use": "id", "aud": ["c1", "c2"],
            "cognito:username": "alice", "email_verified": "true"
        }))
        .unwrap();
        assert_eq!(c.client_id(), Some("c1"));
        assert_eq!(c.username(), Some("alice"));
        assert_eq!(c.email_verified(), Some(true));
    }

    #[test]
    fn refuses_claims_of_the_wrong_type() {
        for bad in [
            json!({"sub": 1}),
            json!({"sub": ""}),
            json!({}),
            json!({"sub": "u", "exp": "10"}),
            json!({"sub": "u", "exp": 1e30}),
            json!({"sub": "u", "exp": -1e16}),
            json!({"sub": "u", "exp": 9_223_372_036_854_775_808u64}),
            json!({"sub": "u", "exp": [1]}),
            json!({"sub": "u", "exp": true}),
            json!({"sub": "u", "nbf": null}),
            json!({"sub": "u", "iat": "1.5"}),
            json!({"sub": "u", "iss": ["a"]}),
            json!({"sub": "u", "aud": 5}),
            json!({"sub": "u", "aud": ["a", 5]}),
            json!({"sub": "u", "cognito:groups": "admin"}),
            json!({"sub": "u", "scope": ["a"]}),
            json!({"sub": "u", "token_use": null}),
        ] {
            let err = parse(bad.clone()).unwrap_err();
            assert_eq!(err.kind(), "malformed_token", "{bad}");
        }
    }

    /// The revocation check reads `jti`, `origin_jti` and `auth_time`:
    /// they must have their types (RFC 7519 §4.1.7: `jti` is a string;
    /// `auth_time` a NumericDate, OpenID Connect Core §2). A
    /// pre-token-generation trigger cannot change them: the Cognito
    /// developer guide's page on that trigger lists `auth_time`, `jti` and
    /// `origin_jti` among the claims it cannot modify.
    #[test]
    fn claims_the_revocation_check_reads_must_have_their_types() {
        for (claim, value) in [
            ("jti", json!(1)),
            ("jti", json!(["a"])),
            ("jti", json!(null)),
            ("origin_jti", json!(true)),
            ("origin_jti", json!({"a": 1})),
            ("auth_time", json!("1700000000")),
            ("auth_time", json!([1])),
        ] {
            let err = parse(json!({"sub": "u1", claim: value})).err().unwrap();
            assert_eq!(err.kind(), "malformed_token", "{claim}: {value}");
            assert!(err.to_string().contains(claim), "{err}");
        }
        let c = parse(json!({
            "sub": "u1", "jti": "j1", "origin_jti": "o1", "auth_time": 1_700_000_000
        }))
        .unwrap();
        assert_eq!(
            (c.jti(), c.origin_jti(), c.auth_time()),
            (Some("j1"), Some("o1"), Some(1_700_000_000))
        );
    }

    #[test]
    fn claims_no_check_reads_may_have_any_type() {
        for value in [
            json!(1),
            json!(true),
            json!(null),
            json!([1, "a"]),
            json!({"a": 1}),
            json!(1.5),
        ] {
            let c = parse(json!({
                "sub": "u1", "email": value, "email_verified": value,
                "event_id": value, "username": value, "cognito:username": value,
            }))
            .unwrap();
            assert_eq!((c.email(), c.event_id()), (None, None), "{value}");
            assert_eq!(c.email_verified(), value.as_bool());
            assert_eq!(c.username(), None, "{value}");
            assert_eq!(c.get("email"), Some(&value));
        }
        // A username of another type gives way to the other spelling.
        let c = parse(json!({"sub": "u", "cognito:username": 5, "username": "bob"})).unwrap();
        assert_eq!(c.username(), Some("bob"));
    }

    #[test]
    fn splits_scopes_on_spaces_only() {
        let c = parse(json!({
            "sub": "u1", "scope": "  a\tb  c\nd   e\u{b}f\rg "
        }))
        .unwrap();
        assert_eq!(c.scopes(), ["a\tb", "c\nd", "e\u{b}f\rg"]);
        assert!(c.has_scope("a\tb"));
        assert!(!c.has_scope("a"), "a tab does not separate scope tokens");
        assert!(!c.has_scope("b"));
        assert!(
            !c.has_scope("c"),
            "a line break does not separate scope tokens"
        );
        let spaces = parse(json!({"sub": "u1", "scope": "   "})).unwrap();
        assert!(spaces.scopes().is_empty());
    }

    #[test]
    fn reads_non_integer_numeric_dates_exactly() {
        let c = parse(json!({
            "sub": "u1", "exp": 1_795_350_075.5, "nbf": 1_700_000_000.25,
            "iat": 1e9, "auth_time": -0.5
        }))
        .unwrap();
        let nanos = |claim| c.payload().time_of(claim).map(NumericDate::nanos);
        assert_eq!(nanos(Claim::Exp), Some(1_795_350_075_500_000_000));
        assert_eq!(nanos(Claim::Nbf), Some(1_700_000_000_250_000_000));
        assert_eq!(nanos(Claim::Iat), Some(1_000_000_000_000_000_000));
        assert_eq!(nanos(Claim::AuthTime), Some(-500_000_000));
        // Accessors round down to whole seconds.
        assert_eq!(c.exp(), 1_795_350_075);
        assert_eq!(c.nbf(), Some(1_700_000_000));
        assert_eq!(c.iat(), Some(1_000_000_000));
        assert_eq!(c.auth_time(), Some(-1));
        // The claim itself is kept as the token has it.
        assert_eq!(c.get("exp"), Some(&json!(1_795_350_075.5)));
        let whole = parse(json!({"sub": "u1", "exp": i64::MAX, "nbf": i64::MIN})).unwrap();
        assert_eq!((whole.exp(), whole.nbf()), (i64::MAX, Some(i64::MIN)));
    }

    #[test]
    fn tells_users_and_app_clients_apart() {
        let machine = parse(json!({
            "sub": "4kq1s3m5example", "client_id": "4kq1s3m5example",
            "token_use": "access", "scope": "videos/read"
        }))
        .unwrap();
        assert_eq!(
            machine.principal(),
            Principal::AppClient {
                client_id: "4kq1s3m5example"
            }
        );
        assert!(machine.is_app_client());
        let user = parse(json!({
            "sub": "0e6c5a1a-user", "client_id": "4kq1s3m5example",
            "token_use": "access", "username": "alice"
        }))
        .unwrap();
        assert_eq!(
            user.principal(),
            Principal::User {
                sub: "0e6c5a1a-user",
                username: Some("alice")
            }
        );
        // An id token is a user's, whatever its claims say.
        let id = parse(json!({
            "sub": "4kq1s3m5example", "aud": "4kq1s3m5example", "token_use": "id",
            "client_id": "4kq1s3m5example"
        }))
        .unwrap();
        assert!(!id.is_app_client());
    }
}

#[cfg(test)]
mod table_tests {
    use super::*;

    #[test]
    fn every_claim_of_the_table_is_found_by_its_name() {
        for &claim in Claim::ALL {
            assert_eq!(Claim::named(claim.name()), Some(claim));
        }
        assert_eq!(Claim::named("custom:tenant"), None);
    }
}
