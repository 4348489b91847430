//! Strict JSON: parsed once, strings borrowed from the input where they
//! have no escapes, duplicate object keys refused at every depth.
//!
//! Parsers disagree on which of two duplicate keys wins
//! (`{"sub":"a","sub":"b"}`), which lets a token mean one thing to a gateway
//! and another to a service, so a document with one is refused outright.
//! Depth is bounded by `serde_json`'s recursion limit (128).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// A parsed JSON value whose strings borrow from the input where they can.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json<'a> {
    Null,
    Bool(bool),
    Number(Number),
    Str(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    /// Entries in document order; keys are unique.
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

impl<'a> Json<'a> {
    /// Parses a whole document (trailing characters other than whitespace
    /// are refused).
    pub(crate) fn parse(text: &'a str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The entries of an object, `None` for any other value.
    pub(crate) fn into_object(self) -> Option<Vec<(Cow<'a, str>, Json<'a>)>> {
        match self {
            Json::Object(entries) => Some(entries),
            _ => None,
        }
    }

    /// The value as a [`serde_json::Value`] (owned).
    pub(crate) fn into_value(self) -> Value {
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(b),
            Json::Number(n) => Value::Number(n),
            Json::Str(s) => Value::String(s.into_owned()),
            Json::Array(items) => Value::Array(items.into_iter().map(Json::into_value).collect()),
            Json::Object(entries) => Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.into_owned(), v.into_value()))
                    .collect::<Map<_, _>>(),
            ),
        }
    }
}

/// Parses JSON into a [`Value`], refusing duplicate object keys at any depth.
pub(crate) fn strict_value(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    serde_json::from_slice(bytes).map(Json::into_value)
}

impl<'de> de::Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Json<'de>, E> {
        // serde_json never yields a non-finite float.
        Ok(Number::from_f64(v).map_or(Json::Null, Json::Number))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Json<'de>, A::Error> {
        // Room for a Cognito token's claims without growing (a growth
        // copies every entry).
        let mut entries: Vec<(Cow<'de, str>, Json<'de>)> = Vec::with_capacity(24);
        while let Some(Key(key)) = access.next_key()? {
            let value = access.next_value()?;
            entries.push((key, value));
        }
        if let Some(key) = duplicate(&entries, |(key, _)| key) {
            return Err(duplicate_error(key));
        }
        Ok(Json::Object(entries))
    }
}

/// A key that appears twice among `items`, if any: pairwise for the usual
/// handful of keys, sorted beyond that so that a hostile object stays
/// O(n log n).
fn duplicate<'e, T>(items: &'e [T], key_of: impl Fn(&'e T) -> &'e Cow<'e, str>) -> Option<&'e str> {
    if items.len() <= 16 {
        items.iter().enumerate().find_map(|(i, item)| {
            let key = key_of(item);
            items[i + 1..]
                .iter()
                .any(|other| key_of(other) == key)
                .then_some(key.as_ref())
        })
    } else {
        let mut keys: Vec<&str> = items.iter().map(|item| key_of(item).as_ref()).collect();
        keys.sort_unstable();
        keys.windows(2).find(|w| w[0] == w[1]).map(|w| w[0])
    }
}

fn duplicate_error<E: de::Error>(key: &str) -> E {
    E::custom(format_args!(
        "duplicate key {:?}",
        crate::error::Echo::some(key).as_deref().unwrap_or_default()
    ))
}

/// Why [`for_each_entry`] stopped.
pub(crate) enum EntriesError<E> {
    /// The text is not a strict JSON object.
    Json(serde_json::Error),
    /// `on_entry` refused an entry.
    Entry(E),
}

/// What `on_entry` of [`for_each_entry`] made of a top-level key.
pub(crate) enum KeyIs {
    /// One of the caller's fixed names, numbered below 64: a second entry
    /// with the same number is a duplicate, found without comparing keys.
    Known(u8),
    /// Any other key: compared with the other unknown keys at the end.
    Unknown,
}

/// Reads a document that must be a JSON object, handing each entry to
/// `on_entry` as it is parsed, in document order, without keeping the
/// entries: the same strictness as [`Json::parse`] (duplicate keys refused
/// at every depth, trailing characters refused), one allocation fewer per
/// entry. A duplicate unknown top-level key is found after the entries were
/// handed over, so the caller must drop what it built when this fails.
pub(crate) fn for_each_entry<'a, E>(
    text: &'a str,
    on_entry: impl FnMut(&str, Json<'a>) -> Result<KeyIs, E>,
) -> Result<(), EntriesError<E>> {
    let mut refused = None;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let visitor = EntryVisitor {
        on_entry,
        refused: &mut refused,
    };
    let parsed = de::Deserializer::deserialize_map(&mut deserializer, visitor)
        .and_then(|()| deserializer.end());
    match (parsed, refused) {
        (_, Some(refusal)) => Err(EntriesError::Entry(refusal)),
        (Err(e), None) => Err(EntriesError::Json(e)),
        (Ok(()), None) => Ok(()),
    }
}

struct EntryVisitor<'r, F, E> {
    on_entry: F,
    refused: &'r mut Option<E>,
}

