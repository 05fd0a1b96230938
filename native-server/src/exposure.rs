//! Who can reach a listening socket: loopback only, unless told otherwise.

use std::net::{IpAddr, SocketAddr};

/// True for 127.0.0.0/8, `::1`, and IPv4-mapped loopback addresses.
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// The warning to print when a server listens on `addr` where other machines
/// can reach it (`None` on loopback): its wire view and pages are then open to
/// anyone who can reach the port and guess or see a token.
pub fn exposure_warning(addr: SocketAddr) -> Option<String> {
    (!is_loopback(addr.ip())).then(|| {
        format!(
            "listening on {addr}, which is NOT loopback: other machines can reach this server \
             (its pages, its endpoints and the wire view of any connection whose tap token they know)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_non_loopback_addresses_are_warned_about() {
        for quiet in [
            "127.0.0.1:9090",
            "127.3.4.5:1",
            "[::1]:9090",
            "[::ffff:127.0.0.1]:1",
        ] {
            assert_eq!(exposure_warning(quiet.parse().unwrap()), None, "{quiet}");
        }
        for loud in ["0.0.0.0:9090", "192.168.1.2:80", "[::]:9090"] {
            let w = exposure_warning(loud.parse().unwrap()).expect(loud);
            assert!(w.contains("NOT loopback") && w.contains(loud), "{w}");
        }
    }
}
