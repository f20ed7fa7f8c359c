//! What the shop may fetch on a seller's behalf (SSRF safety).
//!
//! Only `http` and `https` URLs without credentials, on the web's ports (80 and 443, and
//! those the operator adds: an image host has no business on 22, 6379 or 9200, where other
//! services listen), whose host resolves to public addresses only: never loopback, private,
//! shared (CGNAT), link-local (which holds the cloud metadata service at 169.254.169.254),
//! multicast, broadcast, unspecified or reserved ranges, in IPv4 or IPv6, including IPv4
//! hidden inside IPv6 (mapped, compatible, NAT64, 6to4) and the prefixes behind which any
//! IPv4 address may hide (the local-use NAT64 prefix `64:ff9b:1::/48`, Teredo's `2001::/32`,
//! a tunnel whose far end is anyone's guess). Hosts written
//! as decimal, octal or hex numbers (`2130706433`, `0177.0.0.1`, `0x7f.1`) are read the way a
//! browser reads them (WHATWG URL parsing) and so end up as the addresses they stand for.
//!
//! The check runs before every request, redirects included, and the HTTP client's resolver
//! hands the connection the address that check passed (the fetcher pins it), so the
//! connection goes to an address that was checked: a name that resolves to a public address
//! for the check and to a private one for the connection (DNS rebinding) never reaches the
//! private one.

use reqwest::Url;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Why a URL is not fetched. Each has a stable code for reports and metrics.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("not a valid URL")]
    BadUrl,
    #[error("only http and https URLs are fetched, not {0}:")]
    Scheme(String),
    #[error("URLs with a user name or password are not fetched")]
    Credentials,
    #[error("{0} is not a public address")]
    Address(IpAddr),
    #[error("the host {0} could not be resolved")]
    Unresolved(String),
    #[error("port {0} is not one pictures are fetched from")]
    Port(u16),
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::BadUrl => "bad_url",
            Refusal::Scheme(_) => "bad_scheme",
            Refusal::Credentials => "credentials_in_url",
            Refusal::Address(_) => "private_address",
            Refusal::Unresolved(_) => "unresolvable_host",
            Refusal::Port(_) => "port",
        }
    }
}

/// The ports every policy allows: the web's.
pub const WEB_PORTS: [u16; 2] = [80, 443];

/// The address and port rules. `allow_loopback` exists for tests that serve pictures from
/// 127.0.0.1 (on whatever port the test got); it is off unless a test turns it on
/// (`EMPORIUM_TEST_FETCH_LOOPBACK`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    pub allow_loopback: bool,
    /// Ports allowed besides [`WEB_PORTS`] (`EMPORIUM_FETCH_PORTS`).
    pub extra_ports: Vec<u16>,
}

impl Policy {
    pub fn allows(&self, ip: IpAddr) -> bool {
        if self.allow_loopback && canonical(ip).is_loopback() {
            return true;
        }
        is_public(ip)
    }

    /// Checks a parsed URL's port: the web's, or one the operator added (any port of a
    /// loopback address under the test setting). Checked after the host, so that a private
    /// address is refused as such whatever its port.
    pub fn check_port(&self, url: &Url) -> Result<(), Refusal> {
        let port = url.port_or_known_default().unwrap_or(80);
        let test_server = self.allow_loopback
            && match url.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                _ => false,
            };
        if WEB_PORTS.contains(&port) || self.extra_ports.contains(&port) || test_server {
            Ok(())
        } else {
            Err(Refusal::Port(port))
        }
    }

    /// Parses and checks a URL's form (scheme, credentials, literal addresses; the port is
    /// [`check_port`](Self::check_port)'s).
    pub fn parse(&self, text: &str) -> Result<Url, Refusal> {
        let url = Url::parse(text.trim()).map_err(|_| Refusal::BadUrl)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refusal::Scheme(url.scheme().to_owned()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refusal::Credentials);
        }
        match url.host() {
            None => Err(Refusal::BadUrl),
            Some(url::Host::Ipv4(ip)) if !self.allows(IpAddr::V4(ip)) => {
                Err(Refusal::Address(IpAddr::V4(ip)))
            }
            Some(url::Host::Ipv6(ip)) if !self.allows(IpAddr::V6(ip)) => {
                Err(Refusal::Address(IpAddr::V6(ip)))
            }
            Some(_) => Ok(url),
        }
    }

    /// Resolves `host` and checks every address it gives (one bad address refuses the host:
    /// the connection could go to any of them).
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, Refusal> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = host.parse::<IpAddr>() {
            return if self.allows(ip) {
                Ok(vec![SocketAddr::new(ip, port)])
            } else {
                Err(Refusal::Address(ip))
            };
        }
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|_| Refusal::Unresolved(host.to_owned()))?
            .collect();
        if addrs.is_empty() {
            return Err(Refusal::Unresolved(host.to_owned()));
        }
        if let Some(bad) = addrs.iter().find(|a| !self.allows(a.ip())) {
            return Err(Refusal::Address(bad.ip()));
        }
        Ok(addrs)
    }
}

/// IPv4 hidden in an IPv6 address is judged as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => embedded_v4(v6).map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`),
/// NAT64 (`64:ff9b::/96`) or 6to4 (`2002:AABB:CCDD::/48`) address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = || Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    if s[..6] == [0, 0, 0, 0, 0, 0] && !(s[6] == 0 && s[7] <= 1) {
        return Some(tail());
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(tail());
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    None
}

