// SPDX-License-Identifier: GPL-2.0

//! A probe on process exits: the tracepoint `sched:sched_process_exit`,
//! which `do_exit()` fires in the exiting task, after the task's thread
//! group has counted it gone (`group_dead` for its last thread) and before
//! the process accounting record is written.
//!
//! Registered through [`super::tracepoint`].

use super::ffi;
pub(crate) use super::tracepoint::Probe;
use kernel::ffi::{c_int, c_void};
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::types::ForeignOwnable;

/// What a probe registered with [`register`] tells.
pub(crate) trait ExitObserver: Send + Sync + 'static {
    /// The last thread of process `tgid`, whose leader started at `start` (ns
    /// since boot), is exiting.
    ///
    /// Called in the exiting task, which may not sleep here.
    fn exited(&self, tgid: i32, start: u64);
}

/// Registers `observer` on `sched_process_exit`.
///
/// `ENOENT` if this kernel has no such tracepoint (built without
/// `CONFIG_TRACEPOINTS`).
pub(crate) fn register<T: ExitObserver>(observer: Arc<T>) -> Result<Probe<T>> {
    let f: ProbeFn = probe::<T>;
    // CAST: The tracepoint keeps its probes as untyped pointers and calls
    // them through its own prototype.
    // SAFETY: `probe::<T>` has that prototype, takes its data as an
    // `Arc<T>` and may be called wherever the tracepoint fires.
    unsafe { Probe::register(c"sched_process_exit", f as *mut c_void, observer) }
}

/// The prototype of `sched:sched_process_exit`'s probes.
/// (The task is passed on untyped: its Rust binding is not FFI-safe.)
type ProbeFn = unsafe extern "C" fn(*mut c_void, *mut c_void, bool);

/// # Safety
///
/// Called by the tracepoint with the data of a live probe of [`register`] and
/// the exiting task, valid for the duration of the call.
unsafe extern "C" fn probe<T: ExitObserver>(data: *mut c_void, p: *mut c_void, group_dead: bool) {
    if !group_dead {
        return;
    }
    // SAFETY: `data` came from `Arc::<T>::into_foreign` and stays alive
    // until the probe is unregistered and no call of it runs.
    let observer = unsafe { Arc::<T>::borrow(data) };
    let (mut tgid, mut start): (c_int, u64) = (0, 0);
    // SAFETY: `p` is valid for this call (the function's precondition);
    // both pointers are valid for writes.
    unsafe { ffi::netatop_exit_ids(p, &mut tgid, &mut start) };
    observer.exited(tgid, start);
}
