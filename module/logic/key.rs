// SPDX-License-Identifier: GPL-2.0

//! The keys of the socket and task tables and their keyed hash: what
//! identifies a socket as far as its packets tell, and a task.

use super::packet::{Addr, Family, Headers, Transport};

/// The transport protocols whose packets are charged to tasks: TCP or
/// UDP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    /// The protocol of a packet of `transport`, if it is one of these.
    pub fn of(transport: Transport) -> Option<Self> {
        match transport {
            Transport::Tcp => Some(Proto::Tcp),
            Transport::Udp => Some(Proto::Udp),
            Transport::Icmp | Transport::Unknown => None,
        }
    }
}

impl From<Proto> for Transport {
    fn from(proto: Proto) -> Self {
        match proto {
            Proto::Tcp => Transport::Tcp,
            Proto::Udp => Transport::Udp,
        }
    }
}

/// Received or sent by a local socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    In,
    Out,
}

/// Identifies a socket as far as packets tell: a TCP connection by both
/// ends, a UDP socket by its local port, each within one network namespace
/// and address family.
///
/// Kept as the words the tables' keyed hash reads: every field in a place
/// of its own, so different keys are different words, and no more words
/// than the key has (a UDP key has no addresses, an IPv4 one short ones).
/// A packet's key is built once, and hashed and compared as it is. (The key
/// of that hash is random per module load, so that remote peers cannot aim
/// many keys at one bucket.)
#[derive(Clone, Copy, Debug, Eq)]
pub struct SockKey {
    /// The namespace's cookie; the local and remote port, IPv6 and TCP
    /// (bits 32, 16, 1 and 0); then the addresses, as [`SockKey::words`]
    /// says; zero beyond the key's length.
    w: [u64; 6],
}

/// The fields of a [`SockKey`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyParts {
    /// The network namespace's cookie.
    pub net: u64,
    pub proto: Proto,
    pub family: Family,
    pub local_port: u16,
    /// Zero for UDP.
    pub remote_port: u16,
    /// Zero for UDP; an IPv4 address in the first four bytes.
    pub local: Addr,
    /// Zero for UDP; an IPv4 address in the first four bytes.
    pub remote: Addr,
}

const TCP_BIT: u64 = 1;
const IPV6_BIT: u64 = 1 << 1;
const TCP_IPV6: u64 = TCP_BIT | IPV6_BIT;

impl SockKey {
    /// The key of a packet, seen from the local socket's side; `None` for
    /// packets that are not TCP or UDP or carry no ports.
    #[inline(always)]
    pub fn of(h: &Headers, dir: Dir, net: u64, family: Family) -> Option<Self> {
        let proto = Proto::of(h.transport)?;
        let (src_port, dst_port) = h.ports?;
        let (local_port, remote_port, local, remote) = match dir {
            Dir::In => (dst_port, src_port, &h.dst, &h.src),
            Dir::Out => (src_port, dst_port, &h.src, &h.dst),
        };
        Some(Self::pack(
            net,
            proto,
            family,
            local_port,
            remote_port,
            local,
            remote,
        ))
    }

    /// The key of these fields; a UDP key ignores the remote port and the
    /// addresses, an IPv4 key all but the first four bytes of each address.
    #[inline(always)]
    fn pack(
        net: u64,
        proto: Proto,
        family: Family,
        local_port: u16,
        remote_port: u16,
        local: &Addr,
        remote: &Addr,
    ) -> Self {
        let word = |a: &[u8]| u64::from_le_bytes(a.try_into().unwrap_or([0; 8]));
        let half = |a: &[u8]| u64::from(u32::from_le_bytes(a.try_into().unwrap_or([0; 4])));
        let flags = match family {
            Family::Ipv4 => 0,
            Family::Ipv6 => IPV6_BIT,
        };
        let w = match (proto, family) {
            (Proto::Udp, _) => [net, u64::from(local_port) << 32 | flags, 0, 0, 0, 0],
            (Proto::Tcp, _) => {
                let ports = u64::from(local_port) << 32 | u64::from(remote_port) << 16;
                let head = ports | flags | TCP_BIT;
                match family {
                    Family::Ipv4 => [
                        net,
                        head,
                        half(&local[..4]) << 32 | half(&remote[..4]),
                        0,
                        0,
                        0,
                    ],
                    Family::Ipv6 => [
                        net,
                        head,
                        word(&local[..8]),
                        word(&local[8..]),
                        word(&remote[..8]),
                        word(&remote[8..]),
                    ],
                }
            }
        };
        SockKey { w }
    }

