// SPDX-License-Identifier: GPL-2.0

//! Garbage collection, every 15 seconds in `knetatop` and when user space
//! forces it: task records of tasks that ended are closed and taken out,
//! socket records let go of them and go when they have outlived their
//! use, and ended processes move to the exit list for netatopd. Process
//! exits are numbered as they happen, so that a forced run can leave
//! those after its request to the next one.

#![forbid(unsafe_code)]

use super::State;
use crate::logic::exits::{self, GcRequest};
use crate::logic::gc::{self, ForcedGc, SockVerdict, GC_INTERVAL_SECS};
use crate::logic::key::TaskKind;
use crate::logic::record::Owner;
use crate::owners::{Cells, TaskCell};
use crate::tasks;
use crate::wrap::clock;
use crate::wrap::exit_probe::ExitObserver;
use crate::wrap::kthread::{self, ThreadMain};
use crate::wrap::rcu;
use crate::wrap::sync;
use kernel::alloc::KVVec;
use kernel::prelude::*;
use kernel::sync::atomic::{Full, Relaxed};
use kernel::sync::Arc;
use kernel::time::{delay::fsleep, Delta};

/// Garbage collection runs start at least this far apart (milliseconds),
/// unless the 15-second run comes sooner.
const GC_MIN_INTERVAL_MS: u64 = 500;

/// The processes a collection run found ended.
struct Ended {
    /// Their records, closed.
    processes: KVVec<Arc<TaskCell>>,
    /// How many more there were than memory to hold them.
    lost: usize,
}

impl State {
    /// Runs the garbage collector.
    ///
    /// A forced run (`NETATOP_FORCE_GC`) returns once a run that started after
    /// the call has completed: it runs itself, after waiting for the half
    /// second between two runs if need be, unless another run started
    /// meanwhile.
    ///
    /// A run leaves processes that exited after a request of the last
    /// second to a later run ([`exits::exit_bound`]).
    pub(crate) fn collect_garbage(&self, forced: bool) {
        if forced {
            // Every exit counted here came before this request.
            let exits = self.exits_seen.fetch_add(0, Full);
            *self.request.lock() = Some(GcRequest {
                exits_seen: exits,
                at_ms: clock::now_ms(),
            });
        }
        // A read-modify-write reads the newest count: every run counted
        // here started before this request.
        let seen = self.gc_started.fetch_add(0, Full);
        let mut last = self.gc_last_start.lock();
        if forced {
            let started = self.gc_started.load(Relaxed);
            match gc::forced_gc(seen, started, *last, clock::now_ms(), GC_MIN_INTERVAL_MS) {
                ForcedGc::Covered => return,
                ForcedGc::RunAfter(ms) => fsleep(Delta::from_millis(ms as i64)),
                ForcedGc::Run => {}
            }
        }
        let now = clock::now_ms();
        *last = Some(now);
        // Under the lock: a run starts.
        self.gc_started.fetch_add(1, Full);

        self.exits.expire();
        let bound = exits::exit_bound(*self.request.lock(), now);
        let Ended {
            processes: ended,
            mut lost,
        } = self.collect_tasks(bound);
        // The socket records let go of the closed task records (and those
        // of ended processes go), under their bucket locks: after this
        // pass and a grace period, in which every charge through them that
        // began before lands, no packet charges a closed record any more,
        // and what the ended processes counted is final.
        self.collect_sockets(now);
        sync::synchronize_rcu();
        let mut exited = KVVec::new();
        if exited
            .reserve(ended.len(), GFP_KERNEL | __GFP_NOWARN)
            .is_err()
        {
            lost += ended.len();
        } else {
            for cell in ended.iter() {
                // Reserved above: cannot fail.
                let _ = exited.push_within_capacity(cell.get());
            }
        }
        // The last references to the records of ended processes go here,
        // and those the tables let go of after a grace period, before the
        // exit list takes their memory from the budget.
        drop(ended);
        rcu::barrier();
        lost += self.exits.append(&mut exited);
        if lost > 0 {
            pr_warn!(
                "{} exited processes dropped: task memory bound (taskmem) reached or memory short\n",
                lost
            );
        }
    }

