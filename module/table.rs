// SPDX-License-Identifier: GPL-2.0

//! A hash table of records with a spinlock per bucket, always taken with
//! bottom halves off, and a bound on the memory the records take.
//!
//! Used for the socket and the task records. Records live in a small vector
//! per bucket; the bucket count is a power of two sized from the bound at
//! load time (about four records per bucket when full), so a lookup scans a
//! short chain whatever the number of live records.
//!
//! The bound is on memory, not on records: a [`Budget`] is charged with
//! the capacity of every chain (what the allocator holds for it), a chain
//! grows only if the budget allows the growth, and it shrinks when three
//! quarters of it are unused, so memory freed by the garbage collector is
//! given back.
//! Inserting never sleeps: the packet path allocates with `GFP_ATOMIC`, and
//! a failed allocation or a spent budget refuses the record and counts an
//! overflow. The bucket array itself is allocated once at load time and is
//! not part of the bound.

#![forbid(unsafe_code)]

use crate::wrap::sync::{self, BhOff, SoftirqSpinLock, SoftirqSpinLockBackend};
use core::mem::size_of;
use core::ops::{Deref, DerefMut};
use core::pin::Pin;
use kernel::alloc::{KVBox, KVec};
use kernel::prelude::*;
use kernel::sync::atomic::{Atomic, Relaxed};
use kernel::sync::lock::Guard;
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

/// The records of one bucket.
pub(crate) type Chain<R> = KVec<R>;

/// One bucket: a chain and its lock.
#[pin_data]
struct Slot<R> {
    #[pin]
    chain: SoftirqSpinLock<Chain<R>>,
}

/// A bucketed table of `R`.
pub(crate) struct Table<R> {
    buckets: Pin<KVBox<[Slot<R>]>>,
    mask: u64,
    budget: Arc<Budget>,
    count: Atomic<usize>,
    overflow: Atomic<u64>,
}

/// A locked bucket.
///
/// Bottom halves are off while it lives (the packet path takes the same locks
/// in softirq context): by its own [`BhOff`], or by the caller's
/// ([`Table::lock_within`]).
pub(crate) struct Bucket<'a, R> {
    // Dropped in this order: the lock goes before bottom halves come back.
    chain: Guard<'a, Chain<R>, SoftirqSpinLockBackend>,
    _bh: Option<BhOff>,
}

impl<R> Deref for Bucket<'_, R> {
    type Target = Chain<R>;

    fn deref(&self) -> &Chain<R> {
        &self.chain
    }
}

impl<R> DerefMut for Bucket<'_, R> {
    fn deref_mut(&mut self) -> &mut Chain<R> {
        &mut self.chain
    }
}

impl<R> Table<R> {
    /// A table whose records draw on `budget`, whose bucket locks are of lock
    /// class `key`, named `name`.
    ///
    /// A record takes `record_bytes` of the budget (more than `R` if it owns
    /// memory outside the table).
    pub(crate) fn new(
        budget: Arc<Budget>,
        record_bytes: usize,
        name: &'static CStr,
        key: Pin<&'static LockClassKey>,
    ) -> Result<Self> {
        let records = budget.limit() / record_bytes.max(size_of::<R>()).max(1);
        let nbuckets = (records / 4).clamp(64, 1 << 20).next_power_of_two();
        let buckets = KVBox::pin_slice(
            |_| {
                try_pin_init!(Slot {
                    chain <- SoftirqSpinLock::new(Chain::<R>::new(), name, key),
                }? Error)
            },
            nbuckets,
            GFP_KERNEL,
        )?;
        Ok(Table {
            buckets,
            mask: nbuckets as u64 - 1,
            budget,
            count: Atomic::new(0),
            overflow: Atomic::new(0),
        })
    }

    /// Number of buckets.
    pub(crate) fn buckets(&self) -> usize {
        self.buckets.len()
    }

    /// Locks the bucket of `hash`, with bottom halves off.
    pub(crate) fn lock(&self, hash: u64) -> Bucket<'_, R> {
        self.lock_index((hash & self.mask) as usize)
    }

    /// Locks bucket number `i` (for walks over the whole table), with
    /// bottom halves off.
    pub(crate) fn lock_index(&self, i: usize) -> Bucket<'_, R> {
        let bh = sync::bh_off();
        Bucket {
            chain: self.buckets[i].chain.lock(),
            _bh: Some(bh),
        }
    }

    /// Locks the bucket of `hash` while `_bh` keeps bottom halves off (the
    /// bucket cannot outlive it): nothing but the lock is taken.
    #[inline(always)]
    pub(crate) fn lock_within<'a>(&'a self, hash: u64, _bh: &'a BhOff) -> Bucket<'a, R> {
        Bucket {
            chain: self.buckets[(hash & self.mask) as usize].chain.lock(),
            _bh: None,
        }
    }

    /// The number of the bucket of `hash`.
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
    ) -> Option<Bucket<'a, R>> {
        Some(Bucket {
            chain: self.buckets[i].chain.try_lock()?,
            _bh: None,
        })
    }

    /// Adds `record` to a locked bucket if the budget and memory allow;
    /// returns its index in the chain, or `None` (counted as overflow).
    pub(crate) fn insert(&self, chain: &mut Chain<R>, record: R) -> Option<usize> {
        let cap = chain.capacity();
        if chain.len() == cap {
            // The chain doubles (one record for an empty one): charge
            // what it will hold first.
            let grown = (cap * 2).max(1);
            if !self.budget.charge((grown - cap) * size_of::<R>()) {
                self.overflow.add(1, Relaxed);
                return None;
            }
            if chain
                .reserve(grown - cap, GFP_ATOMIC | __GFP_NOWARN)
                .is_err()
            {
                self.budget.release((grown - cap) * size_of::<R>());
                self.overflow.add(1, Relaxed);
                return None;
            }
            self.budget.settle(grown, chain.capacity(), size_of::<R>());
        }
        if chain.push_within_capacity(record).is_err() {
            self.overflow.add(1, Relaxed);
            return None;
        }
        self.count.add(1, Relaxed);
        Some(chain.len() - 1)
    }

    /// Removes the record at `index` of a locked bucket (the last record
    /// takes its place); the chain shrinks when half of it is unused.
    pub(crate) fn remove(&self, chain: &mut Chain<R>, index: usize) -> Option<R> {
        let last = chain.len().checked_sub(1)?;
        if index > last {
            return None;
        }
        chain.swap(index, last);
        let record = chain.pop();
        self.count.add(1usize.wrapping_neg(), Relaxed);
        self.shrink(chain);
        record
    }

    /// Gives memory back when at most a quarter of the chain is used (not
    /// at half, so that a record coming and going does not reallocate the
    /// chain every time): all of it
    /// for an empty chain, otherwise by moving the records to a vector of
    /// their size (kept as is if that allocation fails).
    fn shrink(&self, chain: &mut Chain<R>) {
        let (len, cap) = (chain.len(), chain.capacity());
        if cap == 0 || (len > 0 && len * 4 > cap) {
            return;
        }
        let smaller = if len == 0 {
            KVec::new()
        } else {
            let Ok(mut v) = KVec::with_capacity(len, GFP_ATOMIC | __GFP_NOWARN) else {
                return;
            };
            for r in chain.drain_all() {
                // Within the capacity just allocated.
                let _ = v.push_within_capacity(r);
            }
            v
        };
        let new_cap = smaller.capacity();
        *chain = smaller;
        self.budget.settle(cap, new_cap, size_of::<R>());
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
