// SPDX-License-Identifier: GPL-2.0

//! Who is charged for a packet, how many bytes it weighs on the wire, and
//! when a record has outlived its use.
//!
//! Pure logic shared with the host tests; the kernel side keeps the
//! records in its hash tables and calls these rules under the bucket locks.

use super::abi::{NetPerTask, TaskCount, COMLEN};
use super::packet::{Addr, Headers, Transport};

/// TCP states as the kernel numbers them (`include/net/tcp_states.h`).
pub const TCP_ESTABLISHED: u8 = 1;
pub const TCP_LISTEN: u8 = 10;

/// Garbage collection timings, in seconds.
pub const GC_INTERVAL_SECS: u64 = 15;
/// UDP records on ports above 1024 idle this long are dropped.
pub const GC_MAX_UDP_IDLE_SECS: u64 = 16;
/// TCP records idle this long are dropped.
pub const GC_MAX_TCP_IDLE_SECS: u64 = 1800;
/// Records never bound to a task are dropped after this long, their
/// packets counted as unidentified.
pub const GC_MAX_UNBOUND_SECS: u64 = 60;
/// Exited processes not taken within this time are freed.
pub const EXIT_KEEP_SECS: u64 = 15;

/// TCP or UDP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Proto {
    Tcp,
    Udp,
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SockKey {
    /// The network namespace's cookie.
    pub net: u64,
    pub proto: Proto,
    pub ipv6: bool,
    pub local_port: u16,
    /// Zero for UDP.
    pub remote_port: u16,
    /// Zero for UDP.
    pub local: Addr,
    /// Zero for UDP.
    pub remote: Addr,
}

impl SockKey {
    /// The key of a packet, seen from the local socket's side; `None` for
    /// packets that are not TCP or UDP or carry no ports.
    pub fn of(h: &Headers, dir: Dir, net: u64, ipv6: bool) -> Option<Self> {
        let proto = match h.transport {
            Transport::Tcp => Proto::Tcp,
            Transport::Udp => Proto::Udp,
            _ => return None,
        };
        let (src_port, dst_port) = h.ports?;
        let (local_port, remote_port, local, remote) = match dir {
            Dir::In => (dst_port, src_port, h.dst, h.src),
            Dir::Out => (src_port, dst_port, h.src, h.dst),
        };
        Some(match proto {
            Proto::Tcp => SockKey {
                net,
                proto,
                ipv6,
                local_port,
                remote_port,
                local,
                remote,
            },
            Proto::Udp => SockKey {
                net,
                proto,
                ipv6,
                local_port,
                remote_port: 0,
                local: [0; 16],
                remote: [0; 16],
            },
        })
    }

    /// The key as the words the table's keyed hash reads: every field
    /// in a place of its own, so different keys are different words, and
    /// no more words than the key has (a UDP key has no addresses, an
    /// IPv4 one short ones): the hash runs for every packet.
    /// (The key of that hash is random per module load, so that remote
    /// peers cannot aim many keys at one bucket.)
    pub fn words(&self) -> KeyWords {
        let word = |a: &[u8]| u64::from_le_bytes(a.try_into().unwrap_or([0; 8]));
        let half = |a: &[u8]| u64::from(u32::from_le_bytes(a.try_into().unwrap_or([0; 4])));
        let head = [
            self.net,
            u64::from(self.local_port) << 32
                | u64::from(self.remote_port) << 16
                | u64::from(self.ipv6) << 1
                | u64::from(self.proto == Proto::Tcp),
        ];
        let (w, len) = match (self.proto, self.ipv6) {
            (Proto::Udp, _) => ([head[0], head[1], 0, 0, 0, 0], 2),
            (Proto::Tcp, false) => (
                [
                    head[0],
                    head[1],
                    half(&self.local[..4]) << 32 | half(&self.remote[..4]),
                    0,
                    0,
                    0,
                ],
                3,
            ),
            (Proto::Tcp, true) => (
                [
                    head[0],
                    head[1],
                    word(&self.local[..8]),
                    word(&self.local[8..]),
                    word(&self.remote[..8]),
                    word(&self.remote[8..]),
                ],
                6,
            ),
        };
        KeyWords { w, len }
    }
}

/// The words of a [`SockKey`] for the hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyWords {
    w: [u64; 6],
    len: usize,
}

impl KeyWords {
    pub fn as_slice(&self) -> &[u64] {
        self.w.get(..self.len).unwrap_or(&self.w)
    }
}