    /// The network namespace's cookie.
    pub fn net(&self) -> u64 {
        self.w[0]
    }

    pub fn proto(&self) -> Proto {
        if self.w[1] & TCP_BIT != 0 {
            Proto::Tcp
        } else {
            Proto::Udp
        }
    }

    pub fn family(&self) -> Family {
        if self.w[1] & IPV6_BIT != 0 {
            Family::Ipv6
        } else {
            Family::Ipv4
        }
    }

    pub fn local_port(&self) -> u16 {
        (self.w[1] >> 32) as u16
    }

    /// The key as the words the table's keyed hash reads: two for UDP,
    /// three for TCP over IPv4, six for TCP over IPv6. Keys of different
    /// lengths differ in their first two words.
    #[inline(always)]
    pub fn words(&self) -> &[u64] {
        let len = match (self.proto(), self.family()) {
            (Proto::Udp, _) => 2,
            (Proto::Tcp, Family::Ipv4) => 3,
            (Proto::Tcp, Family::Ipv6) => 6,
        };
        &self.w[..len]
    }

    /// The key's fields (addresses as the key keeps them).
    #[cfg(test)]
    pub fn parts(&self) -> KeyParts {
        let mut local = [0; 16];
        let mut remote = [0; 16];
        match (self.proto(), self.family()) {
            (Proto::Udp, _) => {}
            (Proto::Tcp, Family::Ipv4) => {
                local[..4].copy_from_slice(&((self.w[2] >> 32) as u32).to_le_bytes());
                remote[..4].copy_from_slice(&(self.w[2] as u32).to_le_bytes());
            }
            (Proto::Tcp, Family::Ipv6) => {
                local[..8].copy_from_slice(&self.w[2].to_le_bytes());
                local[8..].copy_from_slice(&self.w[3].to_le_bytes());
                remote[..8].copy_from_slice(&self.w[4].to_le_bytes());
                remote[8..].copy_from_slice(&self.w[5].to_le_bytes());
            }
        }
        KeyParts {
            net: self.net(),
            proto: self.proto(),
            family: self.family(),
            local_port: self.local_port(),
            remote_port: (self.w[1] >> 16) as u16,
            local,
            remote,
        }
    }
}

impl PartialEq for SockKey {
    /// Word by word, without a call to `memcmp`: the packet path compares
    /// a key with each record's in its bucket. The first two words tell
    /// most keys apart; when they are equal, so are the protocol and the
    /// family, and with them the length: only the words within it are
    /// left to compare (beyond it both keys are zero).
    #[inline(always)]
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (&self.w, &other.w);
        if a[0] != b[0] || a[1] != b[1] {
            return false;
        }
        match a[1] & TCP_IPV6 {
            TCP_BIT => a[2] == b[2],
            TCP_IPV6 => (a[2] ^ b[2]) | (a[3] ^ b[3]) | (a[4] ^ b[4]) | (a[5] ^ b[5]) == 0,
            _ => true,
        }
    }
}

impl From<KeyParts> for SockKey {
    fn from(k: KeyParts) -> Self {
        SockKey::pack(
            k.net,
            k.proto,
            k.family,
            k.local_port,
            k.remote_port,
            &k.local,
            &k.remote,
        )
    }
}

/// A TCP or UDP socket as the kernel describes it, for matching it with
/// the keys its packets have: addresses and ports as on the wire (an IPv4
/// address in the first four bytes), ports in host order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketId {
    pub net: u64,
    pub tcp: bool,
    /// The family of its packets (an IPv6 socket connected to an
    /// IPv4-mapped address has IPv4 packets).
    pub family: Family,
    /// An IPv6 UDP socket that also receives IPv4 datagrams.
    pub v4_too: bool,
    pub local_port: u16,
    pub remote_port: u16,
    pub local: Addr,
    pub remote: Addr,
}

impl SocketId {
    /// The keys of the packets this socket receives: one, or two for an
    /// IPv6 UDP socket that also receives IPv4.
    pub fn keys(&self) -> [Option<SockKey>; 2] {
        let proto = if self.tcp { Proto::Tcp } else { Proto::Udp };
        let key = |family| {
            SockKey::pack(
                self.net,
                proto,
                family,
                self.local_port,
                self.remote_port,
                &self.local,
                &self.remote,
            )
        };
        [
            Some(key(self.family)),
            (self.v4_too && !self.tcp).then(|| key(Family::Ipv4)),
        ]
    }
}

