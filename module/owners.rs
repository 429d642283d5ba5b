// SPDX-License-Identifier: GPL-2.0

//! Task records shared by the task table and the socket records of their
//! owner, so that charging a packet to its owner needs no task-table
//! lookup: the socket record holds its owner's process and thread records
//! and locks them directly.
//!
//! A task record leaves the table when the garbage collector finds its
//! task gone; it is closed then, under its lock, and what it counted is
//! final. A socket record that still holds it charges nothing more to it:
//! the packet is unidentified, as it was before records were shared.
//!
//! Lock order: a socket bucket, then a task bucket, then a task record.

#![forbid(unsafe_code)]

use crate::logic::account::{self, Charge, Owner, Proto, SockRecord, TaskKind, TaskRecord};
use crate::table::Budget;
use crate::wrap::sync::SpinLockBh;
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
#[pin_data]
pub(crate) struct TaskCell {
    #[pin]
    record: SpinLockBh<TaskRecord>,
    /// Set under the lock when the record leaves the table.
    closed: Atomic<bool>,
    /// The record's task, readable without the lock.
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
        let (id, kind, start) = (record.id, record.kind, record.start);
        Arc::pin_init(
            pin_init!(TaskCell {
                record <- SpinLockBh::new(record, c"netatop_task", kernel::static_lock_class!()),
                closed: Atomic::new(false),
                id,
                kind,
                start,
                _held: held,
            }),
            GFP_ATOMIC | __GFP_NOWARN,
        )
        .ok()
    }

    /// Whether this is the record of task `id` started at `start`.
    pub(crate) fn is(&self, id: i32, kind: TaskKind, start: u64) -> bool {
        self.id == id && self.kind == kind && self.start == start
    }

    /// A copy of the record.
    pub(crate) fn get(&self) -> TaskRecord {
        *self.record.lock()
    }

    /// Closes the record: nothing is charged to it any more. Returns what
    /// it counted.
    pub(crate) fn close(&self) -> TaskRecord {
        let record = self.record.lock();
        self.closed.store(true, Relaxed);
        *record
    }

    /// Whether the record was closed (a hint unless the lock is held).
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Relaxed)
    }

    /// Adds `c` to the record unless it is closed; whether it did.
    fn charge(&self, proto: Proto, c: &Charge) -> bool {
        let mut record = self.record.lock();
        // Set under this lock: read under it, the answer is final.
        if self.closed.load(Relaxed) {
            return false;
        }
        account::apply(&mut record.tc, proto, c);
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
    pub(crate) fn charge(&self, proto: Proto, c: &Charge) -> bool {
        if !self.process.charge(proto, c) {
            return false;
        }
        if let Some(t) = &self.thread {
            t.charge(proto, c);
        }
        true
    }
}

/// A socket record and, once it has been charged, its owner's records.
pub(crate) struct SockEntry {
    pub(crate) record: SockRecord,
    pub(crate) cells: Option<Cells>,
}
