//! The claim checks, run on every verification and on every token-cache
//! hit: each a small function on what it checks, in the order of
//! [`check_claims`].

use std::time::Duration;

use crate::Error;
use crate::claims::{Claim, ClaimList, CognitoClaims, Established, NumericDate, Payload, TokenUse};
use crate::clock::now_nanos;
use crate::config::ResolvedPool;
use crate::error::{Echo, EchoList, Expected, RefusedBy, Time};
use crate::settings::Settings;

/// The built-in checks of a token's claims, in order: times, token use,
/// client id, audience, groups, scopes. What they establish makes the claims
/// [`CognitoClaims`]; the custom check runs on those ([`check_custom`]).
pub(crate) fn check_payload(
    pool: &ResolvedPool,
    settings: &Settings,
    payload: &Payload,
) -> Result<Established, Error> {
    let exp = check_times(payload, settings)?;
    let token_use = check_token_use(payload, pool.token_use)?;
    if let Some(allowed) = &pool.client_ids {
        check_client(payload, token_use, allowed)?;
    }
    check_audience(payload, token_use, &pool.resources)?;
    check_any_of(
        &pool.groups,
        payload.list_of(Claim::Groups),
        |expected, actual| Error::MissingGroup { expected, actual },
    )?;
    check_any_of(
        &pool.scopes,
        payload.list_of(Claim::Scope),
        |expected, actual| Error::MissingScope { expected, actual },
    )?;
    Ok(Established { token_use, exp })
}

/// The pool's custom check, on claims that passed every built-in check.
pub(crate) fn check_custom(pool: &ResolvedPool, claims: &CognitoClaims) -> Result<(), Error> {
    match &pool.custom_check {
        Some(check) => check(claims).map_err(Error::CustomCheckFailed),
        None => Ok(()),
    }
}

/// Every check again, on claims the token cache remembered: times may have
/// run out, and the custom check may answer otherwise now.
pub(crate) fn recheck(
    pool: &ResolvedPool,
    settings: &Settings,
    claims: &CognitoClaims,
) -> Result<(), Error> {
    check_payload(pool, settings, claims.payload())?;
    check_custom(pool, claims)
}

/// `exp` (required; strict but for the leeway) and `nbf`, `iat` (up to the
/// larger of the leeway and the future tolerance ahead), compared exactly:
/// a NumericDate may be non-integer.
fn check_times(payload: &Payload, settings: &Settings) -> Result<NumericDate, Error> {
    let ahead = settings.leeway.max(settings.future_tolerance);
    let (leeway, ahead_nanos) = (nanos_of(settings.leeway), nanos_of(ahead));
    let now = now_nanos();
    let now_secs = Time::from_unix_seconds(NumericDate::from_nanos(now).whole_seconds());
    let exp = payload
        .time_of(Claim::Exp)
        .ok_or_else(|| Error::malformed("the claim \"exp\" is required"))?;
    // RFC 7519 §4.1.4: the token is valid only *before* exp.
    if now >= exp.nanos().saturating_add(leeway) {
        return Err(Error::Expired {
            exp: Time::from_unix_seconds(exp.whole_seconds()),
            now: now_secs,
            leeway_secs: settings.leeway.as_secs(),
        });
    }
    let in_future = |claim: Claim| {
        payload
            .time_of(claim)
            .filter(|d| d.nanos() > now.saturating_add(ahead_nanos))
            .map(|d| Time::from_unix_seconds(d.whole_seconds()))
    };
    if let Some(nbf) = in_future(Claim::Nbf) {
        return Err(Error::NotYetValid {
            nbf,
            now: now_secs,
            leeway_secs: ahead.as_secs(),
        });
    }
    if let Some(iat) = in_future(Claim::Iat) {
        return Err(Error::IssuedInFuture {
            iat,
            now: now_secs,
            leeway_secs: ahead.as_secs(),
        });
    }
    Ok(exp)
}

/// `token_use` is `id` or `access`, and the configured one if any.
fn check_token_use(payload: &Payload, expected: Option<TokenUse>) -> Result<TokenUse, Error> {
    match (payload.token_use(), expected) {
        (Some(actual), None) => Ok(actual),
        (Some(actual), Some(expected)) if actual == expected => Ok(actual),
        _ => Err(token_use_refused(
            expected,
            payload.text_of(Claim::TokenUse),
            RefusedBy::Pool,
        )),
    }
}

/// The `invalid_token_use` error: `expected` is one use, or `None` for
/// either.
pub(crate) fn token_use_refused(
    expected: Option<TokenUse>,
    actual: Option<&str>,
    refused_by: RefusedBy,
) -> Error {
    let expected = match expected {
        Some(one) => vec![one.as_str().to_owned()],
        None => vec![
            TokenUse::Id.as_str().to_owned(),
            TokenUse::Access.as_str().to_owned(),
        ],
    };
    Error::InvalidTokenUse {
        expected: Expected(expected),
        actual: Echo::of(actual),
        refused_by,
    }
}

/// The client id: in `aud` for id tokens (any of its values), in
/// `client_id` for access tokens.
fn check_client(payload: &Payload, token_use: TokenUse, allowed: &[String]) -> Result<(), Error> {
    let ids = payload.client_ids(token_use);
    match ids.any_in(allowed) {
        true => Ok(()),
        false => Err(Error::InvalidClientId {
            claim: ids.claim().name(),
            expected: Expected(allowed.to_vec()),
            actual: Echo::of(ids.first()),
        }),
    }
}

/// An access token's `aud` (a string or an array, RFC 7519 §4.1.3) names
/// one of the resources, compared exactly (RFC 3986 §6.2.1), when the pool
/// serves any. Id tokens are left alone: their `aud` is the client id,
/// which [`check_client`] reads.
fn check_audience(
    payload: &Payload,
    token_use: TokenUse,
    resources: &[String],
) -> Result<(), Error> {
    if resources.is_empty() || token_use != TokenUse::Access {
        return Ok(());
    }
    check_any_of(
        resources,
        payload.list_of(Claim::Aud),
        |expected, actual| Error::InvalidAudience { expected, actual },
    )
}

/// At least one of `required` in `actual` (nothing required: met); else the
/// error `refuse` makes from what was expected and what the token has.
pub(crate) fn check_any_of(
    required: &[String],
    actual: ClaimList<'_>,
    refuse: impl FnOnce(Expected, EchoList) -> Error,
) -> Result<(), Error> {
    if required.is_empty() || actual.iter().any(|a| required.iter().any(|r| r == a)) {
        return Ok(());
    }
    Err(refuse(
        Expected(required.to_vec()),
        EchoList::of(actual.iter()),
    ))
}

pub(crate) fn nanos_of(duration: Duration) -> i128 {
    i128::try_from(duration.as_nanos()).unwrap_or(i128::MAX)
}
