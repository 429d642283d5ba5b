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

use super::ffi;
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

    unsafe fn lock(ptr: *mut Self::State) -> Self::GuardState {
        // SAFETY: The caller guarantees `ptr` was initialised by `init`.
        unsafe { ffi::netatop_spin_lock_bh(ptr) }
    }

    unsafe fn try_lock(ptr: *mut Self::State) -> Option<Self::GuardState> {
        // SAFETY: The caller guarantees `ptr` was initialised by `init`.
        (unsafe { ffi::netatop_spin_trylock_bh(ptr) } != 0).then_some(())
    }

    unsafe fn unlock(ptr: *mut Self::State, _guard_state: &Self::GuardState) {
        // SAFETY: The caller owns the lock.
        unsafe { ffi::netatop_spin_unlock_bh(ptr) }
    }

    unsafe fn assert_is_held(ptr: *mut Self::State) {
        // SAFETY: The caller guarantees `ptr` was initialised by `init`.
        unsafe { bindings::spin_assert_is_held(ptr) }
    }
}
