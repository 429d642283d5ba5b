// SPDX-License-Identifier: GPL-2.0

//! Task records shared by the task table and the socket records of their
//! owner, so that charging a packet to its owner needs no task-table
//! lookup: the socket record holds its owner's process and thread records
//! and adds to their counters directly.
//!
//! The counters are atomic: charging takes no lock of its own, and most
//! packets take none at all. A record reaches the packet path only through
//! the socket records that hold it, which publish it under RCU; charges
//! through it are made inside the hook's RCU read-side critical section.
//! The garbage collector closes the record of a task it finds gone and
//! takes it out of the task table, then walks the socket buckets and takes
//! it out of every socket record (under each bucket's lock), and waits for
//! a grace period before it reads it: every charge that found the record
//! has landed by then, and no later packet can find it. So what it counted
//! is final and exact, and the packet path tests nothing for it.
//!
//! Lock order: a socket bucket, then a task bucket.

#![forbid(unsafe_code)]

use crate::logic::abi::{TaskCount, COMLEN};
use crate::logic::exits;
use crate::logic::key::{Dir, Proto, SockKey, TaskKind};
use crate::logic::record::{self, Amount, Charge, Owner, Seen, SockRecord, TaskRecord};
use crate::table::Budget;
use crate::wrap::counters::{add_to_pairs, Pair};
use crate::wrap::once;
use crate::wrap::rcu::RcuPtr;
use core::mem::size_of;
use kernel::prelude::*;
use kernel::sync::atomic::{Atomic, Relaxed};
use kernel::sync::Arc;

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
    /// The counters, in [`TaskCount::as_array`]'s order, in pairs of
    /// packets and bytes (the pair of a [`record::count_slot`] is half
    /// of it).
    counts: [Pair; 4],
    /// Set when the record leaves the table.
    closed: Atomic<bool>,
    /// For a process: the number of its exit, once the exit probe saw it
    /// (0 before).
    exit: Atomic<u64>,
    /// The record's task.
    pub(crate) id: i32,
    pub(crate) kind: TaskKind,
    pub(crate) start: u64,
    _held: Held,
}

impl TaskCell {
    /// A shared record holding `record`, charged to `budget`; `None` if the
    /// budget is spent or memory short.
    ///
    /// Never sleeps.
    pub(crate) fn new(record: TaskRecord, budget: &Arc<Budget>) -> Option<Arc<Self>> {
        let bytes = size_of::<Self>();
        if !budget.charge(bytes) {
            return None;
        }
        let held = Held {
            budget: budget.clone(),
            bytes,
        };
        let c = record.tc.as_array();
        let counts = core::array::from_fn(|i| [Atomic::new(c[2 * i]), Atomic::new(c[2 * i + 1])]);
        let cell = TaskCell {
            id: record.id,
            kind: record.kind,
            start: record.start,
            btime: record.btime,
            comm: record.comm,
            counts,
            closed: Atomic::new(false),
            exit: Atomic::new(0),
            _held: held,
        };
        Arc::new(cell, GFP_ATOMIC | __GFP_NOWARN).ok()
    }

    /// Whether this is the record of task `id` started at `start`.
    pub(crate) fn is(&self, id: i32, kind: TaskKind, start: u64) -> bool {
        self.id == id && self.kind == kind && self.start == start
    }

    /// A copy of the record.
    ///
    /// Each counter is read whole, but a charge may land between two of them;
    /// once the record is closed and no socket record holds it any more the
    /// copy is final.
    pub(crate) fn get(&self) -> TaskRecord {
        TaskRecord {
            id: self.id,
            kind: self.kind,
            start: self.start,
            btime: self.btime,
            comm: self.comm,
            tc: TaskCount::from_array(core::array::from_fn(|i| {
                self.counts[i / 2][i % 2].load(Relaxed)
            })),
        }
    }

    /// Closes the record, when it leaves the task table: the socket
    /// records that hold it let it go at the garbage collector's next
    /// pass over them.
    pub(crate) fn close(&self) {
        self.closed.store(true, Relaxed);
    }

    /// Notes that the process exited, as exit number `n`.
    pub(crate) fn exited(&self, n: u64) {
        self.exit.store(n, Relaxed);
    }

    /// Whether a collection run under `bound` leaves this ended process
    /// to a later run ([`exits::exit_deferred`]).
    pub(crate) fn deferred(&self, bound: Option<u64>) -> bool {
        exits::exit_deferred(self.exit.load(Relaxed), bound)
    }

