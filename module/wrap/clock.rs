// SPDX-License-Identifier: GPL-2.0

//! Monotonic time in milliseconds, the unit of all the module's timing.
//!
//! Read from `jiffies_64`: the packet path asks for the time of every
//! packet, and the timeouts it serves are seconds long, so the tick's
//! resolution is plenty and no clock hardware is touched.

use kernel::bindings;

/// Ticks since boot.
#[cfg(CONFIG_64BIT)]
fn ticks() -> u64 {
    // SAFETY: `jiffies_64` is always valid to read, and this is a 64-bit
    // kernel (the `cfg` above), where the read is a single, untorn load.
    unsafe { core::ptr::read_volatile(&raw const bindings::jiffies_64) }
}

/// Ticks since boot.
#[cfg(not(CONFIG_64BIT))]
fn ticks() -> u64 {
    // SAFETY: `get_jiffies_64` may be called from any context; on 32-bit
    // kernels it reads the counter under its sequence lock.
    unsafe { bindings::get_jiffies_64() }
}

/// Milliseconds since boot, in steps of one tick.
#[inline(always)]
pub(crate) fn now_ms() -> u64 {
    const HZ: u64 = bindings::CONFIG_HZ as u64;
    // As `jiffies_to_msecs()`: one multiplication where a tick is a whole
    // number of milliseconds (HZ 100, 250, 1000), a division elsewhere.
    if 1000 % HZ == 0 {
        ticks().wrapping_mul(1000 / HZ)
    } else {
        ticks().wrapping_mul(1000) / HZ
    }
}
