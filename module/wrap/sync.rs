// SPDX-License-Identifier: GPL-2.0

//! A spinlock that also disables bottom halves.
//!
//! C header: [`include/linux/spinlock.h`](srctree/include/linux/spinlock.h)
//!
//! Data shared between process context and the netfilter hooks, which run
//! in softirq context, must be locked with softirqs disabled: a softirq
//! arriving on the CPU that holds the lock would spin forever. The kernel
//! crate's `SpinLock` uses plain `spin_lock`, so this backend plugs
//! `spin_lock_bh` into the kernel crate's generic [`Lock`].
//!
//! Where bottom halves are off already (a softirq, or while a [`BhOff`]
//! lives) the lock is a plain `spin_lock`: one [`bh_off`] around the locks
//! a packet takes turns bottom halves off once for all of them.

use super::ffi;
use core::marker::PhantomData;
use kernel::bindings;
use kernel::sync::lock::{Backend, Lock};

/// A spinlock taken with bottom halves disabled.
pub(crate) type SpinLockBh<T> = Lock<T, SpinLockBhBackend>;

/// The backend of [`SpinLockBh`].
pub(crate) struct SpinLockBhBackend;

// SAFETY: `spin_lock_bh` and `spin_unlock_bh` give mutual exclusion, and
// the state is only ever used after `init`, which the `Lock` guarantees.
unsafe impl Backend for SpinLockBhBackend {
    type State = bindings::spinlock_t;
    /// Whether taking the lock turned bottom halves off.
    type GuardState = bool;

    unsafe fn init(
        ptr: *mut Self::State,
        name: *const kernel::ffi::c_char,
        key: *mut bindings::lock_class_key,
    ) {
        // SAFETY: The caller guarantees `ptr` is valid for writes and `name`
        // and `key` live forever.
        unsafe { bindings::__spin_lock_init(ptr, name, key) }
    }

    unsafe fn lock(ptr: *mut Self::State) -> Self::GuardState {
        // SAFETY: The caller guarantees `ptr` was initialised by `init`.
        unsafe { ffi::netatop_spin_lock_bh(ptr) }
    }

    unsafe fn try_lock(ptr: *mut Self::State) -> Option<Self::GuardState> {
        // SAFETY: The caller guarantees `ptr` was initialised by `init`.
        (unsafe { ffi::netatop_spin_trylock_bh(ptr) } != 0).then_some(true)
    }

    unsafe fn unlock(ptr: *mut Self::State, bh: &Self::GuardState) {
        // SAFETY: The caller owns the lock, taken by `lock` or `try_lock`,
        // which returned `bh`.
        unsafe { ffi::netatop_spin_unlock_bh(ptr, *bh) }
    }

    unsafe fn assert_is_held(ptr: *mut Self::State) {
        // Only lockdep knows; without it the call would cost a function
        // call on every lock, for nothing.
        #[cfg(CONFIG_LOCKDEP)]
        // SAFETY: The caller guarantees `ptr` was initialised by `init`.
        unsafe {
            bindings::spin_assert_is_held(ptr)
        }
        #[cfg(not(CONFIG_LOCKDEP))]
        let _ = ptr;
    }
}

/// Bottom halves off on this CPU while the value lives, unless they were
/// off already when it was made ([`bh_off`]); [`SpinLockBh`] locks taken
/// meanwhile are plain spin locks.
///
/// Such a lock must be released before the value goes: held beyond it, it
/// would be held with bottom halves on, where a softirq on this CPU could
/// spin on it forever. (Lockdep, in the test kernel, checks every
/// acquisition.)
///
/// # Invariants
///
/// If `turned_off`, bottom halves were turned off on this CPU when the
/// value was made, and are to be turned on when it goes; the value never
/// leaves the task (bottom halves off keep it on the CPU).
pub(crate) struct BhOff {
    turned_off: bool,
    _not_send: PhantomData<*mut ()>,
}

/// Turns bottom halves off on this CPU (`local_bh_disable`) until the
/// value returned goes, unless they are off already.
#[inline(always)]
pub(crate) fn bh_off() -> BhOff {
    bh_off_unless(false)
}

/// [`bh_off`], where the caller knows whether bottom halves are off
/// already (`off`: in a softirq, say); nothing is called then. (Were they
/// not, each [`SpinLockBh`] would still turn them off itself.)
#[inline(always)]
pub(crate) fn bh_off_unless(off: bool) -> BhOff {
    // SAFETY: No preconditions.
    let turned_off = !off && unsafe { ffi::netatop_bh_off() };
    // INVARIANT: Turned off just now if `turned_off`.
    BhOff {
        turned_off,
        _not_send: PhantomData,
    }
}

impl Drop for BhOff {
    #[inline(always)]
    fn drop(&mut self) {
        if self.turned_off {
            // SAFETY: Turned off when `self` was made, on this CPU, which
            // the task has not left since (the type invariant).
            unsafe { ffi::netatop_bh_on() };
        }
    }
}

/// Waits until every RCU read-side critical section under way has ended
/// (`synchronize_rcu`). Sleeps.
pub(crate) fn synchronize_rcu() {
    kernel::task::might_sleep();
    // SAFETY: No preconditions beyond a context that may sleep.
    unsafe { bindings::synchronize_rcu() };
}