    /// Whether the record was closed.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Relaxed)
    }

    /// Adds `c` to the record: the packet, and what was parked if
    /// anything was (seldom: it takes a pass over the parts).
    #[inline(always)]
    fn charge(&self, proto: Proto, c: &Charge) {
        let [packet, parked @ ..] = record::charge_parts(proto, c);
        self.add(packet);
        if c.parked.packets() > 0 {
            for part in parked.into_iter().filter(|(_, a)| a.packets > 0) {
                self.add(part);
            }
        }
    }

    #[inline(always)]
    fn add(&self, (slot, a): (usize, Amount)) {
        add_to_pairs(&self.counts[slot / 2], None, a.packets, a.bytes);
    }
}

/// The process and thread records of a socket's owner.
pub(crate) struct Cells {
    pub(crate) owner: Owner,
    pub(crate) process: Arc<TaskCell>,
    /// `None` if the thread has no record (it ended, or memory was short).
    ///
    /// Neither record is a closed one once the garbage collector has passed:
    /// it lets go of the records of a socket when it closes either.
    pub(crate) thread: Option<Arc<TaskCell>>,
}

impl Cells {
    /// Whether these are the records of `owner`.
    pub(crate) fn belong_to(&self, owner: &Owner) -> bool {
        self.owner == *owner
    }

    /// Whether these records can take a charge of `owner`: they are its
    /// records, and [`Cells::complete_for`] the charge.
    pub(crate) fn can_charge(&self, owner: &Owner, by_owner: bool) -> bool {
        self.belong_to(owner) && self.complete_for(by_owner)
    }

    /// Whether these records are all a charge of their owner needs: a
    /// packet the owner sends itself (`by_owner`) also needs its thread's
    /// record, which is made for a sender whose thread has none.
    #[inline(always)]
    pub(crate) fn complete_for(&self, by_owner: bool) -> bool {
        !(by_owner && self.thread.is_none())
    }

    /// Charges a packet alone (`amount` of `proto` in `dir`, nothing
    /// parked) to the process and to the thread; as [`Cells::charge`].
    #[inline(always)]
    pub(crate) fn charge_packet(&self, proto: Proto, dir: Dir, amount: Amount) {
        let pair = record::count_slot(proto, dir) / 2;
        add_to_pairs(
            &self.process.counts[pair],
            self.thread.as_ref().map(|t| &t.counts[pair]),
            amount.packets,
            amount.bytes,
        );
    }

    /// Charges `c` to the process and to the thread.
    ///
    /// Called inside a read-side critical section in which a socket record
    /// holds these (see above).
    #[inline(always)]
    pub(crate) fn charge(&self, proto: Proto, c: &Charge) {
        self.process.charge(proto, c);
        if let Some(t) = &self.thread {
            t.charge(proto, c);
        }
    }
}

/// What readers see of a socket record: its key, its owner's records and
/// its times. The rest of the record (its owner and what it parked) is a
/// [`SockRecord`] beside it in the table, seen only under the bucket lock.
///
/// # Invariants
///
/// `cells`, when set, are the records of the owner of the `SockRecord`
/// beside them: they are set only by `State::charge`, to those of the owner
/// of the charge that the record's `on_packet` or `bind` has just made,
/// under the bucket lock; the record's owner changes nowhere else and never
/// goes back to `None`, and a record with an owner parks nothing. So a
/// reader that finds them charges the owner without the lock.
pub(crate) struct SockShared {
    pub(crate) key: SockKey,
    pub(crate) cells: RcuPtr<Cells>,
    /// The record's last activity and socket state, as
    /// [`SockRecord::touch`] keeps them: a packet charged without the lock
    /// updates these only.
    last_active: Atomic<u64>,
    last_state: Atomic<i8>,
}

/// [`SockShared::last_state`] of a record whose packets came with no socket.
const NO_STATE: i8 = -1;

impl SockShared {
    /// The shared part of `record`.
    pub(crate) fn new(record: &SockRecord) -> Self {
        SockShared {
            key: record.key,
            cells: RcuPtr::new(),
            last_active: Atomic::new(record.last_active),
            last_state: Atomic::new(record.last_state.map_or(NO_STATE, |s| s as i8)),
        }
    }

    /// Notes a packet's time and the socket state it came with.
    #[inline(always)]
    pub(crate) fn touch(&self, seen: &Seen) {
        once::store(&self.last_active, seen.now);
        if let Some(state) = seen.sk_state {
            once::store(&self.last_state, state as i8);
        }
    }

    /// The time of the last packet.
    pub(crate) fn last_active(&self) -> u64 {
        self.last_active.load(Relaxed)
    }

    /// Brings the times of `record` up to date (packets charged without
    /// the lock touch only these).
    pub(crate) fn refresh(&self, record: &mut SockRecord) {
        record.last_active = self.last_active();
        let state = self.last_state.load(Relaxed);
        record.last_state = (state != NO_STATE).then_some(state as u8);
    }
}
