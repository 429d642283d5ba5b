// SPDX-License-Identifier: GPL-2.0

//! Task records shared by the task table and the socket records of their
//! owner, so that charging a packet to its owner needs no task-table
//! lookup: the socket record holds its owner's process and thread records
//! and adds to their counters directly.
//!
//! The counters are atomic: charging takes no lock, so a packet takes one
//! lock, its socket bucket's. A task record leaves the table when the
//! garbage collector finds its task gone; it is closed then, and a socket
//! record that still holds it charges nothing more to it: the packet is
//! unidentified, as it was before records were shared. Charging tests
//! `closed` and adds inside one RCU read-side critical section (the
//! [`rcu::Guard`] it takes), and the collector reads a closed record's
//! counters only after a grace period ([`synchronize_rcu`]): every charge
//! that found the record open has landed by then, and every later one
//! finds it closed. So what it counted is final and exact.
//!
//! Lock order: a socket bucket, then a task bucket.

#![forbid(unsafe_code)]

use crate::logic::abi::{TaskCount, COMLEN};
use crate::logic::account::{self, Charge, Owner, Proto, SockRecord, TaskKind, TaskRecord};
use crate::table::Budget;
use core::mem::size_of;
use kernel::prelude::*;
use kernel::sync::atomic::{Atomic, Relaxed};
use kernel::sync::{rcu, Arc};

#[cfg(doc)]
use crate::wrap::sync::synchronize_rcu;

/// Bytes of a task budget held by one thing; given back when it goes.
struct Held {
    budget: Arc<Budget>,
    bytes: usize,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.budget.release(self.bytes);
    }
}

/// The record of one process or thread.
pub(crate) struct TaskCell {
    /// The record's start time in epoch seconds and its command, as made.
    btime: u64,
    comm: [u8; COMLEN],
    /// The counters, in [`TaskCount::as_array`]'s order.
    counts: [Atomic<u64>; 8],
    /// Set when the record leaves the table.
    closed: Atomic<bool>,
    /// The record's task.
    pub(crate) id: i32,
    pub(crate) kind: TaskKind,
    pub(crate) start: u64,
    _held: Held,
}

impl TaskCell {
    /// A shared record holding `record`, charged to `budget`; `None` if
    /// the budget is spent or memory short. Never sleeps.
    pub(crate) fn new(record: TaskRecord, budget: &Arc<Budget>) -> Option<Arc<Self>> {
        let bytes = size_of::<Self>();
        if !budget.charge(bytes) {
            return None;
        }
        let held = Held {
            budget: budget.clone(),
            bytes,
        };
        let counts = record.tc.as_array().map(Atomic::new);
        let cell = TaskCell {
            id: record.id,
            kind: record.kind,
            start: record.start,
            btime: record.btime,
            comm: record.comm,
            counts,
            closed: Atomic::new(false),
            _held: held,
        };
        Arc::new(cell, GFP_ATOMIC | __GFP_NOWARN).ok()
    }

    /// Whether this is the record of task `id` started at `start`.
    pub(crate) fn is(&self, id: i32, kind: TaskKind, start: u64) -> bool {
        self.id == id && self.kind == kind && self.start == start
    }

    /// A copy of the record. Each counter is read whole, but a charge may
    /// land between two of them; after [`TaskCell::close`] and a grace
    /// period the copy is final.
    pub(crate) fn get(&self) -> TaskRecord {
        TaskRecord {
            id: self.id,
            kind: self.kind,
            start: self.start,
            btime: self.btime,
            comm: self.comm,
            tc: TaskCount::from_array(core::array::from_fn(|i| self.counts[i].load(Relaxed))),
        }
    }

    /// Closes the record: nothing is charged to it any more once an RCU
    /// grace period has passed ([`synchronize_rcu`]).
    pub(crate) fn close(&self) {
        self.closed.store(true, Relaxed);
    }

    /// Whether the record was closed (a hint: a charge under way may still
    /// land until a grace period has passed).
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Relaxed)
    }

    /// Adds `c` to the record unless it is closed; whether it did. The
    /// test and the additions are in the read-side critical section of
    /// `_rcu`, which the collector waits for after closing.
    #[inline(always)]
    fn charge(&self, proto: Proto, c: &Charge, _rcu: &rcu::Guard) -> bool {
        if self.closed.load(Relaxed) {
            return false;
        }
        for (slot, a) in account::charge_parts(proto, c) {
            if a.packets > 0 || a.bytes > 0 {
                self.counts[slot].add(a.packets, Relaxed);
                self.counts[slot + 1].add(a.bytes, Relaxed);
            }
        }
        true
    }
}

/// The process and thread records of a socket's owner.
pub(crate) struct Cells {
    pub(crate) owner: Owner,
    pub(crate) process: Arc<TaskCell>,
    /// `None` if the thread has no record (it ended, or memory was short).
    pub(crate) thread: Option<Arc<TaskCell>>,
}

impl Cells {
    /// Whether these are the records of `owner`.
    pub(crate) fn serve(&self, owner: &Owner) -> bool {
        self.owner == *owner
    }

    /// Whether a record is missing or closed (a hint).
    pub(crate) fn incomplete(&self) -> bool {
        self.process.is_closed() || self.thread.as_ref().is_none_or(|t| t.is_closed())
    }

    /// Charges `c` to the process and then to the thread, unless the
    /// process record is closed: then nothing is charged, so that a thread
    /// never shows more than its process. Whether the process was charged.
    #[inline(always)]
    pub(crate) fn charge(&self, proto: Proto, c: &Charge) -> bool {
        let rcu = rcu::read_lock();
        if !self.process.charge(proto, c, &rcu) {
            return false;
        }
        if let Some(t) = &self.thread {
            t.charge(proto, c, &rcu);
        }
        true
    }
}

/// A socket record and, once it has been charged, its owner's records.
pub(crate) struct SockEntry {
    pub(crate) record: SockRecord,
    pub(crate) cells: Option<Cells>,
}
