// SPDX-License-Identifier: GPL-2.0

//! Random numbers from the kernel's generator.

use kernel::bindings;

/// A random 64-bit value (seeds the hash tables).
pub(crate) fn random_u64() -> u64 {
    // SAFETY: `get_random_u64` may be called from any context.
    unsafe { bindings::get_random_u64() }
}
