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
//! Files: wrappers over kernel facilities the kernel crate lacks (all the
//! module's `unsafe` code) are `nf_hook`, `nf_sockopt`, `proc_entry`,
//! `kthread`, `sync`, `task`, `cred`, `clock`, `random`, `published`, with
//! their C helpers in
//! `glue.c` declared in `ffi`. `abi`, `account`, `packet`, `procfs` and
//! `sockopt` are pure logic, also built and tested on the host (`lib.rs`).
//! `state`, `table`, `exits`, `stats` and `control` use both.

// The pure modules are also a library crate on the host (`lib.rs`), hence
// their `pub` items.
#[expect(unreachable_pub)]
mod abi;
#[expect(unreachable_pub)]
mod account;
mod clock;
mod control;
mod cred;
mod exits;
mod ffi;
mod kthread;
mod nf_hook;
mod nf_sockopt;
#[expect(unreachable_pub)]
mod packet;
mod proc_entry;
mod published;
mod random;
#[expect(unreachable_pub)]
mod procfs;
#[expect(unreachable_pub)]
mod sockopt;
mod state;
mod stats;
mod sync;
mod table;
mod task;

use kernel::ffi::c_int;
use kernel::prelude::*;
use kernel::sync::Arc;

module! {
    type: NetatopModule,
    name: "netatop",
    authors: ["The netatop developers"],
    description: "Per-process and per-thread network counters for atop",
    license: "GPL",
    params: {
        sockmem: usize {
            default: 4 << 20,
            description: "Memory bound for socket records in bytes (default 4 MiB)",
        },
        taskmem: usize {
            default: 2 << 20,
            description: "Memory bound for task records in bytes (default 2 MiB)",
        },
    },
}

/// Hook priority: right after connection tracking's defragmentation, so
/// a packet is seen whole where the stack reassembles it, and before any
/// filter table can drop it.
const HOOK_PRIORITY: c_int = -400 + 1;

/// Permissions of `/proc/netatop`.
const PROC_MODE: u16 = 0o444;

struct NetatopModule {
    // Fields are dropped in declaration order, which is the teardown
    // order: first the entry points from user space, then the garbage
    // collector and the hooks, and only then the state they share.
    _sockopt: nf_sockopt::Registration<control::Control>,
    _proc: proc_entry::ProcEntry<state::State>,
    _gc: kthread::KThread<state::State>,
    _hooks: nf_hook::Registration<state::State>,
    _published: published::Published,
}

impl kernel::Module for NetatopModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let state = Arc::pin_init(
            state::State::new(*module_parameters::sockmem.value(), *module_parameters::taskmem.value()),
            GFP_KERNEL,
        )?;
        let (socks, sbuckets, tasks, tbuckets) = state.describe();
        let published = published::Published::new(state.clone());
        let hooks = nf_hook::Registration::new(state.clone(), HOOK_PRIORITY)?;
        let gc = kthread::KThread::run(c"knetatop", state.clone())?;
        let proc = proc_entry::ProcEntry::new(c"netatop", PROC_MODE, state)?;
        let sockopt =
            nf_sockopt::Registration::new(abi::NETATOP_BASE_CTL..abi::NETATOP_CTL_END, module)?;
        pr_info!(
            "netatop {} loaded: up to {} sockets ({} buckets), {} tasks ({} buckets)\n",
            procfs::MODVERSION,
            socks,
            sbuckets,
            tasks,
            tbuckets
        );
        Ok(NetatopModule {
            _sockopt: sockopt,
            _proc: proc,
            _gc: gc,
            _hooks: hooks,
            _published: published,
        })
    }
}
