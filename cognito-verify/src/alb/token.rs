//! An ALB token (`x-amzn-oidc-data`): three base64url segments **with**
//! `=` padding, an ES256 header with the load balancer's fields, and the
//! user's claims.
//!
//! AWS: "The JWT format includes a header, payload, and signature that are
//! base64 URL encoded, and includes padding characters at the end. An
//! Application Load Balancer uses ES256 (ECDSA using P-256 and SHA256) to
//! generate the JWT signature" (user guide, "Authenticate users using an
//! Application Load Balancer"). RFC 7515 §2 forbids the padding, so this
//! parser is ALB's alone: it takes each segment only in its canonical padded
//! form (the length a multiple of four, `=` exactly where the length needs
//! it, no other alphabet, no stray bits), and the Cognito parser still
//! refuses padding. The signature covers the segments as received, padding
//! included.

use serde_json::{Map, Value};

use crate::Error;
use crate::claims::{NumericDate, time_in};
use crate::error::Echo;
use crate::json;
use crate::token::{Segments, split};

/// The header fields of an ALB token (the user guide's list: `alg`, `kid`,
/// `signer`, `iss`, `client`, `exp`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AlbHeader {
    /// A UUID (checked): it names the key's URL.
    pub kid: String,
    /// The load balancer's ARN.
    pub signer: String,
    /// The identity provider's issuer.
    pub iss: String,
    /// The OIDC client id the load balancer signed in with.
    pub client: String,
    /// Expiry: a NumericDate (RFC 7519 §2), which may be non-integer.
    pub exp: NumericDate,
}

/// The token's times, typed as NumericDates (RFC 7519 §4.1.4–§4.1.6: a JSON
/// number, integer or not, by the same rule as the Cognito verifier's; any
/// other type is `malformed_token`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AlbTimes {
    /// The earliest expiry stated: the header's `exp`, and the payload's if
    /// it has one.
    pub exp: NumericDate,
    /// The payload's `nbf`, if any.
    pub nbf: Option<NumericDate>,
}

/// An ALB token split, decoded and typed, not verified.
pub(crate) struct AlbToken<'a> {
    /// `<header>.<payload>` as received (padding included).
    pub signing_input: &'a [u8],
    /// `R ‖ S`, 64 bytes.
    pub signature: Vec<u8>,
    pub header: AlbHeader,
    /// The user's claims (from the identity provider's user info).
    pub payload: Map<String, Value>,
    pub times: AlbTimes,
}

/// The length of an ES256 signature in JWS form (RFC 7518 §3.4).
const ES256_SIGNATURE_BYTES: usize = 64;

/// Splits, decodes and types an ALB token. Every failure is
/// `malformed_token`, but for an `alg` other than ES256
/// (`unsupported_algorithm`) and a header without a string `kid`
/// (`missing_kid`).
pub(crate) fn parse(token: &[u8]) -> Result<AlbToken<'_>, Error> {
    let Segments {
        header,
        payload,
        signature,
    } = split(token)?;
    let signing_input = &token[..header.len() + 1 + payload.len()];
    let header = header_fields(object(header, "header")?)?;
    let payload = object(payload, "payload")?;
    match payload.get("sub") {
        Some(Value::String(sub)) if !sub.is_empty() => {}
        _ => {
            return Err(Error::malformed(
                "the claim \"sub\" must be a non-empty string",
            ));
        }
    }
    let payload_exp = time_in(&payload, "exp")?;
    let nbf = time_in(&payload, "nbf")?;
    // `iat` is checked for its type only: the user info an ALB forwards
    // rarely has one, and it decides nothing here.
    time_in(&payload, "iat")?;
    let times = AlbTimes {
        exp: payload_exp.map_or(header.exp, |exp| exp.min(header.exp)),
        nbf,
    };
    let signature = decode_padded(signature, "signature")?;
    if signature.len() != ES256_SIGNATURE_BYTES {
        return Err(Error::malformed(format!(
            "an ES256 signature is {ES256_SIGNATURE_BYTES} bytes (R and S), not {}",
            signature.len()
        )));
    }
    Ok(AlbToken {
        signing_input,
        signature,
        header,
        payload,
        times,
    })
}

/// A segment in canonical padded base64url.
fn decode_padded(segment: &[u8], what: &str) -> Result<Vec<u8>, Error> {
    base64_simd::URL_SAFE.decode_to_vec(segment).map_err(|_| {
        Error::malformed(format!(
            "the {what} is not base64url with '=' padding, as ALB writes it"
        ))
    })
}

