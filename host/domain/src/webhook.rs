//! Webhooks: which addresses a delivery may reach, and when a failed
//! delivery is tried again.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// Why a delivery may not go to `ip`: loopback, private, link-local (the
/// cloud metadata address among them), or otherwise not a public unicast
/// address; none when it may.
pub fn forbidden_address(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => forbidden_v4(v4),
            None => forbidden_v6(v6),
        },
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_private() || (a == 100 && (64..128).contains(&b)) {
        Some("a private address")
    } else if ip.is_link_local() {
        Some("a link-local address (such as a cloud's metadata service)")
    } else if ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || a >= 240
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        || (a == 198 && (18..20).contains(&b))
    {
        Some("not a public address")
    } else {
        None
    }
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Some("a loopback address")
    } else if first & 0xfe00 == 0xfc00 {
        Some("a private address")
    } else if first & 0xffc0 == 0xfe80 {
        Some("a link-local address")
    } else if ip.is_unspecified()
        || ip.is_multicast()
        || first == 0x2001 && ip.segments()[1] == 0x0db8
        || first == 0x0064 && ip.segments()[1] == 0xff9b
    {
        Some("not a public address")
    } else {
        None
    }
}

/// How long after each failed attempt the next one is made: about three
/// days and three hours in all, over fifteen attempts, the first at once.
pub const RETRY_DELAYS: [Duration; 14] = [
    Duration::from_secs(5),
    Duration::from_secs(30),
    Duration::from_secs(2 * 60),
    Duration::from_secs(10 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(60 * 60),
    Duration::from_secs(2 * 60 * 60),
    Duration::from_secs(4 * 60 * 60),
    Duration::from_secs(8 * 60 * 60),
    Duration::from_secs(12 * 60 * 60),
    Duration::from_secs(12 * 60 * 60),
    Duration::from_secs(12 * 60 * 60),
    Duration::from_secs(12 * 60 * 60),
    Duration::from_secs(12 * 60 * 60),
];

/// When to try again after `attempts` failed attempts: the schedule's
/// delay times `scale` (1 in production; smaller to test), lengthened by
/// `jitter` (0 to 1) of up to a fifth so that retries of many deliveries
/// spread out; none after the last.
pub fn retry_delay(attempts: u32, scale: f64, jitter: f64) -> Option<Duration> {
    let index = usize::try_from(attempts).ok()?.checked_sub(1)?;
    let delay = RETRY_DELAYS.get(index)?;
    Some(delay.mul_f64(scale.max(0.0) * (1.0 + jitter.clamp(0.0, 1.0) / 5.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn refuses_every_address_that_is_not_public() {
        for text in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.3.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::",
        ] {
            assert!(forbidden_address(ip(text)).is_some(), "{text} is refused");
        }
        assert_eq!(
            forbidden_address(ip("169.254.169.254")),
            Some("a link-local address (such as a cloud's metadata service)")
        );
        for text in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert_eq!(forbidden_address(ip(text)), None, "{text} is public");
        }
    }

    #[test]
    fn retries_for_at_least_three_days() {
        let total: Duration = (1..=14).map(|n| retry_delay(n, 1.0, 0.0).unwrap()).sum();
        assert!(total >= Duration::from_secs(3 * 24 * 60 * 60), "{total:?}");
        assert_eq!(retry_delay(15, 1.0, 0.0), None);
        assert_eq!(retry_delay(0, 1.0, 0.0), None);
        assert_eq!(retry_delay(1, 1.0, 0.0), Some(Duration::from_secs(5)));
        assert_eq!(retry_delay(1, 1.0, 1.0), Some(Duration::from_secs(6)));
        assert_eq!(retry_delay(2, 0.01, 0.0), Some(Duration::from_millis(300)));
    }
}