/// Random multipliers of [`keyed_hash`]: one for each 32-bit half of the
/// longest key's words (6), and one added.
pub const HASH_KEY_WORDS: usize = 13;

/// The tables' keyed hash of `words` (at most 6; the rest are ignored)
/// under the random multipliers `a`: vector multiply-shift over the 32-bit
/// halves x_i of the words,
///
///   h = ((a_0 + a_1 x_0 + a_2 x_1 + ...) mod 2^64) >> 32,
///
/// which is strongly universal (Dietzfelbinger; Thorup, "High speed
/// hashing for integers and strings", 2015): for any two different
/// inputs, over the choice of `a`, the two hashes are independent and
/// uniform, and so are their low bits, the bucket. Whoever does not know
/// `a` cannot choose keys that share a bucket more often than by chance,
/// and it costs a multiply and an add per half word, where the kernel's
/// `hsiphash` costs rounds of a PRF. Keys of different lengths differ in
/// their first two words (protocol and family are in the second), so
/// reading a shorter key as zero-padded loses nothing.
#[inline]
pub fn keyed_hash(a: &[u64; HASH_KEY_WORDS], words: &[u64]) -> u32 {
    let mut h = a[0];
    for (i, w) in words.iter().take((HASH_KEY_WORDS - 1) / 2).enumerate() {
        h = h
            .wrapping_add(a[1 + 2 * i].wrapping_mul(w & 0xffff_ffff))
            .wrapping_add(a[2 + 2 * i].wrapping_mul(w >> 32));
    }
    (h >> 32) as u32
}

/// The word the keyed hash reads for a task record's key.
pub fn task_word(id: i32, kind: TaskKind) -> u64 {
    u64::from(id as u32) << 1 | u64::from(kind == TaskKind::Thread)
}

