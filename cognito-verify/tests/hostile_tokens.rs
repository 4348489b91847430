//! Structured hostile tokens: every field replaced by every JSON type,
//! duplicate keys, deep nesting, huge arrays and numbers, non-UTF-8,
//! white space and padding. Unsigned mutations never verify; re-signed ones
//! either fail with a typed error or verify to exactly what was signed.
//! Nothing panics.

mod common;

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cognito_verify::Verifier;
use common::CLIENT;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

struct Fixture {
    env: common::Hydrated,
    header: Map<String, Value>,
    payload: Map<String, Value>,
    signature: String,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let env = common::hydrated(|issuer| {
            common::verifier(
                issuer,
                |p| p.client_id(CLIENT).any_token_use(),
                |b| b.token_cache_capacity(0),
            )
        });
        let token = env
            .issuer
            .id_token(CLIENT)
            .groups(["admin"])
            .claim("nbf", json!(1))
            .claim("custom:tier", json!("gold"))
            .sign();
        env.verifier
            .verify_cached(&token)
            .expect("the unmutated token verifies");
        let decoded = cognito_verify::decode_unverified(&token).unwrap();
        let signature = token.rsplit('.').next().unwrap().to_owned();
        Fixture {
            env,
            header: decoded.header,
            payload: decoded.payload,
            signature,
        }
    })
}

