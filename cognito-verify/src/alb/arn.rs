//! Load balancer ARNs, and where the public keys of each load balancer's
//! region are published.

use crate::Error;

/// An Application Load Balancer's ARN, as the `signer` of its tokens:
/// `arn:<partition>:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id>`
/// ("Authenticate users using an Application Load Balancer", user claims
/// encoding, Elastic Load Balancing user guide).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoadBalancerArn {
    pub arn: String,
    pub partition: String,
    pub region: String,
}

impl LoadBalancerArn {
    /// Parses a configured ARN; anything but an Application Load
    /// Balancer's is an `invalid_config` error.
    pub(crate) fn parse(arn: &str) -> Result<Self, Error> {
        let bad = |why: &str| {
            Error::InvalidConfig(format!(
                "{arn:?} is not an Application Load Balancer ARN \
                 (arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id>): {why}"
            ))
        };
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let [prefix, partition, service, region, account, resource] = parts[..] else {
            return Err(bad("it has fewer than six ':'-separated parts"));
        };
        if prefix != "arn" || service != "elasticloadbalancing" {
            return Err(bad(
                "it must start with arn:<partition>:elasticloadbalancing:",
            ));
        }
        let name_ok = |s: &str, extra: &str| {
            !s.is_empty()
                && s.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || extra.as_bytes().contains(&b)
                })
        };
        if !name_ok(partition, "-") || !name_ok(region, "-") {
            return Err(bad("the partition and region must be lower-case names"));
        }
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("the account id must be 12 digits"));
        }
        let resource_parts: Vec<&str> = resource.split('/').collect();
        match resource_parts[..] {
            ["loadbalancer", "app", name, id] if !name.is_empty() && !id.is_empty() => {}
            _ => return Err(bad("the resource must be loadbalancer/app/<name>/<id>")),
        }
        Ok(LoadBalancerArn {
            arn: arn.to_owned(),
            partition: partition.to_owned(),
            region: region.to_owned(),
        })
    }

    /// Where this load balancer's region publishes its public keys, one
    /// PEM document per key id at `<base>/<kid>`. The hosts are the ones
    /// AWS documents (user guide, "Authenticate users using an Application
    /// Load Balancer", user claims encoding): the commercial regions, and
    /// the two AWS GovCloud (US) regions' S3 buckets. Other partitions
    /// (China, the European Sovereign Cloud) are not documented: their
    /// base URL must be given (`AlbVerifierBuilder::key_url`).
    pub(crate) fn key_url_base(&self) -> Result<String, Error> {
        match (self.partition.as_str(), self.region.as_str()) {
            ("aws", region) => Ok(format!(
                "https://public-keys.auth.elb.{region}.amazonaws.com"
            )),
            ("aws-us-gov", region @ ("us-gov-west-1" | "us-gov-east-1")) => Ok(format!(
                "https://s3-{region}.amazonaws.com/aws-elb-public-keys-prod-{region}"
            )),
            (partition, region) => Err(Error::InvalidConfig(format!(
                "AWS does not document where load balancers in {region} (partition {partition}) \
                 publish their public keys: give the base URL with key_url(...)"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:elasticloadbalancing:eu-west-1:373508513302:loadbalancer/app/videos/a4df45643ccf98ac";

    #[test]
    fn parses_alb_arns_and_finds_the_documented_key_hosts() {
        let arn = LoadBalancerArn::parse(ARN).unwrap();
        assert_eq!(arn.region, "eu-west-1");
        assert_eq!(
            arn.key_url_base().unwrap(),
            "https://public-keys.auth.elb.eu-west-1.amazonaws.com"
        );
        let gov = LoadBalancerArn::parse(
            "arn:aws-us-gov:elasticloadbalancing:us-gov-west-1:123456789012:loadbalancer/app/a/b",
        )
        .unwrap();
        assert_eq!(
            gov.key_url_base().unwrap(),
            "https://s3-us-gov-west-1.amazonaws.com/aws-elb-public-keys-prod-us-gov-west-1"
        );
        let china = LoadBalancerArn::parse(
            "arn:aws-cn:elasticloadbalancing:cn-north-1:123456789012:loadbalancer/app/a/b",
        )
        .unwrap();
        assert_eq!(china.key_url_base().unwrap_err().kind(), "invalid_config");
    }

    #[test]
    fn refuses_what_is_not_an_alb_arn() {
        for bad in [
            "",
            "arn:aws:elasticloadbalancing:eu-west-1:373508513302",
            "arn:aws:s3:eu-west-1:373508513302:loadbalancer/app/a/b",
            "arn:aws:elasticloadbalancing:eu-west-1:3735085133:loadbalancer/app/a/b",
            "arn:aws:elasticloadbalancing:eu-west-1:373508513302:loadbalancer/net/a/b",
            "arn:aws:elasticloadbalancing:eu-west-1:373508513302:targetgroup/a/b",
            "arn:aws:elasticloadbalancing:EU-WEST-1:373508513302:loadbalancer/app/a/b",
            "arn:aws:elasticloadbalancing:eu-west-1:373508513302:loadbalancer/app/a/b/c",
        ] {
            assert_eq!(
                LoadBalancerArn::parse(bad).unwrap_err().kind(),
                "invalid_config",
                "{bad}"
            );
        }
    }
}