/// A process (thread group) or a single thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskKind {
    Process,
    Thread,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::fixtures::key;

    #[test]
    fn key_is_seen_from_the_local_side() {
        let h = Headers {
            transport: Transport::Tcp,
            src: [1; 16],
            dst: [2; 16],
            ports: Some((1000, 80)),
            header_len: 40,
        };
        let out = SockKey::of(&h, Dir::Out, 9, Family::Ipv6).unwrap().parts();
        assert_eq!(
            (out.local_port, out.remote_port, out.local, out.remote),
            (1000, 80, [1; 16], [2; 16])
        );
        let inn = SockKey::of(&h, Dir::In, 9, Family::Ipv6).unwrap().parts();
        assert_eq!(
            (inn.local_port, inn.remote_port, inn.local, inn.remote),
            (80, 1000, [2; 16], [1; 16])
        );
        // IPv4 addresses are the first four bytes.
        let inn4 = SockKey::of(&h, Dir::In, 9, Family::Ipv4).unwrap().parts();
        let (mut two, mut one) = ([0; 16], [0; 16]);
        two[..4].fill(2);
        one[..4].fill(1);
        assert_eq!(
            (
                inn4.family,
                inn4.local_port,
                inn4.remote_port,
                inn4.local,
                inn4.remote
            ),
            (Family::Ipv4, 80, 1000, two, one)
        );
    }

    #[test]
    fn udp_key_is_the_local_port_only() {
        let h = Headers {
            transport: Transport::Udp,
            src: [1; 16],
            dst: [2; 16],
            ports: Some((5000, 53)),
            header_len: 28,
        };
        let k = SockKey::of(&h, Dir::Out, 9, Family::Ipv6).unwrap();
        assert_eq!(
            k.parts(),
            KeyParts {
                net: 9,
                proto: Proto::Udp,
                family: Family::Ipv6,
                local_port: 5000,
                remote_port: 0,
                local: [0; 16],
                remote: [0; 16]
            }
        );
        let reply = Headers {
            transport: Transport::Udp,
            src: [3; 16],
            dst: [1; 16],
            ports: Some((53, 5000)),
            header_len: 28,
        };
        assert_eq!(SockKey::of(&reply, Dir::In, 9, Family::Ipv6), Some(k));
    }

    #[test]
    fn no_key_without_ports_or_for_other_protocols() {
        let h = Headers {
            transport: Transport::Udp,
            src: [0; 16],
            dst: [0; 16],
            ports: None,
            header_len: 20,
        };
        assert_eq!(SockKey::of(&h, Dir::In, 0, Family::Ipv4), None);
        let h = Headers {
            transport: Transport::Icmp,
            src: [0; 16],
            dst: [0; 16],
            ports: Some((1, 2)),
            header_len: 20,
        };
        assert_eq!(SockKey::of(&h, Dir::In, 0, Family::Ipv4), None);
    }

    /// Multipliers for the hash tests, from a seed (a splitmix64
    /// sequence: well spread, as random ones are).
    fn multipliers(seed: u64) -> [u64; HASH_KEY_WORDS] {
        let mut x = seed;
        core::array::from_fn(|_| {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        })
    }

    fn hash(words: &[u64], seed: u64) -> u64 {
        u64::from(keyed_hash(&multipliers(seed), words))
    }

    #[test]
    fn every_field_has_its_own_place_in_the_words() {
        let k = KeyParts {
            net: 1,
            proto: Proto::Tcp,
            family: Family::Ipv6,
            local_port: 2,
            remote_port: 3,
            local: [4; 16],
            remote: [5; 16],
        };
        let mut variants = vec![k];
        let mut v = k;
        v.net = 2;
        variants.push(v);
        v = k;
        v.proto = Proto::Udp;
        variants.push(v);
        v = k;
        v.family = Family::Ipv4;
        variants.push(v);
        v = k;
        v.local_port = 3;
        v.remote_port = 2;
        variants.push(v);
        v = k;
        v.local = [5; 16];
        v.remote = [4; 16];
        variants.push(v);
        for i in 0..16 {
            v = k;
            v.remote[i] ^= 0x80;
            variants.push(v);
        }
        let mut k4 = k;
        k4.family = Family::Ipv4;
        k4.local = [0; 16];
        k4.remote = [0; 16];
        k4.local[..4].copy_from_slice(&[10, 0, 0, 1]);
        k4.remote[..4].copy_from_slice(&[10, 0, 0, 2]);
        variants.push(k4);
        for i in 0..4 {
            v = k4;
            v.local[i] ^= 0x80;
            variants.push(v);
            v = k4;
            v.remote[i] ^= 0x80;
            variants.push(v);
        }
        v = k4;
        (v.local, v.remote) = (k4.remote, k4.local);
        variants.push(v);
        let udp = key(Proto::Udp, 2).parts();
        variants.push(udp);
        assert_eq!(
            [udp, k4, k].map(|k| SockKey::from(k).words().len()),
            [2, 3, 6]
        );
        let words: Vec<_> = variants
            .iter()
            .map(|&k| SockKey::from(k).words().to_vec())
            .collect();
        for (i, a) in words.iter().enumerate() {
            for b in &words[i + 1..] {
                assert_ne!(a, b);
            }
        }
        // Keys compare as their words do, every word (the last of an IPv6
        // key's included), each key equal to itself only.
        let keys: Vec<SockKey> = variants.iter().map(|&k| SockKey::from(k)).collect();
        for (i, a) in keys.iter().enumerate() {
            for (j, b) in keys.iter().enumerate() {
                assert_eq!(a == b, i == j, "{:?} and {:?}", variants[i], variants[j]);
            }
        }
        assert_ne!(
            task_word(10, TaskKind::Process),
            task_word(10, TaskKind::Thread)
        );
        assert_ne!(
            task_word(-1, TaskKind::Process),
            task_word(i32::MAX, TaskKind::Process)
        );
    }

    /// A TCP connection over IPv6, for the hash tests.
    fn tcp6_key() -> KeyParts {
        KeyParts {
            net: 7,
            proto: Proto::Tcp,
            family: Family::Ipv6,
            local_port: 443,
            remote_port: 40000,
            local: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            remote: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
        }
    }

    /// Two IPv6 peers whose addresses differ in the top bit of the
    /// prefix's last byte and in two bits of the interface id: an unkeyed
    /// multiply-xorshift mixer cancels such differences whatever its seed.
    /// Under the keyed hash they share a bucket only by chance.
    #[test]
    fn chosen_ipv6_peers_share_a_bucket_only_by_chance() {
        let a = tcp6_key();
        let mut b = a;
        b.remote[7] ^= 0x80;
        b.remote[11] ^= 0x80;
        b.remote[15] ^= 0x80;
        let mask = (1 << 16) - 1;
        let same = (0..64u64)
            .filter(|&k| {
                hash(SockKey::from(a).words(), k) & mask == hash(SockKey::from(b).words(), k) & mask
            })
            .count();
        assert!(same <= 1, "{same} of 64 keys put both in one bucket");
    }

    #[test]
    fn keyed_hash_is_multiply_shift_of_the_halves() {
        let mut a = [0u64; HASH_KEY_WORDS];
        a[..4].copy_from_slice(&[5 << 32, 3 << 32, 7 << 32, 1 << 32]);
        // Halves 2, 1 and 4: 5 + 3 * 2 + 7 * 1 + 1 * 4.
        assert_eq!(keyed_hash(&a, &[1 << 32 | 2, 4]), 22);
        // Carries from the low half reach the result.
        a = [0; HASH_KEY_WORDS];
        a[0] = 0xffff_ffff;
        a[1] = 1;
        assert_eq!(keyed_hash(&a, &[1]), 1);
        // Six words at most are read.
        let m = multipliers(1);
        assert_eq!(
            keyed_hash(&m, &[1, 2, 3, 4, 5, 6]),
            keyed_hash(&m, &[1, 2, 3, 4, 5, 6, 7])
        );
    }

    /// Keys that differ in any field, of any kind, have different 32-bit
    /// hashes but by a chance of one in 2^32 per key.
    #[test]
    fn different_keys_share_a_hash_only_by_chance() {
        let tcp6 = tcp6_key();
        let tcp4 = KeyParts {
            family: Family::Ipv4,
            local: [127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            remote: [10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            ..tcp6
        };
        let udp = KeyParts {
            proto: Proto::Udp,
            remote_port: 0,
            local: [0; 16],
            remote: [0; 16],
            ..tcp4
        };
        let mut keys = vec![
            tcp6,
            tcp4,
            udp,
            KeyParts {
                family: Family::Ipv6,
                ..udp
            },
        ];
        for k in [tcp6, tcp4] {
            for byte in 0..16 {
                let mut v = k;
                v.remote[byte] ^= 1;
                keys.push(v);
                let mut v = k;
                v.local[byte] ^= 0x80;
                keys.push(v);
            }
            keys.push(KeyParts { net: 8, ..k });
            keys.push(KeyParts {
                local_port: 444,
                ..k
            });
            keys.push(KeyParts {
                remote_port: 40001,
                ..k
            });
        }
        // An IPv4 key's addresses are its first four bytes: keys that differ
        // only beyond them are one key.
        let mut words: Vec<Vec<u64>> = keys
            .iter()
            .map(|&k| SockKey::from(k).words().to_vec())
            .collect();
        words.sort();
        words.dedup();
        assert!(words.len() > 40);
        for seed in 0..64 {
            let hashes: Vec<u64> = words.iter().map(|w| hash(w, seed)).collect();
            for (i, h) in hashes.iter().enumerate() {
                assert!(
                    !hashes[i + 1..].contains(h),
                    "seed {seed}: key {i} shares a hash"
                );
            }
        }
    }

    #[test]
    fn keyed_hash_spreads_sequential_ports_over_buckets() {
        let buckets = 1024u64;
        let mut count = [0u32; 1024];
        for port in 0..8192u16 {
            count[(hash(key(Proto::Udp, port).words(), 42) % buckets) as usize] += 1;
        }
        let max = *count.iter().max().unwrap();
        assert!(
            max <= 24,
            "longest chain {max} for 8 keys per bucket on average"
        );
    }

    #[test]
    fn a_socket_id_gives_the_keys_of_its_packets() {
        let id = SocketId {
            net: 4,
            tcp: false,
            family: Family::Ipv6,
            v4_too: true,
            local_port: 514,
            remote_port: 0,
            local: [0; 16],
            remote: [0; 16],
        };
        let [v6, v4] = id.keys();
        assert_eq!(
            v6,
            Some(SockKey::from(KeyParts {
                net: 4,
                family: Family::Ipv6,
                ..key(Proto::Udp, 514).parts()
            }))
        );
        assert_eq!(v4.map(|k| k.family()), Some(Family::Ipv4));
        let tcp = SocketId {
            tcp: true,
            family: Family::Ipv4,
            v4_too: true,
            local_port: 80,
            remote_port: 40000,
            local: [127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            remote: [127, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            ..id
        };
        let h = Headers {
            transport: Transport::Tcp,
            src: tcp.remote,
            dst: tcp.local,
            ports: Some((40000, 80)),
            header_len: 40,
        };
        // What a received packet of the connection has, and only that.
        assert_eq!(
            tcp.keys(),
            [SockKey::of(&h, Dir::In, 4, Family::Ipv4), None]
        );
    }
}
