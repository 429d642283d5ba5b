// SPDX-License-Identifier: GPL-2.0

//! Netfilter getsockopt registration.
//!
//! C header: [`include/linux/netfilter.h`](srctree/include/linux/netfilter.h)
//!
//! A [`Registration`] hands a range of IPv4 `getsockopt()` option numbers
//! to a [`GetSockopt`] handler for as long as it lives. Netfilter holds a
//! reference on the owning module while a handler runs, so the module
//! cannot be unloaded under a caller (even one that sleeps).
//!
//! Netfilter calls a handler without a context pointer: the handler's
//! context is kept in one slot per module, so a module registers at most
//! one range at a time (`EBUSY` otherwise). A call takes its own reference
//! on the context, so a call in progress keeps it alive after the
//! registration is gone.

use super::ffi;
use core::marker::PhantomData;
use core::ops::Range;
use core::ptr::NonNull;
use kernel::bindings;
use kernel::error::to_result;
use kernel::ffi::{c_int, c_void};
use kernel::prelude::*;
use kernel::sync::atomic::{Acquire, Atomic, Relaxed, Release};
use kernel::sync::Arc;
use kernel::types::ForeignOwnable;
use kernel::uaccess::UserPtr;

/// The context of the registered handler: a pointer from
/// `Arc::<T>::into_foreign` for the `T` of the one live [`Registration`].
struct Context(*mut c_void);

// SAFETY: The pointer stands for an `Arc<T>` of a `T: Send + Sync`.
unsafe impl Send for Context {}

kernel::sync::global_lock! {
    // SAFETY: `Registration::new` initialises it once, before `READY` is
    // set, and nothing uses it before `READY` is set.
    unsafe(uninit) static CONTEXT: SpinLock<Option<Context>> = None;
}

/// `CONTEXT` is not initialised.
const UNINIT: i32 = 0;
/// `CONTEXT` is being initialised.
const INITIALISING: i32 = 1;
/// `CONTEXT` is initialised and may be used.
const READY: i32 = 2;

/// Where `CONTEXT` is in its one initialisation per module load.
static INIT: Atomic<i32> = Atomic::new(UNINIT);

/// A handler for a range of getsockopt commands.
pub(crate) trait GetSockopt: Send + Sync + 'static {
    /// Handles command `cmd` for a caller whose buffer is `buf` and whose
    /// `*optlen` is `len`; the handler sets `len` to the number of bytes it
    /// returns.
    ///
    /// Runs in process context and may sleep.
    fn get(&self, cmd: c_int, buf: UserPtr, len: &mut c_int) -> Result;
}

/// A registered range of IPv4 getsockopt commands.
///
/// # Invariants
///
/// `ops` points to a `struct nf_sockopt_ops` allocated by
/// `netatop_sockopt_ops_new` and registered with `nf_register_sockopt`;
/// it stays registered, and allocated, until `drop`. While the value
/// lives, `INIT` is `READY` and `CONTEXT` holds the handler, an `Arc<T>`.
pub(crate) struct Registration<T: GetSockopt> {
    ops: NonNull<ffi::NfSockoptOps>,
    _handler: PhantomData<Arc<T>>,
}

// SAFETY: The registration is only a handle; netfilter serialises its list
// with its own mutex, so it may be dropped from any thread.
unsafe impl<T: GetSockopt> Send for Registration<T> {}

// SAFETY: `&Registration` offers no methods.
unsafe impl<T: GetSockopt> Sync for Registration<T> {}

