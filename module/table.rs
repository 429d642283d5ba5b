// SPDX-License-Identifier: GPL-2.0

//! A hash table of records with a spinlock per bucket, always taken with
//! bottom halves off, whose buckets readers may also walk under RCU alone;
//! and a bound on the memory the records take.
//!
//! Used for the socket and the task records. A bucket is an [`RcuList`]:
//! each record is a node with a part readers see and a part only the
//! bucket's lock holder sees. The bucket count is a power of two sized from
//! the bound at load time (about four records per bucket when full), so a
//! lookup scans a short chain whatever the number of live records.
//!
//! The bound is on memory, not on records: a [`Budget`] is charged with
//! what each record takes (its node and what it owns) when it is added,
//! and given it back when it is removed.
//! Inserting never sleeps: the packet path allocates with `GFP_ATOMIC`, and
//! a failed allocation or a spent budget refuses the record and counts an
//! overflow. The bucket array itself is allocated once at load time and is
//! not part of the bound.

#![forbid(unsafe_code)]

use crate::wrap::rcu::{self, ListGuard, RcuList, ReadSide};
use crate::wrap::sync::{self, BhOff};
use core::ops::{Deref, DerefMut};
use core::pin::Pin;
use kernel::alloc::KVBox;
use kernel::prelude::*;
use kernel::sync::atomic::{Atomic, Relaxed};
use kernel::sync::{Arc, LockClassKey};

/// A bound on bytes held, shared by whatever draws on it.
pub(crate) struct Budget {
    limit: usize,
    held: Atomic<usize>,
}

impl Budget {
    pub(crate) fn new(limit: usize) -> Self {
        Budget {
            limit,
            held: Atomic::new(0),
        }
    }

    /// Takes `bytes` from the budget if that keeps it within the bound.
    pub(crate) fn charge(&self, bytes: usize) -> bool {
        let mut held = self.held.load(Relaxed);
        loop {
            let Some(new) = held.checked_add(bytes).filter(|&n| n <= self.limit) else {
                return false;
            };
            match self.held.cmpxchg(held, new, Relaxed) {
                Ok(_) => return true,
                Err(cur) => held = cur,
            }
        }
    }

    /// Gives `bytes` back. (Adding the two's complement subtracts: the
    /// kernel's atomics wrap.)
    pub(crate) fn release(&self, bytes: usize) {
        self.held.add(bytes.wrapping_neg(), Relaxed);
    }

    /// Corrects the charge of a vector whose capacity went from `charged`
    /// to `actual` elements of `elem` bytes (allocators may round up).
    pub(crate) fn settle(&self, charged: usize, actual: usize, elem: usize) {
        if actual >= charged {
            self.held.add((actual - charged) * elem, Relaxed);
        } else {
            self.release((charged - actual) * elem);
        }
    }

    /// Bytes held now.
    pub(crate) fn held(&self) -> usize {
        self.held.load(Relaxed)
    }

    /// The bound, in bytes.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }
}

/// A bucketed table of records, each made of `S` (which readers see) and
/// `L` (which only the bucket's lock holder sees).
pub(crate) struct Table<S: Send + Sync, L: Send> {
    buckets: Pin<KVBox<[RcuList<S, L>]>>,
    mask: u64,
    budget: Arc<Budget>,
    record_bytes: usize,
    count: Atomic<usize>,
    overflow: Atomic<u64>,
}

/// A locked bucket.
///
/// Bottom halves are off while it lives (the packet path takes the same locks
/// in softirq context): by its own [`BhOff`], or by the caller's
/// ([`Table::lock_within`]).
pub(crate) struct Bucket<'a, S, L> {
    // Dropped in this order: the lock goes before bottom halves come back.
    list: ListGuard<'a, S, L>,
    _bh: Option<BhOff>,
}

impl<'a, S, L> Deref for Bucket<'a, S, L> {
    type Target = ListGuard<'a, S, L>;

    fn deref(&self) -> &Self::Target {
        &self.list
    }
}

impl<S, L> DerefMut for Bucket<'_, S, L> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.list
    }
}

impl<S: Send + Sync, L: Send> Table<S, L> {
    /// A table whose records draw on `budget`, whose bucket locks are of lock
    /// class `key`, named `name`.
    ///
    /// A record takes the size of its node of the budget and `owned_bytes`
    /// more, for what it owns outside the table; `shared_bytes` are what
    /// each record's records take of the budget that others charge (the
    /// shared task records), for the number of buckets only.
    pub(crate) fn new(
        budget: Arc<Budget>,
        owned_bytes: usize,
        shared_bytes: usize,
        name: &'static CStr,
        key: Pin<&'static LockClassKey>,
    ) -> Result<Self> {
        let record_bytes = RcuList::<S, L>::NODE_BYTES + owned_bytes;
        let records = budget.limit() / (record_bytes + shared_bytes);
        let nbuckets = (records / 4).clamp(64, 1 << 20).next_power_of_two();
        let buckets = KVBox::pin_slice(|_| RcuList::new(name, key), nbuckets, GFP_KERNEL)?;
        Ok(Table {
            buckets,
            mask: nbuckets as u64 - 1,
            budget,
            record_bytes,
            count: Atomic::new(0),
            overflow: Atomic::new(0),
        })
    }

