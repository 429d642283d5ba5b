// SPDX-License-Identifier: GPL-2.0

//! Parsing the network and transport headers of a packet.
//!
//! Pure logic, shared with the host tests: the kernel side passes a
//! [`HeaderSource`] that shows bytes of the skb with `skb_header_pointer`
//! semantics, so nothing here can read out of bounds.
//! A packet whose headers are truncated or malformed parses as
//! [`Transport::Unknown`].

/// IP protocol numbers used here.
const IPPROTO_HOPOPTS: u8 = 0;
const IPPROTO_ICMP: u8 = 1;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
const IPPROTO_ROUTING: u8 = 43;
const IPPROTO_FRAGMENT: u8 = 44;
const IPPROTO_AH: u8 = 51;
const IPPROTO_ICMPV6: u8 = 58;
const IPPROTO_DSTOPTS: u8 = 60;

/// At most this many IPv6 extension headers are followed.
const MAX_EXT_HEADERS: usize = 8;

/// Shows header bytes of one packet, counted from its network header.
pub trait HeaderSource {
    /// What `f` makes of the `N` bytes at `offset`, or `None` if the
    /// packet is shorter. (`f` reads them where they are, if it can: a
    /// header is looked at, not copied.)
    fn read<const N: usize, R>(&self, offset: usize, f: impl FnOnce(&[u8; N]) -> R) -> Option<R>;

    /// A copy of the `N` bytes at `offset`, or `None` if the packet is
    /// shorter.
    #[inline(always)]
    fn bytes<const N: usize>(&self, offset: usize) -> Option<[u8; N]> {
        self.read(offset, |b| *b)
    }
}

/// The network protocol of a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    Ipv4,
    Ipv6,
}

/// The transport protocol of a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    Udp,
    /// ICMP or ICMPv6.
    Icmp,
    /// Any other protocol, or headers that could not be parsed.
    Unknown,
}

/// An IPv4 address in the low four bytes, or an IPv6 address.
pub type Addr = [u8; 16];

/// What the accounting needs of a packet's headers.
///
/// Addresses and ports are as on the wire: `src` is the sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Headers {
    pub transport: Transport,
    pub src: Addr,
    pub dst: Addr,
    /// Source and destination port; `None` for a non-first fragment or a
    /// protocol without ports.
    pub ports: Option<(u16, u16)>,
    /// Bytes of network and transport headers (those of the transport
    /// only when `ports` is known).
    pub header_len: u32,
}

impl Headers {
    fn unknown() -> Self {
        Headers {
            transport: Transport::Unknown,
            src: [0; 16],
            dst: [0; 16],
            ports: None,
            header_len: 0,
        }
    }
}

/// Parses an IPv4 packet.
#[inline(always)]
pub fn parse_ipv4(p: &impl HeaderSource) -> Headers {
    let fields = p.read(0, |h: &[u8; 20]| {
        let ihl = usize::from(h[0] & 0x0f) * 4;
        if h[0] >> 4 != 4 || ihl < 20 {
            return None;
        }
        let mut src = [0u8; 16];
        let mut dst = [0u8; 16];
        src[..4].copy_from_slice(&h[12..16]);
        dst[..4].copy_from_slice(&h[16..20]);
        let first_fragment = u16::from_be_bytes([h[6], h[7]]) & 0x1fff == 0;
        Some((h[9], ihl, first_fragment, src, dst))
    });
    let Some(Some((proto, ihl, first_fragment, src, dst))) = fields else {
        return Headers::unknown();
    };
    transport(p, proto, ihl, first_fragment, src, dst)
}