/// A TCP or UDP socket as the kernel describes it, for matching it with
/// the keys its packets have: addresses and ports as on the wire (an IPv4
/// address in the first four bytes), ports in host order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketId {
    pub net: u64,
    pub tcp: bool,
    /// Its packets are IPv6 (an IPv6 socket connected to an IPv4-mapped
    /// address has IPv4 packets: false).
    pub ipv6: bool,
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
        let key = |ipv6| {
            if self.tcp {
                SockKey {
                    net: self.net,
                    proto: Proto::Tcp,
                    ipv6,
                    local_port: self.local_port,
                    remote_port: self.remote_port,
                    local: self.local,
                    remote: self.remote,
                }
            } else {
                SockKey {
                    net: self.net,
                    proto: Proto::Udp,
                    ipv6,
                    local_port: self.local_port,
                    remote_port: 0,
                    local: [0; 16],
                    remote: [0; 16],
                }
            }
        };
        [
            Some(key(self.ipv6)),
            (self.v4_too && !self.tcp).then(|| key(false)),
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
/// `hsiphash` costs rounds of a PRF (a seventh of the packet path's
/// instructions for UDP, a fifth for IPv6 TCP). Keys of different lengths differ in their
/// first two words (protocol and family are in the second), so reading
/// a shorter key as zero-padded loses nothing.
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

/// The task a socket is bound to: ids in the initial pid namespace and
/// start times (ns since boot), which tell a reused pid apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owner {
    pub tgid: i32,
    pub tid: i32,
    /// Start time of the thread group leader.
    pub process_start: u64,
    /// Start time of the thread.
    pub thread_start: u64,
}

/// Packets and bytes in one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Amount {
    pub packets: u64,
    pub bytes: u64,
}

impl Amount {
    fn add(&mut self, other: Amount) {
        self.packets += other.packets;
        self.bytes += other.bytes;
    }
}

/// Packets of a socket kept until it has an owner.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Parked {
    pub sent: Amount,
    pub received: Amount,
}

impl Parked {
    fn add(&mut self, dir: Dir, a: Amount) {
        match dir {
            Dir::In => self.received.add(a),
            Dir::Out => self.sent.add(a),
        }
    }

    /// Whether nothing is held. (Bytes are only ever parked with their
    /// packets, at least one, so the packet counts tell.)
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.sent.packets | self.received.packets == 0
    }

    /// Total packets held.
    pub fn packets(&self) -> u64 {
        self.sent.packets + self.received.packets
    }
}

/// What one packet means for the accounting, computed once per packet.
#[derive(Clone, Copy, Debug)]
pub struct Seen {
    pub dir: Dir,
    pub amount: Amount,
    /// State of the socket the stack attached to the packet.
    pub sk_state: Option<u8>,
    /// Time of the packet, in milliseconds (monotonic).
    pub now: u64,
}

/// Per-socket record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SockRecord {
    pub key: SockKey,
    pub owner: Option<Owner>,
    pub parked: Parked,
    pub last_state: Option<u8>,
    pub last_active: u64,
}

/// The answer of [`SockRecord::steady_owner`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Steady {
    pub owner: Owner,
    /// The packet's sender is the owner.
    pub by_owner: bool,
}

/// What to charge after a packet has updated its socket record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Charge {
    pub owner: Owner,
    /// The packet itself.
    pub packet: (Dir, Amount),
    /// Packets that were parked on the socket until now.
    pub parked: Parked,
}

impl SockRecord {
    /// A new record for the first packet of `key`.
    pub fn new(key: SockKey, now: u64) -> Self {
        SockRecord {
            key,
            owner: None,
            parked: Parked::default(),
            last_state: None,
            last_active: now,
        }
    }

    /// Updates the record for one packet. `sender` is the task that sends
    /// the packet when it is sent in process context: that task becomes (or
    /// stays) the owner, also when the socket was handed over by another
    /// task. Returns what to charge to the owner, or `None` when the
    /// packet is parked here until an owner appears.
    #[inline(always)]
    pub fn on_packet(&mut self, seen: &Seen, sender: Option<Owner>) -> Option<Charge> {
        self.touch(seen);
        if seen.dir == Dir::Out {
            if let Some(sender) = sender {
                self.owner = Some(sender);
            }
        }
        match self.owner {
            Some(owner) => Some(Charge {
                owner,
                packet: (seen.dir, seen.amount),
                parked: core::mem::take(&mut self.parked),
            }),
            None => {
                self.parked.add(seen.dir, seen.amount);
                None
            }
        }
    }

    /// The owner of a packet that changes nothing on the record but its
    /// times, as most packets of a socket do: the record has an owner,
    /// nothing is parked on it, and the packet does not hand the socket to
    /// another sender. For such a packet [`SockRecord::touch`] does what
    /// [`SockRecord::on_packet`] would, and the charge is the packet alone.
    /// `by_owner` in the answer says whether the owner sends the packet
    /// (the sender compared once: the packet path needs both answers).
    #[inline(always)]
    pub fn steady_owner(&self, seen: &Seen, sender: Option<Owner>) -> Option<Steady> {
        let owner = self.owner?;
        let by_owner = sender == Some(owner);
        let taken_over = seen.dir == Dir::Out && sender.is_some() && !by_owner;
        (self.parked.is_empty() && !taken_over).then_some(Steady { owner, by_owner })
    }

