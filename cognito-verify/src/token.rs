//! Compact JWS: split, base64url-decode, strict JSON, header fields.

use serde_json::{Map, Value};

use crate::Error;
use crate::claims::Payload;
use crate::json::{self, Json};

/// A token split and decoded, not yet verified.
pub(crate) struct Parsed<'a> {
    /// `<header>.<payload>`: the bytes the signature covers.
    pub signing_input: &'a [u8],
    pub signature: Vec<u8>,
    /// The header's `alg`.
    pub alg: Alg,
    /// The header's `kid`, if it is a string.
    pub kid: Option<String>,
    /// The claims, typed, not verified.
    pub payload: Payload,
}

/// A header's `alg`: RS256 (the one this verifier accepts, kept without a
/// copy), another, or none.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Alg {
    Rs256,
    Other(String),
    Absent,
}

impl Alg {
    /// The value as the header has it.
    pub(crate) fn as_deref(&self) -> Option<&str> {
        match self {
            Alg::Rs256 => Some("RS256"),
            Alg::Other(other) => Some(other),
            Alg::Absent => None,
        }
    }
}

/// Splits and decodes a compact JWS. Every failure is `malformed_token`;
/// the size cap is the caller's, checked before.
pub(crate) fn parse(token: &[u8]) -> Result<Parsed<'_>, Error> {
    let Segments {
        header: header_b64,
        payload: payload_b64,
        signature: signature_b64,
    } = split(token)?;
    let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];

    let header_text = String::from_utf8(decode_segment(header_b64, "header")?)
        .map_err(|_| Error::malformed("the header is not valid JSON: it is not UTF-8"))?;
    let header = Json::parse(&header_text)
        .map_err(|e| Error::malformed(format!("the header is not valid JSON: {e}")))?
        .into_object()
        .ok_or_else(|| Error::malformed("the header is not a JSON object"))?;
    let payload = Payload::parse(decode_segment(payload_b64, "payload")?)?;
    // An empty signature (as in `alg: none` tokens) is left for the `alg`
    // and signature checks to refuse, with their own kinds.
    let signature = decode_segment(signature_b64, "signature")?;

    let (mut alg, mut kid) = (Alg::Absent, None);
    for (name, value) in &header {
        match (name.as_ref(), value) {
            ("alg", Json::Str(a)) if a == "RS256" => alg = Alg::Rs256,
            ("alg", Json::Str(a)) => alg = Alg::Other(a.to_string()),
            ("alg", _) => return Err(Error::malformed("the header's \"alg\" must be a string")),
            ("kid", Json::Str(k)) => kid = Some(k.to_string()),
            // RFC 7515 §4.1.11: a recipient must refuse critical extensions
            // it does not understand, and this verifier understands none.
            ("crit", _) => {
                return Err(Error::malformed(
                    "the header has \"crit\" extensions, which this verifier does not support",
                ));
            }
            _ => {}
        }
    }

    Ok(Parsed {
        signing_input,
        signature,
        alg,
        kid,
        payload,
    })
}

/// A token's header and payload, decoded but **not verified**.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Unverified {
    /// The JOSE header.
    pub header: Map<String, Value>,
    /// The claims, as the token carries them.
    pub payload: Map<String, Value>,
}

/// Decodes a token's header and payload **without verifying anything**: no
/// signature, no issuer, no expiry. For looking at a token while debugging
/// (the `cognito-verify decode` command); never for deciding whom to trust.
/// # Errors
/// `malformed_token` when the token is not three base64url segments with
/// JSON-object header and payload (duplicate keys refused).
///
/// ```
/// let token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2ln";
/// let decoded = cognito_verify::decode_unverified(token)?;
/// assert_eq!(decoded.payload["sub"], "u1");
/// # Ok::<(), cognito_verify::Error>(())
/// ```
pub fn decode_unverified(token: &str) -> Result<Unverified, Error> {
    let Segments {
        header, payload, ..
    } = split(token.as_bytes())?;
    Ok(Unverified {
        header: decode_object(header, "header")?,
        payload: decode_object(payload, "payload")?,
    })
}

/// The three segments of a compact JWS, still base64url.
pub(crate) struct Segments<'a> {
    pub header: &'a [u8],
    pub payload: &'a [u8],
    pub signature: &'a [u8],
}

/// The three segments of a compact JWS.
pub(crate) fn split(token: &[u8]) -> Result<Segments<'_>, Error> {
    let mut dots = memchr::memchr_iter(b'.', token);
    match (dots.next(), dots.next(), dots.next()) {
        (Some(first), Some(second), None) => Ok(Segments {
            header: &token[..first],
            payload: &token[first + 1..second],
            signature: &token[second + 1..],
        }),
        _ => Err(Error::malformed(
            "a token is three base64url segments separated by '.'",
        )),
    }
}

