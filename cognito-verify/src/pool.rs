//! Cognito user pool ids: region, issuers and JWKS URLs.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// A parsed Cognito user pool id such as `us-east-1_Ynsi6EIT0`.
///
/// The part before `_` is the AWS region (`us-east-1`, `us-gov-west-1`,
/// `eusc-de-east-1`, …), the part after it the pool's own id.
///
/// ```
/// use cognito_verify::UserPoolId;
///
/// let pool: UserPoolId = "us-east-1_Ynsi6EIT0".parse()?;
/// assert_eq!(pool.region(), "us-east-1");
/// assert_eq!(
///     pool.issuer(),
///     "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Ynsi6EIT0"
/// );
/// assert_eq!(
///     pool.jwks_url(),
///     "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Ynsi6EIT0/.well-known/jwks.json"
/// );
/// assert!("not-a-pool".parse::<UserPoolId>().is_err());
/// # Ok::<(), cognito_verify::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct UserPoolId {
    id: String,
    region_len: usize,
}

impl UserPoolId {
    /// Parses and validates a user pool id.
    pub fn new(id: &str) -> Result<Self, Error> {
        let bad = |why: &str| {
            Error::InvalidConfig(format!(
                "user pool id {:?} is not valid ({why}); a valid one is <region>_<id>, \
                 for example \"us-east-1_Ynsi6EIT0\"",
                crate::error::Echo::some(id).as_deref().unwrap_or_default()
            ))
        };
        let (region, local) = id.split_once('_').ok_or_else(|| bad("no '_'"))?;
        if !is_region(region) {
            return Err(bad(
                "the part before '_' is not an AWS region such as us-east-1",
            ));
        }
        if local.is_empty() || local.len() > 64 || !local.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(bad("the part after '_' must be 1 to 64 letters and digits"));
        }
        Ok(UserPoolId {
            id: id.to_owned(),
            region_len: region.len(),
        })
    }

    /// The whole id, e.g. `us-east-1_Ynsi6EIT0`.
    pub fn as_str(&self) -> &str {
        &self.id
    }

    /// The region, e.g. `us-east-1`.
    pub fn region(&self) -> &str {
        &self.id[..self.region_len]
    }

    /// The issuer Cognito puts in `iss`:
    /// `https://cognito-idp.<region>.amazonaws.com/<pool id>`.
    pub fn issuer(&self) -> String {
        format!(
            "https://cognito-idp.{}.amazonaws.com/{}",
            self.region(),
            self.id
        )
    }

    /// The issuer of pools with multi-region replication:
    /// `https://issuer-cognito-idp.<region>.amazonaws.com/<pool id>`.
    pub fn multi_region_issuer(&self) -> String {
        format!(
            "https://issuer-cognito-idp.{}.amazonaws.com/{}",
            self.region(),
            self.id
        )
    }

    /// The JWKS URL of [`issuer`](Self::issuer).
    pub fn jwks_url(&self) -> String {
        jwks_url_of(&self.issuer())
    }
}

/// `<issuer>/.well-known/jwks.json`, with no doubled slash.
pub(crate) fn jwks_url_of(issuer: &str) -> String {
    format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/'))
}

/// `us-east-1`, `us-gov-west-1`, `eusc-de-east-1`, `ap-southeast-3`: a
/// lower-case letter prefix of 2 to 4, one or more lower-case words, and a
/// number, joined by `-`.
fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let Some((last, rest)) = parts.split_last() else {
        return false;
    };
    let Some((first, middle)) = rest.split_first() else {
        return false;
    };
    let lower = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase());
    (2..=4).contains(&first.len())
        && lower(first)
        && !middle.is_empty()
        && middle.iter().all(|m| lower(m) && m.len() <= 16)
        && !last.is_empty()
        && last.len() <= 2
        && last.bytes().all(|b| b.is_ascii_digit())
}

impl FromStr for UserPoolId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        UserPoolId::new(s)
    }
}

impl fmt::Display for UserPoolId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)
    }
}

impl fmt::Debug for UserPoolId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserPoolId({})", self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_region_shapes() {
        for (id, region) in [
            ("us-east-1_Ynsi6EIT0", "us-east-1"),
            ("us-gov-west-1_abc", "us-gov-west-1"),
            ("eusc-de-east-1_X1y2Z3", "eusc-de-east-1"),
            ("ap-southeast-3_AbCdEfGhI", "ap-southeast-3"),
        ] {
            let pool = UserPoolId::new(id).unwrap();
            assert_eq!(pool.region(), region);
            assert_eq!(pool.as_str(), id);
        }
    }

    #[test]
    fn multi_region_issuer_has_its_own_host() {
        let pool = UserPoolId::new("eu-west-1_abc").unwrap();
        assert_eq!(
            pool.multi_region_issuer(),
            "https://issuer-cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"
        );
    }

    #[test]
    fn rejects_malformed_ids_with_an_example_of_a_valid_one() {
        for id in [
            "",
            "_abc",
            "us-east-1_",
            "us-east-1",
            "US-EAST-1_abc",
            "us-east_abc",
            "us-east-1_ab-c",
            "us-east-1_ab/../c",
            "x-east-1_abc",
            "us-east-1_abc_def",
            "local_abc12345",
        ] {
            let err = UserPoolId::new(id).unwrap_err();
            assert_eq!(err.kind(), "invalid_config", "{id}");
            assert!(err.to_string().contains("us-east-1_Ynsi6EIT0"), "{err}");
        }
    }

    #[test]
    fn jwks_url_never_doubles_the_slash() {
        assert_eq!(
            jwks_url_of("http://h/p/"),
            "http://h/p/.well-known/jwks.json"
        );
        assert_eq!(
            jwks_url_of("http://h/p"),
            "http://h/p/.well-known/jwks.json"
        );
    }
}