    /// Notes a packet's time and the socket state it came with.
    #[inline(always)]
    pub fn touch(&mut self, seen: &Seen) {
        self.last_active = seen.now;
        if seen.sk_state.is_some() {
            self.last_state = seen.sk_state;
        }
    }

    /// A task reads from the socket (in its own context). A socket without
    /// an owner binds to the reader, who is charged what was parked; one
    /// that has an owner keeps it (only sending takes a socket over), so
    /// of several readers of one socket the first is charged. Returns
    /// what to charge, or `None`.
    pub fn bind(&mut self, reader: Owner) -> Option<Charge> {
        if self.owner.is_some() {
            return None;
        }
        self.owner = Some(reader);
        Some(Charge {
            owner: reader,
            packet: (Dir::In, Amount::default()),
            parked: core::mem::take(&mut self.parked),
        })
    }

    /// The garbage collector's verdict on this record at time `now` (ms);
    /// `owner_alive` says whether the owner's process still exists.
    pub fn verdict(&self, now: u64, owner_alive: bool) -> SockVerdict {
        let idle = now.saturating_sub(self.last_active);
        if self.owner.is_none() {
            return if idle > GC_MAX_UNBOUND_SECS * 1000 {
                SockVerdict::DropUnident
            } else {
                SockVerdict::Keep
            };
        }
        if !owner_alive {
            return SockVerdict::Drop;
        }
        match self.key.proto {
            Proto::Tcp => {
                let open = matches!(
                    self.last_state,
                    None | Some(TCP_ESTABLISHED) | Some(TCP_LISTEN)
                );
                if !open || idle > GC_MAX_TCP_IDLE_SECS * 1000 {
                    SockVerdict::Drop
                } else {
                    SockVerdict::Keep
                }
            }
            Proto::Udp => {
                if self.key.local_port > 1024 && idle > GC_MAX_UDP_IDLE_SECS * 1000 {
                    SockVerdict::Drop
                } else {
                    SockVerdict::Keep
                }
            }
        }
    }
}

/// Whether a packet on a socket key that has no record makes one: a sent
/// packet if a task sends it (process context), a received one if a local
/// socket takes it (`socket_takes` is asked only then: it is a lookup).
/// Packets to closed ports, and replies the stack makes for them (a TCP
/// reset), make none: they are counted as unidentified, so that a flood
/// cannot fill the table with records nobody will ever own.
pub fn creates_record(dir: Dir, has_sender: bool, socket_takes: impl FnOnce() -> bool) -> bool {
    match dir {
        Dir::Out => has_sender,
        Dir::In => socket_takes(),
    }
}

/// What the garbage collector does with a socket record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SockVerdict {
    Keep,
    Drop,
    /// Drop it and count its parked packets as unidentified.
    DropUnident,
}

/// Counters of one process or thread.
#[derive(Clone, Copy, Debug)]
pub struct TaskRecord {
    pub id: i32,
    pub kind: TaskKind,
    /// Start time, ns since boot: with `id`, identifies the task.
    pub start: u64,
    /// Start time in seconds since the epoch, as atop computes it.
    pub btime: u64,
    pub comm: [u8; COMLEN],
    pub tc: TaskCount,
}

impl TaskRecord {
    /// A record with zero counters. `boot_secs` is the epoch second of
    /// boot (what /proc/stat shows as `btime`).
    pub fn new(id: i32, kind: TaskKind, start: u64, boot_secs: u64, comm: &[u8]) -> Self {
        let mut c = [0u8; COMLEN];
        let len = comm
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(comm.len())
            .min(COMLEN - 1);
        c[..len].copy_from_slice(&comm[..len]);
        TaskRecord {
            id,
            kind,
            start,
            btime: boot_secs + start / 1_000_000_000,
            comm: c,
            tc: TaskCount::default(),
        }
    }

    /// The record as user space receives it.
    pub fn to_netpertask(self) -> NetPerTask {
        let mut npt = NetPerTask {
            id: self.id,
            btime: self.btime as core::ffi::c_ulong,
            tc: self.tc,
            ..Default::default()
        };
        npt.set_command(&self.comm);
        npt
    }
}