/// Whether an address is on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || a == 0 // "this network"
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16: cloud metadata services live here
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // documentation
        || (a == 203 && b == 0 && c == 113) // documentation
        || ip.is_multicast()
        || a >= 240) // reserved and broadcast
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x2001 && s[1] == 0) // Teredo: IPv4 behind a tunnel
        || s[..3] == [0x64, 0xff9b, 1] // local-use NAT64: any IPv4, at any prefix length
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0])) // discard-only
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str) -> Option<&'static str> {
        Policy::default().parse(url).err().map(|r| r.code())
    }

    #[test]
    fn private_and_special_addresses_are_refused_in_every_spelling() {
        for url in [
            "http://127.0.0.1/a.jpg",
            "http://127.1/a.jpg",
            "http://2130706433/a.jpg",  // decimal
            "http://0177.0.0.1/a.jpg",  // octal
            "http://0x7f.0x0.0x0.0x1/", // hex
            "http://0x7f000001/",       // one hex number
            "http://017700000001/",     // one octal number
            "http://10.1.2.3/",
            "http://172.16.0.1/",
            "http://172.31.255.255/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data/", // cloud metadata
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://224.0.0.1/",
            "http://255.255.255.255/",
            "http://[::1]/",
            "http://[::]/",
            "http://[::ffff:127.0.0.1]/", // IPv4-mapped
            "http://[::ffff:7f00:1]/",
            "http://[::ffff:169.254.169.254]/",
            "http://[::127.0.0.1]/",        // IPv4-compatible
            "http://[64:ff9b::a9fe:a9fe]/", // NAT64 of 169.254.169.254
            "http://[2002:c0a8:0101::1]/",  // 6to4 of 192.168.1.1
            "http://[fc00::1]/",
            "http://[fd12:3456::1]/",
            "http://[fe80::1]/",
            "http://[ff02::1]/",
        ] {
            assert_eq!(refused(url), Some("private_address"), "{url}");
        }
    }

    #[test]
    fn ipv4_behind_the_local_nat64_prefix_and_teredo_is_refused() {
        for url in [
            "http://[64:ff9b:1::a9fe:a9fe]/", // local-use NAT64 (RFC 8215) of 169.254.169.254
            "http://[64:ff9b:1:ffff::7f00:1]/",
            "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", // Teredo: a tunnel, anywhere
            "http://[2001::1]/",
        ] {
            assert_eq!(refused(url), Some("private_address"), "{url}");
        }
        // The rest of 2001::/23 is ordinary public space.
        assert_eq!(refused("http://[2001:4860:4860::8888]/"), None);
    }

    /// Why `policy` refuses `url`'s port, if it does.
    fn port_refused(policy: &Policy, url: &str) -> Option<&'static str> {
        let url = policy.parse(url).unwrap();
        policy.check_port(&url).err().map(|r| r.code())
    }

    #[test]
    fn only_the_web_ports_are_fetched_unless_more_are_allowed() {
        let refused = |url| port_refused(&Policy::default(), url);
        assert_eq!(refused("http://images.example.com/a.jpg"), None);
        assert_eq!(refused("https://images.example.com:443/a.jpg"), None);
        for url in [
            "http://images.example.com:8080/a.jpg",
            "http://images.example.com:22/",
            "https://93.184.216.34:6379/",
        ] {
            assert_eq!(refused(url), Some("port"), "{url}");
        }
        let more = Policy {
            extra_ports: vec![8080],
            ..Policy::default()
        };
        assert_eq!(
            port_refused(&more, "http://images.example.com:8080/a.jpg"),
            None
        );
        assert_eq!(
            port_refused(&more, "http://images.example.com:8081/a.jpg"),
            Some("port")
        );
        let test = Policy {
            allow_loopback: true,
            ..Policy::default()
        };
        assert_eq!(port_refused(&test, "http://127.0.0.1:41234/a.jpg"), None);
        assert_eq!(
            port_refused(&test, "http://images.example.com:41234/a.jpg"),
            Some("port")
        );
    }

    #[test]
    fn only_plain_http_urls_are_fetched() {
        assert_eq!(refused("file:///etc/passwd"), Some("bad_scheme"));
        assert_eq!(refused("ftp://example.com/a.jpg"), Some("bad_scheme"));
        assert_eq!(refused("gopher://example.com/"), Some("bad_scheme"));
        assert_eq!(refused("javascript:alert(1)"), Some("bad_scheme"));
        assert_eq!(
            refused("http://user:pw@example.com/a.jpg"),
            Some("credentials_in_url")
        );
        assert_eq!(
            refused("http://user@example.com/a.jpg"),
            Some("credentials_in_url")
        );
        assert_eq!(refused("not a url"), Some("bad_url"));
        assert_eq!(refused(""), Some("bad_url"));
        assert_eq!(refused("https://images.example.com/a.jpg"), None);
        assert_eq!(refused("http://93.184.216.34/a.jpg"), None);
        assert_eq!(refused("http://[2606:2800:220:1::1]/a.jpg"), None);
    }

    #[test]
    fn the_test_setting_allows_loopback_and_nothing_else() {
        let test = Policy {
            allow_loopback: true,
            ..Policy::default()
        };
        assert!(test.parse("http://127.0.0.1:8080/a.jpg").is_ok());
        assert!(test.parse("http://[::1]/a.jpg").is_ok());
        assert!(test.parse("http://10.0.0.1/a.jpg").is_err());
        assert!(test.parse("http://169.254.169.254/").is_err());
    }

    #[tokio::test]
    async fn names_are_judged_by_what_they_resolve_to() {
        let policy = Policy::default();
        assert_eq!(
            policy.resolve("localhost", 80).await.unwrap_err().code(),
            "private_address"
        );
        assert_eq!(
            policy
                .resolve("no-such-host.invalid", 80)
                .await
                .unwrap_err()
                .code(),
            "unresolvable_host"
        );
    }
}