fn sign(header: &[u8], payload: &[u8]) -> String {
    fixture().env.issuer.sign_raw(header, payload, None)
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// One value of each JSON type.
fn every_type() -> Vec<Value> {
    vec![
        json!(null),
        json!(true),
        json!(7),
        json!(-1.5),
        json!("text"),
        json!([]),
        json!(["a", 1]),
        json!({}),
        json!({"a": 1}),
    ]
}

fn is_acceptable(claim: &str, value: &Value) -> bool {
    match claim {
        // No check reads these: any type is accepted (a pre-token-generation
        // trigger may set them), and the accessors return None for others.
        "auth_time" | "cognito:username" | "username" | "email" | "email_verified" | "jti"
        | "origin_jti" | "event_id" => true,
        // RFC 7519 §2: a NumericDate may be non-integer.
        "exp" | "iat" | "nbf" => value.is_number(),
        "aud" => {
            value.is_string()
                || value
                    .as_array()
                    .is_some_and(|a| a.iter().all(Value::is_string))
        }
        "cognito:groups" => value
            .as_array()
            .is_some_and(|a| a.iter().all(Value::is_string)),
        "sub" => value.as_str().is_some_and(|s| !s.is_empty()),
        _ => value.is_string(),
    }
}

#[test]
fn every_claim_of_the_wrong_json_type_is_malformed_even_when_signed() {
    let f = fixture();
    let header = Value::Object(f.header.clone()).to_string();
    for claim in [
        "sub",
        "iss",
        "exp",
        "iat",
        "nbf",
        "auth_time",
        "token_use",
        "aud",
        "cognito:groups",
        "cognito:username",
        "email",
        "email_verified",
        "jti",
        "origin_jti",
        "event_id",
        "client_id",
        "scope",
        "username",
    ] {
        for value in every_type() {
            if is_acceptable(claim, &value) {
                continue;
            }
            let mut payload = f.payload.clone();
            payload.insert(claim.to_owned(), value.clone());
            let token = sign(
                header.as_bytes(),
                Value::Object(payload).to_string().as_bytes(),
            );
            let err = f.env.verifier.verify_cached(&token).expect_err(claim);
            assert_eq!(err.kind(), "malformed_token", "{claim} = {value}: {err}");
        }
    }
}

#[test]
fn header_fields_of_the_wrong_json_type_are_refused_even_when_signed() {
    let f = fixture();
    let payload = Value::Object(f.payload.clone()).to_string();
    for value in every_type() {
        for (field, expected) in [("alg", "malformed_token"), ("kid", "missing_kid")] {
            if value.is_string() {
                continue;
            }
            let mut header = f.header.clone();
            header.insert(field.to_owned(), value.clone());
            let token = sign(
                Value::Object(header).to_string().as_bytes(),
                payload.as_bytes(),
            );
            let kind = f.env.verifier.verify_cached(&token).unwrap_err().kind();
            assert_eq!(kind, expected, "{field} = {value}");
        }
    }
}

#[test]
fn oversized_inputs_are_refused_without_trouble() {
    let f = fixture();
    let header = Value::Object(f.header.clone()).to_string();
    let cases: Vec<(String, &str)> = vec![
        // Deep nesting: refused by the parser's depth limit, or by the size cap.
        (
            format!(
                r#"{{"sub":"u","x":{}1{}}}"#,
                "[".repeat(200),
                "]".repeat(200)
            ),
            "malformed_token",
        ),
        (
            format!(
                r#"{{"sub":"u","x":{}1{}}}"#,
                "[".repeat(20_000),
                "]".repeat(20_000)
            ),
            "token_too_large",
        ),
        // 10,000-element arrays.
        (
            json!({"sub": "u", "cognito:groups": vec!["g"; 10_000]}).to_string(),
            "token_too_large",
        ),
        // Numbers beyond every type.
        (r#"{"sub":"u","exp":1e400}"#.to_owned(), "malformed_token"),
        (
            r#"{"sub":"u","exp":18446744073709551616}"#.to_owned(),
            "malformed_token",
        ),
        (
            r#"{"sub":"u","exp":-9223372036854775809}"#.to_owned(),
            "malformed_token",
        ),
        (
            format!(r#"{{"sub":"u","exp":{}}}"#, "9".repeat(400)),
            "malformed_token",
        ),
        // A fraction past 2^53 seconds, where an f64 holds none.
        (
            r#"{"sub":"u","exp":9007199254740993.5}"#.to_owned(),
            "malformed_token",
        ),
        (r#"{"sub":"u","nbf":-1e300}"#.to_owned(), "malformed_token"),
    ];
    for (payload, kind) in cases {
        let token = sign(header.as_bytes(), payload.as_bytes());
        let err = f.env.verifier.verify_cached(&token).unwrap_err();
        assert_eq!(err.kind(), kind, "{:.60}: {err}", payload);
    }
    // 10,000 groups within a raised size cap: parsed, and the token verifies.
    let verifier = Verifier::builder()
        .pool(
            f.env
                .issuer
                .pool_config()
                .client_id(CLIENT)
                .any_token_use()
                .group("g-9999"),
        )
        .max_token_bytes(1 << 20)
        .build()
        .unwrap();
    let groups: Vec<String> = (0..10_000).map(|i| format!("g-{i}")).collect();
    let mut payload = f.payload.clone();
    payload.insert("cognito:groups".into(), json!(groups));
    let token = sign(
        header.as_bytes(),
        Value::Object(payload).to_string().as_bytes(),
    );
    let claims = f.env.runtime.block_on(verifier.verify(&token)).unwrap();
    assert_eq!(claims.groups().len(), 10_000);
}

#[test]
fn non_utf8_whitespace_and_padding_variants_are_refused() {
    let f = fixture();
    let header = Value::Object(f.header.clone()).to_string();
    let payload = Value::Object(f.payload.clone()).to_string();
    let mut bad_utf8 = payload.clone().into_bytes();
    bad_utf8.insert(10, 0xFF);
    let signed_bad_utf8 = sign(header.as_bytes(), &bad_utf8);
    assert_eq!(
        f.env
            .verifier
            .verify_cached(&signed_bad_utf8)
            .unwrap_err()
            .kind(),
        "malformed_token"
    );
    let valid = sign(header.as_bytes(), payload.as_bytes());
    let (h, rest) = valid.split_once('.').unwrap();
    let (p, s) = rest.split_once('.').unwrap();
    for variant in [
        format!("{valid}\n"),
        format!(" {valid}"),
        format!("{h} .{p}.{s}"),
        format!("{h}.{p}=.{s}"),
        format!("{h}==.{p}.{s}"),
        format!("{h}.{p}.{s}="),
        format!("{h}.{p}.{s}=="),
        format!("{}.{p}.{s}", h.replace('-', "+").replace('_', "/")),
        format!("{h}.{p}.{}", s.replace('-', "+").replace('_', "/")),
    ] {
        if variant == valid {
            continue;
        }
        let err = f.env.verifier.verify_cached(&variant).expect_err(&variant);
        assert_eq!(err.kind(), "malformed_token", "{variant:.80}");
    }
    // Re-encoded JSON (pretty-printed, so other bytes) breaks the signature.
    let pretty = serde_json::to_string_pretty(&Value::Object(f.payload.clone())).unwrap();
    let token = format!("{h}.{}.{s}", b64(pretty.as_bytes()));
    assert_eq!(
        f.env.verifier.verify_cached(&token).unwrap_err().kind(),
        "invalid_signature"
    );
    // Signed, the same pretty JSON is a fine token: white space in JSON is JSON.
    f.env
        .verifier
        .verify_cached(sign(header.as_bytes(), pretty.as_bytes()))
        .unwrap();
}

/// Any JSON value, a few levels deep.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,20}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[derive(Debug, Clone)]
enum Edit {
    Replace {
        in_header: bool,
        field: usize,
        value: Value,
    },
    Insert {
        in_header: bool,
        name: String,
        value: Value,
    },
    Remove {
        in_header: bool,
        field: usize,
    },
    Duplicate {
        in_header: bool,
        field: usize,
        value: Value,
    },
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<bool>(), any::<usize>(), arb_json()).prop_map(|(in_header, field, value)| {
            Edit::Replace {
                in_header,
                field,
                value,
            }
        }),
        (any::<bool>(), ".{0,12}", arb_json()).prop_map(|(in_header, name, value)| Edit::Insert {
            in_header,
            name,
            value
        }),
        (any::<bool>(), any::<usize>())
            .prop_map(|(in_header, field)| Edit::Remove { in_header, field }),
        (any::<bool>(), any::<usize>(), arb_json()).prop_map(|(in_header, field, value)| {
            Edit::Duplicate {
                in_header,
                field,
                value,
            }
        }),
    ]
}

/// The edited header and payload as JSON text (a duplicate key is spliced
/// into the text, since a map cannot hold one).
fn apply(edits: &[Edit]) -> (String, String) {
    let f = fixture();
    let (mut header, mut payload) = (f.header.clone(), f.payload.clone());
    let mut splice: Option<(bool, String, Value)> = None;
    for e in edits {
        let pick = |m: &Map<String, Value>, i: usize| m.keys().nth(i % m.len().max(1)).cloned();
        match e.clone() {
            Edit::Replace {
                in_header,
                field,
                value,
            } => {
                let map = if in_header { &mut header } else { &mut payload };
                if let Some(k) = pick(map, field) {
                    map.insert(k, value);
                }
            }
            Edit::Insert {
                in_header,
                name,
                value,
            } => {
                let map = if in_header { &mut header } else { &mut payload };
                map.insert(name, value);
            }
            Edit::Remove { in_header, field } => {
                let map = if in_header { &mut header } else { &mut payload };
                if let Some(k) = pick(map, field) {
                    map.remove(&k);
                }
            }
            Edit::Duplicate {
                in_header,
                field,
                value,
            } => {
                let map = if in_header { &header } else { &payload };
                if let Some(k) = pick(map, field) {
                    splice = Some((in_header, k, value));
                }
            }
        }
    }
    let (mut h, mut p) = (
        Value::Object(header).to_string(),
        Value::Object(payload).to_string(),
    );
    if let Some((in_header, key, value)) = splice {
        let text = if in_header { &mut h } else { &mut p };
        if text.len() > 2 {
            text.insert_str(1, &format!("{}:{},", Value::String(key), value));
        }
    }
    (h, p)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn edited_tokens_never_verify_without_a_new_signature(edits in proptest::collection::vec(edit(), 1..4)) {
        let f = fixture();
        let (h, p) = apply(&edits);
        let original = (Value::Object(f.header.clone()).to_string(), Value::Object(f.payload.clone()).to_string());
        prop_assume!((h.clone(), p.clone()) != original);
        let token = format!("{}.{}.{}", b64(h.as_bytes()), b64(p.as_bytes()), f.signature);
        prop_assert!(f.env.verifier.verify_cached(&token).is_err());
    }

    #[test]
    fn signed_edited_tokens_verify_only_to_exactly_what_was_signed(edits in proptest::collection::vec(edit(), 1..4)) {
        let f = fixture();
        let (h, p) = apply(&edits);
        let token = sign(h.as_bytes(), p.as_bytes());
        match f.env.verifier.verify_cached(&token) {
            Ok(claims) => {
                let signed: Value = serde_json::from_str(&p).unwrap();
                prop_assert_eq!(&Value::Object(claims.as_map().clone()), &signed);
                let header: Value = serde_json::from_str(&h).unwrap();
                prop_assert_eq!(&header["alg"], "RS256");
                prop_assert!(!p.contains("\"sub\":\"\""));
            }
            Err(e) => prop_assert!(cognito_verify::ERROR_KINDS.contains(&e.kind())),
        }
    }
}
