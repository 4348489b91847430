//! Each check, end to end over real HTTP: a token wrong in exactly one way is
//! refused with exactly that error kind, and the right tokens pass.

mod common;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cognito_verify::testing::LocalIssuer;
use cognito_verify::{TokenUse, Verifier};
use common::{CLIENT, FixedServer, Reply, access, dead_url, kind_of, setup};
use serde_json::{Value, json};

#[tokio::test]
async fn accepts_a_valid_access_token_with_its_claims() {
    let (issuer, verifier) = setup(access, |b| b).await;
    let token = issuer
        .access_token(CLIENT)
        .sub("user-1")
        .username("alice")
        .groups(["admin", "staff"])
        .scopes(["videos/read", "videos/write"])
        .claim("custom:tenant", json!("t-1"))
        .sign();
    let claims = verifier.verify(&token).await.unwrap();
    assert_eq!(claims.sub(), "user-1");
    assert_eq!(claims.iss(), issuer.issuer());
    assert_eq!(claims.token_use(), TokenUse::Access);
    assert_eq!(claims.client_id(), Some(CLIENT));
    assert_eq!(claims.username(), Some("alice"));
    assert_eq!(claims.groups(), ["admin", "staff"]);
    assert_eq!(claims.scopes(), ["videos/read", "videos/write"]);
    assert_eq!(claims.get("custom:tenant"), Some(&json!("t-1")));
    assert!(claims.jti().is_some() && claims.origin_jti().is_some() && claims.event_id().is_some());
    assert!(claims.exp() > claims.iat().unwrap());
}

#[tokio::test]
async fn accepts_a_valid_id_token_with_its_claims() {
    let (issuer, verifier) = setup(|p| p.client_id(CLIENT).token_use(TokenUse::Id), |b| b).await;
    let token = issuer
        .id_token(CLIENT)
        .sub("user-2")
        .username("bob")
        .claim("email", json!("bob@example.com"))
        .sign();
    let claims = verifier.verify(&token).await.unwrap();
    assert_eq!(claims.sub(), "user-2");
    assert_eq!(claims.token_use(), TokenUse::Id);
    assert_eq!(claims.aud(), [CLIENT]);
    assert_eq!(claims.client_id(), Some(CLIENT));
    assert_eq!(claims.username(), Some("bob"));
    assert_eq!(claims.email(), Some("bob@example.com"));
    assert_eq!(claims.email_verified(), Some(true));
    assert!(claims.auth_time().is_some());
}

#[tokio::test]
async fn deserializes_claims_into_a_user_type() {
    #[derive(serde::Deserialize)]
    struct Mine {
        sub: String,
        #[serde(rename = "custom:tenant")]
        tenant: String,
    }
    let (issuer, verifier) = setup(access, |b| b).await;
    let token = issuer
        .access_token(CLIENT)
        .sub("u")
        .claim("custom:tenant", json!("t"))
        .sign();
    let mine: Mine = verifier
        .verify(&token)
        .await
        .unwrap()
        .deserialize()
        .unwrap();
    assert_eq!((mine.sub.as_str(), mine.tenant.as_str()), ("u", "t"));

    // A token the type does not fit is the application's schema problem,
    // not a malformed token.
    let without_tenant = issuer.access_token(CLIENT).sub("u").sign();
    let claims = verifier.verify(&without_tenant).await.unwrap();
    let err = claims.deserialize::<Mine>().err().unwrap();
    assert_eq!(err.kind(), "claims_mismatch");
    assert!(err.is_application_fault() && !err.is_insufficient_permission());
}

