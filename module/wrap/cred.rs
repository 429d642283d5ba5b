// SPDX-License-Identifier: GPL-2.0

//! Capability checks on the current task.

use kernel::bindings;

/// Whether the current task has CAP_NET_ADMIN in the initial user namespace
/// (the counters cover every namespace, so a namespace's own administrator is
/// not enough).
///
/// Records the check for auditing.
pub(crate) fn capable_net_admin() -> bool {
    // SAFETY: `capable` only inspects the current task's credentials.
    unsafe { bindings::capable(bindings::CAP_NET_ADMIN as i32) }
}
