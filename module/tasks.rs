// SPDX-License-Identifier: GPL-2.0

//! Tasks as the accounting sees them: the current task as a socket owner
//! and its comm, and whether a task recorded earlier still runs.

#![forbid(unsafe_code)]

use crate::logic::abi::COMLEN;
use crate::logic::key::TaskKind;
use crate::logic::record::Owner;
use crate::wrap::task;

// atop's command field holds a whole comm of this kernel.
const _: () = assert!(COMLEN == task::COMM_LEN);

/// The current task as a socket owner.
pub(crate) fn current_owner() -> Owner {
    owner(task::current_ids())
}

/// The task `ids` as a socket owner.
#[inline(always)]
pub(crate) fn owner(ids: task::Ids) -> Owner {
    Owner {
        tgid: ids.tgid,
        tid: ids.tid,
        process_start: ids.process_start,
        thread_start: ids.thread_start,
    }
}

/// The comm of the current thread, or of its process for a process
/// record.
pub(crate) fn current_comm(kind: TaskKind) -> [u8; COMLEN] {
    task::current_comm(kind == TaskKind::Process)
}

/// Whether the task `id` started at `start` is still running: for a
/// process, whether any of its threads lives.
pub(crate) fn alive(id: i32, kind: TaskKind, start: u64) -> bool {
    task::find(id).is_some_and(|t| {
        t.start == start
            && match kind {
                TaskKind::Process => !t.group_dead,
                TaskKind::Thread => !t.exiting,
            }
    })
}

/// The start time of the task that has id `id` now, if any.
pub(crate) fn start_of(id: i32) -> Option<u64> {
    task::find(id).map(|t| t.start)
}
