// SPDX-License-Identifier: GPL-2.0

//! Module-wide packet counters, exact once the packets they count are
//! counted.

#![forbid(unsafe_code)]

use crate::logic::key::Dir;
use crate::logic::packet::{Family, Transport};
use crate::logic::procfs::{Counted, Snapshot};
use crate::wrap::percpu::PerCpuCounters;
use kernel::prelude::*;

/// Where each counter is in [`Stats::counters`].
const PACKETS: usize = 0; // [family][direction][protocol]: 16 counters
const UNIDENT: usize = 16; // [direction][tcp/udp]: 4 counters
const PARKED: usize = 20;
const COUNTERS: usize = 21;

/// Packets seen by the hooks, per protocol and direction; counted per CPU
/// (every packet counts here), summed when read.
pub(crate) struct Stats {
    counters: PerCpuCounters<COUNTERS>,
}

/// Every transport, in [`slot`]'s order.
const TRANSPORTS: [Transport; 4] = [
    Transport::Tcp,
    Transport::Udp,
    Transport::Icmp,
    Transport::Unknown,
];

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

fn packets(f: Family, d: Dir, t: Transport) -> usize {
    let family = match f {
        Family::Ipv4 => 0,
        Family::Ipv6 => 8,
    };
    PACKETS + family + dir(d) * 4 + slot(t)
}

/// The unidentified counter of TCP and UDP packets.
fn unidentified_index(d: Dir, t: Transport) -> Option<usize> {
    let i = match t {
        Transport::Tcp => 0,
        Transport::Udp => 1,
        _ => return None,
    };
    Some(UNIDENT + dir(d) * 2 + i)
}

impl Stats {
    pub(crate) fn new() -> Result<Self> {
        Ok(Stats {
            counters: PerCpuCounters::new()?,
        })
    }

    /// Counts `n` packets (the segments of one GSO packet): one counter
    /// per family, direction and protocol, so one addition per packet.
    pub(crate) fn packet(&self, family: Family, d: Dir, t: Transport, n: u64) {
        self.counters.add(packets(family, d, t), n);
    }

    /// Counts `n` TCP or UDP packets that no task could be charged with.
    pub(crate) fn unidentified(&self, d: Dir, t: Transport, n: u64) {
        if let Some(i) = unidentified_index(d, t).filter(|_| n > 0) {
            self.counters.add(i, n);
        }
    }

    /// `n` packets are now parked on a socket.
    pub(crate) fn park(&self, n: u64) {
        self.counters.add(PARKED, n);
    }

    /// `n` parked packets were charged to a task or counted unidentified.
    pub(crate) fn unpark(&self, n: u64) {
        if n > 0 {
            self.counters.sub(PARKED, n);
        }
    }

    /// The packet counters for `/proc/netatop`; the caller adds the
    /// table figures.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let c = |i: usize| self.counters.sum(i);
        let both =
            |d: Dir, t: Transport| c(packets(Family::Ipv4, d, t)) + c(packets(Family::Ipv6, d, t));
        let counted = |d: Dir, t: Transport| Counted {
            packets: both(d, t),
            unident: unidentified_index(d, t).map_or(0, c),
        };
        let ipv6_packets = [Dir::Out, Dir::In]
            .into_iter()
            .flat_map(|d| TRANSPORTS.map(|t| c(packets(Family::Ipv6, d, t))))
            .sum();
        Snapshot {
            tcp_snd: counted(Dir::Out, Transport::Tcp),
            tcp_rcv: counted(Dir::In, Transport::Tcp),
            udp_snd: counted(Dir::Out, Transport::Udp),
            udp_rcv: counted(Dir::In, Transport::Udp),
            icmp_snd: both(Dir::Out, Transport::Icmp),
            icmp_rcv: both(Dir::In, Transport::Icmp),
            unknown: both(Dir::Out, Transport::Unknown) + both(Dir::In, Transport::Unknown),
            ipv6_packets,
            parked: c(PARKED),
            ..Snapshot::default()
        }
    }
}

// Every index above is within the counters.
const _: () = assert!(PACKETS + 16 <= UNIDENT && UNIDENT + 4 <= PARKED && PARKED < COUNTERS);