    /// Takes the records of tasks that ended out of the task table and
    /// closes them.
    ///
    /// The records of processes are returned, for the exit list once no
    /// socket record holds them, with the count of those that did not fit.
    fn collect_tasks(&self, bound: Option<u64>) -> Ended {
        let mut ended: KVVec<Arc<TaskCell>> = KVVec::new();
        let mut lost = 0;
        for b in 0..self.tasks.buckets() {
            let mut bucket = self.tasks.lock_index(b);
            // Room for the whole chain, made without the bucket lock.
            loop {
                let need = bucket.iter().count();
                if ended.capacity() - ended.len() >= need {
                    break;
                }
                drop(bucket);
                let grown = ended.reserve(need, GFP_KERNEL | __GFP_NOWARN).is_ok();
                bucket = self.tasks.lock_index(b);
                if !grown {
                    break;
                }
            }
            self.tasks.retain(&mut bucket, |t, ()| {
                if tasks::alive(t.id, t.kind, t.start) || t.deferred(bound) {
                    return true;
                }
                // Closed: the socket records let go of it next.
                t.close();
                if t.kind == TaskKind::Process && ended.push_within_capacity(t.clone()).is_err() {
                    lost += 1;
                }
                false
            });
        }
        Ended {
            processes: ended,
            lost,
        }
    }

    /// Lets socket records go of closed task records, and drops those that
    /// have outlived their use at `now` (ms).
    fn collect_sockets(&self, now: u64) {
        for b in 0..self.socks.buckets() {
            let bh = sync::bh_off();
            let rcu = bh.read_side();
            let mut bucket = self.socks.lock_index_within(b, &bh);
            self.socks.retain(&mut bucket, |s, r| {
                s.refresh(r);
                let cells = s.cells.get(&rcu);
                let owner_alive = r.owner.is_none_or(|o| self.process_known(&o, cells));
                match r.verdict(now, owner_alive) {
                    SockVerdict::Keep => {
                        // Closed records are charged no more: let them go
                        // (the next packet looks its records up anew).
                        if cells.is_some_and(|k| {
                            k.process.is_closed()
                                || k.thread.as_ref().is_some_and(|t| t.is_closed())
                        }) {
                            s.cells.replace(None);
                        }
                        true
                    }
                    SockVerdict::Drop => false,
                    SockVerdict::DropUnident => {
                        self.forget_unowned(r);
                        false
                    }
                }
            });
        }
    }

    /// Whether the process `o` belongs to still has a record: an open
    /// one among the socket's `cells`, or one in the table.
    fn process_known(&self, o: &Owner, cells: Option<&Cells>) -> bool {
        if let Some(k) = cells.filter(|k| k.belong_to(o)) {
            return !k.process.is_closed();
        }
        let bucket = self.tasks.lock(self.task_hash(o.tgid, TaskKind::Process));
        let known = bucket
            .iter()
            .any(|(t, ())| t.is(o.tgid, TaskKind::Process, o.process_start));
        known
    }
}

impl ExitObserver for State {
    /// Numbers the exit and marks the process's record with it, if it has
    /// one.
    fn exited(&self, tgid: i32, start: u64) {
        let n = self.exits_seen.fetch_add(1, Full) + 1;
        let bucket = self.tasks.lock(self.task_hash(tgid, TaskKind::Process));
        if let Some((t, ())) = bucket
            .iter()
            .find(|(t, ())| t.is(tgid, TaskKind::Process, start))
        {
            t.exited(n);
        };
    }
}

impl ThreadMain for State {
    fn run(&self, me: &kthread::Running) {
        while !me.should_stop() {
            self.collect_garbage(false);
            kthread::sleep_interruptible((GC_INTERVAL_SECS * 1000) as u32);
        }
    }
}
