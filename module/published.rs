// SPDX-License-Identifier: GPL-2.0

//! The module's state, reachable from callbacks that get no context
//! pointer (netfilter's getsockopt), for as long as a [`Published`] lives.

use crate::state::State;
use kernel::prelude::*;
use kernel::sync::Arc;

kernel::sync::global_lock! {
    // SAFETY: Initialised by `Published::new` before first use.
    unsafe(uninit) static INSTANCE: SpinLock<Option<Arc<State>>> = None;
}

/// Makes the state reachable from the getsockopt handler for as long as
/// this value lives.
pub(crate) struct Published;

impl Published {
    /// Publishes `state`; called once per module load.
    pub(crate) fn new(state: Arc<State>) -> Self {
        // SAFETY: Called once per load, from module init, before the
        // sockopt handler that uses `INSTANCE` is registered.
        unsafe { INSTANCE.init() };
        *INSTANCE.lock() = Some(state);
        Published
    }
}

impl Drop for Published {
    fn drop(&mut self) {
        *INSTANCE.lock() = None;
    }
}

/// The published state, if the module is serving requests.
pub(crate) fn current() -> Option<Arc<State>> {
    INSTANCE.lock().clone()
}
