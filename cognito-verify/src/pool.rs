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
    ///
    /// # Errors
    /// `invalid_config` when `id` is not `<region>_<id>` with a region such
    /// as `us-east-1`.
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
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.id
    }

    /// The region, e.g. `us-east-1`.
    #[must_use]
    pub fn region(&self) -> &str {
        &self.id[..self.region_len]
    }

    /// The DNS suffix of the region's partition: `amazonaws.com` in the
    /// `aws` and `aws-us-gov` partitions, `amazonaws.com.cn` for `cn-*`,
    /// `amazonaws.eu` for `eusc-*`, and the isolated partitions' own. See
    /// [`dns_suffix_of`].
    #[must_use]
    pub fn dns_suffix(&self) -> &'static str {
        dns_suffix_of(self.region())
    }

    /// The issuer Cognito puts in `iss` (issuer type ORIGINAL):
    /// `https://cognito-idp.<region>.<dns suffix>/<pool id>`, e.g.
    /// `https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Ynsi6EIT0`.
    #[must_use]
    pub fn issuer(&self) -> String {
        self.issuer_in(self.region(), self.dns_suffix())
    }

    /// The ORIGINAL issuer as a replica of the pool in `region` writes it
    /// (multi-region replication): the replica's host, the pool's id.
    pub(crate) fn issuer_in(&self, region: &str, dns_suffix: &str) -> String {
        format!("https://cognito-idp.{region}.{dns_suffix}/{}", self.id)
    }

    /// The issuer of pools of issuer type UPDATED (recommended with
    /// multi-region replication):
    /// `https://issuer-cognito-idp.<region>.<dns suffix>/<pool id>`, the
    /// region being the pool's primary one.
    #[must_use]
    pub fn multi_region_issuer(&self) -> String {
        self.updated_issuer_in(self.dns_suffix())
    }

    pub(crate) fn updated_issuer_in(&self, dns_suffix: &str) -> String {
        format!(
            "https://issuer-cognito-idp.{}.{dns_suffix}/{}",
            self.region(),
            self.id
        )
    }

    /// The JWKS URL of [`issuer`](Self::issuer).
    #[must_use]
    pub fn jwks_url(&self) -> String {
        jwks_url_of(&self.issuer())
    }
}

/// The DNS suffix of a region's AWS partition, as AWS's own partition data
/// gives it (the AWS SDKs' `partitions.json`, e.g. botocore's
/// `botocore/data/partitions.json`): `cn-*` → `amazonaws.com.cn` (aws-cn),
/// `eusc-*` → `amazonaws.eu` (aws-eusc), `us-iso-*` → `c2s.ic.gov`,
/// `us-isob-*` → `sc2s.sgov.gov`, `eu-isoe-*` → `cloud.adc-e.uk`,
/// `us-isof-*` → `csp.hci.ic.gov`, and `amazonaws.com` for the rest (aws,
/// aws-us-gov).
///
/// What this settles and what it does not: AWS documents the Cognito
/// issuer only for the `aws` partition
/// (<https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-id-token.html>).
/// In China, AWS states that user pools are not available
/// (<https://docs.amazonaws.cn/en_us/aws/latest/userguide/cognito.html>);
/// for GovCloud, its guide names only the FIPS API endpoints
/// (`cognito-idp-fips.us-gov-west-1.amazonaws.com`,
/// <https://docs.aws.amazon.com/govcloud-us/latest/UserGuide/govcloud-cog.html>),
/// not the issuer; the SDKs' endpoint data lists `cognito-idp` for
/// `eusc-de-east-1` but no page gives its issuer; the isolated partitions
/// list no `cognito-idp` at all. Where this default is wrong for your
/// pool, tokens are refused (`invalid_issuer`), never accepted: state the
/// suffix with [`PoolConfig::dns_suffix`](crate::PoolConfig::dns_suffix).
#[must_use]
pub fn dns_suffix_of(region: &str) -> &'static str {
    partition_of(region).1
}

/// A region's partition: its name and DNS suffix.
fn partition_of(region: &str) -> (&'static str, &'static str) {
    const PARTITIONS: [(&str, &str, &str); 7] = [
        ("us-gov-", "aws-us-gov", "amazonaws.com"),
        ("cn-", "aws-cn", "amazonaws.com.cn"),
        ("eusc-", "aws-eusc", "amazonaws.eu"),
        ("us-iso-", "aws-iso", "c2s.ic.gov"),
        ("us-isob-", "aws-iso-b", "sc2s.sgov.gov"),
        ("eu-isoe-", "aws-iso-e", "cloud.adc-e.uk"),
        ("us-isof-", "aws-iso-f", "csp.hci.ic.gov"),
    ];
    PARTITIONS
        .iter()
        .find(|(prefix, _, _)| region.starts_with(prefix))
        .map_or(("aws", "amazonaws.com"), |&(_, name, suffix)| {
            (name, suffix)
        })
}

/// Whether two regions are in the same partition (a pool replicates only
/// within its own).
pub(crate) fn same_partition(a: &str, b: &str) -> bool {
    partition_of(a).0 == partition_of(b).0
}

/// `<issuer>/.well-known/jwks.json`, with no doubled slash.
pub(crate) fn jwks_url_of(issuer: &str) -> String {
    format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/'))
}

/// `us-east-1`, `us-gov-west-1`, `eusc-de-east-1`, `ap-southeast-3`: a
/// lower-case letter prefix of 2 to 4, one or more lower-case words, and a
/// number, joined by `-`.
pub(crate) fn is_region(region: &str) -> bool {
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
    fn each_partition_has_its_dns_suffix() {
        for (id, issuer) in [
            (
                "us-east-1_a",
                "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_a",
            ),
            (
                "us-gov-west-1_a",
                "https://cognito-idp.us-gov-west-1.amazonaws.com/us-gov-west-1_a",
            ),
            (
                "cn-north-1_a",
                "https://cognito-idp.cn-north-1.amazonaws.com.cn/cn-north-1_a",
            ),
            (
                "eusc-de-east-1_a",
                "https://cognito-idp.eusc-de-east-1.amazonaws.eu/eusc-de-east-1_a",
            ),
            (
                "us-iso-east-1_a",
                "https://cognito-idp.us-iso-east-1.c2s.ic.gov/us-iso-east-1_a",
            ),
            (
                "us-isob-east-1_a",
                "https://cognito-idp.us-isob-east-1.sc2s.sgov.gov/us-isob-east-1_a",
            ),
            (
                "eu-isoe-west-1_a",
                "https://cognito-idp.eu-isoe-west-1.cloud.adc-e.uk/eu-isoe-west-1_a",
            ),
            (
                "us-isof-south-1_a",
                "https://cognito-idp.us-isof-south-1.csp.hci.ic.gov/us-isof-south-1_a",
            ),
        ] {
            assert_eq!(UserPoolId::new(id).unwrap().issuer(), issuer);
        }
        let cn = UserPoolId::new("cn-northwest-1_a").unwrap();
        assert_eq!(
            cn.multi_region_issuer(),
            "https://issuer-cognito-idp.cn-northwest-1.amazonaws.com.cn/cn-northwest-1_a"
        );
        assert!(same_partition("us-east-1", "eu-west-3"));
        assert!(!same_partition("us-east-1", "us-gov-west-1"));
        assert!(!same_partition("us-east-1", "cn-north-1"));
        assert!(!same_partition("us-iso-east-1", "us-isob-east-1"));
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
