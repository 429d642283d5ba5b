// SPDX-License-Identifier: GPL-2.0

//! Declarations of the C functions the module calls that have no binding
//! in the kernel crate: the helpers in `glue.c` and a few exported kernel
//! functions whose headers bindgen does not reach (netfilter, procfs).
//!
//! Private to `wrap`: only the abstractions beside this file call these.

use kernel::bindings;
use kernel::ffi::{c_char, c_int, c_uint, c_void};

/// `struct nf_sockopt_ops`, owned by the C side.
#[repr(C)]
pub(super) struct NfSockoptOps {
    _opaque: [u8; 0],
}

/// `struct nf_hook_state`, only ever seen behind a pointer.
#[repr(C)]
pub(super) struct NfHookState {
    _opaque: [u8; 0],
}

/// `struct proc_dir_entry`, only ever seen behind a pointer.
#[repr(C)]
pub(super) struct ProcDirEntry {
    _opaque: [u8; 0],
}

/// `struct netatop_sock_id` of `glue.h`.
#[repr(C)]
#[derive(Default)]
pub(super) struct SockId {
    pub(super) net: u64,
    pub(super) local: [u8; 16],
    pub(super) remote: [u8; 16],
    /// Network order.
    pub(super) local_port: u16,
    pub(super) remote_port: u16,
    pub(super) tcp: bool,
    pub(super) ipv6: bool,
    pub(super) v4_too: bool,
}

// The layout glue.c asserts on the C side.
const _: () = {
    assert!(core::mem::size_of::<SockId>() == 48);
    assert!(core::mem::offset_of!(SockId, local_port) == 40);
    assert!(core::mem::offset_of!(SockId, v4_too) == 46);
};

/// `struct netatop_task_ids` of `glue.h`: the current task's ids and
/// start times.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TaskIds {
    pub(crate) process_start: u64,
    pub(crate) thread_start: u64,
    pub(crate) tgid: c_int,
    pub(crate) tid: c_int,
}

// The layout glue.c asserts on the C side.
const _: () = {
    assert!(core::mem::size_of::<TaskIds>() == 24);
    assert!(core::mem::offset_of!(TaskIds, tgid) == 16);
};

/// `nf_hookfn`.
pub(super) type NfHookFn =
    unsafe extern "C" fn(*mut c_void, *mut bindings::sk_buff, *const NfHookState) -> c_uint;

/// The `get` callback of `struct nf_sockopt_ops`.
pub(super) type SockoptGetFn =
    unsafe extern "C" fn(*mut bindings::sock, c_int, *mut c_void, *mut c_int) -> c_int;

/// A `seq_file` show callback.
pub(super) type ShowFn = unsafe extern "C" fn(*mut bindings::seq_file, *mut c_void) -> c_int;

extern "C" {
    // glue.c
    pub(super) fn netatop_sockopt_ops_new(
        pf: u8,
        get_optmin: c_int,
        get_optmax: c_int,
        get: SockoptGetFn,
        owner: *mut c_void,
    ) -> *mut NfSockoptOps;
    pub(super) fn netatop_hooks_register(
        hook: NfHookFn,
        private: *mut c_void,
        priority: c_int,
    ) -> c_int;
    pub(super) fn netatop_hooks_unregister();
    pub(super) fn netatop_skb_header_pointer(
        skb: *const bindings::sk_buff,
        offset: c_int,
        len: c_int,
        buffer: *mut c_void,
    ) -> *const c_void;
    #[cfg(not(all(CONFIG_X86_64, CONFIG_SMP, not(CONFIG_PREEMPT_RT))))]
    pub(super) fn netatop_in_process_context() -> bool;
    pub(super) fn netatop_tracepoint_register(
        name: *const c_char,
        probe: *mut c_void,
        data: *mut c_void,
    ) -> *mut c_void;
    pub(super) fn netatop_tracepoint_unregister(
        tp: *mut c_void,
        probe: *mut c_void,
        data: *mut c_void,
    );
    pub(super) fn netatop_exit_ids(p: *const c_void, tgid: *mut c_int, start: *mut u64);
    pub(super) fn netatop_sock_local_port(sk: *const bindings::sock) -> u16;
    pub(super) fn netatop_sock_id(sk: *const bindings::sock, id: *mut SockId) -> bool;
    pub(super) fn netatop_skb_has_socket(
        skb: *const bindings::sk_buff,
        state: *const NfHookState,
    ) -> bool;
    #[cfg(not(CONFIG_X86_64))]
    pub(super) fn netatop_add_pairs(
        a: *mut bindings::atomic64_t,
        b: *mut bindings::atomic64_t,
        packets: u64,
        bytes: u64,
    );
    pub(super) fn netatop_percpu_alloc(n: c_uint) -> *mut u64;
    pub(super) fn netatop_percpu_free(c: *mut u64);
    #[cfg(not(all(CONFIG_X86_64, CONFIG_SMP)))]
    pub(super) fn netatop_percpu_add(c: *mut u64, i: c_uint, n: u64);
    pub(super) fn netatop_percpu_sum(c: *mut u64, i: c_uint) -> u64;
    pub(super) fn netatop_bh_off() -> bool;
    pub(super) fn netatop_bh_on();
    pub(super) fn netatop_boottime_seconds() -> i64;
    #[cfg(not(all(CONFIG_X86_64, CONFIG_SMP, not(CONFIG_PREEMPT_RT))))]
    pub(super) fn netatop_current_ids(ids: *mut TaskIds);
    pub(super) fn netatop_current_comm(buf: *mut c_char, len: usize, leader: bool);
    pub(super) fn netatop_task_probe(
        nr: c_int,
        start: *mut u64,
        group_dead: *mut bool,
        exiting: *mut bool,
    ) -> c_int;

    // net/netfilter/nf_sockopt.c
    pub(super) fn nf_register_sockopt(reg: *mut NfSockoptOps) -> c_int;
    pub(super) fn nf_unregister_sockopt(reg: *mut NfSockoptOps);

    // fs/proc
    pub(super) fn proc_create_single_data(
        name: *const c_char,
        mode: bindings::umode_t,
        parent: *mut ProcDirEntry,
        show: ShowFn,
        data: *mut c_void,
    ) -> *mut ProcDirEntry;
    pub(super) fn proc_remove(entry: *mut ProcDirEntry);
}
