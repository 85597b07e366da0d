//! Which IP addresses an outbound request may connect to. Private, loopback, unique-local and CGNAT
//! addresses are refused unless the operator opts in (intranets, a local model server, tests); cloud
//! metadata endpoints and the whole link-local range (where they live: 169.254/16, fe80::/10) are
//! refused always, opt-in or not, because a request that can be pointed at them leaks credentials.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::Url;

/// Which non-public addresses an outbound request may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkPolicy {
    /// Allow every private range (RFC 1918, loopback, unique-local, CGNAT; never link-local or
    /// metadata). Intranet crawls opt in with `--allow-private-network`.
    pub allow_private: bool,
    /// Allow loopback only (127.0.0.0/8, ::1): a site served on this machine, while other private ranges
    /// stay refused.
    pub allow_loopback: bool,
    /// The setting a refusal names as the way to allow private addresses (`--allow-private-network` for
    /// the CLI's `ingest`; the server's own setting when the server crawls).
    pub setting: &'static str,
}

impl Default for NetworkPolicy {
    fn default() -> Self {
        Self { allow_private: false, allow_loopback: false, setting: DEFAULT_PRIVATE_NETWORK_SETTING }
    }
}

/// The setting named by refusals by default: the `ingest` command's flag.
pub const DEFAULT_PRIVATE_NETWORK_SETTING: &str = "--allow-private-network";

/// What kind of non-public address an IP is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// An ordinary public unicast address.
    Public,
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// 10/8, 172.16/12, 192.168/16.
    Private,
    /// 169.254/16, fe80::/10.
    LinkLocal,
    /// fc00::/7.
    UniqueLocal,
    /// 100.64/10 (carrier-grade NAT).
    Cgnat,
    /// A cloud metadata endpoint (169.254.169.254, 169.254.170.2, fd00:ec2::254, 100.100.100.200).
    Metadata,
    /// Unspecified, broadcast, multicast or reserved: never a web server.
    NotUnicast,
}

impl AddressClass {
    fn describe(self) -> &'static str {
        match self {
            AddressClass::Public => "public",
            AddressClass::Loopback => "loopback",
            AddressClass::Private => "private network",
            AddressClass::LinkLocal => "link-local",
            AddressClass::UniqueLocal => "unique-local",
            AddressClass::Cgnat => "carrier-grade NAT",
            AddressClass::Metadata => "cloud metadata endpoint",
            AddressClass::NotUnicast => "not a unicast address",
        }
    }
}

/// Classifies an address (IPv4-mapped and NAT64 IPv6 addresses by the IPv4 address inside).
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return classify_v4(v4);
            }
            let s = v6.segments();
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                let o = v6.octets();
                return classify_v4(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
            }
            if v6 == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
                AddressClass::Metadata
            } else if v6.is_loopback() {
                AddressClass::Loopback
            } else if v6.is_unspecified() || v6.is_multicast() {
                AddressClass::NotUnicast
            } else if s[0] & 0xfe00 == 0xfc00 {
                AddressClass::UniqueLocal
            } else if s[0] & 0xffc0 == 0xfe80 {
                AddressClass::LinkLocal
            } else {
                AddressClass::Public
            }
        }
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let o = ip.octets();
    if [[169, 254, 169, 254], [169, 254, 170, 2], [100, 100, 100, 200]].contains(&o) {
        AddressClass::Metadata
    } else if ip.is_loopback() {
        AddressClass::Loopback
    } else if ip.is_private() {
        AddressClass::Private
    } else if ip.is_link_local() {
        AddressClass::LinkLocal
    } else if o[0] == 100 && (64..128).contains(&o[1]) {
        AddressClass::Cgnat
    } else if o[0] == 0 || ip.is_broadcast() || ip.is_multicast() || o[0] >= 240 {
        AddressClass::NotUnicast
    } else {
        AddressClass::Public
    }
}

/// Why `ip` may not be connected to under `policy`, or `None` when it may.
pub fn refusal(ip: IpAddr, policy: NetworkPolicy) -> Option<String> {
    let class = classify(ip);
    let allowed = match class {
        AddressClass::Public => true,
        AddressClass::Metadata | AddressClass::LinkLocal | AddressClass::NotUnicast => false,
        AddressClass::Loopback => policy.allow_private || policy.allow_loopback,
        AddressClass::Private | AddressClass::UniqueLocal | AddressClass::Cgnat => policy.allow_private,
    };
    if allowed {
        return None;
    }
    Some(match class {
        AddressClass::Metadata | AddressClass::LinkLocal | AddressClass::NotUnicast => {
            format!("refused address {ip} ({}, never fetched)", class.describe())
        }
        _ => format!("refused address {ip} ({}; allow with {})", class.describe(), policy.setting),
    })
}

/// Host names of cloud metadata services (GCP, AWS, OpenStack/others): refused by name, before any DNS
/// lookup, whatever they resolve to here.
pub const METADATA_HOSTS: &[&str] = &[
    "metadata.google.internal",
    "metadata.goog",
    "metadata",
    "instance-data",
    "instance-data.ec2.internal",
    "metadata.platformequinix.com",
    "metadata.packet.net",
];

/// Why the host name `host` is refused (a cloud metadata service), or `None`.
pub fn host_refusal(host: &str) -> Option<String> {
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    METADATA_HOSTS
        .contains(&name.as_str())
        .then(|| format!("refused host {name} (cloud metadata endpoint, never fetched)"))
}

