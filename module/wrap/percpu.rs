// SPDX-License-Identifier: GPL-2.0

//! Counters kept per CPU.
//!
//! C header: [`include/linux/percpu.h`](srctree/include/linux/percpu.h)
//!
//! Adding to a shared atomic from every CPU for every packet moves its
//! cache line between the CPUs; [`PerCpuCounters`] gives every CPU its own
//! copy of `N` counters, adds with `this_cpu_add` (one instruction on
//! x86-64, safe in any context, no lock, no atomic) and sums the copies
//! when the counters are read. A sum read while counters change is a
//! value they had at some moment between the first and the last copy
//! read; once they stop changing it is exact. A counter may go down
//! ([`PerCpuCounters::sub`]): its copies wrap, their sum does not.

use super::ffi;
use kernel::ffi::c_uint;
use kernel::prelude::*;

/// `N` counters of `u64`, one copy of each per possible CPU.
///
/// # Invariants
///
/// `ptr` is a per-CPU allocation of `N` `u64`s from `netatop_percpu_alloc`
/// that lives as long as this value.
pub(crate) struct PerCpuCounters<const N: usize> {
    ptr: *mut u64,
}

// SAFETY: The counters are only touched through `this_cpu_add` and
// per-CPU reads, which are safe from any CPU and context.
unsafe impl<const N: usize> Send for PerCpuCounters<N> {}

// SAFETY: As for `Send`: every method may run on any CPU concurrently.
unsafe impl<const N: usize> Sync for PerCpuCounters<N> {}

impl<const N: usize> PerCpuCounters<N> {
    // The count and every index fit the C side's `unsigned int`.
    const FITS: () = assert!(N > 0 && N <= c_uint::MAX as usize);

    /// `N` counters at zero.
    ///
    /// May sleep.
    pub(crate) fn new() -> Result<Self> {
        let () = Self::FITS;
        // SAFETY: No preconditions; `N` fits by `FITS`.
        let ptr = unsafe { ffi::netatop_percpu_alloc(N as c_uint) };
        if ptr.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: A per-CPU allocation of `N` counters (zeroed by the
        // allocator).
        Ok(Self { ptr })
    }

    /// Adds `n` to counter `i` (ignored if `i` is out of range, which
    /// callers rule out with constant indices).
    #[inline(always)]
    pub(crate) fn add(&self, i: usize, n: u64) {
        if i >= N {
            return;
        }
        // On x86-64 `this_cpu_add` is one `add` to the address in the
        // per-CPU segment: inline here, not a call.
        #[cfg(all(CONFIG_X86_64, CONFIG_SMP))]
        // SAFETY: `ptr` holds `N` counters by the type invariant, so
        // `ptr + i` is counter `i`'s per-CPU address, which `%gs` maps to
        // this CPU's copy. A single instruction cannot be split by
        // preemption or an interrupt; it touches nothing else but the
        // flags.
        unsafe {
            core::arch::asm!(
                "add qword ptr gs:[{c}], {n}",
                c = in(reg) self.ptr.wrapping_add(i),
                n = in(reg) n,
                options(nostack),
            )
        };
        #[cfg(not(all(CONFIG_X86_64, CONFIG_SMP)))]
        // SAFETY: `ptr` holds `N` counters by the type invariant and
        // `i < N` fits `c_uint` by `FITS`.
        unsafe {
            ffi::netatop_percpu_add(self.ptr, i as c_uint, n)
        };
    }

    /// Subtracts `n` from counter `i`.
    #[inline]
    pub(crate) fn sub(&self, i: usize, n: u64) {
        self.add(i, n.wrapping_neg());
    }

    /// Counter `i` summed over all CPUs (0 if `i` is out of range).
    pub(crate) fn sum(&self, i: usize) -> u64 {
        if i >= N {
            return 0;
        }
        // SAFETY: As in `add`.
        unsafe { ffi::netatop_percpu_sum(self.ptr, i as c_uint) }
    }
}

impl<const N: usize> Drop for PerCpuCounters<N> {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from `netatop_percpu_alloc` by the type
        // invariant and nothing uses it after this.
        unsafe { ffi::netatop_percpu_free(self.ptr) };
    }
}
