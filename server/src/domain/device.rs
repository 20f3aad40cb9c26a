//! What a session shows of where it was opened: a short device description from the
//! User-Agent, and the client's address made approximate before it is stored.

use std::net::IpAddr;

/// "Firefox on Linux", "Safari on iPhone", "curl": from a User-Agent, with `woothee`.
pub fn describe(user_agent: Option<&str>) -> String {
    let Some(agent) = user_agent.map(str::trim).filter(|ua| !ua.is_empty()) else {
        return "Unknown device".to_owned();
    };
    // woothee names tools "HTTP Library"; their own product token says more ("curl").
    let known = |value: &str| {
        !value.is_empty() && value != woothee::woothee::VALUE_UNKNOWN && value != "HTTP Library"
    };
    match woothee::parser::Parser::new().parse(agent) {
        Some(found) if known(found.name) && known(found.os) => {
            format!("{} on {}", found.name, found.os)
        }
        Some(found) if known(found.name) => found.name.to_owned(),
        _ => agent
            .split(['/', ' '])
            .next()
            .filter(|name| !name.is_empty())
            .map_or_else(
                || "Unknown device".to_owned(),
                |name| name.chars().take(40).collect(),
            ),
    }
}

/// The network an address belongs to, not the address: an IPv4 /24, an IPv6 /48.
pub fn approximate(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => approximate(IpAddr::V4(v4)),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_are_described_by_browser_and_system() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(describe(Some(firefox)), "Firefox on Linux");
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(describe(Some(iphone)), "Safari on iPhone");
        assert_eq!(describe(Some("curl/8.5.0")), "curl");
        assert_eq!(describe(None), "Unknown device");
    }

    #[test]
    fn addresses_are_kept_to_their_network() {
        assert_eq!(
            approximate("203.0.113.77".parse().expect("test value")),
            "203.0.113.0/24"
        );
        assert_eq!(
            approximate("::ffff:203.0.113.77".parse().expect("test value")),
            "203.0.113.0/24"
        );
        assert_eq!(
            approximate("2001:db8:abcd:12::1".parse().expect("test value")),
            "2001:db8:abcd::/48"
        );
    }
}
