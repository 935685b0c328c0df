//! `no_proxy`: which hosts bypass a proxy taken from the environment.
//!
//! Entries are separated by commas or white space, as curl and Python's `urllib` read them:
//! - `*` matches every host;
//! - a name matches itself and every name below it (`example.com` and `.example.com` both match
//!   `example.com` and `ws.example.com`, not `badexample.com`); `*.example.com` is read as
//!   `.example.com`; case does not matter;
//! - an IP address matches that address (IPv6 with or without brackets), and `10.0.0.0/8` or
//!   `fd00::/8` every address in the range; names are not resolved, so an IP entry never
//!   matches a name and a name never matches an IP literal;
//! - `:port` after an entry limits it to that port.

use std::net::IpAddr;

/// Whether `host` (as in the URL, IPv6 without brackets) on `port` is listed in `no_proxy`.
pub fn bypasses(no_proxy: &str, host: &str, port: u16) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let host_ip = host.parse::<IpAddr>().ok();
    no_proxy
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|e| !e.is_empty())
        .any(|entry| matches(entry, &host, host_ip, port))
}

fn matches(entry: &str, host: &str, host_ip: Option<IpAddr>, port: u16) -> bool {
    if entry == "*" {
        return true;
    }
    let (name, entry_port) = split_port(entry);
    if entry_port.is_some_and(|p| p != port) {
        return false;
    }
    let name = name.trim_start_matches('[').trim_end_matches(']');
    if let Some((net, bits)) = name.split_once('/') {
        return match (net.parse::<IpAddr>(), bits.parse::<u8>(), host_ip) {
            (Ok(net), Ok(bits), Some(ip)) => in_range(ip, net, bits),
            _ => false,
        };
    }
    if let Ok(ip) = name.parse::<IpAddr>() {
        return host_ip == Some(ip);
    }
    if host_ip.is_some() {
        return false;
    }
    let name = name
        .trim_start_matches('*')
        .trim_start_matches('.')
        .trim_end_matches('.');
    let name = name.to_ascii_lowercase();
    !name.is_empty()
        && (host == name
            || (host.ends_with(&name) && host[..host.len() - name.len()].ends_with('.')))
}

/// `host:port` or `[v6]:port` → (host, port); a bare IPv6 address keeps its colons.
fn split_port(entry: &str) -> (&str, Option<u16>) {
    if let Some(rest) = entry.strip_prefix('[') {
        if let Some((addr, after)) = rest.split_once(']') {
            return (addr, after.strip_prefix(':').and_then(|p| p.parse().ok()));
        }
    }
    match entry.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') => match port.parse() {
            Ok(p) => (name, Some(p)),
            Err(_) => (entry, None),
        },
        _ => (entry, None),
    }
}

fn in_range(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::bypasses;

    #[test]
    fn names_match_themselves_and_their_subdomains() {
        for list in [
            "example.com",
            ".example.com",
            "*.example.com",
            "EXAMPLE.com.",
        ] {
            assert!(bypasses(list, "example.com", 80), "{list}");
            assert!(bypasses(list, "ws.Example.com", 80), "{list}");
            assert!(!bypasses(list, "badexample.com", 80), "{list}");
            assert!(!bypasses(list, "example.com.evil", 80), "{list}");
        }
        assert!(!bypasses("", "example.com", 80));
        assert!(!bypasses(" , ,", "example.com", 80));
        assert!(bypasses("*", "anything", 1));
        assert!(bypasses(
            "other.org, localhost  example.com",
            "localhost",
            9000
        ));
    }

    #[test]
    fn ports_limit_an_entry() {
        assert!(bypasses("localhost:9000", "localhost", 9000));
        assert!(!bypasses("localhost:9000", "localhost", 9001));
        assert!(bypasses("[::1]:9000", "::1", 9000));
        assert!(!bypasses("[::1]:9000", "::1", 80));
    }

    #[test]
    fn addresses_and_ranges_match_literals_only() {
        assert!(bypasses("127.0.0.1", "127.0.0.1", 80));
        assert!(!bypasses("127.0.0.1", "127.0.0.2", 80));
        assert!(!bypasses("127.0.0.1", "localhost", 80));
        assert!(!bypasses("localhost", "127.0.0.1", 80));
        assert!(bypasses("::1", "::1", 80));
        assert!(bypasses("[::1]", "::1", 80));
        assert!(bypasses("10.0.0.0/8", "10.1.2.3", 80));
        assert!(!bypasses("10.0.0.0/8", "11.0.0.1", 80));
        assert!(bypasses("0.0.0.0/0", "1.2.3.4", 80));
        assert!(bypasses("fd00::/8", "fd12::1", 80));
        assert!(!bypasses("fd00::/8", "fe80::1", 80));
        assert!(!bypasses("10.0.0.0/40", "10.0.0.1", 80));
        assert!(!bypasses("10.0.0.0/8", "ten.example", 80));
    }
}
