// SPDX-License-Identifier: GPL-2.0

//! A probe on reads from sockets: the tracepoint `sock:sock_recv_length`,
//! which the receive path shared by `recv`, `recvfrom`, `recvmsg`,
//! `recvmmsg` and `read` fires in the reader's context, after the read.
//!
//! The tracepoint's symbol is not exported to modules; `glue.c` finds it by
//! name with `for_each_kernel_tracepoint` and registers with
//! `tracepoint_probe_register`, both exported.

use super::ffi;
use crate::logic::account::SocketId;
use core::marker::PhantomData;
use kernel::bindings;
use kernel::ffi::{c_int, c_void};
use kernel::prelude::*;
use kernel::sync::atomic::{Atomic, Relaxed};
use kernel::sync::Arc;
use kernel::types::ForeignOwnable;

/// What a [`RecvProbe`] tells: a task read from a TCP or UDP socket.
pub(crate) trait ReadObserver: Send + Sync + 'static {
    /// Whether [`ReadObserver::read`] is to be called for the read under
    /// way from a socket whose local port `local_port` tells (0 for a
    /// socket that is not TCP or UDP): asked first, on every read, so it
    /// must be cheap, and call `local_port` only if it needs the port.
    fn wants_read(&self, local_port: impl FnOnce() -> u16) -> bool {
        local_port() != 0
    }

    /// The current task read (successfully) from the socket `id`. Called
    /// with preemption disabled: must not sleep.
    fn read(&self, id: &SocketId);
}

/// Whether the current context is a task's own (not an interrupt, softirq
/// or a section with bottom halves disabled).
pub(crate) fn in_process_context() -> bool {
    // SAFETY: No preconditions.
    unsafe { ffi::netatop_in_process_context() }
}

/// Set while a [`RecvProbe`] exists; the C side keeps one tracepoint.
static REGISTERED: Atomic<bool> = Atomic::new(false);

/// The probe, registered with an observer.
///
/// # Invariants
///
/// While this value lives, `probe::<T>` is registered on the tracepoint
/// with `data`, a pointer from `Arc::<T>::into_foreign`, and `REGISTERED`
/// is set.
pub(crate) struct RecvProbe<T: ReadObserver> {
    data: *mut c_void,
    _observer: PhantomData<Arc<T>>,
}

// SAFETY: The registration is a handle; the observer is `Send + Sync`.
unsafe impl<T: ReadObserver> Send for RecvProbe<T> {}

// SAFETY: `&RecvProbe` offers no methods.
unsafe impl<T: ReadObserver> Sync for RecvProbe<T> {}

impl<T: ReadObserver> RecvProbe<T> {
    /// Registers `observer`. `ENOENT` if this kernel has no such
    /// tracepoint (built without `CONFIG_TRACEPOINTS`); one probe at a
    /// time (`EBUSY`).
    pub(crate) fn new(observer: Arc<T>) -> Result<Self> {
        if REGISTERED.xchg(true, Relaxed) {
            return Err(EBUSY);
        }
        let data = observer.into_foreign();
        // SAFETY: `probe::<T>` expects exactly this `data`.
        let ret = unsafe { ffi::netatop_recv_probe_register(probe::<T>, data) };
        if ret < 0 {
            // SAFETY: Registration failed, no probe call refers to `data`.
            drop(unsafe { Arc::<T>::from_foreign(data) });
            REGISTERED.store(false, Relaxed);
            return Err(Error::from_errno(ret));
        }
        // INVARIANT: Registered above with `data`; `REGISTERED` is set.
        Ok(Self {
            data,
            _observer: PhantomData,
        })
    }
}

impl<T: ReadObserver> Drop for RecvProbe<T> {
    fn drop(&mut self) {
        // SAFETY: Registered with these arguments by the type invariant;
        // the call waits until no probe call runs (may sleep: `drop` runs
        // in process context).
        unsafe { ffi::netatop_recv_probe_unregister(probe::<T>, self.data) };
        // SAFETY: No probe call can use `data` any more; it came from
        // `into_foreign` in `new`.
        drop(unsafe { Arc::<T>::from_foreign(self.data) });
        REGISTERED.store(false, Relaxed);
    }
}

/// # Safety
///
/// Called by the tracepoint with the data of a live [`RecvProbe<T>`] and
/// the socket read from, valid for the duration of the call.
unsafe extern "C" fn probe<T: ReadObserver>(
    data: *mut c_void,
    sk: *mut bindings::sock,
    ret: c_int,
    _flags: c_int,
) {
    // SAFETY: `data` came from `Arc::<T>::into_foreign` and stays alive
    // until the probe is unregistered and no call of it runs.
    let observer = unsafe { Arc::<T>::borrow(data) };
    // SAFETY: `sk` is valid for this call (the function's precondition).
    if ret < 0 || !observer.wants_read(|| unsafe { ffi::netatop_sock_local_port(sk) }) {
        return;
    }
    let mut raw = ffi::SockId::default();
    // SAFETY: `sk` is valid for this call (the function's precondition);
    // `raw` is a writable `struct netatop_sock_id`.
    if !unsafe { ffi::netatop_sock_id(sk, &mut raw) } {
        return;
    }
    let id = SocketId {
        net: raw.net,
        tcp: raw.tcp,
        ipv6: raw.ipv6,
        v4_too: raw.v4_too,
        local_port: u16::from_be(raw.local_port),
        remote_port: u16::from_be(raw.remote_port),
        local: raw.local,
        remote: raw.remote,
    };
    observer.read(&id);
}
