// SPDX-License-Identifier: GPL-2.0

//! What a packet weighs on the wire: its segments, fragments, link headers
//! and frame check sequence.

use super::record::Amount;

/// What a packet of `len` bytes (from the network header on) weighs on
/// the wire, in packets and bytes:
///
/// * a GSO packet of `segs` segments is `segs` packets on the wire, each
///   with its own copy of the `hdr_len` bytes of network and transport
///   headers (counting segments keeps sender and receiver in step when the
///   stack splits a GSO packet on the way, as it may even on loopback);
/// * a (non-GSO) packet larger than the device MTU is fragmented: each of
///   the `len / mtu` extra fragments carries another network header
///   (`frag_hdr_len`: 20 for IPv4, 48 for IPv6 with its fragment header)
///   and link header;
/// * every packet on the wire carries the device's link header
///   (`link_hdr_len`, 14 for Ethernet and loopback) and a 4-byte frame
///   check sequence.
///
/// Without a device (`mtu == 0`) no fragmentation is assumed.
#[inline(always)]
pub fn wire_amount(
    len: u32,
    segs: u32,
    hdr_len: u32,
    mtu: u32,
    link_hdr_len: u32,
    frag_hdr_len: u32,
) -> Amount {
    let len = u64::from(len);
    let link = u64::from(link_hdr_len) + 4;
    if segs > 1 {
        let segs = u64::from(segs);
        return Amount {
            packets: segs,
            bytes: len + (segs - 1) * u64::from(hdr_len) + segs * link,
        };
    }
    // One packet (most are), fragmented if larger than the MTU.
    let mut bytes = len + link;
    if mtu > 0 && len > u64::from(mtu) {
        bytes += len / u64::from(mtu) * (u64::from(frag_hdr_len) + link);
    }
    Amount { packets: 1, bytes }
}

/// How many packets on the wire a packet of `len` bytes (from its network
/// header on, `hdr_len` of them network and transport headers) stands for:
/// `gso_segs`, the segments the stack counted in a GSO packet, or 1 for a
/// packet that is not one (`gso_size` 0).
///
/// A GSO packet whose segments the stack has not counted (`gso_segs` 0: one
/// from a virtio-net or tap device, which the sender's virtio header describes)
/// is as many segments as its payload needs at `gso_size` bytes each, as the
/// stack would cut it.
pub fn wire_segments(gso_segs: u32, gso_size: u32, len: u32, hdr_len: u32) -> u32 {
    match (gso_segs, gso_size) {
        (0, 0) => 1,
        (0, size) => len.saturating_sub(hdr_len).div_ceil(size).max(1),
        (segs, _) => segs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_amount_adds_link_headers_and_checksum() {
        // 100 bytes of UDP payload over IPv4 on an Ethernet-like device.
        assert_eq!(
            wire_amount(128, 1, 28, 1500, 14, 20),
            Amount {
                packets: 1,
                bytes: 146
            }
        );
    }

    #[test]
    fn wire_amount_of_fragmented_packets() {
        // 4000-byte IPv4 packet over MTU 1500: two extra fragments.
        assert_eq!(
            wire_amount(4000, 1, 28, 1500, 14, 20),
            Amount {
                packets: 1,
                bytes: 4000 + 18 + 2 * (20 + 18)
            }
        );
        // Exactly the MTU: no fragment.
        assert_eq!(wire_amount(1500, 1, 28, 1500, 14, 20).bytes, 1518);
        // No device known.
        assert_eq!(wire_amount(4000, 1, 28, 0, 0, 20).bytes, 4004);
        // A segment count of 0 (malformed) is one packet.
        assert_eq!(
            wire_amount(4000, 0, 28, 1500, 14, 20),
            wire_amount(4000, 1, 28, 1500, 14, 20)
        );
    }

    #[test]
    fn wire_amount_of_gso_packets() {
        // 3 TCP segments carried as one 20+32+3000-byte GSO packet.
        assert_eq!(
            wire_amount(3052, 3, 52, 1500, 14, 20),
            Amount {
                packets: 3,
                bytes: 3052 + 2 * 52 + 3 * 18
            }
        );
    }

    #[test]
    fn wire_segments_of_counted_and_uncounted_gso_packets() {
        // Not GSO.
        assert_eq!(wire_segments(1, 0, 1500, 28), 1);
        // Counted by the stack: its count stands, whatever the sizes say.
        assert_eq!(wire_segments(3, 1000, 3052, 52), 3);
        // Uncounted: the payload cut at gso_size, the last segment short.
        assert_eq!(wire_segments(0, 100, 28 + 1000, 28), 10);
        assert_eq!(wire_segments(0, 100, 28 + 1001, 28), 11);
        assert_eq!(wire_segments(0, 1448, 52 + 64_000, 52), 45);
        // Nothing beyond the headers, or a zero count without a size
        // (malformed): one packet, never zero.
        assert_eq!(wire_segments(0, 100, 28, 28), 1);
        assert_eq!(wire_segments(0, 100, 20, 28), 1);
        assert_eq!(wire_segments(0, 0, 1500, 28), 1);
    }
}
