// SPDX-License-Identifier: GPL-2.0

//! Monotonic time in milliseconds, the unit of all the module's timing.
//!
//! Read from `jiffies_64`: the packet path asks for the time of every
//! packet, and the timeouts it serves are seconds long, so the tick's
//! resolution is plenty and no clock hardware is touched.

use kernel::bindings;

/// Milliseconds since boot, in steps of one tick.
pub(crate) fn now_ms() -> u64 {
    // SAFETY: `jiffies_64` is always valid to read; on 64-bit kernels the
    // read is a single, untorn load.
    let ticks = unsafe { core::ptr::read_volatile(&raw const bindings::jiffies_64) };
    ticks.wrapping_mul(1000) / u64::from(bindings::CONFIG_HZ)
}
