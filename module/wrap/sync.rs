// SPDX-License-Identifier: GPL-2.0

//! Bottom halves off, spin locks shared with softirqs, and waiting for RCU
//! readers.
//!
//! C headers: [`include/linux/bottom_half.h`](srctree/include/linux/bottom_half.h),
//! [`include/linux/spinlock.h`](srctree/include/linux/spinlock.h)
//!
//! Data shared between process context and the netfilter hooks, which run
//! in softirq context, must be locked with softirqs disabled: a softirq
//! arriving on the CPU that holds the lock would spin forever. A
//! [`BhOff`] turns them off (unless they are off already), and the
//! [`SoftirqSpinLock`]s taken while it lives are plain spin locks: one
//! `BhOff` around all the locks a packet takes turns bottom halves off
//! once for all of them.

use super::ffi;
use super::rcu::ReadSide;
use core::marker::PhantomData;
use kernel::bindings;
use kernel::sync::lock::{Backend, Lock};

/// A spin lock that softirqs take too: to be taken only while a [`BhOff`]
/// lives, which its owner ensures (`Table` takes its bucket locks so).
///
/// Held with bottom halves on, a softirq on the same CPU could spin on it
/// forever; lockdep, in the test kernel, checks every acquisition.
pub(crate) type SoftirqSpinLock<T> = Lock<T, SoftirqSpinLockBackend>;

/// The backend of [`SoftirqSpinLock`]: `spin_lock` and `spin_unlock`, as
/// the kernel crate's `SpinLock`, with the lockdep assertion of a new
/// guard made only where lockdep is (it would be a call per lock for
/// nothing).
pub(crate) struct SoftirqSpinLockBackend;

// SAFETY: `spin_lock` and `spin_unlock` give mutual exclusion, and the
// state is only ever used after `init`, which the `Lock` guarantees.
unsafe impl Backend for SoftirqSpinLockBackend {
    type State = bindings::spinlock_t;
    type GuardState = ();

    unsafe fn init(
        ptr: *mut Self::State,
        name: *const kernel::ffi::c_char,
        key: *mut bindings::lock_class_key,
    ) {
        // SAFETY: The caller guarantees `ptr` is valid for writes and `name`
        // and `key` live forever.
        unsafe { bindings::__spin_lock_init(ptr, name, key) }
    }

    #[inline(always)]
    unsafe fn lock(ptr: *mut Self::State) -> Self::GuardState {
        // SAFETY: The caller guarantees `ptr` was initialised by `init`.
        unsafe { bindings::spin_lock(ptr) }
    }

    unsafe fn try_lock(ptr: *mut Self::State) -> Option<Self::GuardState> {
        // SAFETY: The caller guarantees `ptr` was initialised by `init`.
        (unsafe { bindings::spin_trylock(ptr) } != 0).then_some(())
    }

    #[inline(always)]
    unsafe fn unlock(ptr: *mut Self::State, _guard_state: &Self::GuardState) {
        // SAFETY: The caller owns the lock.
        unsafe { bindings::spin_unlock(ptr) }
    }

    #[inline(always)]
    unsafe fn assert_is_held(ptr: *mut Self::State) {
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
/// off already when it was made ([`bh_off`]).
///
/// A [`SoftirqSpinLock`] taken while the value lives must be released
/// before the value goes.
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
/// value returned goes, unless they are off already or the caller runs in
/// an interrupt (where no bottom half runs either).
#[inline(always)]
pub(crate) fn bh_off() -> BhOff {
    // SAFETY: No preconditions.
    let turned_off = unsafe { ffi::netatop_bh_off() };
    // SAFETY: `netatop_bh_off` turned them off just now if `turned_off`,
    // and only the value turns them on.
    unsafe { BhOff::taken_over(turned_off) }
}

impl BhOff {
    /// Takes over bottom halves that C code turned off on this CPU for the
    /// caller, if `turned_off`: they are turned on when the value goes.
    ///
    /// # Safety
    ///
    /// If `turned_off`, bottom halves were turned off on this CPU with
    /// `local_bh_disable` by the task, which turns them on nowhere else.
    #[inline(always)]
    pub(super) unsafe fn taken_over(turned_off: bool) -> Self {
        // INVARIANT: Turned off by the caller's guarantee if `turned_off`.
        BhOff {
            turned_off,
            _not_send: PhantomData,
        }
    }
}

impl BhOff {
    /// The RCU read-side critical section that bottom halves off are (or
    /// an interrupt, where they are off too).
    #[inline(always)]
    pub(crate) fn read_side(&self) -> ReadSide<'_> {
        // SAFETY: Bottom halves are off while `self` lives (the type
        // invariant), which makes a read-side critical section.
        unsafe { ReadSide::assume() }
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
/// (`synchronize_rcu`).
///
/// Sleeps.
pub(crate) fn synchronize_rcu() {
    kernel::task::might_sleep();
    // SAFETY: No preconditions beyond a context that may sleep.
    unsafe { bindings::synchronize_rcu() };
}
