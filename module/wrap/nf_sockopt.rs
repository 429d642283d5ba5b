// SPDX-License-Identifier: GPL-2.0

//! Netfilter getsockopt registration.
//!
//! C header: [`include/linux/netfilter.h`](srctree/include/linux/netfilter.h)
//!
//! A [`Registration`] hands a range of IPv4 `getsockopt()` option numbers
//! to a [`GetSockopt`] implementation for as long as it lives. Netfilter
//! holds a reference on the owning module while a handler runs, so the
//! module cannot be unloaded under a caller (even one that sleeps).

use super::ffi;
use core::marker::PhantomData;
use core::ops::Range;
use core::ptr::NonNull;
use kernel::bindings;
use kernel::error::to_result;
use kernel::ffi::{c_int, c_void};
use kernel::prelude::*;
use kernel::uaccess::UserPtr;

/// A handler for a range of getsockopt commands.
pub(crate) trait GetSockopt {
    /// Handles command `cmd` for a caller whose buffer is `buf` and whose
    /// `*optlen` is `len`; the handler sets `len` to the number of bytes it
    /// returns. Runs in process context and may sleep.
    fn get(cmd: c_int, buf: UserPtr, len: &mut c_int) -> Result;
}

/// A registered range of IPv4 getsockopt commands.
///
/// # Invariants
///
/// `ops` points to a `struct nf_sockopt_ops` allocated by
/// `netatop_sockopt_ops_new` and registered with `nf_register_sockopt`;
/// it stays registered, and allocated, until `drop`.
pub(crate) struct Registration<T: GetSockopt> {
    ops: NonNull<ffi::NfSockoptOps>,
    _handler: PhantomData<T>,
}

// SAFETY: The registration is only a handle; netfilter serialises its list
// with its own mutex, so it may be dropped from any thread.
unsafe impl<T: GetSockopt> Send for Registration<T> {}

// SAFETY: `&Registration` offers no methods.
unsafe impl<T: GetSockopt> Sync for Registration<T> {}

impl<T: GetSockopt> Registration<T> {
    /// Registers `range` (end exclusive) of `SOL_IP` getsockopt commands,
    /// owned by `module`. Fails with `EBUSY` if another owner has an
    /// overlapping range.
    pub(crate) fn new(range: Range<c_int>, module: &'static ThisModule) -> Result<Self> {
        // SAFETY: `get_callback::<T>` has the `get` signature; the module
        // pointer is valid for as long as the module is loaded.
        let ops = unsafe {
            ffi::netatop_sockopt_ops_new(
                bindings::PF_INET as u8,
                range.start,
                range.end,
                get_callback::<T>,
                module.as_ptr().cast(),
            )
        };
        let ops = NonNull::new(ops).ok_or(ENOMEM)?;
        // SAFETY: `ops` is a fully initialised, unregistered `nf_sockopt_ops`.
        if let Err(e) = to_result(unsafe { ffi::nf_register_sockopt(ops.as_ptr()) }) {
            // SAFETY: Allocated above with kzalloc and never registered.
            unsafe { bindings::kfree(ops.as_ptr().cast()) };
            return Err(e);
        }
        // INVARIANT: `ops` was allocated and registered above.
        Ok(Self {
            ops,
            _handler: PhantomData,
        })
    }
}

impl<T: GetSockopt> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `ops` is registered; unregistering
        // takes netfilter's mutex, after which no new call can find it, and
        // calls in progress hold a module reference so none runs now.
        unsafe { ffi::nf_unregister_sockopt(self.ops.as_ptr()) };
        // SAFETY: Unregistered above; allocated by kzalloc in `new`.
        unsafe { bindings::kfree(self.ops.as_ptr().cast()) };
    }
}

/// The `get` callback netfilter calls for a command in the range.
///
/// # Safety
///
/// Called by `nf_getsockopt` with `len` pointing to the kernel's copy of
/// the caller's option length, and `user` the caller's buffer.
unsafe extern "C" fn get_callback<T: GetSockopt>(
    _sk: *mut bindings::sock,
    cmd: c_int,
    user: *mut c_void,
    len: *mut c_int,
) -> c_int {
    // SAFETY: `len` is valid and exclusively ours for the call, as the
    // function's safety requirements say.
    let len = unsafe { &mut *len };
    match T::get(cmd, UserPtr::from_ptr(user), len) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}
