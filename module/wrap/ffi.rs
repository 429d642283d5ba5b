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

/// `netatop_recv_probe_fn`: a probe of `sock:sock_recv_length`.
pub(super) type RecvProbeFn = unsafe extern "C" fn(*mut c_void, *mut bindings::sock, c_int, c_int);

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
    pub(super) fn netatop_skb_network_offset(skb: *const bindings::sk_buff) -> c_int;
    pub(super) fn netatop_skb_sk_state(skb: *const bindings::sk_buff) -> c_int;
    pub(super) fn netatop_in_process_context() -> bool;
    pub(super) fn netatop_recv_probe_register(probe: RecvProbeFn, data: *mut c_void) -> c_int;
    pub(super) fn netatop_recv_probe_unregister(probe: RecvProbeFn, data: *mut c_void);
    pub(super) fn netatop_sock_id(sk: *const bindings::sock, id: *mut SockId) -> bool;
    pub(super) fn netatop_skb_has_socket(
        skb: *const bindings::sk_buff,
        state: *const NfHookState,
    ) -> bool;
    pub(super) fn netatop_hook_state_pf(state: *const NfHookState) -> u8;
    pub(super) fn netatop_hook_state_hook(state: *const NfHookState) -> c_uint;
    pub(super) fn netatop_hook_state_dev(state: *const NfHookState) -> *const bindings::net_device;
    pub(super) fn netatop_dev_mtu(dev: *const bindings::net_device) -> c_uint;
    pub(super) fn netatop_dev_hard_header_len(dev: *const bindings::net_device) -> c_uint;
    pub(super) fn netatop_spin_lock_bh(lock: *mut bindings::spinlock_t);
    pub(super) fn netatop_spin_unlock_bh(lock: *mut bindings::spinlock_t);
    pub(super) fn netatop_spin_trylock_bh(lock: *mut bindings::spinlock_t) -> c_int;
    pub(super) fn netatop_boottime_seconds() -> i64;
    pub(super) fn netatop_current_ids(
        tgid: *mut c_int,
        tid: *mut c_int,
        process_start: *mut u64,
        thread_start: *mut u64,
    );
    pub(super) fn netatop_current_comm(buf: *mut c_char, len: usize, leader: bool);
    pub(super) fn netatop_task_probe(
        nr: c_int,
        start: *mut u64,
        group_dead: *mut bool,
        exiting: *mut bool,
    ) -> c_int;
    pub(super) fn netatop_hook_state_net_cookie(state: *const NfHookState) -> u64;
    pub(super) fn netatop_skb_gso_segs(skb: *const bindings::sk_buff) -> c_uint;

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
