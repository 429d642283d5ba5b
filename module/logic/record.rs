// SPDX-License-Identifier: GPL-2.0

//! Socket and task records, and who is charged for a packet: the owner
//! of a socket, what is parked on it until it has one, and how a charge
//! reaches a task's counters.

use super::abi::{NetPerTask, TaskCount, COMLEN};
use super::key::{Dir, Proto, SockKey, TaskKind};

/// TCP states as the kernel numbers them (`include/net/tcp_states.h`).
pub const TCP_ESTABLISHED: u8 = 1;
pub const TCP_LISTEN: u8 = 10;

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

/// What to charge after a packet has updated its socket record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Charge {
    pub owner: Owner,
    /// The packet's direction.
    pub dir: Dir,
    /// The packet itself (nothing when a reader binds).
    pub amount: Amount,
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

    /// Updates the record for one packet.
    ///
    /// `sender` is the task that sends the packet when it is sent in process
    /// context: that task becomes (or stays) the owner, also when the socket
    /// was handed over by another task. Returns what to charge to the owner, or
    /// `None` when the packet is parked here until an owner appears.
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
                dir: seen.dir,
                amount: seen.amount,
                parked: core::mem::take(&mut self.parked),
            }),
            None => {
                self.parked.add(seen.dir, seen.amount);
                None
            }
        }
    }

    /// Notes a packet's time and the socket state it came with.
    #[inline(always)]
    pub fn touch(&mut self, seen: &Seen) {
        self.last_active = seen.now;
        if seen.sk_state.is_some() {
            self.last_state = seen.sk_state;
        }
    }

    /// A task reads from the socket (in its own context).
    ///
    /// A socket without an owner binds to the reader, who is charged what was
    /// parked; one that has an owner keeps it (only sending takes a socket
    /// over), so of several readers of one socket the first is charged. Returns
    /// what to charge, or `None`.
    pub fn bind(&mut self, reader: Owner) -> Option<Charge> {
        if self.owner.is_some() {
            return None;
        }
        self.owner = Some(reader);
        Some(Charge {
            owner: reader,
            dir: Dir::In,
            amount: Amount::default(),
            parked: core::mem::take(&mut self.parked),
        })
    }
}

/// Whether a packet that `sender` sends (when sent in a task's context) in
/// `dir` leaves a socket record owned by `owner` as it is, but for its times:
/// `Some(by_owner)`, saying whether the owner sends it, unless another task
/// sends it and so takes the socket over.
///
/// As a record with an owner parks nothing, for such a packet
/// [`SockRecord::touch`] does what [`SockRecord::on_packet`] would, and the
/// charge is the packet alone: the packet path charges most packets so,
/// without the record.
#[inline(always)]
pub fn steady(owner: Owner, dir: Dir, sender: Option<Owner>) -> Option<bool> {
    let by_owner = sender == Some(owner);
    let taken_over = dir == Dir::Out && sender.is_some() && !by_owner;
    (!taken_over).then_some(by_owner)
}

/// Whether a packet on a socket key that has no record makes one: a sent packet
/// if a task sends it (process context), a received one if a local socket takes
/// it (`socket_takes` is asked only then: it is a lookup).
///
/// Packets to closed ports, and replies the stack makes for them (a TCP reset),
/// make none: they are counted as unidentified, so that a flood cannot fill the
/// table with records nobody will ever own.
pub fn creates_record(dir: Dir, has_sender: bool, socket_takes: impl FnOnce() -> bool) -> bool {
    match dir {
        Dir::Out => has_sender,
        Dir::In => socket_takes(),
    }
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
    /// A record with zero counters.
    ///
    /// `boot_secs` is the epoch second of boot (what /proc/stat shows as
    /// `btime`).
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
        (count_slot(proto, c.dir), c.amount),
        (count_slot(proto, Dir::Out), c.parked.sent),
        (count_slot(proto, Dir::In), c.parked.received),
    ]
}

/// Records and owners the tests of the logic share.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;
    use crate::key::KeyParts;
    use crate::packet::Family;

    pub(crate) fn key(proto: Proto, port: u16) -> SockKey {
        KeyParts {
            net: 1,
            proto,
            family: Family::Ipv4,
            local_port: port,
            remote_port: 0,
            local: [0; 16],
            remote: [0; 16],
        }
        .into()
    }

    pub(crate) const A: Owner = Owner {
        tgid: 100,
        tid: 101,
        process_start: 5,
        thread_start: 6,
    };
    pub(crate) const B: Owner = Owner {
        tgid: 200,
        tid: 200,
        process_start: 7,
        thread_start: 7,
    };

    pub(crate) fn seen(dir: Dir, packets: u64, bytes: u64, now: u64) -> Seen {
        Seen {
            dir,
            amount: Amount { packets, bytes },
            sk_state: None,
            now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{key, seen, A, B};
    use super::*;

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

    #[test]
    fn a_reader_binds_a_socket_without_owner_and_takes_its_parked_packets() {
        let mut r = SockRecord::new(key(Proto::Udp, 5000), 0);
        assert_eq!(r.on_packet(&seen(Dir::In, 2, 300, 1), None), None);
        let c = r.bind(A).unwrap();
        assert_eq!(c.owner, A);
        assert_eq!((c.dir, c.amount), (Dir::In, Amount::default()));
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
            (c.dir, c.amount),
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
            dir: Dir::Out,
            amount: Amount {
                packets: 1,
                bytes: 10,
            },
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
                let steady = r.owner.and_then(|owner| {
                    let by_owner = steady(owner, dir, sender)?;
                    let mut touched = r;
                    touched.touch(&s);
                    Some((owner, by_owner, touched))
                });
                let charge = r.on_packet(&s, sender);
                if let Some((owner, by_owner, touched)) = steady {
                    proptest::prop_assert_eq!(by_owner, sender == Some(owner));
                    let alone = Charge { owner, dir, amount: s.amount, parked: Parked::default() };
                    proptest::prop_assert_eq!(charge, Some(alone));
                    proptest::prop_assert_eq!(r, touched);
                }
                match charge {
                    Some(c) => {
                        proptest::prop_assert_eq!(Some(c.owner), last_sender);
                        proptest::prop_assert_eq!((c.dir, c.amount), (dir, s.amount));
                        charged.add(c.amount);
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
