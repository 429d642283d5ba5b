// SPDX-License-Identifier: GPL-2.0

//! Pairs of atomic counters, packets and bytes, added to together.
//!
//! C header: [`include/linux/atomic.h`](srctree/include/linux/atomic.h)
//!
//! A packet adds its packets and bytes to the records of its owner's
//! process and thread: four relaxed atomic additions. Each of the kernel
//! crate's atomic operations is a call into a C helper (distribution
//! kernels do not inline them), so [`add_to_pairs`] makes all four
//! inline on x86-64, and elsewhere in one call of `atomic64_add`s.

#[cfg(not(CONFIG_X86_64))]
use super::ffi;
use core::mem::{align_of, size_of};
#[cfg(not(CONFIG_X86_64))]
use core::ptr;
use kernel::bindings;
use kernel::sync::atomic::Atomic;

/// Two counters: packets, then bytes.
pub(crate) type Pair = [Atomic<u64>; 2];

// `atomic64_add` sees each `Atomic<u64>` as an `atomic64_t`: they must be
// laid out alike (the kernel crate's own atomics pass them so too).
const _: () = assert!(
    size_of::<Atomic<u64>>() == size_of::<bindings::atomic64_t>()
        && align_of::<Atomic<u64>>() == align_of::<bindings::atomic64_t>()
        && size_of::<Pair>() == 2 * size_of::<bindings::atomic64_t>()
);

/// Adds `packets` and `bytes` to the pair `a` and, if given, to `b`,
/// each addition atomic and relaxed (as `Atomic::add` with `Relaxed`).
#[inline(always)]
pub(crate) fn add_to_pairs(a: &Pair, b: Option<&Pair>, packets: u64, bytes: u64) {
    #[cfg(CONFIG_X86_64)]
    {
        add_to_pair(a, packets, bytes);
        if let Some(b) = b {
            add_to_pair(b, packets, bytes);
        }
    }
    #[cfg(not(CONFIG_X86_64))]
    {
        let b = b.map_or(ptr::null_mut(), |b| b.as_ptr().cast_mut().cast());
        // SAFETY: `a` and `b` (unless NULL) point to two `Atomic<u64>`s
        // each, live for the call and laid out as `atomic64_t`s (asserted
        // above); `Atomic` allows changes through shared references, and
        // `atomic64_add` may run concurrently with any other atomic
        // access, in any context.
        unsafe { ffi::netatop_add_pairs(a.as_ptr().cast_mut().cast(), b, packets, bytes) };
    }
}

/// Adds `packets` and `bytes` to the pair `p`: on x86-64 each addition is
/// one locked `add`, as `atomic64_add()` there, inline here.
#[cfg(CONFIG_X86_64)]
#[inline(always)]
fn add_to_pair(p: &Pair, packets: u64, bytes: u64) {
    // SAFETY: `p` points to two `Atomic<u64>`s, aligned, live, laid out
    // as `atomic64_t`s (asserted above), which `Atomic` allows to change
    // through a shared reference. A locked `add` is an atomic
    // read-modify-write that may run concurrently with any other atomic
    // access, in any context; it touches nothing else but the flags.
    unsafe {
        core::arch::asm!(
            "lock add qword ptr [{p}], {packets}",
            "lock add qword ptr [{p} + 8], {bytes}",
            p = in(reg) p.as_ptr(),
            packets = in(reg) packets,
            bytes = in(reg) bytes,
            options(nostack),
        )
    };
}
