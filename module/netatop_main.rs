// SPDX-License-Identifier: GPL-2.0

//! netatop: per-process and per-thread TCP and UDP counters for atop.
//!
//! Netfilter hooks see every packet a local socket sends or receives, in
//! every network namespace, over IPv4 and IPv6. User space (atop, netatopd)
//! reads the counters through getsockopt commands on an IPv4 socket
//! (`include/netatop.h`); `/proc/netatop` shows module-wide totals.
//!
//! Files: the wrappers over kernel facilities the kernel crate lacks are
//! `nf_hook`, `nf_sockopt`, `proc_entry`, `cred` (with their C helpers in
//! `glue.c`, declared in `ffi`); `abi`, `packet`, `procfs` and `sockopt`
//! are pure logic, also built and tested on the host (`lib.rs`).

mod abi;
mod cred;
mod ffi;
mod nf_hook;
mod nf_sockopt;
mod packet;
mod proc_entry;
mod procfs;
mod sockopt;
mod stats;

use kernel::ffi::c_int;
use kernel::prelude::*;
use kernel::seq_file::SeqFile;
use kernel::sync::Arc;
use kernel::uaccess::UserPtr;

use nf_hook::{Family, Observer, Packet};
use packet::HeaderSource;
use sockopt::{Command, Errno};

module! {
    type: NetatopModule,
    name: "netatop",
    authors: ["The netatop developers"],
    description: "Per-process and per-thread network counters for atop",
    license: "GPL",
}

/// Hook priority: right after connection tracking's defragmentation, so
/// a packet is seen whole where the stack reassembles it, and before any
/// filter table can drop it.
const HOOK_PRIORITY: c_int = -400 + 1;

/// Permissions of `/proc/netatop`.
const PROC_MODE: u16 = 0o444;

/// State shared by the hooks, the getsockopt handler and `/proc/netatop`.
struct State {
    stats: stats::Stats,
}

impl Observer for State {
    fn observe(&self, packet: &Packet<'_>) {
        let family = packet.family();
        let headers = match family {
            Family::Ipv4 => packet::parse_ipv4(packet),
            Family::Ipv6 => packet::parse_ipv6(packet),
        };
        let direction = packet.direction();
        self.stats.packet(family, direction, headers.transport);
        self.stats.unident(direction, headers.transport);
    }
}

impl HeaderSource for Packet<'_> {
    fn bytes<const N: usize>(&self, offset: usize) -> Option<[u8; N]> {
        self.header::<N>(offset)
    }
}

impl proc_entry::Show for State {
    fn show(&self, m: &SeqFile) {
        m.call_printf(format_args!("{}", self.stats.snapshot()));
    }
}

kernel::sync::global_lock! {
    // SAFETY: Initialised in `NetatopModule::init` before first use.
    unsafe(uninit) static INSTANCE: SpinLock<Option<Arc<State>>> = None;
}

/// Makes the state reachable from the getsockopt handler, which netfilter
/// calls without a context pointer, for as long as this value lives.
struct Published;

impl Published {
    fn new(state: Arc<State>) -> Self {
        *INSTANCE.lock() = Some(state);
        Published
    }
}

impl Drop for Published {
    fn drop(&mut self) {
        *INSTANCE.lock() = None;
    }
}

/// The getsockopt interface.
struct Control;

impl nf_sockopt::GetSockopt for Control {
    fn get(cmd: c_int, _buf: UserPtr, _len: &mut c_int) -> Result {
        if !cred::capable_net_admin() {
            return Err(EPERM);
        }
        let cmd = Command::from_raw(cmd).map_err(errno)?;
        let _state = INSTANCE.lock().clone().ok_or_else(enoprotoopt)?;
        match cmd {
            Command::Probe => Ok(()),
            _ => Err(Error::from_errno(-(kernel::bindings::EOPNOTSUPP as i32))),
        }
    }
}

fn errno(e: Errno) -> Error {
    match e {
        Errno::Perm => EPERM,
        Errno::Inval => EINVAL,
        Errno::Srch => ESRCH,
        Errno::Fault => EFAULT,
        Errno::Interrupted => ERESTARTSYS,
    }
}

/// The module is not (or no longer) serving requests.
fn enoprotoopt() -> Error {
    Error::from_errno(-(kernel::bindings::ENOPROTOOPT as i32))
}

struct NetatopModule {
    // Fields are dropped in declaration order, which is the teardown
    // order: first the entry points from user space, then the hooks, and
    // only then the state they share.
    _sockopt: nf_sockopt::Registration<Control>,
    _proc: proc_entry::ProcEntry<State>,
    _hooks: nf_hook::Registration<State>,
    _published: Published,
}

impl kernel::Module for NetatopModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        // SAFETY: Called once per load, before anything locks `INSTANCE`.
        unsafe { INSTANCE.init() };
        let state = Arc::new(
            State {
                stats: stats::Stats::new(),
            },
            GFP_KERNEL,
        )?;
        let published = Published::new(state.clone());
        let hooks = nf_hook::Registration::new(state.clone(), HOOK_PRIORITY)?;
        let proc = proc_entry::ProcEntry::new(c"netatop", PROC_MODE, state)?;
        let sockopt =
            nf_sockopt::Registration::new(abi::NETATOP_BASE_CTL..abi::NETATOP_CTL_END, module)?;
        pr_info!("netatop {} loaded\n", procfs::MODVERSION);
        Ok(NetatopModule {
            _sockopt: sockopt,
            _proc: proc,
            _hooks: hooks,
            _published: published,
        })
    }
}