fn object(segment: &[u8], what: &str) -> Result<Map<String, Value>, Error> {
    match json::strict_value(&decode_padded(segment, what)?) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::malformed(format!("the {what} is not a JSON object"))),
        Err(e) => Err(Error::malformed(format!(
            "the {what} is not valid JSON: {e}"
        ))),
    }
}

fn header_fields(header: Map<String, Value>) -> Result<AlbHeader, Error> {
    match header.get("alg") {
        Some(Value::String(alg)) if alg == "ES256" => {}
        Some(Value::String(alg)) => {
            return Err(Error::UnsupportedAlgorithm {
                actual: Echo::some(alg),
                expected: "ES256",
            });
        }
        None => {
            return Err(Error::UnsupportedAlgorithm {
                actual: Echo::of(None),
                expected: "ES256",
            });
        }
        Some(_) => return Err(Error::malformed("the header's \"alg\" must be a string")),
    }
    if header.contains_key("crit") {
        // RFC 7515 §4.1.11: no critical extension is understood here.
        return Err(Error::malformed(
            "the header has \"crit\" extensions, which this verifier does not support",
        ));
    }
    let Some(Value::String(kid)) = header.get("kid") else {
        return Err(Error::MissingKid);
    };
    if !is_uuid(kid) {
        // The kid becomes part of the key's URL: anything but the UUID ALB
        // uses could point the fetch elsewhere, so nothing is fetched.
        return Err(Error::malformed(format!(
            "the header's \"kid\" {} is not a UUID, as an ALB's key ids are",
            Echo::some(kid)
        )));
    }
    let text = |name: &str| match header.get(name) {
        Some(Value::String(value)) => Ok(value.clone()),
        _ => Err(Error::malformed(format!(
            "an ALB token's header has a string \"{name}\""
        ))),
    };
    let exp = time_in(&header, "exp")?
        .ok_or_else(|| Error::malformed("an ALB token's header has \"exp\""))?;
    Ok(AlbHeader {
        kid: kid.clone(),
        signer: text("signer")?,
        iss: text("iss")?,
        client: text("client")?,
        exp,
    })
}

