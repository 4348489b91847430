//! The revocation list in one process: each kind of entry refuses the
//! tokens it covers, and only those, on verification and on token-cache
//! hits alike.

mod common;

use std::time::Duration;

use cognito_verify::testing::LocalIssuer;
use cognito_verify::{Revocations, Revoked, TokenUse, Verifier};
use common::{CLIENT, access, outcome, setup};
use serde_json::json;

/// A token's claim, read back from the builder.
fn claim(token: &cognito_verify::testing::TokenBuilder<'_>, name: &str) -> String {
    token.claims()[name].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn each_kind_of_entry_refuses_the_tokens_it_covers_and_no_other() {
    let (issuer, verifier) = setup(access, |b| b).await;
    let now = cognito_verify::unix_now();
    let alice = || issuer.access_token(CLIENT).sub("alice");
    let list = verifier.revocations();

    // One token, by jti.
    let first = alice();
    let first_jti = claim(&first, "jti");
    let (first, second) = (first.sign(), alice().sign());
    list.revoke(Revoked::Token { jti: first_jti })
        .await
        .unwrap();
    assert_eq!(outcome(&verifier, &first).await, "revoked");
    assert_eq!(outcome(&verifier, &second).await, "ok", "another jti");

    // One session, by origin_jti: every token of it, whatever its jti.
    let session = "0f8fad5b-d9cb-469f-a165-70867728950e";
    let of_session = || alice().claim("origin_jti", json!(session));
    list.revoke(Revoked::Session {
        origin_jti: session.into(),
    })
    .await
    .unwrap();
    assert_eq!(outcome(&verifier, &of_session().sign()).await, "revoked");
    assert_eq!(outcome(&verifier, &of_session().sign()).await, "revoked");
    assert_eq!(outcome(&verifier, &alice().sign()).await, "ok");

    // A user: sign-ins at or before the cutoff, whatever the session.
    let bob = |auth_time: i64| {
        issuer
            .access_token(CLIENT)
            .sub("bob")
            .claim("auth_time", json!(auth_time))
    };
    list.revoke(Revoked::User {
        sub: "bob".into(),
        at_or_before: now - 10,
    })
    .await
    .unwrap();
    assert_eq!(outcome(&verifier, &bob(now - 10).sign()).await, "revoked");
    assert_eq!(outcome(&verifier, &bob(now - 9).sign()).await, "ok");
    assert_eq!(
        outcome(
            &verifier,
            &alice().claim("auth_time", json!(now - 3600)).sign()
        )
        .await,
        "ok",
        "another user"
    );

    // An app client: tokens issued at or before the cutoff.
    let other_issuer = LocalIssuer::start().await.unwrap();
    let any_client = Verifier::builder()
        .pool(
            other_issuer
                .pool_config()
                .any_client()
                .token_use(TokenUse::Access),
        )
        .revocations(list.clone())
        .build()
        .unwrap();
    let of_client = |client: &str, iat: i64| {
        other_issuer
            .access_token(client)
            .claim("iat", json!(iat))
            .sign()
    };
    list.revoke(Revoked::Client {
        client_id: "retired".into(),
        at_or_before: now - 5,
    })
    .await
    .unwrap();
    assert_eq!(
        outcome(&any_client, &of_client("retired", now - 60)).await,
        "revoked"
    );
    assert_eq!(outcome(&any_client, &of_client("retired", now)).await, "ok");
    assert_eq!(
        outcome(&any_client, &of_client("kept", now - 60)).await,
        "ok"
    );

    assert_eq!(list.status().entries, 4);
}

#[tokio::test]
async fn a_users_cutoff_follows_the_sign_in_not_the_refresh() {
    // A refresh mints a new iat but keeps auth_time: a token refreshed
    // after the sign-out, from a sign-in before it, stays refused.
    let (issuer, verifier) = setup(access, |b| b).await;
    let now = cognito_verify::unix_now();
    verifier
        .revocations()
        .revoke(Revoked::User {
            sub: "carol".into(),
            at_or_before: now - 30,
        })
        .await
        .unwrap();
    let refreshed = issuer
        .access_token(CLIENT)
        .sub("carol")
        .claim("auth_time", json!(now - 600))
        .claim("iat", json!(now))
        .sign();
    assert_eq!(outcome(&verifier, &refreshed).await, "revoked");
    // A new sign-in after the cutoff is fine.
    let signed_in_again = issuer
        .access_token(CLIENT)
        .sub("carol")
        .claim("auth_time", json!(now - 20))
        .claim("iat", json!(now))
        .sign();
    assert_eq!(outcome(&verifier, &signed_in_again).await, "ok");
    // Without auth_time (a machine's token), iat measures it.
    let no_auth_time = issuer
        .access_token(CLIENT)
        .sub("carol")
        .without("auth_time")
        .claim("iat", json!(now - 60));
    assert_eq!(outcome(&verifier, &no_auth_time.sign()).await, "revoked");
}

#[tokio::test]
async fn a_token_revoked_while_cached_is_refused_at_its_next_hit() {
    let (issuer, verifier) = setup(access, |b| b).await;
    let token = issuer.access_token(CLIENT).sub("dave");
    let jti = claim(&token, "jti");
    let token = token.sign();
    let hits = |v: &Verifier| v.status().token_cache.hits;
    for _ in 0..3 {
        if hits(&verifier) == 0 {
            verifier.verify(&token).await.unwrap();
        }
    }
    assert_eq!(hits(&verifier), 1, "cached, then a hit");
    verifier
        .revocations()
        .revoke(Revoked::Token { jti })
        .await
        .unwrap();
    assert_eq!(outcome(&verifier, &token).await, "revoked");
    assert_eq!(hits(&verifier), 2, "refused on a hit");
    assert_eq!(outcome(&verifier, &token).await, "revoked");
    assert_eq!(hits(&verifier), 2, "and no longer cached");
    // verify_cached refuses it the same way.
    assert_eq!(
        verifier.verify_cached(&token).unwrap_err().kind(),
        "revoked"
    );
}

#[tokio::test]
async fn one_list_shared_by_two_verifiers_refuses_in_both() {
    let issuer = LocalIssuer::start().await.unwrap();
    let list = Revocations::in_process();
    let make = || {
        Verifier::builder()
            .pool(access(issuer.pool_config()))
            .revocations(list.clone())
            .build()
            .unwrap()
    };
    let (a, b) = (make(), make());
    let token = issuer.access_token(CLIENT).sub("erin");
    let session = claim(&token, "origin_jti");
    let token = token.sign();
    a.revocations()
        .revoke(Revoked::Session {
            origin_jti: session,
        })
        .await
        .unwrap();
    assert_eq!(outcome(&a, &token).await, "revoked");
    assert_eq!(outcome(&b, &token).await, "revoked");
}

#[tokio::test]
async fn revocation_claims_of_another_type_are_malformed() {
    let (issuer, verifier) = setup(access, |b| b).await;
    for (name, value) in [
        ("jti", json!(7)),
        ("origin_jti", json!(["a"])),
        ("auth_time", json!("yesterday")),
    ] {
        let token = issuer.access_token(CLIENT).claim(name, value).sign();
        assert_eq!(
            outcome(&verifier, &token).await,
            "malformed_token",
            "{name}"
        );
    }
}

#[tokio::test]
async fn revocations_are_validated_and_the_list_is_bounded() {
    let list = Revocations::builder().max_entries(2).build().unwrap();
    let token = |jti: &str| Revoked::Token { jti: jti.into() };
    for bad in [
        token(""),
        token(&"x".repeat(cognito_verify::revocation::MAX_ID_BYTES + 1)),
        Revoked::User {
            sub: "u".into(),
            at_or_before: cognito_verify::unix_now() + 3 * 86_400,
        },
    ] {
        assert_eq!(list.revoke(bad).await.unwrap_err().kind(), "invalid_config");
    }
    list.revoke(token("a")).await.unwrap();
    list.revoke(token("b")).await.unwrap();
    let full = list.revoke(token("c")).await.unwrap_err();
    assert_eq!(full.kind(), "revocations_unavailable", "{full}");
    // An id the list holds is taken again (it only widens).
    list.revoke(token("a")).await.unwrap();
    assert_eq!(list.status().entries, 2);
    for bad in [
        Revocations::builder().max_entries(0).build(),
        Revocations::builder().max_staleness(Duration::ZERO).build(),
        Revocations::builder()
            .max_token_lifetime(Duration::from_secs(400 * 86_400))
            .build(),
    ] {
        assert_eq!(bad.unwrap_err().kind(), "invalid_config");
    }
}

#[tokio::test]
async fn a_million_entries_keep_checks_exact() {
    let (issuer, verifier) = setup(access, |b| b).await;
    let list = verifier.revocations();
    for i in 0..1_000_000u32 {
        let jti = format!("{i:08x}-0000-4000-8000-000000000000");
        list.revoke(Revoked::Token { jti }).await.unwrap();
    }
    assert_eq!(list.status().entries, 1_000_000);
    let kept = issuer
        .access_token(CLIENT)
        .claim("jti", json!("00000007-0000-4000-8000-000000000000"))
        .sign();
    assert_eq!(outcome(&verifier, &kept).await, "revoked");
    assert_eq!(
        outcome(&verifier, &issuer.access_token(CLIENT).sign()).await,
        "ok"
    );
}
