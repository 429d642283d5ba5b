// SPDX-License-Identifier: GPL-2.0

//! Module-wide packet counters, exact once the packets they count are
//! counted.

#![forbid(unsafe_code)]

use crate::logic::account::Dir;
use crate::logic::packet::Transport;
use crate::logic::procfs::{Counted, Snapshot};
use crate::wrap::nf_hook::Family;
use crate::wrap::percpu::PerCpuCounters;
use kernel::prelude::*;

/// Where each counter is in [`Stats::counters`].
const PACKETS: usize = 0; // [direction][protocol]: 8 counters
const UNIDENT: usize = 8; // [direction][tcp/udp]: 4 counters
const IPV6: usize = 12;
const PARKED: usize = 13;
const COUNTERS: usize = 14;

/// Packets seen by the hooks, per protocol and direction; counted per CPU
/// (every packet counts here), summed when read.
pub(crate) struct Stats {
    counters: PerCpuCounters<COUNTERS>,
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

fn packets(d: Dir, t: Transport) -> usize {
    PACKETS + dir(d) * 4 + slot(t)
}

/// The unidentified counter of TCP and UDP packets.
fn unident(d: Dir, t: Transport) -> Option<usize> {
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

    /// Counts `n` packets (the segments of one GSO packet).
    pub(crate) fn packet(&self, family: Family, d: Dir, t: Transport, n: u64) {
        self.counters.add(packets(d, t), n);
        if family == Family::Ipv6 {
            self.counters.add(IPV6, n);
        }
    }

    /// Counts `n` TCP or UDP packets that no task could be charged with.
    pub(crate) fn unident(&self, d: Dir, t: Transport, n: u64) {
        if let Some(i) = unident(d, t).filter(|_| n > 0) {
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
        let counted = |d: Dir, t: Transport| Counted {
            packets: c(packets(d, t)),
            unident: unident(d, t).map_or(0, c),
        };
        Snapshot {
            tcp_snd: counted(Dir::Out, Transport::Tcp),
            tcp_rcv: counted(Dir::In, Transport::Tcp),
            udp_snd: counted(Dir::Out, Transport::Udp),
            udp_rcv: counted(Dir::In, Transport::Udp),
            icmp_snd: c(packets(Dir::Out, Transport::Icmp)),
            icmp_rcv: c(packets(Dir::In, Transport::Icmp)),
            unknown: c(packets(Dir::Out, Transport::Unknown))
                + c(packets(Dir::In, Transport::Unknown)),
            ipv6_packets: c(IPV6),
            parked: c(PARKED),
            ..Snapshot::default()
        }
    }
}

// Every index above is within the counters.
const _: () = assert!(PARKED < COUNTERS && IPV6 < COUNTERS && UNIDENT + 4 <= IPV6);
