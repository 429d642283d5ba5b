// SPDX-License-Identifier: GPL-2.0

//! What user space reads of the state: a task's counters for the
//! getsockopt commands, and the totals of `/proc/netatop`.

#![forbid(unsafe_code)]

use super::State;
use crate::logic::key::TaskKind;
use crate::logic::procfs::Snapshot;
use crate::logic::record::TaskRecord;
use crate::tasks;
use crate::wrap::proc_entry;
use kernel::seq_file::SeqFile;

impl State {
    /// The counters of task `id`: of the task that has that id now, never
    /// those of an earlier one that had it (a reused pid); of the newest
    /// record if no task has it any more.
    pub(crate) fn lookup(&self, id: i32, kind: TaskKind) -> Option<TaskRecord> {
        let now = tasks::start_of(id);
        let bucket = self.tasks.lock(self.task_hash(id, kind));
        let newest = bucket
            .iter()
            .map(|(t, ())| t)
            .filter(|t| t.id == id && t.kind == kind && now.is_none_or(|s| t.start == s))
            .max_by_key(|t| t.start)
            .map(|t| t.get());
        newest
    }
}

impl proc_entry::Show for State {
    fn show(&self, m: &SeqFile) {
        let snapshot = Snapshot {
            sockinfo: self.socks.count() as u64,
            sockinfo_overflow: self.socks.overflow(),
            taskinfo: self.tasks.count() as u64,
            taskinfo_overflow: self.tasks.overflow(),
            taskexit: self.exits.len() as u64,
            unowned: self.unowned.count() as u64,
            unowned_refused: self.unowned.refused(),
            unowned_replaced: self.unowned.replaced(),
            sockmem: self.socks.budget().held() as u64,
            sockmem_bound: self.socks.budget().limit() as u64,
            taskmem: self.tasks.budget().held() as u64,
            taskmem_bound: self.tasks.budget().limit() as u64,
            ..self.stats.snapshot()
        };
        m.call_printf(format_args!("{}", snapshot));
    }
}