#[tokio::test]
async fn requirements_refuse_each_for_its_own_reason() {
    use cognito_verify::{Error, RefusedBy, Requirement};
    let (issuer, verifier) = setup(|p| p.client_id(CLIENT).any_token_use(), |b| b).await;
    let user = issuer
        .access_token(CLIENT)
        .groups(["staff"])
        .scopes(["videos/read"])
        .sign();
    let user = verifier.verify(&user).await.unwrap();
    let machine = issuer.app_client_token(CLIENT, ["videos/read"]).sign();
    let machine = verifier.verify(&machine).await.unwrap();
    let id = verifier
        .verify(&issuer.id_token(CLIENT).sign())
        .await
        .unwrap();

    let met = [
        (Requirement::any_group(["admin", "staff"]).unwrap(), &user),
        (Requirement::any_scope(["videos/read"]).unwrap(), &user),
        (Requirement::token_use(TokenUse::Access), &user),
        (Requirement::token_use(TokenUse::Id), &id),
        (Requirement::user(), &user),
        (Requirement::user(), &id),
        (Requirement::app_client(), &machine),
    ];
    for (requirement, claims) in met {
        assert_eq!(requirement.check(claims), Ok(()), "{requirement:?}");
    }
    let refused = [
        (
            Requirement::any_group(["admin"]).unwrap(),
            &user,
            "missing_group",
        ),
        (
            Requirement::any_scope(["videos/write"]).unwrap(),
            &user,
            "missing_scope",
        ),
        (
            Requirement::token_use(TokenUse::Id),
            &user,
            "invalid_token_use",
        ),
        (Requirement::user(), &machine, "user_required"),
        (Requirement::app_client(), &user, "app_client_required"),
    ];
    for (requirement, claims, kind) in refused {
        let err = requirement.check(claims).unwrap_err();
        assert_eq!(err.kind(), kind, "{requirement:?}");
        assert!(err.is_insufficient_permission(), "{kind}: 403, not 401");
    }
    match Requirement::token_use(TokenUse::Id).check(&user) {
        Err(Error::InvalidTokenUse {
            expected,
            actual,
            refused_by,
        }) => {
            assert_eq!(expected.values(), ["id"]);
            assert_eq!(actual.as_deref(), Some("access"));
            assert_eq!(refused_by, RefusedBy::Requirement);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_pools_token_use_refusal_is_not_a_permission_problem() {
    // A requirement's refusal is 403 (above); the pool's own check refuses
    // the token as invalid (401).
    let (issuer, access_only) = setup(access, |b| b).await;
    let err = access_only
        .verify(&issuer.id_token(CLIENT).sign())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "invalid_token_use");
    assert!(!err.is_insufficient_permission(), "{err:?}");
}

#[test]
fn empty_or_unsatisfiable_requirements_are_configuration_mistakes() {
    use cognito_verify::Requirement;
    let none: [&str; 0] = [];
    assert_eq!(
        Requirement::any_group(none).unwrap_err().kind(),
        "invalid_config"
    );
    assert_eq!(
        Requirement::any_scope(["a b"]).unwrap_err().kind(),
        "invalid_config"
    );
}

#[tokio::test]
async fn rejects_a_token_over_the_size_cap() {
    let (issuer, verifier) = setup(access, |b| b).await;
    let huge = issuer
        .access_token(CLIENT)
        .claim("custom:pad", json!("x".repeat(1 << 20)))
        .sign();
    assert!(huge.len() > 1_000_000);
    let err = verifier.verify(&huge).await.unwrap_err();
    assert_eq!(err.kind(), "token_too_large");
    assert!(
        !err.to_string().contains(&huge[..40]),
        "the message must not echo the token"
    );
    assert_eq!(issuer.jwks_requests(), 0, "refused before any key fetch");

    let (issuer, verifier) = setup(
        |p| p.client_id(CLIENT).token_use(TokenUse::Access),
        |b| b.max_token_bytes(2000),
    )
    .await;
    let token = issuer
        .access_token(CLIENT)
        .claim("custom:pad", json!("y".repeat(1500)))
        .sign();
    assert!(token.len() > 2000);
    assert_eq!(kind_of(&verifier, &token).await, "token_too_large");
}

#[tokio::test]
async fn rejects_malformed_tokens() {
    let (issuer, verifier) = setup(access, |b| b).await;
    let valid = issuer.access_token(CLIENT).sign();
    let (h, rest) = valid.split_once('.').unwrap();
    let (p, _) = rest.split_once('.').unwrap();
    for bad in [
        String::new(),
        "not a token".to_owned(),
        "a.b.c.d".to_owned(),
        format!("{h}.{p}"),
        format!("{valid}="),
        format!("Bearer {valid}"),
        format!("{h}.{p}.!!!"),
    ] {
        assert_eq!(
            kind_of(&verifier, &bad).await,
            "malformed_token",
            "{bad:.30}"
        );
    }
    // Signed correctly, but a claim has the wrong JSON type.
    for (claim, value) in [
        ("exp", json!("tomorrow")),
        ("sub", json!(42)),
        ("cognito:groups", json!("admin")),
        ("scope", json!(["a"])),
        ("iss", json!({"x": 1})),
    ] {
        let token = issuer.access_token(CLIENT).claim(claim, value).sign();
        assert_eq!(
            kind_of(&verifier, &token).await,
            "malformed_token",
            "{claim}"
        );
    }
    // Signed correctly, header and payload JSON but not objects, or with duplicate keys.
    let payload = Value::Object(issuer.access_token(CLIENT).claims().clone()).to_string();
    let header = format!(r#"{{"alg":"RS256","kid":"{}"}}"#, issuer.current_kid());
    let dup_sub = payload.replacen('{', r#"{"sub":"someone-else","#, 1);
    for (h, p) in [
        (header.clone(), "[1,2]".to_owned()),
        ("\"RS256\"".to_owned(), payload.clone()),
        (header.clone(), dup_sub),
        (
            header.replacen('{', r#"{"alg":"none","#, 1),
            payload.clone(),
        ),
    ] {
        let token = issuer.sign_raw(h.as_bytes(), p.as_bytes(), None);
        assert_eq!(
            kind_of(&verifier, &token).await,
            "malformed_token",
            "{h} {p:.40}"
        );
    }
}

#[tokio::test]
async fn rejects_a_token_without_exp_as_malformed() {
    let (issuer, verifier) = setup(access, |b| b).await;
    let token = issuer.access_token(CLIENT).without("exp").sign();
    let err = verifier.verify(&token).await.unwrap_err();
    assert_eq!(err.kind(), "malformed_token");
    assert!(err.to_string().contains("exp"), "{err}");
}

#[tokio::test]
async fn rejects_every_algorithm_but_rs256() {
    let (issuer, verifier) = setup(access, |b| b).await;
    for alg in [
        "none", "None", "HS256", "HS512", "PS256", "ES256", "RS384", "RS512", "rs256", "EdDSA", "",
    ] {
        let token = issuer.access_token(CLIENT).header("alg", json!(alg)).sign();
        let err = verifier.verify(&token).await.unwrap_err();
        assert_eq!(err.kind(), "unsupported_algorithm", "{alg}");
    }
    let token = issuer.access_token(CLIENT).without_header("alg").sign();
    assert_eq!(kind_of(&verifier, &token).await, "unsupported_algorithm");
}

#[tokio::test]
async fn rejects_alg_none_with_an_empty_signature() {
    let (issuer, verifier) = setup(access, |b| b).await;
    let valid = issuer.access_token(CLIENT).sign();
    let payload = valid.split('.').nth(1).unwrap();
    let header = URL_SAFE_NO_PAD.encode(format!(
        r#"{{"alg":"none","kid":"{}"}}"#,
        issuer.current_kid()
    ));
    let token = format!("{header}.{payload}.");
    assert_eq!(kind_of(&verifier, &token).await, "unsupported_algorithm");
}

#[tokio::test]
async fn rejects_hs256_signed_with_the_public_key_bytes() {
    // The classic algorithm confusion: HMAC keyed with the RSA public key
    // the verifier is known to hold.
    let (issuer, verifier) = setup(access, |b| b).await;
    let claims = Value::Object(issuer.access_token(CLIENT).claims().clone());
    let jwk = issuer.current_jwk();
    let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(issuer.current_kid());
    for secret in [
        n.as_slice(),
        jwk.to_string().as_bytes(),
        issuer.jwks().to_string().as_bytes(),
    ] {
        let token = jsonwebtoken::encode(
            &header,
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(secret),
        )
        .unwrap();
        assert_eq!(kind_of(&verifier, &token).await, "unsupported_algorithm");
    }
}

#[tokio::test]
async fn rejects_a_header_without_a_string_kid() {
    let (issuer, verifier) = setup(access, |b| b).await;
    let token = issuer.access_token(CLIENT).without_header("kid").sign();
    assert_eq!(kind_of(&verifier, &token).await, "missing_kid");
    let token = issuer.access_token(CLIENT).header("kid", json!(7)).sign();
    assert_eq!(kind_of(&verifier, &token).await, "missing_kid");
}

#[tokio::test]
async fn rejects_a_foreign_or_missing_issuer() {
    let (issuer, verifier) = setup(access, |b| b).await;
    let token = issuer
        .access_token(CLIENT)
        .claim("iss", json!("https://evil.example.com/pool"))
        .sign();
    let err = verifier.verify(&token).await.unwrap_err();
    assert_eq!(err.kind(), "invalid_issuer");
    assert!(
        err.to_string().contains("evil.example.com") && err.to_string().contains(issuer.issuer()),
        "{err}"
    );
    // Near misses: trailing slash, case.
    for iss in [
        format!("{}/", issuer.issuer()),
        issuer.issuer().to_uppercase(),
    ] {
        let token = issuer.access_token(CLIENT).claim("iss", json!(iss)).sign();
        assert_eq!(kind_of(&verifier, &token).await, "invalid_issuer");
    }
    let token = issuer.access_token(CLIENT).without("iss").sign();
    assert_eq!(kind_of(&verifier, &token).await, "invalid_issuer");
    assert_eq!(
        issuer.jwks_requests(),
        0,
        "a foreign issuer never causes a fetch"
    );
}

#[tokio::test]
async fn rejects_a_kid_missing_from_the_jwks() {
    let (issuer, verifier) = setup(access, |b| b).await;
    let token = issuer
        .access_token(CLIENT)
        .header("kid", json!("no-such-key"))
        .sign();
    let err = verifier.verify(&token).await.unwrap_err();
    assert_eq!(err.kind(), "unknown_kid");
    assert!(err.to_string().contains("no-such-key") && err.to_string().contains(issuer.jwks_url()));
}

#[tokio::test]
async fn rejects_keys_that_cannot_verify_rs256() {
    let (issuer, verifier) = setup(access, |b| b).await;
    let jwk = issuer.current_jwk();
    let small_n = URL_SAFE_NO_PAD.encode([0xC3u8; 128]); // an RSA-1024-sized modulus
    for entry in [
        json!({"kid": "enc-key", "kty": "RSA", "use": "enc", "n": jwk["n"], "e": "AQAB"}),
        json!({"kid": "rsa-1024", "kty": "RSA", "use": "sig", "alg": "RS256", "n": small_n, "e": "AQAB"}),
        json!({"kid": "hmac", "kty": "oct", "k": URL_SAFE_NO_PAD.encode(b"secret")}),
        json!({"kid": "rs512", "kty": "RSA", "alg": "RS512", "n": jwk["n"], "e": "AQAB"}),
        json!({"kid": "no-modulus", "kty": "RSA", "e": "AQAB"}),
    ] {
        issuer.add_jwk(entry);
    }
    for kid in ["enc-key", "rsa-1024", "hmac", "rs512", "no-modulus"] {
        let token = issuer.access_token(CLIENT).header("kid", json!(kid)).sign();
        let err = verifier.verify(&token).await.unwrap_err();
        assert_eq!(err.kind(), "invalid_key", "{kid}: {err}");
    }
    // The good key is unaffected by its bad neighbours.
    verifier
        .verify(&issuer.access_token(CLIENT).sign())
        .await
        .unwrap();
    assert_eq!(
        issuer.jwks_requests(),
        1,
        "unusable keys are not unknown: no refetch"
    );
}

#[tokio::test]
async fn rejects_tampered_tokens_and_foreign_signatures() {
    let (issuer, verifier) = setup(access, |b| b).await;
    let valid = issuer.access_token(CLIENT).sub("alice").sign();
    let mut parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    claims["sub"] = json!("mallory");
    parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
    let tampered = parts.join(".");
    assert_eq!(kind_of(&verifier, &tampered).await, "invalid_signature");

    // Signed by another key, under the published key's kid.
    let other = LocalIssuer::start().await.unwrap();
    let header = format!(r#"{{"alg":"RS256","kid":"{}"}}"#, issuer.current_kid());
    let payload = Value::Object(issuer.access_token(CLIENT).claims().clone()).to_string();
    let foreign = other.sign_raw(header.as_bytes(), payload.as_bytes(), None);
    assert_eq!(kind_of(&verifier, &foreign).await, "invalid_signature");

    // Signature cut short, and empty.
    let (signing_input, sig) = valid.rsplit_once('.').unwrap();
    assert_eq!(
        kind_of(&verifier, &format!("{signing_input}.{}", &sig[..100])).await,
        "invalid_signature"
    );
    assert_eq!(
        kind_of(&verifier, &format!("{signing_input}.")).await,
        "invalid_signature"
    );

    verifier.verify(&valid).await.unwrap();
}

#[tokio::test]
async fn rejects_expired_future_and_early_tokens_honouring_leeway() {
    let (issuer, verifier) = setup(access, |b| b).await;
    let now = cognito_verify::unix_now();
    let expired = issuer.access_token(CLIENT).expires_in(-30).sign();
    let err = verifier.verify(&expired).await.unwrap_err();
    assert_eq!(err.kind(), "expired");
    assert!(err.to_string().contains("leeway 0s"), "{err}");
    let exactly_now = issuer.access_token(CLIENT).claim("exp", json!(now)).sign();
    assert_eq!(
        kind_of(&verifier, &exactly_now).await,
        "expired",
        "valid only before exp"
    );
    let early = issuer
        .access_token(CLIENT)
        .claim("nbf", json!(now + 120))
        .sign();
    assert_eq!(kind_of(&verifier, &early).await, "not_yet_valid");
    let future = issuer
        .access_token(CLIENT)
        .claim("iat", json!(now + 120))
        .sign();
    assert_eq!(kind_of(&verifier, &future).await, "issued_in_future");
    let far = issuer
        .access_token(CLIENT)
        .claim("exp", json!(i64::MIN))
        .sign();
    assert_eq!(kind_of(&verifier, &far).await, "expired");

    let lenient = common::verifier(&issuer, access, |b| b.leeway(Duration::from_secs(300)));
    for token in [&expired, &early, &future] {
        lenient.verify(token).await.unwrap();
    }
    let long_expired = issuer.access_token(CLIENT).expires_in(-600).sign();
    assert_eq!(kind_of(&lenient, &long_expired).await, "expired");
}

/// Seconds since the Unix epoch, with the fraction.
fn now_exact() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[tokio::test]
async fn accepts_non_integer_numeric_dates_and_compares_them_exactly() {
    let (issuer, verifier) = setup(access, |b| b).await;
    // RFC 7519 §2: a NumericDate may be non-integer. This one expires 0.6 s
    // from now, mid-second: only an exact comparison refuses it 0.8 s later.
    let mut exp = now_exact().floor() + 1.6;
    while exp - now_exact() < 0.5 {
        exp += 1.0;
    }
    let token = issuer
        .access_token(CLIENT)
        .claim("exp", json!(exp))
        .claim("iat", json!(exp - 3600.25))
        .claim("nbf", json!(exp - 3600.5))
        .claim("auth_time", json!(exp - 3600.75))
        .sign();
    let claims = verifier.verify(&token).await.unwrap();
    assert_eq!(
        claims.exp(),
        exp.floor() as i64,
        "rounded down to whole seconds"
    );
    assert_eq!(claims.get("exp"), Some(&json!(exp)));
    tokio::time::sleep(Duration::from_secs_f64(exp - now_exact() + 0.05)).await;
    assert_eq!(
        kind_of(&verifier, &token).await,
        "expired",
        "a hit re-checks exp exactly"
    );
    let fresh_verifier = common::verifier(&issuer, access, |b| b);
    assert_eq!(kind_of(&fresh_verifier, &token).await, "expired");

    let early = issuer
        .access_token(CLIENT)
        .claim("nbf", json!(now_exact() + 90.5))
        .sign();
    assert_eq!(kind_of(&verifier, &early).await, "not_yet_valid");
    let future = issuer
        .access_token(CLIENT)
        .claim("iat", json!(now_exact() + 90.5))
        .sign();
    assert_eq!(kind_of(&verifier, &future).await, "issued_in_future");
    for bad in [
        json!(1e30),
        json!(-1e17),
        json!("1795350075.5"),
        json!(null),
    ] {
        let token = issuer.access_token(CLIENT).claim("exp", bad.clone()).sign();
        assert_eq!(kind_of(&verifier, &token).await, "malformed_token", "{bad}");
    }
}

#[tokio::test]
async fn tolerates_iat_and_nbf_up_to_a_minute_ahead_by_default() {
    let (issuer, verifier) = setup(access, |b| b).await;
    let now = now_exact().floor() as i64;
    // A verifier clock slightly behind Cognito's sees fresh tokens as issued
    // in the future: up to 60 s of that is tolerated by default.
    for claim in ["iat", "nbf"] {
        let inside = issuer
            .access_token(CLIENT)
            .claim(claim, json!(now + 58))
            .sign();
        verifier.verify(&inside).await.unwrap();
        let outside = issuer
            .access_token(CLIENT)
            .claim(claim, json!(now + 62))
            .sign();
        let kind = if claim == "iat" {
            "issued_in_future"
        } else {
            "not_yet_valid"
        };
        assert_eq!(kind_of(&verifier, &outside).await, kind);
    }
    // exp stays strict: the tolerance is for the future only.
    let just_expired = issuer
        .access_token(CLIENT)
        .claim("exp", json!(now - 1))
        .sign();
    assert_eq!(kind_of(&verifier, &just_expired).await, "expired");
    // Configurable, down to none.
    let strict = common::verifier(&issuer, access, |b| b.future_tolerance(Duration::ZERO));
    let ahead = issuer
        .access_token(CLIENT)
        .claim("iat", json!(now + 3))
        .sign();
    assert_eq!(kind_of(&strict, &ahead).await, "issued_in_future");
    let wide = common::verifier(&issuer, access, |b| {
        b.future_tolerance(Duration::from_secs(600))
    });
    let far = issuer
        .access_token(CLIENT)
        .claim("nbf", json!(now + 500))
        .sign();
    wide.verify(&far).await.unwrap();
}

#[tokio::test]
async fn claims_no_check_reads_may_have_any_type_as_a_trigger_sets_them() {
    // Pre-token-generation triggers add and override claims with any JSON type.
    let (issuer, verifier) = setup(access, |b| b).await;
    let token = issuer
        .access_token(CLIENT)
        .claim("email", json!({"primary": "a@example.com"}))
        .claim("email_verified", json!("yes"))
        .claim("event_id", json!(null))
        .claim("username", json!(["alice"]))
        .claim("custom:tier", json!({"level": 3}))
        .sign();
    let claims = verifier.verify(&token).await.unwrap();
    assert_eq!((claims.email(), claims.email_verified()), (None, None));
    assert_eq!((claims.event_id(), claims.username()), (None, None));
    assert_eq!(claims.get("email_verified"), Some(&json!("yes")));
    // The claims the checks read keep their types: the revocation check
    // reads jti, origin_jti and auth_time (which the trigger cannot modify,
    // per its page in the Cognito developer guide).
    for (claim, value) in [
        ("token_use", json!(["access"])),
        ("client_id", json!(5)),
        ("scope", json!(["videos/read"])),
        ("cognito:groups", json!("admin")),
        ("iat", json!("now")),
        ("jti", json!(17)),
        ("origin_jti", json!(["o"])),
        ("auth_time", json!("yesterday")),
    ] {
        let token = issuer.access_token(CLIENT).claim(claim, value).sign();
        assert_eq!(
            kind_of(&verifier, &token).await,
            "malformed_token",
            "{claim}"
        );
    }
}

#[tokio::test]
async fn verifies_machine_to_machine_tokens_as_app_clients() {
    let (issuer, verifier) = setup(|p| access(p).scope("videos/write"), |b| b).await;
    let token = issuer
        .app_client_token(CLIENT, ["videos/read", "videos/write"])
        .sign();
    let claims = verifier.verify(&token).await.unwrap();
    assert_eq!(
        claims.principal(),
        cognito_verify::Principal::AppClient { client_id: CLIENT }
    );
    assert_eq!((claims.username(), claims.groups().len()), (None, 0));
    let read_only = issuer.app_client_token(CLIENT, ["videos/read"]).sign();
    assert_eq!(kind_of(&verifier, &read_only).await, "missing_scope");
    let grouped = setup(
        |p| {
            p.client_id(CLIENT)
                .token_use(TokenUse::Access)
                .group("admin")
        },
        |b| b,
    )
    .await;
    let token = grouped.0.app_client_token(CLIENT, ["videos/read"]).sign();
    assert_eq!(
        kind_of(&grouped.1, &token).await,
        "missing_group",
        "a machine is in no group"
    );
}

#[tokio::test]
async fn rejects_the_wrong_token_use() {
    let (issuer, access_only) = setup(access, |b| b).await;
    let id_token = issuer.id_token(CLIENT).sign();
    let err = access_only.verify(&id_token).await.unwrap_err();
    assert_eq!(err.kind(), "invalid_token_use");
    assert!(
        err.to_string().contains("\"id\"") && err.to_string().contains("\"access\""),
        "{err}"
    );
    for bad in [json!("refresh"), json!("ID"), json!("")] {
        let token = issuer
            .access_token(CLIENT)
            .claim("token_use", bad.clone())
            .sign();
        assert_eq!(
            kind_of(&access_only, &token).await,
            "invalid_token_use",
            "{bad}"
        );
    }
    let token = issuer.access_token(CLIENT).without("token_use").sign();
    assert_eq!(kind_of(&access_only, &token).await, "invalid_token_use");

    let id_only = Verifier::builder()
        .pool(
            issuer
                .pool_config()
                .client_id(CLIENT)
                .token_use(TokenUse::Id),
        )
        .build()
        .unwrap();
    assert_eq!(
        kind_of(&id_only, &issuer.access_token(CLIENT).sign()).await,
        "invalid_token_use"
    );
    id_only.verify(&id_token).await.unwrap();

    let any = Verifier::builder()
        .pool(issuer.pool_config().client_id(CLIENT).any_token_use())
        .build()
        .unwrap();
    any.verify(&id_token).await.unwrap();
    any.verify(&issuer.access_token(CLIENT).sign())
        .await
        .unwrap();
    let refresh = issuer
        .access_token(CLIENT)
        .claim("token_use", json!("refresh"))
        .sign();
    assert_eq!(kind_of(&any, &refresh).await, "invalid_token_use");
}

#[tokio::test]
async fn rejects_tokens_for_another_client() {
    let (issuer, verifier) =
        setup(|p| p.client_ids([CLIENT, "second"]).any_token_use(), |b| b).await;
    verifier
        .verify(&issuer.access_token("second").sign())
        .await
        .unwrap();
    verifier
        .verify(&issuer.id_token(CLIENT).sign())
        .await
        .unwrap();
    let access = issuer.access_token("other-app").sign();
    let err = verifier.verify(&access).await.unwrap_err();
    assert_eq!(err.kind(), "invalid_client_id");
    assert!(
        err.to_string().contains("client_id") && err.to_string().contains("other-app"),
        "{err}"
    );
    let id = issuer.id_token("other-app").sign();
    let err = verifier.verify(&id).await.unwrap_err();
    assert_eq!(err.kind(), "invalid_client_id");
    assert!(err.to_string().starts_with("aud"), "{err}");
    // An id token's aud is read, never an access token's.
    let access_with_aud = issuer
        .access_token("other-app")
        .claim("aud", json!(CLIENT))
        .sign();
    assert_eq!(
        kind_of(&verifier, &access_with_aud).await,
        "invalid_client_id"
    );
    // An id token's client_id is never read either.
    let id_with_client_id = issuer
        .id_token("other-app")
        .claim("client_id", json!(CLIENT))
        .sign();
    assert_eq!(
        kind_of(&verifier, &id_with_client_id).await,
        "invalid_client_id"
    );
    // aud as an array that contains the client is accepted.
    let id_array = issuer
        .id_token("x")
        .claim("aud", json!(["x", CLIENT]))
        .sign();
    verifier.verify(&id_array).await.unwrap();
    let no_client = issuer.access_token(CLIENT).without("client_id").sign();
    assert_eq!(kind_of(&verifier, &no_client).await, "invalid_client_id");

    let any_client = Verifier::builder()
        .pool(
            issuer
                .pool_config()
                .any_client()
                .token_use(TokenUse::Access),
        )
        .build()
        .unwrap();
    any_client.verify(&access).await.unwrap();
}

#[tokio::test]
async fn rejects_users_outside_the_required_groups() {
    let (issuer, verifier) = setup(
        |p| {
            p.client_id(CLIENT)
                .token_use(TokenUse::Access)
                .groups(["admin", "editor"])
        },
        |b| b,
    )
    .await;
    verifier
        .verify(
            &issuer
                .access_token(CLIENT)
                .groups(["viewer", "editor"])
                .sign(),
        )
        .await
        .unwrap();
    let err = verifier
        .verify(&issuer.access_token(CLIENT).groups(["viewer"]).sign())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "missing_group");
    assert!(
        err.to_string().contains("viewer") && err.to_string().contains("admin"),
        "{err}"
    );
    assert_eq!(
        kind_of(&verifier, &issuer.access_token(CLIENT).sign()).await,
        "missing_group"
    );
}

#[tokio::test]
async fn rejects_tokens_without_a_required_scope() {
    let (issuer, verifier) = setup(
        |p| {
            p.client_id(CLIENT)
                .token_use(TokenUse::Access)
                .scopes(["videos/read", "videos/admin"])
        },
        |b| b,
    )
    .await;
    verifier
        .verify(
            &issuer
                .access_token(CLIENT)
                .scopes(["openid", "videos/read"])
                .sign(),
        )
        .await
        .unwrap();
    let err = verifier
        .verify(&issuer.access_token(CLIENT).scopes(["videos/readx"]).sign())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "missing_scope");
    assert_eq!(
        kind_of(
            &verifier,
            &issuer.access_token(CLIENT).without("scope").sign()
        )
        .await,
        "missing_scope"
    );
}

#[tokio::test]
async fn splits_the_scope_claim_on_spaces_only() {
    let (issuer, verifier) = setup(|p| access(p).scope("videos/write"), |b| b).await;
    // RFC 6749 §3.3: scope tokens are separated by %x20 only.
    for scope in ["videos/read\tvideos/write", "videos/read\nvideos/write"] {
        let token = issuer
            .access_token(CLIENT)
            .claim("scope", json!(scope))
            .sign();
        assert_eq!(
            kind_of(&verifier, &token).await,
            "missing_scope",
            "{scope:?}"
        );
    }
    let spaced = issuer
        .access_token(CLIENT)
        .claim("scope", json!("  videos/read   videos/write "))
        .sign();
    let claims = verifier.verify(&spaced).await.unwrap();
    assert_eq!(claims.scopes(), ["videos/read", "videos/write"]);
}

#[tokio::test]
async fn runs_the_custom_check_last() {
    let (issuer, verifier) = setup(
        |p| {
            p.client_id(CLIENT)
                .token_use(TokenUse::Access)
                .custom_check(|c| match c.get("custom:tier") {
                    Some(v) if v == "gold" => Ok(()),
                    _ => Err("tier must be gold".into()),
                })
        },
        |b| b,
    )
    .await;
    verifier
        .verify(
            &issuer
                .access_token(CLIENT)
                .claim("custom:tier", json!("gold"))
                .sign(),
        )
        .await
        .unwrap();
    let err = verifier
        .verify(&issuer.access_token(CLIENT).sign())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "custom_check_failed");
    assert!(err.to_string().contains("tier must be gold"));
    // Built-in checks come first.
    let expired = issuer.access_token(CLIENT).expires_in(-5).sign();
    assert_eq!(kind_of(&verifier, &expired).await, "expired");
}

#[tokio::test]
async fn reports_an_unreachable_jwks_as_unavailable() {
    let issuer = LocalIssuer::start().await.unwrap();
    let dead = dead_url().await;
    let verifier = common::verifier(
        &issuer,
        |p| access(p).jwks_url(dead),
        |b| b.jwks_connect_timeout(common::SHORT),
    );
    let err = verifier
        .verify(&issuer.access_token(CLIENT).sign())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "jwks_unavailable");
    assert!(err.is_key_source_failure());

    // A server that answers 500.
    let server = FixedServer::start(|_| Reply::status(500)).await;
    let verifier = common::verifier(&issuer, |p| access(p).jwks_url(server.url.clone()), |b| b);
    let err = verifier
        .verify(&issuer.access_token(CLIENT).sign())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "jwks_unavailable");
    assert!(err.to_string().contains("500"), "{err}");
}

#[tokio::test]
async fn reports_a_response_that_is_not_a_jwks_as_invalid() {
    let issuer = LocalIssuer::start().await.unwrap();
    for body in [
        b"not json".to_vec(),
        b"[]".to_vec(),
        br#"{"keys": 1}"#.to_vec(),
        vec![b' '; 200_000],
    ] {
        let server = FixedServer::start(move |_| Reply::ok(body.clone())).await;
        let verifier = common::verifier(&issuer, |p| access(p).jwks_url(server.url.clone()), |b| b);
        let err = verifier
            .verify(&issuer.access_token(CLIENT).sign())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "invalid_jwks", "{err}");
        assert!(err.is_key_source_failure());
    }
}

