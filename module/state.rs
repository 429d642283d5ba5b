// SPDX-License-Identifier: GPL-2.0

//! The module's state: the socket and task tables, the exit list and the
//! counters that the hooks, the probes, the getsockopt commands,
//! `/proc/netatop` and the garbage collector share. What each of them does
//! to it is in a file of its own:
//!
//! * `packets`: the packet path, from the netfilter hooks;
//! * `charge`: charging a socket's owner, on its task records;
//! * `readers`: binding a socket nobody owns to the task that reads it;
//! * `gc`: garbage collection and the numbering of process exits;
//! * `report`: what user space reads.
//!
//! Locking: a socket bucket, then a task bucket; both are BH spinlocks,
//! plain spinlocks inside the one section without bottom halves that a
//! packet or a read takes. A packet on a socket that has been charged
//! before takes no lock: it finds the socket record under RCU, and its
//! owner's two records, which count in atomics, through it (see `owners`);
//! the task table is searched only when a socket gets a new owner. The
//! exit list has a mutex and is only used in process context.

#![forbid(unsafe_code)]

mod charge;
mod gc;
mod packets;
mod readers;
mod report;

use crate::exits::ExitList;
use crate::hash_key::HashKey;
use crate::logic::exits::GcRequest;
use crate::logic::key::{self, TaskKind};
use crate::logic::record::{self, SockRecord};
use crate::owners::{Cells, SockShared, TaskCell};
use crate::quota::Unowned;
use crate::stats::Stats;
use crate::table::{Budget, Table};
use crate::wrap::nf_hook;
use crate::wrap::rcu::RcuBox;
use crate::wrap::task;
use core::mem::size_of;
use kernel::prelude::*;
use kernel::sync::atomic::Atomic;
use kernel::sync::{new_mutex, Arc, Mutex};

// The logic keeps its own copies of the TCP states it tests; they must be
// the kernel's.
const _: () = assert!(record::TCP_ESTABLISHED == nf_hook::TCP_ESTABLISHED);
const _: () = assert!(record::TCP_LISTEN == nf_hook::TCP_LISTEN);

/// Memory bounds (bytes) and bucket counts of the socket and task tables.
pub(crate) struct TableSizes {
    pub(crate) sock_bytes: usize,
    pub(crate) sock_buckets: usize,
    pub(crate) task_bytes: usize,
    pub(crate) task_buckets: usize,
}

/// Everything the hooks, the getsockopt handler, `/proc/netatop` and the
/// garbage collector share.
#[pin_data]
pub(crate) struct State {
    pub(crate) stats: Stats,
    socks: Table<SockShared, SockRecord>,
    /// Quotas of socket records without an owner.
    unowned: Unowned,
    /// The bucket where the next search for a record without an owner to
    /// replace starts.
    replace_from: Atomic<usize>,
    tasks: Table<Arc<TaskCell>, ()>,
    #[pin]
    pub(crate) exits: ExitList,
    /// Serialises garbage collection; holds the time the last run started
    /// (ms).
    #[pin]
    gc_last_start: Mutex<Option<u64>>,
    /// Garbage collection runs started.
    gc_started: Atomic<u64>,
    /// Process exits the exit probe saw; each one's number marks its
    /// process record.
    exits_seen: Atomic<u64>,
    /// The latest `NETATOP_FORCE_GC` request.
    #[pin]
    request: Mutex<Option<GcRequest>>,
    /// Key of the tables' hash.
    hash_key: HashKey,
    /// Epoch second of boot, for `btime`.
    boot_secs: u64,
}

impl State {
    pub(crate) fn new(sock_bytes: usize, task_bytes: usize) -> Result<impl PinInit<Self, Error>> {
        let sock_budget = Arc::new(Budget::new(sock_bytes), GFP_KERNEL)?;
        // Task records and exited processes share one bound.
        let task_budget = Arc::new(Budget::new(task_bytes), GFP_KERNEL)?;
        let stats = Stats::new()?;
        // Two lock classes: the garbage collector nests a task bucket
        // inside a socket bucket.
        let socks = Table::new(
            sock_budget,
            RcuBox::<Cells>::BYTES,
            0,
            c"netatop_sock_bucket",
            kernel::static_lock_class!(),
        )?;
        Ok(try_pin_init!(State {
            stats,
            unowned: Unowned::new(socks.capacity()),
            replace_from: Atomic::new(0),
            socks,
            tasks: Table::new(
                task_budget.clone(),
                0,
                size_of::<TaskCell>(),
                c"netatop_task_bucket",
                kernel::static_lock_class!()
            )?,
            exits <- ExitList::new(task_budget),
            gc_last_start <- new_mutex!(None, "netatop_gc"),
            gc_started: Atomic::new(0),
            exits_seen: Atomic::new(0),
            request <- new_mutex!(None, "netatop_gc_request"),
            hash_key: HashKey::random(),
            boot_secs: task::boot_seconds(),
        }? Error))
    }

    /// Bounds and bucket counts of the tables, for the load message.
    pub(crate) fn sizes(&self) -> TableSizes {
        TableSizes {
            sock_bytes: self.socks.budget().limit(),
            sock_buckets: self.socks.buckets(),
            task_bytes: self.tasks.budget().limit(),
            task_buckets: self.tasks.buckets(),
        }
    }

    fn task_hash(&self, id: i32, kind: TaskKind) -> u64 {
        self.hash_key.hash(&[key::task_word(id, kind)])
    }
}