/// Parses an IPv6 packet, following its extension headers.
#[inline(always)]
pub fn parse_ipv6(p: &impl HeaderSource) -> Headers {
    let fields = p.read(0, |h: &[u8; 40]| {
        let mut src = [0u8; 16];
        let mut dst = [0u8; 16];
        src.copy_from_slice(&h[8..24]);
        dst.copy_from_slice(&h[24..40]);
        (h[0] >> 4 == 6).then_some((h[6], src, dst))
    });
    let Some(Some((mut next, src, dst))) = fields else {
        return Headers::unknown();
    };
    let mut offset = 40;
    let mut first_fragment = true;
    for _ in 0..MAX_EXT_HEADERS {
        if !matches!(
            next,
            IPPROTO_HOPOPTS | IPPROTO_ROUTING | IPPROTO_DSTOPTS | IPPROTO_AH | IPPROTO_FRAGMENT
        ) {
            return transport(p, next, offset, first_fragment, src, dst);
        }
        let Some(ext) = p.bytes::<4>(offset) else {
            return Headers::unknown();
        };
        let len = match next {
            IPPROTO_AH => (usize::from(ext[1]) + 2) * 4,
            IPPROTO_FRAGMENT => {
                first_fragment &= u16::from_be_bytes([ext[2], ext[3]]) & 0xfff8 == 0;
                8
            }
            _ => (usize::from(ext[1]) + 1) * 8,
        };
        next = ext[0];
        offset += len;
    }
    Headers::unknown()
}

#[inline(always)]
fn transport(
    p: &impl HeaderSource,
    proto: u8,
    offset: usize,
    first_fragment: bool,
    src: Addr,
    dst: Addr,
) -> Headers {
    let transport = match proto {
        IPPROTO_TCP => Transport::Tcp,
        IPPROTO_UDP => Transport::Udp,
        IPPROTO_ICMP | IPPROTO_ICMPV6 => Transport::Icmp,
        _ => Transport::Unknown,
    };
    let (ports, l4_len) = match transport {
        Transport::Tcp if first_fragment => {
            let tcp = p.read(offset, |b: &[u8; 13]| {
                let doff = usize::from(b[12] >> 4);
                (doff >= 5).then(|| (ports_of(b), doff * 4))
            });
            match tcp {
                Some(Some((ports, len))) => (Some(ports), len),
                // Too short for a TCP header, or a bad data offset.
                _ => return Headers::unknown(),
            }
        }
        Transport::Udp if first_fragment => match p.read(offset, |b: &[u8; 8]| ports_of(b)) {
            Some(ports) => (Some(ports), 8),
            None => return Headers::unknown(),
        },
        _ => (None, 0),
    };
    Headers {
        transport,
        src,
        dst,
        ports,
        header_len: u32::try_from(offset + l4_len).unwrap_or(u32::MAX),
    }
}

