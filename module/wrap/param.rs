// SPDX-License-Identifier: GPL-2.0

//! The values of module parameters, whatever the kernel crate's version.
//!
//! The `value()` of a parameter declared with `module!` returns a
//! reference in the 7.2 kernel crate and the value itself from 7.3 on;
//! [`get`] takes either, so the driver reads its parameters the same way on
//! every kernel it builds for.

use core::borrow::Borrow;

/// The value of a module parameter, from what its `value()` returns.
pub(crate) fn get<T: Copy>(value: impl Borrow<T>) -> T {
    *value.borrow()
}
