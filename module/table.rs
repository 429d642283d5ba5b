// SPDX-License-Identifier: GPL-2.0

//! A hash table of records with a BH-safe spinlock per bucket and a bound
//! on the number of records.
//!
//! Used for the socket and the task records. Records live in a small vector
//! per bucket; the bucket count is a power of two sized from the bound at
//! load time (about two records per bucket when full), so a lookup scans a
//! short chain whatever the number of live records. Inserting never
//! sleeps: the packet path allocates with `GFP_ATOMIC`, and a failed
//! allocation or a full table refuses the record and counts an overflow.

#![forbid(unsafe_code)]

use crate::wrap::sync::SpinLockBh;
use core::pin::Pin;
use kernel::alloc::{KVBox, KVec};
use kernel::prelude::*;
use kernel::sync::atomic::{Atomic, Relaxed};
use kernel::sync::lock::Guard;
use kernel::sync::LockClassKey;

/// The records of one bucket.
pub(crate) type Chain<R> = KVec<R>;

/// One bucket: a chain and its lock.
#[pin_data]
struct Slot<R> {
    #[pin]
    chain: SpinLockBh<Chain<R>>,
}

/// A bucketed table of `R`.
pub(crate) struct Table<R> {
    buckets: Pin<KVBox<[Slot<R>]>>,
    mask: u64,
    limit: usize,
    count: Atomic<usize>,
    overflow: Atomic<u64>,
}

/// A locked bucket.
pub(crate) type Bucket<'a, R> = Guard<'a, Chain<R>, crate::wrap::sync::SpinLockBhBackend>;

impl<R> Table<R> {
    /// A table holding at most `limit_bytes / size_of::<R>()` records,
    /// whose bucket locks are of lock class `key`, named `name`.
    pub(crate) fn new(
        limit_bytes: usize,
        name: &'static CStr,
        key: Pin<&'static LockClassKey>,
    ) -> Result<Self> {
        let limit = limit_bytes / core::mem::size_of::<R>().max(1);
        let nbuckets = (limit / 2).clamp(64, 1 << 20).next_power_of_two();
        let buckets = KVBox::pin_slice(
            |_| {
                try_pin_init!(Slot {
                    chain <- SpinLockBh::new(Chain::<R>::new(), name, key),
                }? Error)
            },
            nbuckets,
            GFP_KERNEL,
        )?;
        Ok(Table {
            buckets,
            mask: nbuckets as u64 - 1,
            limit,
            count: Atomic::new(0),
            overflow: Atomic::new(0),
        })
    }

    /// Number of buckets.
    pub(crate) fn buckets(&self) -> usize {
        self.buckets.len()
    }

    /// Locks the bucket of `hash`.
    pub(crate) fn lock(&self, hash: u64) -> Bucket<'_, R> {
        self.buckets[(hash & self.mask) as usize].chain.lock()
    }

    /// Locks bucket number `i` (for walks over the whole table).
    pub(crate) fn lock_index(&self, i: usize) -> Bucket<'_, R> {
        self.buckets[i].chain.lock()
    }

    /// Adds `record` to a locked bucket if the bound and memory allow;
    /// returns its index in the chain, or `None` (counted as overflow).
    pub(crate) fn insert(&self, chain: &mut Chain<R>, record: R) -> Option<usize> {
        let mut n = self.count.load(Relaxed);
        loop {
            if n >= self.limit {
                self.overflow.add(1, Relaxed);
                return None;
            }
            match self.count.cmpxchg(n, n + 1, Relaxed) {
                Ok(_) => break,
                Err(cur) => n = cur,
            }
        }
        if chain.push(record, GFP_ATOMIC | __GFP_NOWARN).is_err() {
            self.uncount();
            self.overflow.add(1, Relaxed);
            return None;
        }
        Some(chain.len() - 1)
    }

    /// Removes the record at `index` of a locked bucket (the last record
    /// takes its place).
    pub(crate) fn remove(&self, chain: &mut Chain<R>, index: usize) -> Option<R> {
        let last = chain.len().checked_sub(1)?;
        if index > last {
            return None;
        }
        chain.swap(index, last);
        let record = chain.pop();
        self.uncount();
        record
    }

    /// One record fewer. (Adding the two's complement subtracts: the
    /// kernel's atomics wrap.)
    fn uncount(&self) {
        self.count.add(1usize.wrapping_neg(), Relaxed);
    }

    /// Records in the table.
    pub(crate) fn count(&self) -> usize {
        self.count.load(Relaxed)
    }

    /// Records refused because the table was full or memory short.
    pub(crate) fn overflow(&self) -> u64 {
        self.overflow.load(Relaxed)
    }

    /// The bound on the number of records.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }
}
