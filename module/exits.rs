// SPDX-License-Identifier: GPL-2.0

//! The list of exited processes, oldest first, and its two waits:
//! `NETATOP_GETCNT_EXIT` waits for an entry, `NETATOP_EMPTY_EXIT` until
//! every entry has been taken and acknowledged (see [`Handout`]).
//!
//! Only process context touches the list (the garbage collector and the
//! getsockopt handler), so a mutex guards it and callers may sleep; but
//! nothing is copied to user memory under it, where a fault can take as
//! long as the caller wants (a userfaultfd page): an entry being handed
//! out is off the list and counted as in flight, and goes back to the
//! front if the copy fails.

#![forbid(unsafe_code)]

use crate::logic::exits::{Handout, EXIT_KEEP_SECS};
use crate::logic::record::TaskRecord;
use crate::table::Budget;
use crate::wrap::clock;
use core::mem::size_of;
use kernel::alloc::KVVec;
use kernel::prelude::*;
use kernel::sync::{new_condvar, new_mutex, Arc, CondVar, Mutex};

/// How long EMPTY_EXIT waits for a taker that took a record and did not
/// come back (it may have died before acknowledging), in milliseconds.
const HANDOUT_GRACE_MS: u64 = 1000;

#[derive(Clone, Copy)]
struct Entry {
    record: TaskRecord,
    /// When the process was found exited (ms).
    since: u64,
}

struct Inner {
    /// Entries from `head` on are queued; the ones before were taken.
    ///
    /// Its capacity is charged to the task records' budget.
    entries: KVVec<Entry>,
    head: usize,
    /// Entries taken off the list whose copy to the caller is under way;
    /// the taken prefix is kept while there are any, so that a failed
    /// copy can put its entry back in front of `head`.
    in_flight: usize,
    handout: Handout,
}

impl Inner {
    fn queued(&self) -> usize {
        self.entries.len() - self.head
    }

    /// Exited processes not yet accounted for: queued or in flight.
    fn pending(&self) -> usize {
        self.queued() + self.in_flight
    }

    /// Drops the taken prefix once it is at least half of the vector and
    /// no copy is in flight, and gives memory back to `budget` when at
    /// most a quarter of the vector is used.
    fn compact(&mut self, budget: &Budget) {
        if self.in_flight == 0 && self.head > 0 && self.head * 2 >= self.entries.len() {
            let live = self.entries.len() - self.head;
            for i in 0..live {
                self.entries.swap(i, self.head + i);
            }
            self.entries.truncate(live);
            self.head = 0;
        }
        let (len, cap) = (self.entries.len(), self.entries.capacity());
        if cap > 0 && len * 4 <= cap {
            if len == 0 {
                self.entries = KVVec::new();
            } else if self
                .entries
                .shrink_to(len, GFP_KERNEL | __GFP_NOWARN)
                .is_err()
            {
                return;
            }
            budget.settle(cap, self.entries.capacity(), size_of::<Entry>());
        }
    }

    /// Makes room for `n` more entries if `budget` allows; returns how
    /// many fit.
    fn make_room(&mut self, n: usize, budget: &Budget) -> usize {
        let (len, cap) = (self.entries.len(), self.entries.capacity());
        if cap - len < n {
            let grown = (cap * 2).max(len + n);
            if budget.charge((grown - cap) * size_of::<Entry>()) {
                if self
                    .entries
                    .reserve(grown - len, GFP_KERNEL | __GFP_NOWARN)
                    .is_ok()
                {
                    budget.settle(grown, self.entries.capacity(), size_of::<Entry>());
                } else {
                    budget.release((grown - cap) * size_of::<Entry>());
                }
            }
        }
        n.min(self.entries.capacity() - self.entries.len())
    }
}

/// Why a wait ended without a result.
pub(crate) enum WaitError {
    /// A signal is pending.
    Interrupted,
    /// The caller's callback failed; its error.
    Failed(Error),
}

#[pin_data]
pub(crate) struct ExitList {
    #[pin]
    inner: Mutex<Inner>,
    /// The memory bound the list shares with the task records.
    budget: Arc<Budget>,
    /// Signalled when an entry is queued.
    #[pin]
    filled: CondVar,
    /// Signalled when the list may have become drained.
    #[pin]
    drained: CondVar,
}

