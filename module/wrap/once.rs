// SPDX-License-Identifier: GPL-2.0

//! Relaxed loads and stores of atomics, inline.
//!
//! C header: [`include/asm-generic/rwonce.h`](srctree/include/asm-generic/rwonce.h)
//!
//! The kernel crate's `Atomic::load(Relaxed)` and `Atomic::store(_,
//! Relaxed)` call C helpers, which a kernel built with gcc (as
//! distributions build theirs) does not inline; each helper is a
//! `READ_ONCE` or a `WRITE_ONCE` of the value. [`load`] and [`store`] are
//! those accesses inline, for the packet path: a single untorn volatile
//! access of a value no wider than a machine word.

use core::mem::size_of;
use kernel::sync::atomic::{Atomic, AtomicType};

/// Fails to build for a type a volatile access might tear.
struct Untorn<T>(T);

impl<T> Untorn<T> {
    const FITS: () = assert!(size_of::<T>() <= size_of::<usize>());
}

/// The value of `a`, as `a.load(Relaxed)` (`READ_ONCE`).
#[inline(always)]
pub(crate) fn load<T: AtomicType>(a: &Atomic<T>) -> T {
    let () = Untorn::<T>::FITS;
    // SAFETY: `as_ptr` points to the atomic's value, aligned and valid for
    // reads; a volatile access no wider than a word is a single access,
    // `READ_ONCE`, which may race with other atomic accesses.
    unsafe { a.as_ptr().read_volatile() }
}

/// Sets `a` to `v`, as `a.store(v, Relaxed)` (`WRITE_ONCE`).
#[inline(always)]
pub(crate) fn store<T: AtomicType>(a: &Atomic<T>, v: T) {
    let () = Untorn::<T>::FITS;
    // SAFETY: `as_ptr` points to the atomic's value, aligned and valid for
    // writes, and every value of `T` is valid in it; a volatile access no
    // wider than a word is a single access, `WRITE_ONCE`, which may race
    // with other atomic accesses.
    unsafe { a.as_ptr().write_volatile(v) }
}