#[inline(always)]
fn ports_of(b: &[u8]) -> (u16, u16) {
    (
        u16::from_be_bytes([b[0], b[1]]),
        u16::from_be_bytes([b[2], b[3]]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec::Vec;

    struct Buf(Vec<u8>);

    impl HeaderSource for Buf {
        fn read<const N: usize, R>(
            &self,
            offset: usize,
            f: impl FnOnce(&[u8; N]) -> R,
        ) -> Option<R> {
            let s = self.0.get(offset..offset.checked_add(N)?)?;
            Some(f(s.try_into().ok()?))
        }
    }

    fn ipv4(proto: u8, frag: u16, payload: &[u8]) -> Buf {
        let mut v = std::vec![0x45, 0, 0, 0, 0, 0];
        v.extend_from_slice(&frag.to_be_bytes());
        v.extend_from_slice(&[64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        v.extend_from_slice(payload);
        Buf(v)
    }

    fn ipv6(next: u8, ext: &[u8], payload: &[u8]) -> Buf {
        let mut v = std::vec![0x60, 0, 0, 0, 0, 0, next, 64];
        v.extend_from_slice(&[0xfd; 16]);
        v.extend_from_slice(&[0xfe; 16]);
        v.extend_from_slice(ext);
        v.extend_from_slice(payload);
        Buf(v)
    }

    /// A UDP header (or the first 8 bytes of a TCP one): 12345 -> 53.
    const PORTS: [u8; 8] = [0x30, 0x39, 0x00, 0x35, 0, 8, 0, 0];
    /// A TCP header without options: 12345 -> 53, data offset 5.
    const TCP: [u8; 20] = [
        0x30, 0x39, 0x00, 0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x10, 0, 0, 0, 0, 0, 0,
    ];

    #[test]
    fn ipv4_udp_gives_addresses_and_ports() {
        let h = parse_ipv4(&ipv4(17, 0, &PORTS));
        assert_eq!(h.transport, Transport::Udp);
        assert_eq!(h.ports, Some((12345, 53)));
        assert_eq!(h.header_len, 28);
        assert_eq!(&h.src[..4], &[10, 0, 0, 1]);
        assert_eq!(&h.dst[..4], &[10, 0, 0, 2]);
        assert_eq!(&h.src[4..], &[0; 12]);
    }

    #[test]
    fn ipv4_options_are_skipped() {
        let mut b = ipv4(6, 0, &[1, 1, 1, 1]);
        b.0[0] = 0x46;
        b.0.extend_from_slice(&TCP);
        let h = parse_ipv4(&b);
        assert_eq!(
            (h.transport, h.ports, h.header_len),
            (Transport::Tcp, Some((12345, 53)), 44)
        );
    }

    #[test]
    fn ipv4_truncated_or_bad_is_unknown() {
        assert_eq!(
            parse_ipv4(&Buf(std::vec![0x45; 19])).transport,
            Transport::Unknown
        );
        assert_eq!(
            parse_ipv4(&ipv4(17, 0, &PORTS[..7])).transport,
            Transport::Unknown
        );
        assert_eq!(
            parse_ipv4(&ipv4(6, 0, &TCP[..12])).transport,
            Transport::Unknown
        );
        let mut bad_doff = TCP;
        bad_doff[12] = 0x40;
        assert_eq!(
            parse_ipv4(&ipv4(6, 0, &bad_doff)).transport,
            Transport::Unknown
        );
        let mut bad_ihl = ipv4(17, 0, &PORTS);
        bad_ihl.0[0] = 0x44;
        assert_eq!(parse_ipv4(&bad_ihl).transport, Transport::Unknown);
        let mut v6 = ipv4(17, 0, &PORTS);
        v6.0[0] = 0x65;
        assert_eq!(parse_ipv4(&v6).transport, Transport::Unknown);
    }

    #[test]
    fn ipv4_later_fragment_has_no_ports() {
        let h = parse_ipv4(&ipv4(17, 185, &PORTS));
        assert_eq!((h.transport, h.ports), (Transport::Udp, None));
    }

    #[test]
    fn ipv4_icmp_and_other_protocols() {
        assert_eq!(parse_ipv4(&ipv4(1, 0, &[])).transport, Transport::Icmp);
        let h = parse_ipv4(&ipv4(47, 0, &[]));
        assert_eq!((h.transport, h.ports), (Transport::Unknown, None));
    }

    #[test]
    fn ipv6_tcp_gives_addresses_and_ports() {
        let mut opts = TCP.to_vec();
        opts[12] = 0x80; // 32-byte header
        opts.extend_from_slice(&[1; 12]);
        let h = parse_ipv6(&ipv6(6, &[], &opts));
        assert_eq!(
            (h.transport, h.ports, h.header_len),
            (Transport::Tcp, Some((12345, 53)), 72)
        );
        assert_eq!(h.src, [0xfd; 16]);
        assert_eq!(h.dst, [0xfe; 16]);
    }

    #[test]
    fn ipv6_extension_headers_are_followed() {
        // hop-by-hop (8 bytes) -> destination options (16 bytes) -> UDP
        let mut ext = std::vec![60, 0, 0, 0, 0, 0, 0, 0];
        ext.extend_from_slice(&[17, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let h = parse_ipv6(&ipv6(0, &ext, &PORTS));
        assert_eq!(
            (h.transport, h.ports, h.header_len),
            (Transport::Udp, Some((12345, 53)), 72)
        );
    }

    #[test]
    fn ipv6_fragments() {
        let first = [17, 0, 0x00, 0x01, 0, 0, 0, 1];
        let h = parse_ipv6(&ipv6(44, &first, &PORTS));
        assert_eq!((h.transport, h.ports), (Transport::Udp, Some((12345, 53))));
        let later = [17, 0, 0x05, 0xa8, 0, 0, 0, 1];
        let h = parse_ipv6(&ipv6(44, &later, &[]));
        assert_eq!((h.transport, h.ports), (Transport::Udp, None));
    }

    #[test]
    fn ipv6_icmp_truncated_and_loops() {
        assert_eq!(
            parse_ipv6(&ipv6(58, &[], &[0; 4])).transport,
            Transport::Icmp
        );
        assert_eq!(
            parse_ipv6(&ipv6(17, &[], &[0; 7])).transport,
            Transport::Unknown
        );
        assert_eq!(
            parse_ipv6(&Buf(std::vec![0x60; 39])).transport,
            Transport::Unknown
        );
        // An endless chain of empty destination-option headers.
        let chain: Vec<u8> = (0..16).flat_map(|_| [60, 0, 0, 0, 0, 0, 0, 0]).collect();
        assert_eq!(
            parse_ipv6(&ipv6(60, &chain, &PORTS)).transport,
            Transport::Unknown
        );
        // Extension header running past the end.
        assert_eq!(
            parse_ipv6(&ipv6(0, &[17, 200], &[])).transport,
            Transport::Unknown
        );
    }

    /// A source that also remembers how far the parser read.
    struct Watched(Vec<u8>, core::cell::Cell<usize>);

    impl HeaderSource for Watched {
        fn read<const N: usize, R>(
            &self,
            offset: usize,
            f: impl FnOnce(&[u8; N]) -> R,
        ) -> Option<R> {
            self.1.set(self.1.get().max(offset.saturating_add(N)));
            Buf(self.0.clone()).read(offset, f)
        }
    }

    proptest::proptest! {
        /// Any bytes at all, as IPv4 or IPv6: no panic, ports only for TCP
        /// and UDP, and ports only from bytes the packet has.
        #[test]
        fn any_bytes_parse_without_panic(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..160),
            v6 in proptest::bool::ANY,
        ) {
            let src = Watched(bytes.clone(), core::cell::Cell::new(0));
            let h = if v6 { parse_ipv6(&src) } else { parse_ipv4(&src) };
            if h.ports.is_some() {
                proptest::prop_assert!(matches!(h.transport, Transport::Tcp | Transport::Udp));
                let least = if v6 { 48 } else { 28 };
                proptest::prop_assert!(bytes.len() >= least);
            }
            if h.transport == Transport::Unknown {
                proptest::prop_assert_eq!(h.ports, None);
            }
        }

        /// Well-formed packets with random fields and IPv6 extension
        /// headers parse to exactly their addresses, ports and header
        /// length, whatever follows them.
        #[test]
        fn well_formed_packets_parse_exactly(
            tcp in proptest::bool::ANY,
            sport in proptest::num::u16::ANY,
            dport in proptest::num::u16::ANY,
            doff in 5u8..16,
            exts in proptest::collection::vec((0usize..3, 0u8..4), 0..4),
            tail in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
        ) {
            let mut l4 = std::vec::Vec::new();
            l4.extend_from_slice(&sport.to_be_bytes());
            l4.extend_from_slice(&dport.to_be_bytes());
            let l4_len = if tcp {
                l4.resize(usize::from(doff) * 4, 0);
                l4[12] = doff << 4;
                usize::from(doff) * 4
            } else {
                l4.resize(8, 0);
                8
            };
            l4.extend_from_slice(&tail);
            let proto = if tcp { IPPROTO_TCP } else { IPPROTO_UDP };
            // IPv4
            let h = parse_ipv4(&ipv4(proto, 0, &l4));
            proptest::prop_assert_eq!(h.ports, Some((sport, dport)));
            proptest::prop_assert_eq!(h.header_len as usize, 20 + l4_len);
            proptest::prop_assert_eq!(&h.src[..4], &[10, 0, 0, 1]);
            // IPv6 behind hop-by-hop, routing and destination options
            // headers of random lengths.
            let kinds = [IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS];
            let mut ext = std::vec::Vec::new();
            let first = exts.first().map_or(proto, |&(k, _)| kinds[k]);
            for (i, &(_, units)) in exts.iter().enumerate() {
                let next = exts.get(i + 1).map_or(proto, |&(k, _)| kinds[k]);
                let start = ext.len();
                ext.resize(start + (usize::from(units) + 1) * 8, 0);
                ext[start] = next;
                ext[start + 1] = units;
            }
            let h = parse_ipv6(&ipv6(first, &ext, &l4));
            proptest::prop_assert_eq!(h.ports, Some((sport, dport)));
            proptest::prop_assert_eq!(h.header_len as usize, 40 + ext.len() + l4_len);
            proptest::prop_assert_eq!(h.src, [0xfd; 16]);
            proptest::prop_assert_eq!(h.dst, [0xfe; 16]);
        }
    }
}