/// Why `url` is refused before any connection: a literal IP host in a refused range (the resolver never
/// sees those), a metadata host name, or a scheme other than http(s). `None` when the resolver decides.
pub fn url_refusal(url: &Url, policy: NetworkPolicy) -> Option<String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Some(format!("refused URL {url} (not http or https)"));
    }
    match url.host()? {
        url::Host::Ipv4(v4) => refusal(IpAddr::V4(v4), policy),
        url::Host::Ipv6(v6) => refusal(IpAddr::V6(v6), policy),
        url::Host::Domain(name) => host_refusal(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> AddressClass {
        classify(s.parse().unwrap())
    }

    #[test]
    fn addresses_are_classified() {
        assert_eq!(class("93.184.216.34"), AddressClass::Public);
        assert_eq!(class("2606:4700::1111"), AddressClass::Public);
        assert_eq!(class("127.0.0.1"), AddressClass::Loopback);
        assert_eq!(class("127.8.9.10"), AddressClass::Loopback);
        assert_eq!(class("::1"), AddressClass::Loopback);
        assert_eq!(class("10.0.0.1"), AddressClass::Private);
        assert_eq!(class("172.16.5.4"), AddressClass::Private);
        assert_eq!(class("172.32.0.1"), AddressClass::Public);
        assert_eq!(class("192.168.1.1"), AddressClass::Private);
        assert_eq!(class("169.254.1.1"), AddressClass::LinkLocal);
        assert_eq!(class("fe80::1"), AddressClass::LinkLocal);
        assert_eq!(class("fd12:3456::1"), AddressClass::UniqueLocal);
        assert_eq!(class("100.64.0.1"), AddressClass::Cgnat);
        assert_eq!(class("100.128.0.1"), AddressClass::Public);
        assert_eq!(class("169.254.169.254"), AddressClass::Metadata);
        assert_eq!(class("fd00:ec2::254"), AddressClass::Metadata);
        assert_eq!(class("0.0.0.0"), AddressClass::NotUnicast);
        assert_eq!(class("255.255.255.255"), AddressClass::NotUnicast);
        assert_eq!(class("224.0.0.1"), AddressClass::NotUnicast);
        // IPv4 hidden inside IPv6 is judged by the IPv4 address.
        assert_eq!(class("::ffff:10.0.0.1"), AddressClass::Private);
        assert_eq!(class("::ffff:169.254.169.254"), AddressClass::Metadata);
        assert_eq!(class("64:ff9b::7f00:1"), AddressClass::Loopback);
    }

    #[test]
    fn the_policy_opens_private_ranges_but_never_metadata() {
        let closed = NetworkPolicy::default();
        let loopback = NetworkPolicy { allow_loopback: true, ..Default::default() };
        let open = NetworkPolicy { allow_private: true, ..Default::default() };
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(refusal(ip("93.184.216.34"), closed), None);
        assert_eq!(
            refusal(ip("127.0.0.1"), closed).unwrap(),
            "refused address 127.0.0.1 (loopback; allow with --allow-private-network)"
        );
        assert_eq!(refusal(ip("127.0.0.1"), loopback), None);
        assert_eq!(
            refusal(ip("10.0.0.1"), loopback).unwrap(),
            "refused address 10.0.0.1 (private network; allow with --allow-private-network)"
        );
        assert_eq!(refusal(ip("10.0.0.1"), open), None);
        assert_eq!(refusal(ip("127.0.0.1"), open), None);
        let server = NetworkPolicy { setting: "the server setting X", ..Default::default() };
        assert_eq!(
            refusal(ip("192.168.1.1"), server).unwrap(),
            "refused address 192.168.1.1 (private network; allow with the server setting X)"
        );
        for metadata in ["169.254.169.254", "fd00:ec2::254"] {
            assert_eq!(
                refusal(ip(metadata), open).unwrap(),
                format!("refused address {metadata} (cloud metadata endpoint, never fetched)")
            );
        }
        // The whole link-local range is where metadata services live: refused even with the opt-in.
        for link_local in ["169.254.1.1", "169.254.169.253", "fe80::1"] {
            assert_eq!(
                refusal(ip(link_local), open).unwrap(),
                format!("refused address {link_local} (link-local, never fetched)")
            );
        }
    }

    #[test]
    fn urls_are_checked_by_literal_address_and_metadata_name() {
        let open = NetworkPolicy { allow_private: true, ..Default::default() };
        let url = |s: &str| Url::parse(s).unwrap();
        assert_eq!(url_refusal(&url("https://example.com/x"), NetworkPolicy::default()), None);
        assert_eq!(url_refusal(&url("http://127.0.0.1:8080/"), open), None);
        assert!(url_refusal(&url("http://127.0.0.1:8080/"), NetworkPolicy::default()).unwrap().contains("loopback"));
        assert_eq!(
            url_refusal(&url("http://169.254.169.254/latest/meta-data/"), open).unwrap(),
            "refused address 169.254.169.254 (cloud metadata endpoint, never fetched)"
        );
        assert_eq!(
            url_refusal(&url("http://[fd00:ec2::254]/"), open).unwrap(),
            "refused address fd00:ec2::254 (cloud metadata endpoint, never fetched)"
        );
        assert_eq!(
            url_refusal(&url("http://Metadata.Google.Internal./computeMetadata/v1/"), open).unwrap(),
            "refused host metadata.google.internal (cloud metadata endpoint, never fetched)"
        );
        assert!(url_refusal(&url("file:///etc/passwd"), open).unwrap().contains("not http or https"));
    }
}