impl<T: GetSockopt> Registration<T> {
    /// Registers `range` (end exclusive) of `SOL_IP` getsockopt commands, owned
    /// by `module`, for `handler`.
    ///
    /// Fails with `EBUSY` if another owner has an overlapping range, or this
    /// module a registration.
    pub(crate) fn new(
        range: Range<c_int>,
        module: &'static ThisModule,
        handler: Arc<T>,
    ) -> Result<Self> {
        match INIT.cmpxchg(UNINIT, INITIALISING, Relaxed) {
            Ok(_) => {
                // SAFETY: Only the caller that moved `INIT` from `UNINIT`
                // gets here, once per load, and nobody uses `CONTEXT`
                // before `READY` is stored below.
                unsafe { CONTEXT.init() };
                INIT.store(READY, Release);
            }
            Err(READY) => {}
            Err(_) => return Err(EBUSY),
        }
        {
            let mut context = CONTEXT.lock();
            if context.is_some() {
                return Err(EBUSY);
            }
            *context = Some(Context(handler.into_foreign()));
        }
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
        let registered = match NonNull::new(ops) {
            None => Err(ENOMEM),
            // SAFETY: `ops` is a fully initialised, unregistered
            // `nf_sockopt_ops`.
            Some(ops) => match to_result(unsafe { ffi::nf_register_sockopt(ops.as_ptr()) }) {
                Ok(()) => Ok(ops),
                Err(e) => {
                    // SAFETY: Allocated above with kzalloc and never
                    // registered.
                    unsafe { bindings::kfree(ops.as_ptr().cast()) };
                    Err(e)
                }
            },
        };
        match registered {
            // INVARIANT: `ops` was allocated and registered above, and
            // `CONTEXT` holds the handler.
            Ok(ops) => Ok(Self {
                ops,
                _handler: PhantomData,
            }),
            Err(e) => {
                // SAFETY: `CONTEXT` holds the `Arc<T>` stored above.
                unsafe { Self::unpublish() };
                Err(e)
            }
        }
    }

    /// Takes the handler out of `CONTEXT` and drops the reference it held.
    ///
    /// # Safety
    ///
    /// `CONTEXT` was initialised, and what it holds is an `Arc<T>`.
    unsafe fn unpublish() {
        // Taken out under the spinlock, dropped after it: the last
        // reference may free what may only be freed where one can sleep.
        let context = CONTEXT.lock().take();
        if let Some(Context(ptr)) = context {
            // SAFETY: `ptr` came from `Arc::<T>::into_foreign` (the
            // function's safety requirements), and is no longer reachable
            // through `CONTEXT`.
            drop(unsafe { Arc::<T>::from_foreign(ptr) });
        }
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
        // SAFETY: By the type invariant `CONTEXT` holds this
        // registration's handler, an `Arc<T>`. A call still in progress
        // holds its own reference.
        unsafe { Self::unpublish() };
    }
}

/// The handler of the registration, if one is registered: its own
/// reference, which the call keeps while it runs.
///
/// # Safety
///
/// Only `get_callback::<T>` of a [`Registration<T>`] calls it: `CONTEXT`,
/// if it holds a handler, holds an `Arc<T>`.
unsafe fn handler<T: GetSockopt>() -> Option<Arc<T>> {
    if INIT.load(Acquire) != READY {
        return None;
    }
    let context = CONTEXT.lock();
    let ptr = context.as_ref()?.0;
    // SAFETY: `ptr` came from `Arc::<T>::into_foreign` (the function's
    // safety requirements) and stays valid while `CONTEXT` holds it, which
    // it does while the lock is held.
    let borrowed = unsafe { Arc::<T>::borrow(ptr) };
    Some(borrowed.into())
}

/// The `get` callback netfilter calls for a command in the range.
///
/// # Safety
///
/// Called by `nf_getsockopt` for the `ops` of a live or just unregistered
/// [`Registration<T>`], with `len` pointing to the kernel's copy of the
/// caller's option length, and `user` the caller's buffer.
unsafe extern "C" fn get_callback<T: GetSockopt>(
    _sk: *mut bindings::sock,
    cmd: c_int,
    user: *mut c_void,
    len: *mut c_int,
) -> c_int {
    // SAFETY: Registered by `Registration<T>`, whose handler, if still
    // there, is an `Arc<T>`.
    let Some(handler) = (unsafe { handler::<T>() }) else {
        return -(bindings::ENOPROTOOPT as c_int);
    };
    // SAFETY: `len` is valid and exclusively ours for the call, as the
    // function's safety requirements say.
    let len = unsafe { &mut *len };
    match handler.get(cmd, UserPtr::from_ptr(user), len) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}
