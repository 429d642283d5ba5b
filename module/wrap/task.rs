// SPDX-License-Identifier: GPL-2.0

//! Tasks: the ids and start times of the current task, its comm, a task
//! looked up by id, and the boot time.
//!
//! Ids are those of the initial pid namespace; start times are
//! nanoseconds since boot (`start_boottime`).

use super::{constants, ffi};
use kernel::ffi::c_char;

/// The length of a task's comm, with its NUL (`TASK_COMM_LEN`).
pub(crate) const COMM_LEN: usize = constants::TASK_COMM_LEN;

/// The current task: its thread group and its own id, and their start
/// times (that of the group leader for the group).
pub(crate) type Ids = ffi::TaskIds;

/// The ids of the current task.
pub(crate) fn current_ids() -> Ids {
    let mut ids = Ids::default();
    // SAFETY: `ids` is valid for writes; the function only reads the
    // current task.
    unsafe { ffi::netatop_current_ids(&mut ids) };
    ids
}

/// The comm of the current thread, or of its thread group leader if
/// `leader`.
pub(crate) fn current_comm(leader: bool) -> [u8; COMM_LEN] {
    let mut comm = [0u8; COMM_LEN];
    // SAFETY: `comm` is valid for writes of `comm.len()` bytes, the most
    // the function writes.
    unsafe { ffi::netatop_current_comm(comm.as_mut_ptr().cast::<c_char>(), comm.len(), leader) };
    comm
}

/// What [`find`] tells of a task.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Found {
    /// Its start time.
    pub(crate) start: u64,
    /// Its whole thread group has exited.
    pub(crate) group_dead: bool,
    /// The task itself is exiting.
    pub(crate) exiting: bool,
}

/// The task that has id `id` now, if any.
pub(crate) fn find(id: i32) -> Option<Found> {
    let (mut start, mut group_dead, mut exiting) = (0, false, false);
    // SAFETY: All pointers are valid for writes; the lookup is done under
    // RCU inside the function.
    let ret = unsafe { ffi::netatop_task_probe(id, &mut start, &mut group_dead, &mut exiting) };
    (ret == 0).then_some(Found {
        start,
        group_dead,
        exiting,
    })
}

/// The epoch second of boot (`btime` of /proc/stat).
pub(crate) fn boot_seconds() -> u64 {
    // SAFETY: No preconditions.
    let s = unsafe { ffi::netatop_boottime_seconds() };
    u64::try_from(s).unwrap_or(0)
}
