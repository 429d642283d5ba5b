// SPDX-License-Identifier: GPL-2.0

//! Charging a socket's owner: its process and thread records, found in
//! the task table or made for a sender, and the unidentified counts when
//! there is nobody to charge.

#![forbid(unsafe_code)]

use super::State;
use crate::logic::key::{Dir, Proto, TaskKind};
use crate::logic::record::{Charge, Owner, SockRecord, TaskRecord};
use crate::owners::{Cells, TaskCell};
use crate::tasks;
use crate::wrap::rcu::{RcuBox, RcuPtr, ReadSide};
use kernel::prelude::*;
use kernel::sync::Arc;

impl State {
    /// Charges `c` to its owner's process and thread records, through the
    /// socket's `cells`.
    ///
    /// Those are looked up (and made, if the owner sends the packet:
    /// `by_owner`) when the socket has none for this owner, or when the sender
    /// finds its thread record missing, and published for the packets that
    /// follow. Without a process record the packet is unidentified and the
    /// thread is not charged either.
    ///
    /// Called with the lock of the bucket of the socket record.
    #[inline(always)]
    pub(super) fn charge(
        &self,
        cells: &RcuPtr<Cells>,
        proto: Proto,
        c: &Charge,
        by_owner: bool,
        rcu: &ReadSide<'_>,
    ) {
        if let Some(held) = cells
            .get(rcu)
            .filter(|held| held.can_charge(&c.owner, by_owner))
        {
            held.charge(proto, c);
            return;
        }
        match self.cells_of(c.owner, by_owner) {
            Some(new) => {
                new.charge(proto, c);
                // Without memory to publish them, the next packet looks
                // them up again.
                cells.replace(RcuBox::new(new, GFP_ATOMIC | __GFP_NOWARN).ok());
            }
            None => {
                cells.replace(None);
                self.count_unidentified(proto, c.dir, c.amount.packets);
                self.count_unidentified(proto, Dir::Out, c.parked.sent.packets);
                self.count_unidentified(proto, Dir::In, c.parked.received.packets);
            }
        }
    }

    /// The records of `owner` from the task table, made if missing when
    /// `create`; `None` without a process record. (`owner` by value: a
    /// reference would keep the whole charge in memory on the packet path.)
    #[cold]
    #[inline(never)]
    fn cells_of(&self, owner: Owner, create: bool) -> Option<Cells> {
        Some(Cells {
            owner,
            process: self.task_cell(owner.tgid, TaskKind::Process, owner.process_start, create)?,
            thread: self.task_cell(owner.tid, TaskKind::Thread, owner.thread_start, create),
        })
    }

    /// The record of task `id` started at `start`, made (for the current
    /// task) if missing when `create`.
    fn task_cell(
        &self,
        id: i32,
        kind: TaskKind,
        start: u64,
        create: bool,
    ) -> Option<Arc<TaskCell>> {
        let mut bucket = self.tasks.lock(self.task_hash(id, kind));
        if let Some((t, ())) = bucket.iter().find(|(t, ())| t.is(id, kind, start)) {
            return Some(t.clone());
        }
        if !create {
            return None;
        }
        let record = TaskRecord::new(id, kind, start, self.boot_secs, &tasks::current_comm(kind));
        let Some(cell) = TaskCell::new(record, self.tasks.shared_budget()) else {
            self.tasks.refuse();
            return None;
        };
        self.tasks
            .insert(&mut bucket, cell.clone(), ())
            .then_some(cell)
    }

    pub(super) fn count_unidentified(&self, proto: Proto, dir: Dir, packets: u64) {
        self.stats.unidentified(dir, proto.into(), packets);
    }

    /// What a record without an owner that is gone held: it leaves the
    /// unowned quota, and its parked packets are unidentified.
    pub(super) fn forget_unowned(&self, r: &SockRecord) {
        self.unowned.release(&r.key);
        self.stats.unpark(r.parked.packets());
        self.count_unidentified(r.key.proto(), Dir::Out, r.parked.sent.packets);
        self.count_unidentified(r.key.proto(), Dir::In, r.parked.received.packets);
    }
}