/// `8-4-4-4-12` hexadecimal digits.
pub(crate) fn is_uuid(kid: &str) -> bool {
    let groups: Vec<&str> = kid.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};

    const KID: &str = "abb8289f-e3a4-4a34-9472-c2105e2b2482";

    fn header(extra: &str) -> String {
        format!(
            r#"{{"typ":"JWT","kid":"{KID}","alg":"ES256","iss":"https://idp.example","client":"c1","signer":"arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/a/b","exp":1734961644{extra}}}"#
        )
    }

    fn token(header: &str, payload: &str, signature: &[u8]) -> String {
        format!(
            "{}.{}.{}",
            URL_SAFE.encode(header),
            URL_SAFE.encode(payload),
            URL_SAFE.encode(signature)
        )
    }

    #[test]
    fn reads_an_alb_shaped_token() {
        let t = token(
            &header(""),
            r#"{"sub":"u1","email":"a@example.com"}"#,
            &[7; 64],
        );
        let parsed = parse(t.as_bytes()).unwrap();
        assert_eq!(parsed.header.kid, KID);
        assert_eq!(parsed.header.client, "c1");
        assert_eq!(parsed.header.exp.whole_seconds(), 1_734_961_644);
        assert_eq!(parsed.payload["email"], "a@example.com");
        assert_eq!(
            parsed.signing_input,
            t.rsplit_once('.').unwrap().0.as_bytes()
        );
    }

    #[test]
    fn takes_padding_exactly_where_alb_writes_it() {
        let h = header("");
        let p = r#"{"sub":"u1"}"#; // 12 bytes: no padding needed
        let p2 = r#"{"sub":"u12"}"#; // 13 bytes: "==" needed
        assert!(parse(token(&h, p2, &[1; 64]).as_bytes()).is_ok());
        assert!(parse(token(&h, p, &[1; 64]).as_bytes()).is_ok());
        let stripped = format!(
            "{}.{}.{}",
            URL_SAFE.encode(&h),
            URL_SAFE_NO_PAD.encode(p2),
            URL_SAFE.encode([1; 64])
        );
        let extra = format!(
            "{}.{}=.{}",
            URL_SAFE.encode(&h),
            URL_SAFE.encode(p),
            URL_SAFE.encode([1; 64])
        );
        let standard_alphabet = token(&h, p2, &[0xfb; 64])
            .replace('-', "+")
            .replace('_', "/");
        for bad in [stripped, extra, standard_alphabet] {
            assert_eq!(
                parse(bad.as_bytes()).err().unwrap().kind(),
                "malformed_token",
                "{bad}"
            );
        }
    }

    #[test]
    fn refuses_other_algorithms_kids_and_missing_fields() {
        let p = r#"{"sub":"u1"}"#;
        let rs256 = header("").replace("ES256", "RS256");
        let none = header("").replace("ES256", "none");
        for h in [rs256, none] {
            let e = parse(token(&h, p, &[1; 64]).as_bytes()).err().unwrap();
            assert_eq!(e.kind(), "unsupported_algorithm");
        }
        let path_kid = header("").replace(KID, "../../evil.example/key");
        let e = parse(token(&path_kid, p, &[1; 64]).as_bytes())
            .err()
            .unwrap();
        assert_eq!(e.kind(), "malformed_token");
        assert!(e.to_string().contains("not a UUID"), "{e}");
        for field in ["signer", "client", "iss", "exp"] {
            let without: Map<String, Value> =
                serde_json::from_str::<Map<String, Value>>(&header(""))
                    .unwrap()
                    .into_iter()
                    .filter(|(k, _)| k != field)
                    .collect();
            let h = Value::Object(without).to_string();
            let e = parse(token(&h, p, &[1; 64]).as_bytes()).err().unwrap();
            assert_eq!(e.kind(), "malformed_token", "{field}");
        }
        let e = parse(token(&header(""), p, &[1; 63]).as_bytes())
            .err()
            .unwrap();
        assert_eq!(e.kind(), "malformed_token");
        let e = parse(token(&header(""), r#"{"email":"x"}"#, &[1; 64]).as_bytes())
            .err()
            .unwrap();
        assert_eq!(e.kind(), "malformed_token");
    }

    #[test]
    fn refuses_time_claims_that_are_not_numeric_dates() {
        let h = header("");
        for claim in ["exp", "nbf", "iat"] {
            for value in [r#""1734961644""#, "null", "true", "[1]", "1e30"] {
                let p = format!(r#"{{"sub":"u1","{claim}":{value}}}"#);
                let e = parse(token(&h, &p, &[1; 64]).as_bytes()).err().unwrap();
                assert_eq!(e.kind(), "malformed_token", "{p}");
                assert!(e.to_string().contains(claim), "{p}: {e}");
            }
        }
        for value in [r#""1734961644""#, "null", "1e30"] {
            let h = header("").replace("1734961644", value);
            let e = parse(token(&h, r#"{"sub":"u1"}"#, &[1; 64]).as_bytes())
                .err()
                .unwrap();
            assert_eq!(e.kind(), "malformed_token", "{h}");
        }
    }

    #[test]
    fn reads_non_integer_numeric_dates_as_the_cognito_verifier_does() {
        let h = header("").replace("1734961644", "1734961644.5");
        let p = r#"{"sub":"u1","exp":1734961700.25,"nbf":1734961000.75,"iat":1734961000.5}"#;
        let fractions = token(&h, p, &[1; 64]);
        let parsed = parse(fractions.as_bytes()).unwrap();
        let nanos = |d: NumericDate| d.nanos();
        assert_eq!(nanos(parsed.header.exp), 1_734_961_644_500_000_000);
        assert_eq!(nanos(parsed.times.exp), 1_734_961_644_500_000_000);
        assert_eq!(parsed.times.nbf.map(nanos), Some(1_734_961_000_750_000_000));
        let earlier = r#"{"sub":"u1","exp":1734961600.25}"#;
        let earlier = token(&h, earlier, &[1; 64]);
        let parsed = parse(earlier.as_bytes()).unwrap();
        assert_eq!(nanos(parsed.times.exp), 1_734_961_600_250_000_000);
    }

    #[test]
    fn uuids_are_five_hex_groups() {
        assert!(is_uuid(KID));
        assert!(is_uuid(&KID.to_uppercase()));
        for bad in [
            "",
            "abb8289f",
            "abb8289f-e3a4-4a34-9472-c2105e2b248",
            "gbb8289f-e3a4-4a34-9472-c2105e2b2482",
            "abb8289f-e3a4-4a34-9472-c2105e2b2482-",
            "abb8289f/e3a4-4a34-9472-c2105e2b2482",
        ] {
            assert!(!is_uuid(bad), "{bad}");
        }
    }
}
