// SPDX-License-Identifier: GPL-2.0

//! Monotonic time in milliseconds, the unit of all the module's timing.

use kernel::bindings;

/// Milliseconds since boot on the monotonic clock.
pub(crate) fn now_ms() -> u64 {
    // SAFETY: `ktime_get` may be called from any context.
    let ns = unsafe { bindings::ktime_get() };
    u64::try_from(ns).unwrap_or(0) / 1_000_000
}
