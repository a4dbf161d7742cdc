//! Recognising ECR registry hosts in the server URLs Docker passes.
//!
//! Docker hands the helper whatever the user typed before the image name:
//! usually a bare host (`123456789012.dkr.ecr.eu-west-1.amazonaws.com`),
//! sometimes with a scheme, a port or a path. Only hosts that are exactly an
//! ECR registry endpoint are accepted: anything else (a look-alike such as
//! `….amazonaws.com.evil.com` included) must never receive ECR credentials.

/// An ECR registry endpoint: which account's registry, in which region and
/// partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    /// The 12-digit account id, which is also ECR's registry id.
    pub account_id: String,
    pub region: String,
    /// `<account>.dkr.ecr-fips.<region>.amazonaws.com`.
    pub fips: bool,
    /// The canonical host (lower case, no scheme, port or path): the cache key.
    pub host: String,
}

impl Registry {
    /// Parses a server URL as Docker passes it. `None` for anything that is
    /// not an ECR registry host.
    pub fn parse(server_url: &str) -> Option<Registry> {
        let s = server_url.trim();
        let s = match s.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => rest,
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
            Some(_) => return None,
            None => s,
        };
        let authority = s.split(['/', '?', '#']).next().unwrap_or_default();
        // `user@host` is not a registry address Docker would produce; refuse
        // rather than guess which part is the host.
        if authority.contains('@') {
            return None;
        }
        let host = match authority.rsplit_once(':') {
            Some((host, port))
                if !port.is_empty()
                    && port.len() <= 5
                    && port.bytes().all(|b| b.is_ascii_digit()) =>
            {
                host
            }
            Some(_) => return None,
            None => authority,
        };
        let host = host.to_ascii_lowercase();

        let labels: Vec<&str> = host.split('.').collect();
        let (account, dkr, service, region, suffix) = match labels.as_slice() {
            [account, dkr, service, region, rest @ ..] => (*account, *dkr, *service, *region, rest),
            _ => return None,
        };
        let china = match suffix {
            ["amazonaws", "com"] => false,
            ["amazonaws", "com", "cn"] => true,
            _ => return None,
        };
        let fips = match service {
            "ecr" => false,
            "ecr-fips" => true,
            _ => return None,
        };
        if dkr != "dkr"
            || account.len() != 12
            || !account.bytes().all(|b| b.is_ascii_digit())
            || !is_region(region)
            || china != region.starts_with("cn-")
        {
            return None;
        }
        Some(Registry {
            account_id: account.to_owned(),
            region: region.to_owned(),
            fips,
            host,
        })
    }
}

/// `us-east-1`, `us-gov-west-1`, `cn-northwest-1`, `ap-southeast-5`: letter
/// groups joined by dashes, ending in a number.
fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let Some((number, words)) = parts.split_last() else {
        return false;
    };
    words.len() >= 2
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && !number.is_empty()
        && number.len() <= 2
        && number.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::Registry;

    fn parsed(url: &str) -> (String, String, bool, String) {
        let r = Registry::parse(url).unwrap_or_else(|| panic!("{url:?} should parse"));
        (r.account_id, r.region, r.fips, r.host)
    }

    #[test]
    fn bare_host() {
        assert_eq!(
            parsed("123456789012.dkr.ecr.us-east-1.amazonaws.com"),
            (
                "123456789012".into(),
                "us-east-1".into(),
                false,
                "123456789012.dkr.ecr.us-east-1.amazonaws.com".into()
            )
        );
    }

    #[test]
    fn scheme_port_path_and_case_are_normalised() {
        let host = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
        for url in [
            "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            "http://123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            "HTTPS://123456789012.DKR.ECR.EU-WEST-1.AMAZONAWS.COM",
            "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/",
            "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/v2/",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/my/repo:tag",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com:443",
            "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com:443/v1/",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com?x=1",
            "  123456789012.dkr.ecr.eu-west-1.amazonaws.com\n",
        ] {
            let (account, region, fips, h) = parsed(url);
            assert_eq!(
                (account.as_str(), region.as_str(), fips, h.as_str()),
                ("123456789012", "eu-west-1", false, host),
                "{url:?}"
            );
        }
    }

    #[test]
    fn fips_china_and_govcloud() {
        assert_eq!(
            parsed("https://123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com"),
            (
                "123456789012".into(),
                "us-gov-west-1".into(),
                true,
                "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com".into()
            )
        );
        assert!(parsed("123456789012.dkr.ecr-fips.us-east-2.amazonaws.com").2);
        assert_eq!(
            parsed("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn").1,
            "cn-north-1"
        );
        assert_eq!(
            parsed("https://123456789012.dkr.ecr.cn-northwest-1.amazonaws.com.cn/v2/").1,
            "cn-northwest-1"
        );
        assert_eq!(
            parsed("123456789012.dkr.ecr.ap-southeast-5.amazonaws.com").1,
            "ap-southeast-5"
        );
    }

    #[test]
    fn non_ecr_hosts_and_look_alikes_are_refused() {
        for url in [
            "",
            "https://",
            "docker.io",
            "https://index.docker.io/v1/",
            "ghcr.io",
            "localhost:5000",
            "public.ecr.aws",
            "dkr.ecr.us-east-1.amazonaws.com",
            "dkr.ecr.us-east-1.amazonaws.com.evil.com",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.com",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com.",
            "evil.com/123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "https://evil.com/123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "https://123456789012.dkr.ecr.us-east-1.amazonaws.com@evil.com",
            "https://evil.com@123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "x.123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.amazonaws.co",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com.au",
            "123456789012.dkr.ecr.us-east-1.evil.com",
            "123456789012.ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.s3.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr.amazonaws.com",
            "12345678901.dkr.ecr.us-east-1.amazonaws.com",
            "1234567890123.dkr.ecr.us-east-1.amazonaws.com",
            "12345678901a.dkr.ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr.us_east_1.amazonaws.com",
            "123456789012.dkr.ecr.useast1.amazonaws.com",
            "123456789012.dkr.ecr.us-east-.amazonaws.com",
            "123456789012.dkr.ecr.-east-1.amazonaws.com",
            // China regions live in `.amazonaws.com.cn` and nowhere else.
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com.cn",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com:",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com:https",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com:4430000",
            "ftp://123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "file:///123456789012.dkr.ecr.us-east-1.amazonaws.com",
        ] {
            assert_eq!(Registry::parse(url), None, "{url:?} must be refused");
        }
    }
}
