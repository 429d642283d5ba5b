// SPDX-License-Identifier: GPL-2.0

//! Probes on the kernel's own tracepoints.
//!
//! C header: [`include/linux/tracepoint.h`](srctree/include/linux/tracepoint.h)
//!
//! The tracepoints' symbols are not exported to modules; `glue.c` finds a
//! tracepoint by name with `for_each_kernel_tracepoint` and registers with
//! `tracepoint_probe_register`, both exported. A [`Probe`] holds one such
//! registration with an observer, and undoes it when dropped, once no call
//! of the probe runs any more.

use super::ffi;
use core::marker::PhantomData;
use kernel::error::from_err_ptr;
use kernel::ffi::c_void;
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::types::ForeignOwnable;

/// A probe function registered on a tracepoint with an observer `T`.
///
/// # Invariants
///
/// While this value lives, `probe` is registered on the tracepoint `tp`
/// with `data`, a pointer from `Arc::<T>::into_foreign`.
pub(crate) struct Probe<T: Send + Sync + 'static> {
    tp: *mut c_void,
    probe: *mut c_void,
    data: *mut c_void,
    _observer: PhantomData<Arc<T>>,
}

// SAFETY: The registration is a handle; the observer is `Send + Sync`.
unsafe impl<T: Send + Sync + 'static> Send for Probe<T> {}

// SAFETY: `&Probe` offers no methods.
unsafe impl<T: Send + Sync + 'static> Sync for Probe<T> {}

impl<T: Send + Sync + 'static> Probe<T> {
    /// Registers `probe` on the tracepoint `name`, with `observer` as its data.
    ///
    /// `ENOENT` if this kernel has no such tracepoint (built without
    /// `CONFIG_TRACEPOINTS`).
    ///
    /// # Safety
    ///
    /// `probe` is a function with the prototype of the tracepoint `name`
    /// that may be called in any context the tracepoint fires in, and uses
    /// its first argument only as the data of an `Arc<T>` made with
    /// `into_foreign`, borrowed for the call.
    pub(crate) unsafe fn register(
        name: &'static CStr,
        probe: *mut c_void,
        observer: Arc<T>,
    ) -> Result<Self> {
        let data = observer.into_foreign();
        // SAFETY: `name` is NUL-terminated; `probe` fits the tracepoint
        // and `data` (the caller's guarantee).
        let tp = unsafe { ffi::netatop_tracepoint_register(name.as_char_ptr(), probe, data) };
        match from_err_ptr(tp) {
            Ok(tp) => {
                // INVARIANT: Registered above with `data`.
                Ok(Self {
                    tp,
                    probe,
                    data,
                    _observer: PhantomData,
                })
            }
            Err(e) => {
                // SAFETY: Registration failed, no probe call refers to
                // `data`; it came from `into_foreign` above.
                drop(unsafe { Arc::<T>::from_foreign(data) });
                Err(e)
            }
        }
    }
}

impl<T: Send + Sync + 'static> Drop for Probe<T> {
    fn drop(&mut self) {
        // SAFETY: Registered with these arguments by the type invariant;
        // the call waits until no probe call runs (may sleep: `drop` runs
        // in process context).
        unsafe { ffi::netatop_tracepoint_unregister(self.tp, self.probe, self.data) };
        // SAFETY: No probe call can use `data` any more; it came from
        // `into_foreign` in `register`.
        drop(unsafe { Arc::<T>::from_foreign(self.data) });
    }
}