/// Where the packets of `proto` in direction `dir` are counted in
/// [`TaskCount::as_array`]; their bytes are in the next slot.
pub fn count_slot(proto: Proto, dir: Dir) -> usize {
    match (proto, dir) {
        (Proto::Tcp, Dir::Out) => 0,
        (Proto::Tcp, Dir::In) => 2,
        (Proto::Udp, Dir::Out) => 4,
        (Proto::Udp, Dir::In) => 6,
    }
}

/// What a charge adds to a task's counters: the packet, then what was
/// parked sent and received, each with its [`count_slot`].
pub fn charge_parts(proto: Proto, c: &Charge) -> [(usize, Amount); 3] {
    [
        (count_slot(proto, c.packet.0), c.packet.1),
        (count_slot(proto, Dir::Out), c.parked.sent),
        (count_slot(proto, Dir::In), c.parked.received),
    ]
}

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
pub fn wire_amount(
    len: u32,
    segs: u32,
    hdr_len: u32,
    mtu: u32,
    link_hdr_len: u32,
    frag_hdr_len: u32,
) -> Amount {
    let len = u64::from(len);
    let segs = u64::from(segs.max(1));
    let link = u64::from(link_hdr_len) + 4;
    let mut bytes = len + (segs - 1) * u64::from(hdr_len) + segs * link;
    if segs == 1 && mtu > 0 && len > u64::from(mtu) {
        bytes += len / u64::from(mtu) * (u64::from(frag_hdr_len) + link);
    }
    Amount {
        packets: segs,
        bytes,
    }
}

/// How many packets on the wire a packet of `len` bytes (from its network
/// header on, `hdr_len` of them network and transport headers) stands
/// for: `gso_segs`, the segments the stack counted in a GSO packet, or 1
/// for a packet that is not one (`gso_size` 0). A GSO packet whose
/// segments the stack has not counted (`gso_segs` 0: one from a
/// virtio-net or tap device, which the sender's virtio header describes)
/// is as many segments as its payload needs at `gso_size` bytes each, as
/// the stack would cut it.
pub fn wire_segments(gso_segs: u32, gso_size: u32, len: u32, hdr_len: u32) -> u32 {
    match (gso_segs, gso_size) {
        (0, 0) => 1,
        (0, size) => len.saturating_sub(hdr_len).div_ceil(size).max(1),
        (segs, _) => segs,
    }
}

/// Tracks what `NETATOP_EMPTY_EXIT` waits for besides an empty exit list:
/// the record most recently handed out by `NETATOP_GETCNT_EXIT`, until
/// its taker comes back (acknowledging it) or a grace period passes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Handout {
    /// Thread group that took a record and has not come back, and when
    /// (jiffies).
    pending: Option<(i32, u64)>,
}

impl Handout {
    /// `taker` takes a record at `now`.
    pub fn taken(&mut self, taker: i32, now: u64) {
        self.pending = Some((taker, now));
    }

    /// `taker` calls GETCNT_EXIT again: whatever it took is written.
    pub fn returned(&mut self, taker: i32) {
        if matches!(self.pending, Some((t, _)) if t == taker) {
            self.pending = None;
        }
    }

    /// Whether every exited process is accounted for: none queued, and the
    /// last one handed out acknowledged or older than `grace` jiffies.
    pub fn drained(&self, queued: usize, now: u64, grace: u64) -> bool {
        queued == 0
            && match self.pending {
                None => true,
                Some((_, since)) => now.wrapping_sub(since) >= grace,
            }
    }

    /// Jiffies until `drained` may turn true by the grace period alone.
    pub fn wait_left(&self, now: u64, grace: u64) -> u64 {
        match self.pending {
            None => 0,
            Some((_, since)) => grace.saturating_sub(now.wrapping_sub(since)),
        }
    }
}

/// What a `NETATOP_FORCE_GC` request does once it holds the collector's
/// lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForcedGc {
    /// A run that started after the request has completed: nothing to do.
    Covered,
    /// Run now.
    Run,
    /// Run after waiting this many milliseconds (at most two runs a
    /// second).
    RunAfter(u64),
}

/// Decides a FORCE_GC request that saw `seen` runs started when it was
/// made, now that `started` runs have started and the last began at
/// `last_start` (ms), at `now` (ms), with runs at least `min_interval_ms`
/// apart. A request is never skipped: it returns only after a run that
/// started after it.
pub fn forced_gc(
    seen: u64,
    started: u64,
    last_start: Option<u64>,
    now: u64,
    min_interval_ms: u64,
) -> ForcedGc {
    if started > seen {
        return ForcedGc::Covered;
    }
    match last_start {
        Some(t) if now.saturating_sub(t) < min_interval_ms => {
            ForcedGc::RunAfter(min_interval_ms - now.saturating_sub(t))
        }
        _ => ForcedGc::Run,
    }
}