#[tokio::test]
async fn verify_cached_needs_hydrate_and_never_fetches() {
    let (issuer, verifier) = setup(access, |b| b).await;
    let token = issuer.access_token(CLIENT).sign();
    assert_eq!(
        verifier.verify_cached(&token).unwrap_err().kind(),
        "jwks_not_cached"
    );
    assert_eq!(issuer.jwks_requests(), 0);
    verifier.hydrate().await.unwrap();
    assert_eq!(issuer.jwks_requests(), 1);
    assert_eq!(
        verifier.verify_cached(&token).unwrap().sub(),
        token_sub(&token)
    );
    // An unknown kid fails at once, with no fetch.
    let unknown = issuer
        .access_token(CLIENT)
        .header("kid", json!("k2"))
        .sign();
    assert_eq!(
        verifier.verify_cached(&unknown).unwrap_err().kind(),
        "unknown_kid"
    );
    assert_eq!(issuer.jwks_requests(), 1);
    // The other checks run as in verify.
    let expired = issuer.access_token(CLIENT).expires_in(-1).sign();
    assert_eq!(
        verifier.verify_cached(&expired).unwrap_err().kind(),
        "expired"
    );
}

fn token_sub(token: &str) -> String {
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["sub"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_error_kind_is_listed_and_distinct() {
    let mut kinds = cognito_verify::ERROR_KINDS.to_vec();
    kinds.sort();
    kinds.dedup();
    assert_eq!(kinds.len(), cognito_verify::ERROR_KINDS.len());
}

/// The resource this server is, as its clients send it in `resource` (RFC 8707).
const RESOURCE: &str = "https://videos.example.com/mcp";

#[tokio::test]
async fn refuses_access_tokens_not_issued_for_the_resource() {
    let (issuer, verifier) = setup(|p| access(p).resource(RESOURCE), |b| b).await;
    let bound = issuer
        .access_token(CLIENT)
        .claim("aud", json!(RESOURCE))
        .sign();
    let claims = verifier.verify(&bound).await.unwrap();
    assert_eq!(claims.aud(), [RESOURCE]);
    let among_others = issuer
        .access_token(CLIENT)
        .claim("aud", json!(["https://other.example.com", RESOURCE]))
        .sign();
    verifier.verify(&among_others).await.unwrap();
    // The same token, wrong only in its audience.
    let unbound = issuer.access_token(CLIENT).sign();
    let err = verifier.verify(&unbound).await.unwrap_err();
    assert_eq!(err.kind(), "invalid_audience");
    assert!(err.to_string().contains(RESOURCE), "{err}");
    for aud in [
        json!("https://other.example.com/mcp"),
        json!(format!("{RESOURCE}/")),
        json!("https://VIDEOS.example.com/mcp"),
        json!("https://videos.example.com:443/mcp"),
        json!("https://videos.example.com/mcp#x"),
        json!("https://videos.example.com/MCP"),
        json!(CLIENT),
        json!([]),
        json!(["https://other.example.com"]),
    ] {
        let token = issuer.access_token(CLIENT).claim("aud", aud.clone()).sign();
        assert_eq!(
            kind_of(&verifier, &token).await,
            "invalid_audience",
            "{aud}"
        );
    }
    // Still one kind per fault: another client's token is that first.
    let other_client = issuer
        .access_token("other-app")
        .claim("aud", json!(RESOURCE))
        .sign();
    assert_eq!(kind_of(&verifier, &other_client).await, "invalid_client_id");
}

#[tokio::test]
async fn id_tokens_keep_the_client_id_as_audience_beside_a_resource() {
    let (issuer, verifier) = setup(
        |p| p.client_id(CLIENT).any_token_use().resource(RESOURCE),
        |b| b,
    )
    .await;
    verifier
        .verify(&issuer.id_token(CLIENT).sign())
        .await
        .unwrap();
    let id_for_another = issuer.id_token("other-app").sign();
    assert_eq!(
        kind_of(&verifier, &id_for_another).await,
        "invalid_client_id"
    );
    let access_token = issuer
        .access_token(CLIENT)
        .claim("aud", json!(RESOURCE))
        .sign();
    verifier.verify(&access_token).await.unwrap();
}

#[tokio::test]
async fn a_resource_with_any_client_never_lets_id_tokens_through_unbound() {
    let issuer = LocalIssuer::start().await.unwrap();
    let err = Verifier::builder()
        .pool(
            issuer
                .pool_config()
                .any_client()
                .any_token_use()
                .resource(RESOURCE),
        )
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), "invalid_config");
    assert!(err.to_string().contains("TokenUse::Access"), "{err}");
    // With access tokens only, an id token of any client is refused for
    // its use, and an access token must be bound.
    let verifier = Verifier::builder()
        .pool(
            issuer
                .pool_config()
                .any_client()
                .token_use(TokenUse::Access)
                .resource(RESOURCE),
        )
        .build()
        .unwrap();
    let id_token = issuer.id_token("any-app").sign();
    assert_eq!(kind_of(&verifier, &id_token).await, "invalid_token_use");
    let unbound = issuer.access_token("any-app").sign();
    assert_eq!(kind_of(&verifier, &unbound).await, "invalid_audience");
}

