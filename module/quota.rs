// SPDX-License-Identifier: GPL-2.0

//! How many socket records may have no owner.
//!
//! A record without an owner parks the packets of a socket until a task
//! sends on it; anyone who can send packets to this host can make such
//! records (a SYN flood to a listening port makes one per spoofed peer).
//! So they may take at most half of the socket table, and those of one
//! network namespace at most a quarter: the rest is kept for records that
//! have an owner, and one namespace cannot take the unowned share of all.
//!
//! Namespaces are counted in [`SLOTS`] counters, by their cookie modulo
//! [`SLOTS`]: cookies are handed out in the order namespaces are made, so
//! namespaces made one after the other have counters of their own, and
//! those that share one share its quarter. (A counter per namespace would
//! outlive or be outlived by the records that charge it.) Lock-free: the
//! packet path takes no lock for this.
//!
//! A new record that finds its quota full takes the place of the least
//! recently active record without an owner that may give way to it (of
//! its own namespace's counter when that one is full): a flood, or
//! sockets that never read, must not keep the records of sockets that
//! come later from being made. Only a new record that finds none in time
//! is refused.
//!
//! The same records are also counted by local port, in [`PORT_SLOTS`]
//! counters (the port modulo [`PORT_SLOTS`]), so that a read from a socket
//! can tell in one load that no record of its port waits for an owner:
//! most reads, even while some socket elsewhere has parked packets.

#![forbid(unsafe_code)]

use crate::logic::key::SockKey;
use crate::wrap::once;
use kernel::sync::atomic::{Atomic, Relaxed};

/// Per-namespace counters.
pub(crate) const SLOTS: usize = 64;

/// Per-port counters.
pub(crate) const PORT_SLOTS: usize = 1024;

pub(crate) struct Unowned {
    total: Atomic<usize>,
    slots: [Atomic<usize>; SLOTS],
    ports: [Atomic<usize>; PORT_SLOTS],
    total_cap: usize,
    slot_cap: usize,
    refused: Atomic<u64>,
    replaced: Atomic<u64>,
}

/// Which quota kept a new record without an owner out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum QuotaFull {
    /// Its namespace's: only a record of the same counter may give way.
    Namespace,
    /// The table's: any record without an owner may.
    Table,
}

/// Increments `counter` if it stays at most `cap`.
fn take(counter: &Atomic<usize>, cap: usize) -> bool {
    let mut n = counter.load(Relaxed);
    loop {
        if n >= cap {
            return false;
        }
        match counter.cmpxchg(n, n + 1, Relaxed) {
            Ok(_) => return true,
            Err(cur) => n = cur,
        }
    }
}

fn put(counter: &Atomic<usize>) {
    counter.add(1usize.wrapping_neg(), Relaxed);
}

impl Unowned {
    /// Quotas for a table of at most `records` records.
    pub(crate) fn new(records: usize) -> Self {
        Unowned {
            total: Atomic::new(0),
            slots: [const { Atomic::new(0) }; SLOTS],
            ports: [const { Atomic::new(0) }; PORT_SLOTS],
            total_cap: records / 2,
            slot_cap: records / 4,
            refused: Atomic::new(0),
            replaced: Atomic::new(0),
        }
    }

    fn slot(&self, net: u64) -> &Atomic<usize> {
        &self.slots[(net % SLOTS as u64) as usize]
    }

    fn port(&self, port: u16) -> &Atomic<usize> {
        &self.ports[usize::from(port) % PORT_SLOTS]
    }

    /// Admits one more unowned record, of `key`, if the quotas allow;
    /// otherwise says which quota is full.
    pub(crate) fn admit(&self, key: &SockKey) -> Result<(), QuotaFull> {
        let slot = self.slot(key.net());
        if !take(slot, self.slot_cap) {
            return Err(QuotaFull::Namespace);
        }
        if !take(&self.total, self.total_cap) {
            put(slot);
            return Err(QuotaFull::Table);
        }
        self.port(key.local_port()).add(1, Relaxed);
        Ok(())
    }

    /// Whether the unowned record of `old` may give way to a new one of
    /// `new` that found the quota `full`.
    pub(crate) fn may_replace(full: QuotaFull, old: &SockKey, new: &SockKey) -> bool {
        full == QuotaFull::Table || old.net() % SLOTS as u64 == new.net() % SLOTS as u64
    }

    /// Counts a new unowned record that was refused.
    pub(crate) fn refuse(&self) {
        self.refused.add(1, Relaxed);
    }

    /// Counts an unowned record that gave way to a new one.
    pub(crate) fn replace(&self) {
        self.replaced.add(1, Relaxed);
    }

    /// The unowned record of `key` got an owner or went away.
    pub(crate) fn release(&self, key: &SockKey) {
        put(self.port(key.local_port()));
        put(self.slot(key.net()));
        put(&self.total);
    }

    /// Whether an unowned record may have the local port `port`: false
    /// only if none has.
    pub(crate) fn may_have_port(&self, port: u16) -> bool {
        once::load(self.port(port)) > 0
    }

    /// Unowned records now.
    pub(crate) fn count(&self) -> usize {
        once::load(&self.total)
    }

    /// Unowned records refused so far.
    pub(crate) fn refused(&self) -> u64 {
        self.refused.load(Relaxed)
    }

    /// Unowned records that gave way to new ones so far.
    pub(crate) fn replaced(&self) -> u64 {
        self.replaced.load(Relaxed)
    }
}
