//! One definition of the hosts plugsmith judges, used by `new` (validators and warnings) and by
//! `plugsmith audit` alike: local development hosts, placeholder hosts, and a host's registrable
//! domain from the Public Suffix List (`api.x.co.uk` → `x.co.uk`, not `co.uk`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A host only this machine can reach: `localhost` and `*.localhost`, the loopback addresses
/// (`127.0.0.0/8`, `[::1]`) and the unspecified address `0.0.0.0`. Plain http is allowed for
/// these, and a manifest pointing at one is a development manifest.
pub fn is_local(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ip.is_loopback() || ip == Ipv4Addr::UNSPECIFIED,
        Ok(IpAddr::V6(ip)) => ip.is_loopback() || ip == Ipv6Addr::UNSPECIFIED,
        Err(_) => false,
    }
}

/// Words that only a template or a copied example puts in a host name.
const PLACEHOLDER_WORDS: [&str; 11] = [
    "your",
    "example.com",
    "example.org",
    "example.net",
    "placeholder",
    "hostname",
    "domain.com",
    "app-url",
    "xxx",
    "changeme",
    "change-me",
];

/// Top-level domains reserved for documentation and tests (RFC 2606, RFC 6761): never a real
/// deployment.
const RESERVED_TLDS: [&str; 3] = ["example", "test", "invalid"];

/// A host that stands for "put yours here": the documentation domains (`example.com`,
/// `*.example`, …), template syntax (`${HOST}`, `<your-app>`), or words like `your-domain`.
pub fn is_placeholder(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let tld = host.rsplit('.').next().unwrap_or_default();
    !host.is_ascii()
        || host.is_empty()
        || host.contains(['$', '{', '}', '<', '>', '%', '_'])
        || RESERVED_TLDS.contains(&tld)
        || PLACEHOLDER_WORDS.iter().any(|p| host.contains(p))
}

/// The registrable domain of a host by the Public Suffix List: `api.todo.example.com` →
/// `example.com`, `api.x.co.uk` → `x.co.uk`. A host with no registrable domain (an IP address,
/// `localhost`, a bare suffix) is its own.
pub fn registrable_domain(host: &str) -> String {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.starts_with('[') || host.parse::<IpAddr>().is_ok() {
        return host;
    }
    match psl::domain_str(&host) {
        Some(d) => d.to_string(),
        None => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_hosts() {
        for h in [
            "localhost",
            "api.localhost",
            "127.0.0.1",
            "127.1.2.3",
            "0.0.0.0",
            "[::1]",
            "LOCALHOST",
        ] {
            assert!(is_local(h), "{h}");
        }
        for h in ["example.com", "10.0.0.1", "localhost.example.com", "[::2]"] {
            assert!(!is_local(h), "{h}");
        }
    }

    #[test]
    fn placeholder_hosts() {
        for h in [
            "example.com",
            "todo.example.org",
            "api.example",
            "svc.test",
            "x.invalid",
            "your-app-url.com",
            "${HOST}",
            "my_host",
        ] {
            assert!(is_placeholder(h), "{h}");
        }
        for h in [
            "todo.acme.dev",
            "api.examples.io",
            "localhost",
            "testing.com",
        ] {
            assert!(!is_placeholder(h), "{h}");
        }
    }

    #[test]
    fn registrable_domains_follow_the_public_suffix_list() {
        assert_eq!(registrable_domain("api.todo.example.com"), "example.com");
        assert_eq!(registrable_domain("www.acme.dev"), "acme.dev");
        assert_eq!(registrable_domain("api.x.co.uk"), "x.co.uk");
        assert_eq!(registrable_domain("legal.y.co.uk"), "y.co.uk");
        assert_ne!(
            registrable_domain("api.x.co.uk"),
            registrable_domain("legal.y.co.uk")
        );
        assert_eq!(registrable_domain("a.b.github.io"), "b.github.io");
        assert_eq!(registrable_domain("127.0.0.1"), "127.0.0.1");
        assert_eq!(registrable_domain("localhost"), "localhost");
    }
}
