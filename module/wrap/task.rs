// SPDX-License-Identifier: GPL-2.0

//! Tasks: the ids and start times of the current task, whether the
//! caller runs on its behalf, its comm, a task looked up by id, and the
//! boot time.
//!
//! C header: [`include/linux/sched.h`](srctree/include/linux/sched.h)
//!
//! Ids are those of the initial pid namespace; start times are
//! nanoseconds since boot (`start_boottime`).

#[cfg(all(CONFIG_X86_64, CONFIG_SMP, not(CONFIG_PREEMPT_RT)))]
use super::fields;
use super::{constants, ffi};
use kernel::ffi::c_char;

/// The length of a task's comm, with its NUL (`TASK_COMM_LEN`).
pub(crate) const COMM_LEN: usize = constants::TASK_COMM_LEN;

/// The current task: its thread group and its own id, and their start
/// times (that of the group leader for the group).
pub(crate) type Ids = ffi::TaskIds;

/// The ids of the current task.
#[inline(always)]
pub(crate) fn current_ids() -> Ids {
    current::ids()
}

/// Whether the caller runs on behalf of the current task: not in a
/// hardirq, softirq or NMI, nor in a section with bottom halves disabled,
/// where threaded NAPI, backlog threads and busy polling handle packets
/// of other tasks' sockets (`!in_interrupt()`).
#[inline(always)]
pub(crate) fn in_process_context() -> bool {
    !current::in_interrupt()
}

/// The ids of the current task if the caller runs on its behalf, as
/// [`in_process_context`] decides.
#[inline(always)]
pub(crate) fn current_in_process_context() -> Option<Ids> {
    in_process_context().then(current_ids)
}

#[cfg(all(CONFIG_X86_64, CONFIG_SMP, not(CONFIG_PREEMPT_RT)))]
use per_cpu as current;

#[cfg(not(all(CONFIG_X86_64, CONFIG_SMP, not(CONFIG_PREEMPT_RT))))]
use by_call as current;

/// The current task and the preempt count on x86-64, where both are
/// per-CPU variables the kernel exports: one load each, inline, where
/// `current` and `in_interrupt()` would be a call into C. (Not on
/// PREEMPT_RT, where `in_interrupt()` reads the task, not the count.)
#[cfg(all(CONFIG_X86_64, CONFIG_SMP, not(CONFIG_PREEMPT_RT)))]
mod per_cpu {
    use super::{constants, fields::field, Ids};
    use kernel::bindings;
    use kernel::ffi::c_void;

    /// `in_interrupt()`.
    #[inline(always)]
    pub(super) fn in_interrupt() -> bool {
        let count: u32;
        // SAFETY: `__preempt_count` is a per-CPU `int`, so `%gs` maps its
        // address to this CPU's copy: one aligned load, as
        // `raw_cpu_read_4()`. The count is the task's: it moves with the
        // task from CPU to CPU.
        unsafe {
            core::arch::asm!(
                "mov {c:e}, dword ptr gs:[{p}]",
                p = in(reg) &raw const bindings::__preempt_count,
                c = out(reg) count,
                options(nostack, readonly, preserves_flags),
            )
        };
        count & constants::IN_INTERRUPT_MASK != 0
    }

    /// The ids of `current`.
    #[inline(always)]
    pub(super) fn ids() -> Ids {
        let task: *const c_void;
        // SAFETY: `current_task` is a per-CPU pointer, loaded as above; it
        // is the task running on this CPU, the caller, on whatever CPU the
        // caller then runs (`this_cpu_read_stable()`).
        unsafe {
            core::arch::asm!(
                "mov {t}, qword ptr gs:[{p}]",
                p = in(reg) &raw const bindings::current_task,
                t = out(reg) task,
                options(nostack, readonly, preserves_flags),
            )
        };
        // SAFETY: `task` is the current task, which lives while it runs,
        // and so does its group leader. None of the fields read changes
        // while the task runs but `group_leader`, which only this task's
        // own `exec` changes.
        unsafe {
            let leader = field::<*const c_void>(task, constants::TASK_GROUP_LEADER);
            Ids {
                process_start: field(leader, constants::TASK_START_BOOTTIME),
                thread_start: field(task, constants::TASK_START_BOOTTIME),
                tgid: field(task, constants::TASK_TGID),
                tid: field(task, constants::TASK_PID),
            }
        }
    }
}

/// The current task and the interrupt context, from the C side.
#[cfg(not(all(CONFIG_X86_64, CONFIG_SMP, not(CONFIG_PREEMPT_RT))))]
mod by_call {
    use super::{ffi, Ids};

    /// `in_interrupt()`.
    pub(super) fn in_interrupt() -> bool {
        // SAFETY: No preconditions.
        !unsafe { ffi::netatop_in_process_context() }
    }

    /// The ids of `current`.
    pub(super) fn ids() -> Ids {
        let mut ids = Ids::default();
        // SAFETY: `ids` is valid for writes; the function only reads the
        // current task.
        unsafe { ffi::netatop_current_ids(&mut ids) };
        ids
    }
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
