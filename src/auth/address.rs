//! Where a request comes from, as the login limits count it: the TCP peer, or, when the peer
//! is a reverse proxy the operator trusts (`--trusted-proxy CIDR`), the hop that proxy put in
//! `X-Forwarded-For`. IPv6 addresses are grouped by /64 (one host usually holds a whole /64),
//! and IPv4-mapped IPv6 addresses count as the IPv4 address they carry.
//!
//! Pure: the web layer hands in the peer and the header values.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

/// A client address as the limits key it: IPv4 as is, IPv6 cut to its /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddress(IpAddr);

impl ClientAddress {
    /// Groups `ip`: an IPv4-mapped IPv6 address becomes its IPv4 address, IPv6 keeps its first
    /// 64 bits.
    pub fn of(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => ClientAddress(IpAddr::V4(v4)),
            IpAddr::V6(v6) => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                ClientAddress(IpAddr::V6(Ipv6Addr::from(bits)))
            }
        }
    }

    pub fn ip(self) -> IpAddr {
        self.0
    }
}

impl fmt::Display for ClientAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

/// A network in CIDR notation (`10.0.0.0/8`, `fd00::/8`); a bare address is a network of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `ip` lies in this network (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let raw = raw.trim();
        let (address, prefix) = match raw.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (raw, None),
        };
        let network = IpAddr::from_str(address)
            .map_err(|_| format!("{raw:?} is not an address or a network like 10.0.0.0/8"))?
            .to_canonical();
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{raw:?}: the prefix length is 0-{max}"))?,
        };
        Ok(Cidr { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// One hop of `X-Forwarded-For`: an address, possibly bracketed or with a port
/// (`1.2.3.4:5678`, `[2001:db8::1]`, `[2001:db8::1]:443`).
fn hop(raw: &str) -> Option<IpAddr> {
    let raw = raw.trim();
    let unbracketed = raw
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(raw);
    IpAddr::from_str(unbracketed)
        .ok()
        .or_else(|| SocketAddr::from_str(raw).ok().map(|s| s.ip()))
}

/// The client address of a request from `peer` carrying these `X-Forwarded-For` values (in
/// the order received). Only a trusted peer's header is read: from its right end, skipping the
/// hops that are trusted proxies themselves; the first other hop is the client. A hop that
/// is not an address stops the walk at the last trusted hop (what a trusted proxy wrote there
/// cannot be told apart from what the client sent).
pub fn client_address<'a>(
    peer: IpAddr,
    forwarded_for: impl IntoIterator<Item = &'a str>,
    trusted: &[Cidr],
) -> ClientAddress {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(peer) {
        return ClientAddress::of(peer);
    }
    let hops: Vec<&str> = forwarded_for
        .into_iter()
        .flat_map(|value| value.split(','))
        .collect();
    let mut client = peer;
    for raw in hops.iter().rev() {
        let Some(ip) = hop(raw) else { break };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    ClientAddress::of(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn cidrs(list: &[&str]) -> Vec<Cidr> {
        list.iter().map(|c| c.parse().unwrap()).collect()
    }

    #[test]
    fn ipv6_is_grouped_by_64_and_mapped_ipv4_is_ipv4() {
        let a = ClientAddress::of(ip("2001:db8:1:2:aaaa::1"));
        let b = ClientAddress::of(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        let other = ClientAddress::of(ip("2001:db8:1:3::1"));
        assert_eq!(a, b);
        assert_ne!(a, other);
        assert_eq!(a.ip(), ip("2001:db8:1:2::"));
        assert_eq!(a.to_string(), "2001:db8:1:2::/64");
        assert_eq!(
            ClientAddress::of(ip("::ffff:10.1.2.3")),
            ClientAddress::of(ip("10.1.2.3"))
        );
        assert_ne!(
            ClientAddress::of(ip("127.0.0.2")),
            ClientAddress::of(ip("127.0.0.3"))
        );
    }

    #[test]
    fn cidrs_parse_and_match() {
        let net: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains(ip("10.200.1.1")));
        assert!(net.contains(ip("::ffff:10.0.0.1")));
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(!net.contains(ip("::1")));
        let one: Cidr = "127.0.0.1".parse().unwrap();
        assert!(one.contains(ip("127.0.0.1")));
        assert!(!one.contains(ip("127.0.0.2")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")));
        assert!(!v6.contains(ip("fe80::1")));
        for bad in ["", "10.0.0.0/33", "::/129", "example.com", "10.0.0.0/x"] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
        assert_eq!(v6.to_string(), "fd00::/8");
    }

    #[test]
    fn only_a_trusted_peer_may_name_the_client() {
        let trusted = cidrs(&["10.0.0.0/8"]);
        // An untrusted peer's header is ignored.
        let direct = client_address(ip("203.0.113.9"), ["198.51.100.1"], &trusted);
        assert_eq!(direct.ip(), ip("203.0.113.9"));
        // A trusted proxy: the hop it added (the rightmost) is the client.
        let proxied = client_address(ip("10.0.0.5"), ["198.51.100.1, 203.0.113.7"], &trusted);
        assert_eq!(proxied.ip(), ip("203.0.113.7"));
        // Chained trusted proxies are skipped, across several header lines.
        let chained = client_address(
            ip("10.0.0.5"),
            ["1.1.1.1, 203.0.113.7", "10.0.0.9"],
            &trusted,
        );
        assert_eq!(chained.ip(), ip("203.0.113.7"));
        // No header, or only trusted hops: the last trusted hop.
        assert_eq!(
            client_address(ip("10.0.0.5"), [], &trusted).ip(),
            ip("10.0.0.5")
        );
        assert_eq!(
            client_address(ip("10.0.0.5"), ["10.0.0.7"], &trusted).ip(),
            ip("10.0.0.7")
        );
        // Garbage a client sent left of the proxy's hop does not matter; ports are dropped.
        assert_eq!(
            client_address(ip("10.0.0.5"), ["junk, 203.0.113.7:4000"], &trusted).ip(),
            ip("203.0.113.7")
        );
        assert_eq!(
            client_address(ip("10.0.0.5"), ["[2001:db8::1]:443"], &trusted).ip(),
            ip("2001:db8::")
        );
        assert_eq!(
            client_address(ip("10.0.0.5"), ["[2001:db8:0:7::1]"], &trusted).ip(),
            ip("2001:db8:0:7::")
        );
        // Garbage where the proxy's hop should be: the proxy itself.
        assert_eq!(
            client_address(ip("10.0.0.5"), ["203.0.113.7, junk"], &trusted).ip(),
            ip("10.0.0.5")
        );
        // Nothing trusted: the peer, whatever the header says.
        assert_eq!(
            client_address(ip("127.0.0.1"), ["203.0.113.7"], &[]).ip(),
            ip("127.0.0.1")
        );
    }
}