    /// How many records the bound holds.
    pub(crate) fn capacity(&self) -> usize {
        self.budget.limit() / self.record_bytes.max(1)
    }

    /// Number of buckets.
    pub(crate) fn buckets(&self) -> usize {
        self.buckets.len()
    }

    /// The reader's view of the bucket of `hash`: the records' shared parts.
    #[inline(always)]
    pub(crate) fn read<'a>(
        &'a self,
        hash: u64,
        rcu: &'a ReadSide<'_>,
    ) -> impl Iterator<Item = &'a S> + 'a {
        self.buckets[self.index(hash)].iter(rcu)
    }

    /// Locks the bucket of `hash`, with bottom halves off.
    pub(crate) fn lock(&self, hash: u64) -> Bucket<'_, S, L> {
        self.lock_index(self.index(hash))
    }

    /// Locks bucket number `i` (for walks over the whole table), with
    /// bottom halves off.
    pub(crate) fn lock_index(&self, i: usize) -> Bucket<'_, S, L> {
        let bh = sync::bh_off();
        Bucket {
            list: self.buckets[i].lock(),
            _bh: Some(bh),
        }
    }

    /// Locks the bucket of `hash` while `_bh` keeps bottom halves off (the
    /// bucket cannot outlive it): nothing but the lock is taken.
    #[inline(always)]
    pub(crate) fn lock_within<'a>(&'a self, hash: u64, bh: &'a BhOff) -> Bucket<'a, S, L> {
        self.lock_index_within(self.index(hash), bh)
    }

    /// Locks bucket number `i` while `_bh` keeps bottom halves off.
    #[inline(always)]
    pub(crate) fn lock_index_within<'a>(&'a self, i: usize, _bh: &'a BhOff) -> Bucket<'a, S, L> {
        Bucket {
            list: self.buckets[i].lock(),
            _bh: None,
        }
    }

    /// The number of the bucket of `hash`.
    #[inline(always)]
    pub(crate) fn index(&self, hash: u64) -> usize {
        (hash & self.mask) as usize
    }

    /// Locks bucket number `i` while `_bh` keeps bottom halves off, unless
    /// it is locked already: for a walk that holds another bucket, which
    /// must not wait for one (its holder may wait for the walker's).
    pub(crate) fn try_lock_index_within<'a>(
        &'a self,
        i: usize,
        _bh: &'a BhOff,
    ) -> Option<Bucket<'a, S, L>> {
        Some(Bucket {
            list: self.buckets[i].try_lock()?,
            _bh: None,
        })
    }

    /// Adds a record to a locked bucket if the budget and memory allow;
    /// whether it was added (if not, counted as overflow).
    pub(crate) fn insert(&self, bucket: &mut Bucket<'_, S, L>, shared: S, locked: L) -> bool {
        if !self.budget.charge(self.record_bytes) {
            self.overflow.add(1, Relaxed);
            return false;
        }
        if bucket
            .push(shared, locked, GFP_ATOMIC | __GFP_NOWARN)
            .is_err()
        {
            self.budget.release(self.record_bytes);
            self.overflow.add(1, Relaxed);
            return false;
        }
        self.count.add(1, Relaxed);
        true
    }

    /// Removes the records of a locked bucket for which `keep` is false (it
    /// may change their locked parts first); readers that found one may
    /// still use it until the end of their read-side critical section.
    pub(crate) fn retain(
        &self,
        bucket: &mut Bucket<'_, S, L>,
        keep: impl FnMut(&S, &mut L) -> bool,
    ) {
        let gone = bucket.retain(keep);
        self.forget(gone);
    }

    /// Removes the first record of a locked bucket for which `f` is true,
    /// as [`Table::retain`]; whether there was one.
    pub(crate) fn remove_first(
        &self,
        bucket: &mut Bucket<'_, S, L>,
        f: impl FnMut(&S, &L) -> bool,
    ) -> bool {
        let gone = bucket.remove_first(f);
        self.forget(usize::from(gone));
        gone
    }

    /// Gives the memory of `n` removed records back.
    fn forget(&self, n: usize) {
        if n > 0 {
            self.count.add(n.wrapping_neg(), Relaxed);
            self.budget.release(n * self.record_bytes);
        }
    }

    /// Records in the table.
    pub(crate) fn count(&self) -> usize {
        self.count.load(Relaxed)
    }

    /// Records refused because the budget was spent or memory short.
    pub(crate) fn overflow(&self) -> u64 {
        self.overflow.load(Relaxed)
    }

    /// The memory bound and what the records hold of it.
    pub(crate) fn budget(&self) -> &Budget {
        &self.budget
    }

    /// The budget, for what the records own outside the table (shared
    /// task records).
    pub(crate) fn shared_budget(&self) -> &Arc<Budget> {
        &self.budget
    }

    /// Counts a record refused for lack of memory outside the table.
    pub(crate) fn refuse(&self) {
        self.overflow.add(1, Relaxed);
    }
}

impl<S: Send + Sync, L: Send> Drop for Table<S, L> {
    fn drop(&mut self) {
        // The records removed so far are dropped by RCU callbacks, which
        // must have run before the module's code goes.
        rcu::barrier();
    }
}