/// The signing input (`<header>.<payload>`) and the signature segment of
/// what may be a token; `None` without a '.'.
pub(crate) fn signing_input_and_signature(token: &[u8]) -> Option<(&[u8], &[u8])> {
    let last = memchr::memrchr(b'.', token)?;
    Some((&token[..last], &token[last + 1..]))
}

/// A segment decoded from unpadded base64url (RFC 7515 §2), canonical
/// only: padding, other alphabets and non-zero trailing bits are refused.
fn decode_segment(segment: &[u8], what: &str) -> Result<Vec<u8>, Error> {
    base64_simd::URL_SAFE_NO_PAD
        .decode_to_vec(segment)
        .map_err(|_| Error::malformed(format!("the {what} is not unpadded base64url")))
}

fn decode_object(segment: &[u8], what: &str) -> Result<Map<String, Value>, Error> {
    let bytes = decode_segment(segment, what)?;
    match json::strict_value(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::malformed(format!("the {what} is not a JSON object"))),
        Err(e) => Err(Error::malformed(format!(
            "the {what} is not valid JSON: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn token(header: &str, payload: &str) -> String {
        format!("{}.{}.{}", b64(header), b64(payload), b64("sig"))
    }

    #[test]
    fn splits_and_decodes_a_well_formed_token() {
        let t = token(r#"{"alg":"RS256","kid":"k1"}"#, r#"{"sub":"u","exp":5}"#);
        let p = parse(t.as_bytes()).unwrap();
        assert_eq!(p.alg.as_deref(), Some("RS256"));
        assert_eq!(p.kid.as_deref(), Some("k1"));
        assert_eq!(p.payload.text_of(crate::claims::Claim::Sub), Some("u"));
        assert_eq!(p.signature, b"sig");
        assert_eq!(p.signing_input, t.rsplit_once('.').unwrap().0.as_bytes());
    }

    #[test]
    fn refuses_wrong_segment_counts_and_encodings() {
        let good = token(r#"{"alg":"RS256"}"#, r#"{"sub":"u"}"#);
        let (h, rest) = good.split_once('.').unwrap();
        let (p, s) = rest.split_once('.').unwrap();
        for bad in [
            String::new(),
            "a.b".to_owned(),
            format!("{good}.x"),
            format!("{h}=.{p}.{s}"),
            format!("{h}.{p}.{s}=="),
            format!("{h}.{p}.{}", "+/+/"),
            format!(" {good}"),
            format!("{h}.{}.{s}", b64("[1]")),
            format!("{}.{p}.{s}", b64("\"s\"")),
            format!("{h}.{}.{s}", b64("{\"sub\":\"u\"} trailing")),
            format!("{h}.{}.{s}", URL_SAFE_NO_PAD.encode([0xff, 0xfe])),
            // Non-canonical: trailing bits set ("QR" would decode as "QQ").
            format!("{h}.{p}.QR"),
            format!("{h}.{p}.QUR"),
            format!("{h}.{p}.Q"),
        ] {
            let err = parse(bad.as_bytes()).err().map(|e| e.kind());
            assert_eq!(err, Some("malformed_token"), "{bad:?}");
        }
    }

    #[test]
    fn refuses_duplicate_keys_at_any_depth() {
        for (h, p) in [
            (r#"{"alg":"RS256","alg":"none"}"#, r#"{"sub":"u"}"#),
            (r#"{"alg":"RS256"}"#, r#"{"sub":"a","sub":"b"}"#),
            // A claim of the table, named with an escape the second time.
            (r#"{"alg":"RS256"}"#, r#"{"sub":"a","s\u0075b":"b"}"#),
            // One the parser skips for its type, twice.
            (r#"{"alg":"RS256"}"#, r#"{"sub":"a","email":1,"email":2}"#),
            // A claim outside the table, twice, among claims of the table.
            (r#"{"alg":"RS256"}"#, r#"{"x":1,"sub":"a","iss":"i","x":2}"#),
            (r#"{"alg":"RS256"}"#, r#"{"sub":"a","x":{"y":1,"y":2}}"#),
            (r#"{"alg":"RS256"}"#, r#"{"sub":"a","x":[{"y":1,"y":1}]}"#),
        ] {
            let err = parse(token(h, p).as_bytes()).err().unwrap();
            assert_eq!(err.kind(), "malformed_token");
            assert!(err.to_string().contains("duplicate key"), "{err}");
        }
    }

    #[test]
    fn refuses_deep_nesting_without_overflowing_the_stack() {
        let deep = format!(
            r#"{{"sub":"u","x":{}{}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let err = parse(token(r#"{"alg":"RS256"}"#, &deep).as_bytes())
            .err()
            .unwrap();
        assert_eq!(err.kind(), "malformed_token");
    }

    #[test]
    fn refuses_crit_and_non_string_alg() {
        for h in [r#"{"alg":"RS256","crit":["exp"]}"#, r#"{"alg":256}"#] {
            let err = parse(token(h, r#"{"sub":"u"}"#).as_bytes()).err().unwrap();
            assert_eq!(err.kind(), "malformed_token");
        }
    }
}
