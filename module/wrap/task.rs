// SPDX-License-Identifier: GPL-2.0

//! What the accounting needs to know about tasks: who the current task
//! is, and whether a task recorded earlier still runs.
//!
//! Ids are those of the initial pid namespace; a task is identified by its
//! id together with its start time, so a reused pid is a different task.

use super::{constants, ffi};
use crate::logic::abi::COMLEN;
use crate::logic::account::{Owner, TaskKind};
use kernel::ffi::c_char;

/// The current task as a socket owner.
pub(crate) fn current_owner() -> Owner {
    let (mut tgid, mut tid, mut process_start, mut thread_start) = (0, 0, 0, 0);
    // SAFETY: All pointers are valid for writes; the function only reads
    // the current task.
    unsafe { ffi::netatop_current_ids(&mut tgid, &mut tid, &mut process_start, &mut thread_start) };
    Owner {
        tgid,
        tid,
        process_start,
        thread_start,
    }
}

// atop's command field holds a whole comm of this kernel.
const _: () = assert!(COMLEN == constants::TASK_COMM_LEN);

/// The comm of the current thread, or of its thread group leader for a
/// process record.
pub(crate) fn current_comm(kind: TaskKind) -> [u8; COMLEN] {
    let mut comm = [0u8; COMLEN];
    // SAFETY: `comm` is valid for writes of `comm.len()` bytes, the most
    // the function writes.
    unsafe {
        ffi::netatop_current_comm(
            comm.as_mut_ptr().cast::<c_char>(),
            comm.len(),
            kind == TaskKind::Process,
        )
    };
    comm
}

/// Whether the task `id` started at `start` (ns since boot) is still
/// running: for a process, whether any of its threads lives.
pub(crate) fn alive(id: i32, kind: TaskKind, start: u64) -> bool {
    let (mut found_start, mut group_dead, mut exiting) = (0, false, false);
    // SAFETY: All pointers are valid for writes; the lookup is done under
    // RCU inside the function.
    let ret =
        unsafe { ffi::netatop_task_probe(id, &mut found_start, &mut group_dead, &mut exiting) };
    ret == 0
        && found_start == start
        && match kind {
            TaskKind::Process => !group_dead,
            TaskKind::Thread => !exiting,
        }
}

/// The start time (ns since boot) of the task that has id `id` now, if
/// any.
pub(crate) fn start_of(id: i32) -> Option<u64> {
    let (mut start, mut group_dead, mut exiting) = (0, false, false);
    // SAFETY: All pointers are valid for writes; the lookup is done under
    // RCU inside the function.
    let ret = unsafe { ffi::netatop_task_probe(id, &mut start, &mut group_dead, &mut exiting) };
    (ret == 0).then_some(start)
}

/// The epoch second of boot (`btime` of /proc/stat).
pub(crate) fn boot_seconds() -> u64 {
    // SAFETY: No preconditions.
    let s = unsafe { ffi::netatop_boottime_seconds() };
    u64::try_from(s).unwrap_or(0)
}
