// SPDX-License-Identifier: GPL-2.0

//! A probe on reads from sockets: the tracepoint `sock:sock_recv_length`,
//! which the receive path shared by `recv`, `recvfrom`, `recvmsg`,
//! `recvmmsg` and `read` fires in the reader's context, after the read.
//!
//! Registered through [`super::tracepoint`].

use super::ffi;
pub(crate) use super::tracepoint::Probe;
use kernel::bindings;
use kernel::ffi::{c_int, c_void};
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};
use kernel::types::ForeignOwnable;

/// A TCP or UDP socket over IPv4 or IPv6, as the kernel describes it:
/// addresses and ports as on the wire (an IPv4 address in the first four
/// bytes), ports in host order.
#[derive(Clone, Copy, Debug)]
pub(crate) struct InetSocket {
    /// The cookie of its network namespace.
    pub(crate) net: u64,
    /// TCP, or else UDP.
    pub(crate) tcp: bool,
    /// Its packets are IPv6 (an IPv6 socket connected to an IPv4-mapped
    /// address sends IPv4 packets: false).
    pub(crate) ipv6: bool,
    /// An IPv6 socket bound to any address that also takes IPv4.
    pub(crate) v4_too: bool,
    pub(crate) local_port: u16,
    pub(crate) remote_port: u16,
    pub(crate) local: [u8; 16],
    pub(crate) remote: [u8; 16],
}

/// What a probe registered with [`register`] tells: a task read from a TCP or UDP socket.
pub(crate) trait ReadObserver: Send + Sync + 'static {
    /// Whether any read may be wanted now: asked first, on every read, so
    /// it must be cheap; if not, the read is left at that.
    fn wants_reads(&self) -> bool {
        true
    }

    /// Whether [`ReadObserver::read`] is to be called for the read under
    /// way from a socket whose local port `local_port` tells (0 for a
    /// socket that is not TCP or UDP): asked next, so it should call
    /// `local_port` only if it needs the port.
    fn wants_read(&self, local_port: impl FnOnce() -> u16) -> bool {
        local_port() != 0
    }

    /// The current task read (successfully) from the socket `sk`.
    ///
    /// Called with preemption disabled: must not sleep.
    fn read(&self, sk: &InetSocket);
}

/// Registers `observer` on `sock_recv_length`.
///
/// `ENOENT` if this kernel has no such tracepoint (built without
/// `CONFIG_TRACEPOINTS`).
pub(crate) fn register<T: ReadObserver>(observer: Arc<T>) -> Result<Probe<T>> {
    let f: ProbeFn = probe::<T>;
    // CAST: The tracepoint keeps its probes as untyped pointers and calls
    // them through its own prototype.
    // SAFETY: `probe::<T>` has that prototype, takes its data as an
    // `Arc<T>` and may be called wherever the tracepoint fires.
    unsafe { Probe::register(c"sock_recv_length", f as *mut c_void, observer) }
}

/// The prototype of `sock:sock_recv_length`'s probes.
type ProbeFn = unsafe extern "C" fn(*mut c_void, *mut bindings::sock, c_int, c_int);

/// # Safety
///
/// Called by the tracepoint with the data of a live probe of [`register`] and
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
    if ret >= 0 && observer.wants_reads() {
        // SAFETY: `sk` is valid for this call (the function's
        // precondition).
        unsafe { read::<T>(observer, sk) };
    }
}

/// A read at a time [`ReadObserver::wants_reads`]: out of line, so that
/// the probe's common way, which only asks that, saves and restores no
/// registers.
///
/// # Safety
///
/// `sk` is the socket read from, valid for the duration of the call.
#[inline(never)]
unsafe fn read<T: ReadObserver>(observer: ArcBorrow<'_, T>, sk: *mut bindings::sock) {
    // SAFETY: `sk` is valid for this call (the function's precondition).
    if !observer.wants_read(|| unsafe { ffi::netatop_sock_local_port(sk) }) {
        return;
    }
    let mut raw = ffi::SockId::default();
    // SAFETY: `sk` is valid for this call (the function's precondition);
    // `raw` is a writable `struct netatop_sock_id`.
    if !unsafe { ffi::netatop_sock_id(sk, &mut raw) } {
        return;
    }
    let sk = InetSocket {
        net: raw.net,
        tcp: raw.tcp,
        ipv6: raw.ipv6,
        v4_too: raw.v4_too,
        local_port: u16::from_be(raw.local_port),
        remote_port: u16::from_be(raw.remote_port),
        local: raw.local,
        remote: raw.remote,
    };
    observer.read(&sk);
}