impl ExitList {
    pub(crate) fn new(budget: Arc<Budget>) -> impl PinInit<Self> {
        pin_init!(ExitList {
            budget,
            inner <- new_mutex!(Inner {
                entries: KVVec::new(),
                head: 0,
                in_flight: 0,
                handout: Handout::default(),
            }),
            filled <- new_condvar!("netatop_exit_filled"),
            drained <- new_condvar!("netatop_exit_drained"),
        })
    }

    /// Appends exited processes; returns how many could not be kept (the
    /// memory bound, or memory).
    pub(crate) fn append(&self, records: &mut KVVec<TaskRecord>) -> usize {
        let now = clock::now_ms();
        let mut inner = self.inner.lock();
        inner.compact(&self.budget);
        let fit = inner.make_room(records.len(), &self.budget);
        let lost = records.len() - fit;
        for record in records.drain_all().take(fit) {
            // Within the room just made.
            let _ = inner
                .entries
                .push_within_capacity(Entry { record, since: now });
        }
        drop(inner);
        self.filled.notify_all();
        lost
    }

    /// Frees entries nobody took within `EXIT_KEEP_SECS`; returns how many.
    pub(crate) fn expire(&self) -> usize {
        let now = clock::now_ms();
        let mut inner = self.inner.lock();
        let mut n = 0;
        while inner.head < inner.entries.len()
            && now.saturating_sub(inner.entries[inner.head].since) >= EXIT_KEEP_SECS * 1000
        {
            inner.head += 1;
            n += 1;
        }
        inner.compact(&self.budget);
        drop(inner);
        if n > 0 {
            self.drained.notify_all();
        }
        n
    }

    /// Number of entries queued or being handed out.
    pub(crate) fn len(&self) -> usize {
        self.inner.lock().pending()
    }

    /// GETCNT_EXIT for thread group `taker`: acknowledges what `taker` took
    /// before, waits for the oldest entry and passes it to `deliver`,
    /// without the lock; the entry leaves the list only if `deliver`
    /// succeeds.
    pub(crate) fn take(
        &self,
        taker: i32,
        deliver: impl FnOnce(&TaskRecord) -> Result,
    ) -> core::result::Result<(), WaitError> {
        let mut inner = self.inner.lock();
        inner.handout.returned(taker);
        self.drained.notify_all();
        while inner.queued() == 0 {
            if self.filled.wait_interruptible(&mut inner) {
                return Err(WaitError::Interrupted);
            }
        }
        let head = inner.head;
        let entry = inner.entries[head];
        inner.head += 1;
        inner.in_flight += 1;
        drop(inner);

        let delivered = deliver(&entry.record);

        let mut inner = self.inner.lock();
        inner.in_flight -= 1;
        let result = match delivered {
            Ok(()) => {
                inner.handout.taken(taker, clock::now_ms());
                Ok(())
            }
            Err(e) => {
                // Back in front of the queue. The slot before `head` is a
                // taken or expired one: the prefix was not compacted while
                // this entry was in flight, and `head` only moved forward.
                inner.head -= 1;
                let at = inner.head;
                inner.entries[at] = entry;
                self.filled.notify_one();
                Err(WaitError::Failed(e))
            }
        };
        inner.compact(&self.budget);
        drop(inner);
        self.drained.notify_all();
        result
    }

    /// EMPTY_EXIT: waits until the list is drained.
    pub(crate) fn wait_drained(&self) -> core::result::Result<(), WaitError> {
        let mut inner = self.inner.lock();
        loop {
            let now = clock::now_ms();
            if inner
                .handout
                .drained(inner.pending(), now, HANDOUT_GRACE_MS)
            {
                return Ok(());
            }
            let left = inner.handout.wait_left(now, HANDOUT_GRACE_MS);
            let interrupted = if inner.pending() == 0 && left > 0 {
                let jiffies =
                    kernel::time::msecs_to_jiffies(u32::try_from(left).unwrap_or(u32::MAX));
                matches!(
                    self.drained.wait_interruptible_timeout(&mut inner, jiffies),
                    kernel::sync::CondVarTimeoutResult::Signal { .. }
                )
            } else {
                self.drained.wait_interruptible(&mut inner)
            };
            if interrupted {
                return Err(WaitError::Interrupted);
            }
        }
    }
}
