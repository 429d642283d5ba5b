// SPDX-License-Identifier: GPL-2.0

//! Fields of C structures read in place, at the offsets `constants.c`
//! generates from the target kernel's headers: the packet's in
//! `nf_hook`, the current task's in `task`.

use kernel::ffi::c_void;

/// Reads the field at `offset` of the C structure at `base`.
///
/// # Safety
///
/// `base` points to a live structure that has a field of type `T` at
/// `offset` (one of the generated offsets), which nobody writes while it
/// is read.
#[inline(always)]
pub(super) unsafe fn field<T: Copy>(base: *const c_void, offset: usize) -> T {
    // SAFETY: In bounds of the structure and aligned for `T`, by the
    // caller's guarantee.
    unsafe { base.byte_add(offset).cast::<T>().read() }
}

/// [`field`] of a field that may change while it is read (`READ_ONCE`).
///
/// # Safety
///
/// As for [`field`], except that the field may be written concurrently if
/// it is a single machine word or less.
#[inline(always)]
pub(super) unsafe fn field_once<T: Copy>(base: *const c_void, offset: usize) -> T {
    // SAFETY: As in `field`; a volatile read is one untorn load of a
    // word, as `READ_ONCE` is.
    unsafe { base.byte_add(offset).cast::<T>().read_volatile() }
}
