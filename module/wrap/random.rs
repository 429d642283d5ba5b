// SPDX-License-Identifier: GPL-2.0

//! Random numbers from the kernel's generator.
//!
//! C header: [`include/linux/random.h`](srctree/include/linux/random.h)

use core::mem::size_of_val;
use kernel::bindings;

/// `N` random words from the kernel's random number generator
/// (`get_random_bytes`); may be called from any context.
pub(crate) fn words<const N: usize>() -> [u64; N] {
    let mut words = [0u64; N];
    // SAFETY: `words` is valid for writes of its own size;
    // `get_random_bytes` may be called from any context.
    unsafe { bindings::get_random_bytes(words.as_mut_ptr().cast(), size_of_val(&words)) };
    words
}
