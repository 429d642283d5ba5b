// SPDX-License-Identifier: GPL-2.0

//! Module-wide packet counters, exact under concurrency.

#![forbid(unsafe_code)]

use crate::logic::account::Dir;
use crate::logic::packet::Transport;
use crate::logic::procfs::{Counted, Snapshot};
use crate::wrap::nf_hook::Family;
use kernel::sync::atomic::{Atomic, Relaxed};

/// One counter, updated from any CPU and any context.
struct Counter(Atomic<u64>);

impl Counter {
    const fn new() -> Self {
        Counter(Atomic::new(0))
    }

    fn add(&self, n: u64) {
        self.0.add(n, Relaxed);
    }

    fn sub(&self, n: u64) {
        // Adding the two's complement subtracts: the kernel's atomics wrap.
        self.0.add(n.wrapping_neg(), Relaxed);
    }

    fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

/// Packets seen by the hooks, per protocol and direction.
pub(crate) struct Stats {
    /// Indexed by `[direction][protocol]` (see [`slot`]).
    packets: [[Counter; 4]; 2],
    /// TCP and UDP packets not charged to any task, `[direction][tcp/udp]`.
    unident: [[Counter; 2]; 2],
    ipv6: Counter,
    /// Packets held on sockets that have no owner yet.
    parked: Counter,
}

fn slot(t: Transport) -> usize {
    match t {
        Transport::Tcp => 0,
        Transport::Udp => 1,
        Transport::Icmp => 2,
        Transport::Unknown => 3,
    }
}

fn dir(d: Dir) -> usize {
    match d {
        Dir::Out => 0,
        Dir::In => 1,
    }
}

impl Stats {
    pub(crate) const fn new() -> Self {
        Stats {
            packets: [
                [
                    Counter::new(),
                    Counter::new(),
                    Counter::new(),
                    Counter::new(),
                ],
                [
                    Counter::new(),
                    Counter::new(),
                    Counter::new(),
                    Counter::new(),
                ],
            ],
            unident: [
                [Counter::new(), Counter::new()],
                [Counter::new(), Counter::new()],
            ],
            ipv6: Counter::new(),
            parked: Counter::new(),
        }
    }

    /// Counts `n` packets (the segments of one GSO packet).
    pub(crate) fn packet(&self, family: Family, d: Dir, t: Transport, n: u64) {
        self.packets[dir(d)][slot(t)].add(n);
        if family == Family::Ipv6 {
            self.ipv6.add(n);
        }
    }

    /// Counts `n` TCP or UDP packets that no task could be charged with.
    pub(crate) fn unident(&self, d: Dir, t: Transport, n: u64) {
        let i = match t {
            Transport::Tcp => 0,
            Transport::Udp => 1,
            _ => return,
        };
        if n > 0 {
            self.unident[dir(d)][i].add(n);
        }
    }

    /// `n` packets are now parked on a socket.
    pub(crate) fn park(&self, n: u64) {
        self.parked.add(n);
    }

    /// `n` parked packets were charged to a task or counted unidentified.
    pub(crate) fn unpark(&self, n: u64) {
        if n > 0 {
            self.parked.sub(n);
        }
    }

    /// The packet counters for `/proc/netatop`; the caller adds the
    /// table figures.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let counted = |d: Dir, t: Transport, u: usize| Counted {
            packets: self.packets[dir(d)][slot(t)].get(),
            unident: self.unident[dir(d)][u].get(),
        };
        Snapshot {
            tcp_snd: counted(Dir::Out, Transport::Tcp, 0),
            tcp_rcv: counted(Dir::In, Transport::Tcp, 0),
            udp_snd: counted(Dir::Out, Transport::Udp, 1),
            udp_rcv: counted(Dir::In, Transport::Udp, 1),
            icmp_snd: self.packets[dir(Dir::Out)][slot(Transport::Icmp)].get(),
            icmp_rcv: self.packets[dir(Dir::In)][slot(Transport::Icmp)].get(),
            unknown: self.packets[0][slot(Transport::Unknown)].get()
                + self.packets[1][slot(Transport::Unknown)].get(),
            ipv6_packets: self.ipv6.get(),
            parked: self.parked.get(),
            ..Snapshot::default()
        }
    }
}
