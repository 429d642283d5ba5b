// SPDX-License-Identifier: GPL-2.0

//! netatop: per-process and per-thread TCP and UDP counters for atop.
//!
//! Netfilter hooks see every packet a local socket sends or receives, in
//! every network namespace, over IPv4 and IPv6, and charge it to the task
//! that owns the socket (`state`). User space (atop, netatopd) reads the
//! counters through getsockopt commands on an IPv4 socket (`control`,
//! `include/netatop.h`); `/proc/netatop` shows module-wide totals; the
//! `knetatop` thread collects garbage every 15 seconds.
//!
//! Layout: the driver is this crate root and the files beside it. The
//! shared `state` and what each part does to it are in `state/`: the
//! packet path (`packets`), charging owners (`charge`), binding readers
//! (`readers`), garbage collection (`gc`), what user space reads
//! (`report`). Beside it: the record `table`, the task records (`owners`),
//! the exit list (`exits`), the getsockopt commands (`control`). `logic/`
//! is pure logic, also a host crate: table keys and their hash (`key`),
//! records and attribution (`record`), wire bytes (`wire`), the GC policy
//! (`gc`), the exit protocol's rules (`exits`), header parsing, the ABI.
//! `wrap/` holds the safe abstractions over kernel facilities the kernel
//! crate lacks, and all of the module's `unsafe` code. The driver and the
//! logic forbid `unsafe`; they reach C only through `wrap`.

mod control;
mod exits;
mod hash_key;
#[cfg(netatop_kunit)]
mod kunit;
mod logic;
mod owners;
mod quota;
mod state;
mod stats;
mod table;
mod tasks;
mod wrap;

use kernel::ffi::c_int;
use kernel::prelude::*;
use kernel::sync::Arc;
use logic::{abi, procfs};
use wrap::{exit_probe, kthread, nf_hook, nf_sockopt, param, proc_entry, recv_probe};

module! {
    type: NetatopModule,
    name: "netatop",
    authors: ["The netatop developers"],
    description: "Per-process and per-thread network counters for atop",
    license: "GPL",
    params: {
        sockmem: usize {
            default: 32 << 20,
            description: "Memory bound for socket records in bytes (default 32 MiB)",
        },
        taskmem: usize {
            default: 4 << 20,
            description: "Memory bound for task records in bytes (default 4 MiB)",
        },
        readers: u8 {
            default: 1,
            description: "Charge a socket nobody owns to the task that reads it: 1 (default) or 0",
        },
    },
}

/// Hook priority: right after connection tracking's defragmentation, so a
/// packet is seen whole where the stack reassembles it, and before any filter
/// table can drop it.
///
/// One priority serves both families.
const HOOK_PRIORITY: c_int = nf_hook::NF_IP_PRI_CONNTRACK_DEFRAG + 1;
const _: () = assert!(nf_hook::NF_IP_PRI_CONNTRACK_DEFRAG == nf_hook::NF_IP6_PRI_CONNTRACK_DEFRAG);

/// What the module does without its probe on socket reads (`readers=0`,
/// or a kernel without tracepoints).
const WITHOUT_READS: &str = "sockets are charged once they send";

/// Permissions of `/proc/netatop`.
const PROC_MODE: u16 = 0o444;

struct NetatopModule {
    // Fields are dropped in declaration order, which is the teardown
    // order: first the entry points from user space, then the garbage
    // collector and the hooks, and only then the state they share.
    _sockopt: nf_sockopt::Registration<control::Control>,
    _proc: proc_entry::ProcEntry<state::State>,
    _gc: kthread::KThread<state::State>,
    /// `None` with `readers=0`, or in a kernel without tracepoints:
    /// receive-only sockets are then charged only once they send.
    _reads: Option<recv_probe::Probe<state::State>>,
    /// `None` in a kernel without tracepoints: a forced collection then
    /// cannot tell processes that exited after its request.
    _exits: Option<exit_probe::Probe<state::State>>,
    _hooks: nf_hook::Registration<state::State>,
}

impl kernel::Module for NetatopModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let readers = match param::get(module_parameters::readers.value()) {
            0 => false,
            1 => true,
            n => {
                pr_err!("readers={}: must be 0 or 1\n", n);
                return Err(EINVAL);
            }
        };
        let state = Arc::pin_init(
            state::State::new(
                param::get(module_parameters::sockmem.value()),
                param::get(module_parameters::taskmem.value()),
            )?,
            GFP_KERNEL,
        )?;
        let sizes = state.sizes();
        let hooks = nf_hook::Registration::new(state.clone(), HOOK_PRIORITY)?;
        let reads = if readers {
            optional(
                recv_probe::register(state.clone()),
                "socket reads",
                WITHOUT_READS,
            )
        } else {
            pr_info!("readers=0: {}\n", WITHOUT_READS);
            None
        };
        let exits = optional(
            exit_probe::register(state.clone()),
            "process exits",
            "atop may miss a process that exits while it samples",
        );
        let gc = kthread::KThread::run(c"knetatop", state.clone())?;
        let proc = proc_entry::ProcEntry::new(c"netatop", PROC_MODE, state.clone())?;
        let sockopt = nf_sockopt::Registration::new(
            abi::NETATOP_BASE_CTL..abi::NETATOP_CTL_END,
            module,
            Arc::new(control::Control { state }, GFP_KERNEL)?,
        )?;
        pr_info!(
            "netatop {} loaded: {} bytes for sockets ({} buckets), {} for tasks ({} buckets)\n",
            procfs::MODVERSION,
            sizes.sock_bytes,
            sizes.sock_buckets,
            sizes.task_bytes,
            sizes.task_buckets
        );
        Ok(NetatopModule {
            _sockopt: sockopt,
            _proc: proc,
            _gc: gc,
            _reads: reads,
            _exits: exits,
            _hooks: hooks,
        })
    }
}

/// A probe that the module works without, on a kernel that lacks its
/// tracepoint: `None` then, with a warning that says what is missed.
fn optional<T>(probe: Result<T>, on: &str, without: &str) -> Option<T> {
    probe
        .inspect_err(|e| pr_warn!("no probe on {} (error {}): {}\n", on, e.to_errno(), without))
        .ok()
}