#[tokio::test]
async fn a_resource_serves_any_client_only_when_told() {
    let issuer = LocalIssuer::start().await.unwrap();
    let unset = Verifier::builder()
        .pool(
            issuer
                .pool_config()
                .token_use(TokenUse::Access)
                .resource(RESOURCE),
        )
        .build()
        .unwrap_err();
    assert_eq!(unset.kind(), "invalid_config");
    assert!(unset.to_string().contains("any_client"), "{unset}");
    let any_client = Verifier::builder()
        .pool(
            issuer
                .pool_config()
                .any_client()
                .token_use(TokenUse::Access)
                .resource(RESOURCE),
        )
        .build()
        .unwrap();
    for client in ["claude-desktop", "another-client"] {
        let token = issuer
            .access_token(client)
            .claim("aud", json!(RESOURCE))
            .sign();
        any_client.verify(&token).await.unwrap();
    }
    let unbound = issuer.access_token("claude-desktop").sign();
    assert_eq!(kind_of(&any_client, &unbound).await, "invalid_audience");
}

#[tokio::test]
async fn refuses_resources_that_no_token_could_name_exactly() {
    let issuer = LocalIssuer::start().await.unwrap();
    let build = |resource: &str| {
        Verifier::builder()
            .pool(access(issuer.pool_config()).resource(resource))
            .build()
    };
    for ok in [
        RESOURCE,
        "https://videos.example.com",
        "https://videos.example.com/",
        "http://localhost:3000/mcp",
        "http://127.0.0.1:3000/mcp",
        "http://[::1]:3000",
    ] {
        build(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    // Id tokens keep the client id as audience: a resource would check nothing.
    let id_only = Verifier::builder()
        .pool(
            issuer
                .pool_config()
                .client_id(CLIENT)
                .token_use(TokenUse::Id)
                .resource(RESOURCE),
        )
        .build()
        .unwrap_err();
    assert_eq!(id_only.kind(), "invalid_config");
    assert!(id_only.to_string().contains("resource"), "{id_only}");
    for bad in [
        "",
        "videos.example.com/mcp",
        "/mcp",
        "https://videos.example.com/mcp#part",
        "https://videos.example.com/mcp?tenant=1",
        "http://videos.example.com/mcp",
        "https://user@videos.example.com/mcp",
        "https://videos.example.com/m cp",
        " https://videos.example.com/mcp",
        "HTTPS://videos.example.com/mcp",
        "https://Videos.example.com/mcp",
        "ftp://videos.example.com/mcp",
    ] {
        let err = build(bad).unwrap_err();
        assert_eq!(err.kind(), "invalid_config", "{bad:?}");
        assert!(err.to_string().contains("resource"), "{bad:?}: {err}");
    }
}
