// SPDX-License-Identifier: GPL-2.0

//! The module's state, reachable from callbacks that get no context
//! pointer (netfilter's getsockopt), for as long as a [`Published`] lives.

use crate::state::State;
use kernel::prelude::*;
use kernel::sync::atomic::{Acquire, Atomic, Relaxed, Release};
use kernel::sync::Arc;

kernel::sync::global_lock! {
    // SAFETY: `Published::new` initialises it once, before `READY` is set,
    // and nothing uses it before `READY` is set.
    unsafe(uninit) static INSTANCE: SpinLock<Option<Arc<State>>> = None;
}

/// `INSTANCE` is not initialised.
const UNINIT: i32 = 0;
/// `INSTANCE` is being initialised.
const INITIALISING: i32 = 1;
/// `INSTANCE` is initialised and may be used.
const READY: i32 = 2;

/// Where `INSTANCE` is in its one initialisation per module load.
static INIT: Atomic<i32> = Atomic::new(UNINIT);

/// Makes the state reachable from the getsockopt handler for as long as
/// this value lives.
///
/// # Invariants
///
/// While a `Published` lives, `INIT` is `READY` and `INSTANCE` holds its
/// state.
pub(crate) struct Published(());

impl Published {
    /// Publishes `state`. Only one state can be published at a time
    /// (`EBUSY`).
    pub(crate) fn new(state: Arc<State>) -> Result<Self> {
        match INIT.cmpxchg(UNINIT, INITIALISING, Relaxed) {
            Ok(_) => {
                // SAFETY: Only the caller that moved `INIT` from `UNINIT`
                // gets here, once per load, and nobody uses `INSTANCE`
                // before `READY` is stored below.
                unsafe { INSTANCE.init() };
                INIT.store(READY, Release);
            }
            Err(READY) => {}
            Err(_) => return Err(EBUSY),
        }
        let mut instance = INSTANCE.lock();
        if instance.is_some() {
            return Err(EBUSY);
        }
        *instance = Some(state);
        // INVARIANT: `INIT` is `READY` and the state is stored.
        Ok(Published(()))
    }
}

impl Drop for Published {
    fn drop(&mut self) {
        // Taken out under the spinlock, dropped after it: the last
        // reference frees the tables, which may sleep (vfree).
        let state = INSTANCE.lock().take();
        drop(state);
    }
}

/// The published state, if the module is serving requests.
pub(crate) fn current() -> Option<Arc<State>> {
    if INIT.load(Acquire) != READY {
        return None;
    }
    INSTANCE.lock().clone()
}
