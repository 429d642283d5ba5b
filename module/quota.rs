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

#![forbid(unsafe_code)]

use kernel::sync::atomic::{Atomic, Relaxed};

/// Per-namespace counters.
pub(crate) const SLOTS: usize = 64;

pub(crate) struct Unowned {
    total: Atomic<usize>,
    slots: [Atomic<usize>; SLOTS],
    total_cap: usize,
    slot_cap: usize,
    refused: Atomic<u64>,
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
            total_cap: records / 2,
            slot_cap: records / 4,
            refused: Atomic::new(0),
        }
    }

    fn slot(&self, net: u64) -> &Atomic<usize> {
        &self.slots[(net % SLOTS as u64) as usize]
    }

    /// Admits one more unowned record of namespace `net`, if the quotas
    /// allow; a refusal is counted.
    pub(crate) fn admit(&self, net: u64) -> bool {
        let slot = self.slot(net);
        if take(slot, self.slot_cap) {
            if take(&self.total, self.total_cap) {
                return true;
            }
            put(slot);
        }
        self.refused.add(1, Relaxed);
        false
    }

    /// An unowned record of `net` got an owner or went away.
    pub(crate) fn release(&self, net: u64) {
        put(self.slot(net));
        put(&self.total);
    }

    /// Unowned records now.
    pub(crate) fn count(&self) -> usize {
        self.total.load(Relaxed)
    }

    /// Unowned records refused so far.
    pub(crate) fn refused(&self) -> u64 {
        self.refused.load(Relaxed)
    }
}