impl<'de, F, E> Visitor<'de> for EntryVisitor<'_, F, E>
where
    F: FnMut(&str, Json<'de>) -> Result<KeyIs, E>,
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut access: A) -> Result<(), A::Error> {
        let mut known_seen = 0u64;
        let mut unknown_keys: Vec<Cow<'de, str>> = Vec::new();
        while let Some(Key(key)) = access.next_key()? {
            let value = access.next_value()?;
            match (self.on_entry)(&key, value) {
                Ok(KeyIs::Known(number)) => {
                    let bit = 1u64 << (number % 64);
                    if known_seen & bit != 0 {
                        return Err(duplicate_error(&key));
                    }
                    known_seen |= bit;
                }
                Ok(KeyIs::Unknown) => unknown_keys.push(key),
                Err(refusal) => {
                    *self.refused = Some(refusal);
                    return Err(de::Error::custom("entry refused"));
                }
            }
        }
        match duplicate(&unknown_keys, |key| key) {
            Some(key) => Err(duplicate_error(key)),
            None => Ok(()),
        }
    }
}

/// An object key, borrowed from the input when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrows_plain_strings_and_decodes_escaped_ones() {
        let text = r#"{"a":"plain","b\u0041":"esc\n","n":[1,-2,1.5,18446744073709551615]}"#;
        let entries = Json::parse(text).unwrap().into_object().unwrap();
        assert!(matches!(&entries[0].0, Cow::Borrowed("a")));
        assert!(matches!(&entries[0].1, Json::Str(Cow::Borrowed("plain"))));
        assert!(matches!(&entries[1].0, Cow::Owned(k) if k == "bA"));
        assert!(matches!(&entries[1].1, Json::Str(Cow::Owned(s)) if s == "esc\n"));
        let expected: Value = serde_json::from_str(text).unwrap();
        assert_eq!(strict_value(text.as_bytes()).unwrap(), expected);
    }

    #[test]
    fn refuses_duplicate_keys_in_small_and_large_objects() {
        for doc in [
            r#"{"a":1,"a":2}"#.to_owned(),
            r#"{"x":{"a":1,"b":{"c":[{"d":1,"d":1}]}}}"#.to_owned(),
            // Escapes do not hide a duplicate.
            r#"{"sub":"a","s\u0075b":"b"}"#.to_owned(),
            format!(
                "{{{},\"k7\":0}}",
                (0..40)
                    .map(|i| format!("\"k{i}\":0"))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        ] {
            let err = strict_value(doc.as_bytes()).unwrap_err();
            assert!(err.to_string().contains("duplicate key"), "{doc}: {err}");
        }
        let many = format!(
            "{{{}}}",
            (0..40)
                .map(|i| format!("\"k{i}\":0"))
                .collect::<Vec<_>>()
                .join(",")
        );
        assert_eq!(Json::parse(&many).unwrap().into_object().unwrap().len(), 40);
    }
}