/// How long after a `NETATOP_FORCE_GC` request (ms) collection runs leave
/// the processes that exited after it to a later run.
pub const EXIT_DEFER_MS: u64 = 1000;

/// A `NETATOP_FORCE_GC` request: the number of process exits seen by then,
/// and when it came (ms).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GcRequest {
    pub exits_seen: u64,
    pub at_ms: u64,
}

/// The exit number after which a collection run at `now` (ms) leaves
/// exited processes to a later run, given the latest `NETATOP_FORCE_GC`
/// request; `None` to collect them all.
///
/// atop reads the process accounting before it asks for a collection
/// and matches the log with the accounting within one sample: a process
/// that exits after it has read the accounting is in the accounting of
/// its next sample, so its counters must reach the log in that sample,
/// not in this one. Left to the next request's run, they do.
pub fn exit_bound(request: Option<GcRequest>, now: u64) -> Option<u64> {
    request
        .filter(|r| now.saturating_sub(r.at_ms) < EXIT_DEFER_MS)
        .map(|r| r.exits_seen)
}

/// Whether a process whose exit was numbered `exit` (0: its exit was not
/// seen) is left to a later run under `bound` ([`exit_bound`]).
pub fn exit_deferred(exit: u64, bound: Option<u64>) -> bool {
    exit != 0 && bound.is_some_and(|b| exit > b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exits_after_a_recent_request_wait_for_the_next() {
        // A request at 1000 ms, when 7 exits had been seen.
        let request = Some(GcRequest {
            exits_seen: 7,
            at_ms: 1000,
        });
        // 300 ms later.
        let bound = exit_bound(request, 1300);
        assert_eq!(bound, Some(7));
        assert!(!exit_deferred(7, bound), "exited before the request");
        assert!(exit_deferred(8, bound), "exited after the request");
        assert!(!exit_deferred(0, bound), "exit not seen: collected");
        // The request is a second old, or there was none: all collected.
        assert_eq!(exit_bound(request, 2000), None);
        assert_eq!(exit_bound(None, 2000), None);
        assert!(!exit_deferred(8, None));
    }

    /// Adds a charge to a task's counters, as the module's task records
    /// do with [`charge_parts`].
    fn apply(tc: &mut TaskCount, proto: Proto, c: &Charge) {
        let mut v = tc.as_array();
        for (slot, a) in charge_parts(proto, c) {
            v[slot] += a.packets;
            v[slot + 1] += a.bytes;
        }
        *tc = TaskCount::from_array(v);
    }

    fn key(proto: Proto, port: u16) -> SockKey {
        SockKey {
            net: 1,
            proto,
            ipv6: false,
            local_port: port,
            remote_port: 0,
            local: [0; 16],
            remote: [0; 16],
        }
    }

    const A: Owner = Owner {
        tgid: 100,
        tid: 101,
        process_start: 5,
        thread_start: 6,
    };
    const B: Owner = Owner {
        tgid: 200,
        tid: 200,
        process_start: 7,
        thread_start: 7,
    };

    fn seen(dir: Dir, packets: u64, bytes: u64, now: u64) -> Seen {
        Seen {
            dir,
            amount: Amount { packets, bytes },
            sk_state: None,
            now,
        }
    }

    #[test]
    fn key_is_seen_from_the_local_side() {
        let h = Headers {
            transport: Transport::Tcp,
            src: [1; 16],
            dst: [2; 16],
            ports: Some((1000, 80)),
            header_len: 40,
        };
        let out = SockKey::of(&h, Dir::Out, 9, false).unwrap();
        assert_eq!(
            (out.local_port, out.remote_port, out.local, out.remote),
            (1000, 80, [1; 16], [2; 16])
        );
        let inn = SockKey::of(&h, Dir::In, 9, false).unwrap();
        assert_eq!(
            (inn.local_port, inn.remote_port, inn.local, inn.remote),
            (80, 1000, [2; 16], [1; 16])
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
        let k = SockKey::of(&h, Dir::Out, 9, true).unwrap();
        assert_eq!(
            k,
            SockKey {
                net: 9,
                proto: Proto::Udp,
                ipv6: true,
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
        assert_eq!(SockKey::of(&reply, Dir::In, 9, true), Some(k));
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
        assert_eq!(SockKey::of(&h, Dir::In, 0, false), None);
        let h = Headers {
            transport: Transport::Icmp,
            src: [0; 16],
            dst: [0; 16],
            ports: Some((1, 2)),
            header_len: 20,
        };
        assert_eq!(SockKey::of(&h, Dir::In, 0, false), None);
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
        let k = SockKey {
            net: 1,
            proto: Proto::Tcp,
            ipv6: true,
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
        v.ipv6 = false;
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
        k4.ipv6 = false;
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
        let udp = key(Proto::Udp, 2);
        variants.push(udp);
        assert_eq!(
            [udp.words(), k4.words(), k.words()].map(|w| w.as_slice().len()),
            [2, 3, 6]
        );
        let words: Vec<_> = variants
            .iter()
            .map(|k| k.words().as_slice().to_vec())
            .collect();
        for (i, a) in words.iter().enumerate() {
            for b in &words[i + 1..] {
                assert_ne!(a, b);
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
    fn tcp6_key() -> SockKey {
        SockKey {
            net: 7,
            proto: Proto::Tcp,
            ipv6: true,
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
                hash(a.words().as_slice(), k) & mask == hash(b.words().as_slice(), k) & mask
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
        let tcp4 = SockKey {
            ipv6: false,
            local: [127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            remote: [10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            ..tcp6
        };
        let udp = SockKey {
            proto: Proto::Udp,
            remote_port: 0,
            local: [0; 16],
            remote: [0; 16],
            ..tcp4
        };
        let mut keys = vec![tcp6, tcp4, udp, SockKey { ipv6: true, ..udp }];
        for k in [tcp6, tcp4] {
            for byte in 0..16 {
                let mut v = k;
                v.remote[byte] ^= 1;
                keys.push(v);
                let mut v = k;
                v.local[byte] ^= 0x80;
                keys.push(v);
            }
            keys.push(SockKey { net: 8, ..k });
            keys.push(SockKey {
                local_port: 444,
                ..k
            });
            keys.push(SockKey {
                remote_port: 40001,
                ..k
            });
        }
        // An IPv4 key's addresses are its first four bytes: keys that differ
        // only beyond them are one key.
        let mut words: Vec<Vec<u64>> = keys.iter().map(|k| k.words().as_slice().to_vec()).collect();
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
            count[(hash(key(Proto::Udp, port).words().as_slice(), 42) % buckets) as usize] += 1;
        }
        let max = *count.iter().max().unwrap();
        assert!(
            max <= 24,
            "longest chain {max} for 8 keys per bucket on average"
        );
    }

    #[test]
    fn a_reader_binds_a_socket_without_owner_and_takes_its_parked_packets() {
        let mut r = SockRecord::new(key(Proto::Udp, 5000), 0);
        assert_eq!(r.on_packet(&seen(Dir::In, 2, 300, 1), None), None);
        let c = r.bind(A).unwrap();
        assert_eq!(c.owner, A);
        assert_eq!(c.packet, (Dir::In, Amount::default()));
        assert_eq!(
            c.parked.received,
            Amount {
                packets: 2,
                bytes: 300
            }
        );
        assert_eq!(r.parked, Parked::default());
        // Bound: later packets are charged as they come; another reader
        // takes nothing over, a sender does.
        assert_eq!(
            r.on_packet(&seen(Dir::In, 1, 50, 2), None).unwrap().owner,
            A
        );
        assert_eq!(r.bind(B), None);
        assert_eq!(
            r.on_packet(&seen(Dir::Out, 1, 50, 3), Some(B))
                .unwrap()
                .owner,
            B
        );
    }

    #[test]
    fn a_socket_id_gives_the_keys_of_its_packets() {
        let id = SocketId {
            net: 4,
            tcp: false,
            ipv6: true,
            v4_too: true,
            local_port: 514,
            remote_port: 0,
            local: [0; 16],
            remote: [0; 16],
        };
        let [v6, v4] = id.keys();
        assert_eq!(
            v6,
            Some(SockKey {
                ipv6: true,
                ..key(Proto::Udp, 514)
            })
            .map(|k| SockKey { net: 4, ..k })
        );
        assert_eq!(v4.map(|k| k.ipv6), Some(false));
        let tcp = SocketId {
            tcp: true,
            ipv6: false,
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
        assert_eq!(tcp.keys(), [SockKey::of(&h, Dir::In, 4, false), None]);
    }

    #[test]
    fn only_senders_and_packets_a_socket_takes_make_records() {
        let asked = core::cell::Cell::new(0);
        let lookup = |found| {
            asked.set(asked.get() + 1);
            found
        };
        assert!(creates_record(Dir::Out, true, || lookup(false)));
        assert!(!creates_record(Dir::Out, false, || lookup(true)));
        assert_eq!(asked.get(), 0, "no lookup for sent packets");
        assert!(creates_record(Dir::In, false, || lookup(true)));
        assert!(!creates_record(Dir::In, false, || lookup(false)));
        assert!(!creates_record(Dir::In, true, || lookup(false)));
        assert_eq!(asked.get(), 3);
    }

    #[test]
    fn received_before_sent_is_parked_then_moved_to_the_sender() {
        let mut r = SockRecord::new(key(Proto::Udp, 5000), 0);
        assert_eq!(r.on_packet(&seen(Dir::In, 1, 100, 1), None), None);
        assert_eq!(r.on_packet(&seen(Dir::In, 1, 50, 2), None), None);
        assert_eq!(
            r.parked.received,
            Amount {
                packets: 2,
                bytes: 150
            }
        );
        let c = r.on_packet(&seen(Dir::Out, 1, 70, 3), Some(A)).unwrap();
        assert_eq!(c.owner, A);
        assert_eq!(
            c.packet,
            (
                Dir::Out,
                Amount {
                    packets: 1,
                    bytes: 70
                }
            )
        );
        assert_eq!(
            c.parked.received,
            Amount {
                packets: 2,
                bytes: 150
            }
        );
        assert_eq!(r.parked, Parked::default());
        assert_eq!(r.owner, Some(A));
    }

    #[test]
    fn packets_without_process_context_do_not_bind() {
        let mut r = SockRecord::new(key(Proto::Tcp, 22), 0);
        // Sent from softirq (retransmission, ACK): no sender.
        assert_eq!(r.on_packet(&seen(Dir::Out, 1, 60, 1), None), None);
        assert_eq!(r.parked.sent.packets, 1);
        // A received packet is never charged to the current task.
        assert_eq!(r.on_packet(&seen(Dir::In, 1, 60, 1), Some(B)), None);
        assert_eq!(r.owner, None);
    }

    #[test]
    fn a_new_sender_takes_the_socket_over() {
        let mut r = SockRecord::new(key(Proto::Tcp, 22), 0);
        r.on_packet(&seen(Dir::Out, 1, 60, 1), Some(A));
        let c = r.on_packet(&seen(Dir::Out, 1, 60, 2), Some(B)).unwrap();
        assert_eq!(c.owner, B);
        let c = r.on_packet(&seen(Dir::In, 1, 60, 3), None).unwrap();
        assert_eq!(c.owner, B);
    }

    #[test]
    fn charge_adds_packet_and_parked_to_the_right_counters() {
        let mut tc = TaskCount::default();
        let c = Charge {
            owner: A,
            packet: (
                Dir::Out,
                Amount {
                    packets: 1,
                    bytes: 10,
                },
            ),
            parked: Parked {
                sent: Amount {
                    packets: 2,
                    bytes: 20,
                },
                received: Amount {
                    packets: 3,
                    bytes: 30,
                },
            },
        };
        apply(&mut tc, Proto::Udp, &c);
        assert_eq!(
            tc,
            TaskCount {
                udpsndpacks: 3,
                udpsndbytes: 30,
                udprcvpacks: 3,
                udprcvbytes: 30,
                ..Default::default()
            }
        );
        apply(&mut tc, Proto::Tcp, &c);
        assert_eq!(
            (
                tc.tcpsndpacks,
                tc.tcpsndbytes,
                tc.tcprcvpacks,
                tc.tcprcvbytes
            ),
            (3, 30, 3, 30)
        );
    }

    #[test]
    fn gc_verdicts() {
        let s = |secs: u64| secs * 1000;
        let mut udp = SockRecord::new(key(Proto::Udp, 5000), s(100));
        assert_eq!(udp.verdict(s(160), true), SockVerdict::Keep);
        assert_eq!(udp.verdict(s(160) + 1, true), SockVerdict::DropUnident);
        udp.owner = Some(A);
        assert_eq!(udp.verdict(s(116), true), SockVerdict::Keep);
        assert_eq!(udp.verdict(s(116) + 1, true), SockVerdict::Drop);
        assert_eq!(udp.verdict(s(101), false), SockVerdict::Drop);
        let mut dns = SockRecord::new(key(Proto::Udp, 53), s(100));
        dns.owner = Some(A);
        assert_eq!(dns.verdict(s(100_000), true), SockVerdict::Keep);

        let mut tcp = SockRecord::new(key(Proto::Tcp, 40000), s(100));
        tcp.owner = Some(A);
        tcp.last_state = Some(TCP_ESTABLISHED);
        assert_eq!(tcp.verdict(s(1900), true), SockVerdict::Keep);
        assert_eq!(tcp.verdict(s(1900) + 1, true), SockVerdict::Drop);
        tcp.last_state = Some(TCP_LISTEN);
        assert_eq!(tcp.verdict(s(200), true), SockVerdict::Keep);
        tcp.last_state = Some(7); // TCP_CLOSE
        assert_eq!(tcp.verdict(s(101), true), SockVerdict::Drop);
    }

    #[test]
    fn task_record_btime_and_command() {
        // Started 90.9 s after a boot at epoch second 1_700_000_000.
        let r = TaskRecord::new(
            7,
            TaskKind::Process,
            90_900_000_000,
            1_700_000_000,
            b"sender\0xyz",
        );
        let npt = r.to_netpertask();
        assert_eq!((npt.id, npt.btime), (7, 1_700_000_090));
        assert_eq!(&npt.to_bytes()[16..32], b"sender\0\0\0\0\0\0\0\0\0\0");
    }

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

    #[test]
    fn empty_exit_waits_for_the_taker_to_come_back() {
        let mut h = Handout::default();
        assert!(h.drained(0, 0, 100));
        assert!(!h.drained(1, 0, 100));
        h.taken(42, 1000);
        assert!(!h.drained(0, 1050, 100));
        assert_eq!(h.wait_left(1050, 100), 50);
        h.returned(7); // someone else
        assert!(!h.drained(0, 1050, 100));
        h.returned(42);
        assert!(h.drained(0, 1050, 100));
    }

    #[test]
    fn empty_exit_stops_waiting_for_a_taker_that_died() {
        let mut h = Handout::default();
        h.taken(42, u64::MAX - 10); // across jiffies wrap
        assert!(!h.drained(0, u64::MAX, 100));
        assert!(h.drained(0, 89, 100));
        assert_eq!(h.wait_left(89, 100), 0);
    }

    #[test]
    fn forced_gc_coalesces_with_a_later_run_and_never_skips() {
        // A run began after the request (while it waited for the lock).
        assert_eq!(forced_gc(4, 5, Some(1_000), 1_100, 500), ForcedGc::Covered);
        // The last run began before the request, 100 ms ago: wait 400 ms
        // and run, rather than return without a run.
        assert_eq!(
            forced_gc(5, 5, Some(1_000), 1_100, 500),
            ForcedGc::RunAfter(400)
        );
        assert_eq!(
            forced_gc(5, 5, Some(1_000), 1_499, 500),
            ForcedGc::RunAfter(1)
        );
        assert_eq!(forced_gc(5, 5, Some(1_000), 1_500, 500), ForcedGc::Run);
        assert_eq!(forced_gc(0, 0, None, 0, 500), ForcedGc::Run);
        // A clock that went backwards cannot make it wait longer.
        assert_eq!(
            forced_gc(5, 5, Some(2_000), 1_000, 500),
            ForcedGc::RunAfter(500)
        );
    }

    proptest::proptest! {
        /// Any sequence of packets on one socket, sent or received, by any
        /// of three tasks or outside process context: every packet is
        /// either charged (with the packet or with parked ones moved at a
        /// charge) or still parked, none twice; a charge goes to the task
        /// that sent last; and once a socket has an owner nothing is
        /// parked.
        #[test]
        fn packets_are_charged_or_parked_never_lost(
            steps in proptest::collection::vec(
                (proptest::bool::ANY, 1u64..4, 1u64..2000, 0usize..4),
                1..60,
            )
        ) {
            let owners = [A, B, Owner { tgid: 30, tid: 31, process_start: 3, thread_start: 4 }];
            let mut r = SockRecord::new(key(Proto::Tcp, 80), 0);
            let (mut total, mut charged) = (Amount::default(), Amount::default());
            let mut last_sender = None;
            for (t, &(out, packets, bytes, who)) in steps.iter().enumerate() {
                let dir = if out { Dir::Out } else { Dir::In };
                let sender = (out && who < 3).then(|| owners[who]);
                if sender.is_some() {
                    last_sender = sender;
                }
                let s = seen(dir, packets, bytes, t as u64);
                total.add(s.amount);
                // A steady packet: touching the record is all of it.
                let steady = r.steady_owner(&s, sender).map(|st| {
                    let mut touched = r;
                    touched.touch(&s);
                    (st.owner, st.by_owner, touched)
                });
                let charge = r.on_packet(&s, sender);
                if let Some((owner, by_owner, touched)) = steady {
                    proptest::prop_assert_eq!(by_owner, sender == Some(owner));
                    let alone = Charge { owner, packet: (dir, s.amount), parked: Parked::default() };
                    proptest::prop_assert_eq!(charge, Some(alone));
                    proptest::prop_assert_eq!(r, touched);
                }
                match charge {
                    Some(c) => {
                        proptest::prop_assert_eq!(Some(c.owner), last_sender);
                        proptest::prop_assert_eq!(c.packet, (dir, s.amount));
                        charged.add(c.packet.1);
                        charged.add(c.parked.sent);
                        charged.add(c.parked.received);
                        proptest::prop_assert_eq!(r.parked, Parked::default());
                    }
                    None => proptest::prop_assert_eq!(last_sender, None),
                }
            }
            let mut accounted = charged;
            accounted.add(r.parked.sent);
            accounted.add(r.parked.received);
            proptest::prop_assert_eq!(accounted, total);
        }
    }
}
