// SPDX-License-Identifier: GPL-2.0

//! Netfilter hooks on locally delivered and locally sent packets, IPv4 and
//! IPv6, in every network namespace.
//!
//! C header: [`include/linux/netfilter.h`](srctree/include/linux/netfilter.h)
//!
//! A [`Registration`] attaches an [`Observer`] to `NF_INET_LOCAL_IN` and
//! `NF_INET_LOCAL_OUT` of both families through a pernet subsystem, so
//! namespaces created later get the hooks too. The observer sees each
//! packet through a [`Packet`], a bounds-checked read-only view, and cannot
//! change its fate: every packet is accepted.

use super::constants::{NFPROTO_IPV6, NF_ACCEPT};
use super::ffi;
use super::sync::{self, BhOff};
use super::task;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use kernel::bindings;
use kernel::ffi::{c_int, c_uint, c_void};
use kernel::prelude::*;
use kernel::sync::atomic::{Atomic, Relaxed};
use kernel::sync::Arc;
use kernel::types::ForeignOwnable;

pub(crate) use super::constants::{NF_IP6_PRI_CONNTRACK_DEFRAG, NF_IP_PRI_CONNTRACK_DEFRAG};
/// TCP socket states, as [`Packet::socket_state`] gives them.
pub(crate) use super::constants::{TCP_ESTABLISHED, TCP_LISTEN};

/// The address family of a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    Ipv4,
    Ipv6,
}

/// Sees every local packet; runs in softirq or process context with
/// preemption possibly enabled, must not sleep.
pub(crate) trait Observer: Send + Sync + 'static {
    /// Called once per packet.
    fn observe(&self, packet: &Packet<'_>);
}

/// A read-only view of a packet inside a hook.
///
/// What every packet needs is read in one call into C when the view is
/// made, together with where its headers are: up to [`ffi::HEAD_LEN`]
/// bytes from the network header, in place in the packet's linear data.
/// Only headers beyond those (IPv6 extension headers, headers outside the
/// linear data) and the socket lookup call into C again.
///
/// # Invariants
///
/// `skb` and `state` are the valid arguments of a running hook call and
/// outlive `'a`; `facts` was filled in from them, and `head` is its
/// `head_len` bytes at `head`.
pub(crate) struct Packet<'a> {
    skb: *const bindings::sk_buff,
    state: *const ffi::NfHookState,
    facts: &'a ffi::PacketFacts,
    head: &'a [u8],
}

impl Packet<'_> {
    /// The packet's address family.
    pub(crate) fn family(&self) -> Family {
        match self.facts.pf {
            NFPROTO_IPV6 => Family::Ipv6,
            _ => Family::Ipv4,
        }
    }

    /// The hook the packet is seen at.
    pub(crate) fn hook(&self) -> Hook {
        if self.facts.local_in {
            Hook::LocalIn
        } else {
            Hook::LocalOut
        }
    }

    /// Cookie of the network namespace the packet is in (unique, never
    /// reused).
    pub(crate) fn net_cookie(&self) -> u64 {
        self.facts.net_cookie
    }

    /// How many packets the packet stands for on the wire, if the stack
    /// counted them: the segments of a GSO packet, 1 for any other; `None`
    /// for a GSO packet whose segments the stack has not counted (from a
    /// virtio-net or tap device), see [`Packet::gso_size`].
    #[inline(always)]
    pub(crate) fn counted_segments(&self) -> Option<u32> {
        match self.facts.gso_segs {
            0 => None,
            segs => Some(segs),
        }
    }

    /// The payload bytes of each segment of a GSO packet (`gso_size`), 0
    /// for a packet that is not one.
    pub(crate) fn gso_size(&self) -> u32 {
        // SAFETY: `skb` is valid by the type invariant.
        unsafe { ffi::netatop_skb_gso_size(self.skb) }
    }

    /// Length of the packet from the network header on (`skb->len`).
    pub(crate) fn len(&self) -> u32 {
        self.facts.len
    }

    /// Copies `N` bytes at `offset` from the network header, wherever in
    /// the skb they are; `None` if the packet is shorter.
    #[inline(always)]
    pub(crate) fn header<const N: usize>(&self, offset: usize) -> Option<[u8; N]> {
        let end = offset.checked_add(N)?;
        match self.head.get(offset..end) {
            Some(bytes) => bytes.try_into().ok(),
            // SAFETY: `skb` is valid and `network_offset` its own by the
            // type invariant.
            None => unsafe {
                Self::header_outside::<N>(self.skb, self.facts.network_offset, offset)
            },
        }
    }

    /// [`Packet::header`] for bytes beyond those in `head`. (The packet's
    /// values by value, not the view by reference, which would have to be
    /// kept in memory on the path that does not come here.)
    ///
    /// # Safety
    ///
    /// `skb` is the valid packet of a running hook call, and
    /// `network_offset` the offset of its network header.
    #[cold]
    #[inline(never)]
    unsafe fn header_outside<const N: usize>(
        skb: *const bindings::sk_buff,
        network_offset: c_int,
        offset: usize,
    ) -> Option<[u8; N]> {
        let mut buf = [0u8; N];
        let offset = c_int::try_from(offset).ok()?.checked_add(network_offset)?;
        let len = c_int::try_from(N).ok()?;
        // SAFETY: `skb` is valid by the caller's guarantee; `buf` has room
        // for `len` bytes. The function checks the range against the
        // packet and returns NULL if it does not fit.
        let p =
            unsafe { ffi::netatop_skb_header_pointer(skb, offset, len, buf.as_mut_ptr().cast()) };
        if p.is_null() {
            return None;
        }
        if p != buf.as_ptr().cast() {
            // SAFETY: A non-NULL result points to `len` readable bytes of
            // the packet's linear data, which cannot overlap `buf`.
            unsafe { core::ptr::copy_nonoverlapping(p.cast::<u8>(), buf.as_mut_ptr(), N) };
        }
        Some(buf)
    }

    /// MTU and link header length of the device the packet passes.
    pub(crate) fn device(&self) -> Option<Device> {
        self.facts.has_dev.then_some(Device {
            mtu: self.facts.mtu,
            hard_header_len: self.facts.hard_header_len,
        })
    }

    /// The state (`TCP_ESTABLISHED`, ...) of the socket the stack attached
    /// to the packet, if any.
    pub(crate) fn socket_state(&self) -> Option<u8> {
        u8::try_from(self.facts.sock_state).ok()
    }

    /// Whether a local socket takes this received packet (one the stack
    /// attached, or one the netfilter socket lookup finds).
    ///
    /// A lookup: call it only when the answer is needed.
    pub(crate) fn has_socket(&self) -> bool {
        // SAFETY: `skb` and `state` are valid by the type invariant; the
        // hook runs under RCU, as the lookup requires.
        unsafe { ffi::netatop_skb_has_socket(self.skb, self.state) }
    }

    /// Bottom halves off while the value returned lives: in process
    /// context they are turned off; elsewhere the hook runs in a softirq or
    /// interrupt, or inside a section that disabled them, and they are off
    /// already.
    #[inline(always)]
    pub(crate) fn bh_off(&self) -> BhOff {
        sync::bh_off_unless(!self.facts.in_process_context)
    }

    /// The task that sends this packet: the current one, for a packet
    /// sent in process context (not in an interrupt or softirq, nor with
    /// bottom halves disabled: threaded NAPI and busy polling handle
    /// packets of other tasks' sockets there).
    #[inline(always)]
    pub(crate) fn sender(&self) -> Option<task::Ids> {
        (!self.facts.local_in && self.facts.in_process_context).then_some(task::Ids {
            tgid: self.facts.tgid,
            tid: self.facts.tid,
            process_start: self.facts.process_start,
            thread_start: self.facts.thread_start,
        })
    }
}

/// The netfilter hooks a [`Registration`] registers on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hook {
    /// `NF_INET_LOCAL_IN`: packets to a local socket.
    LocalIn,
    /// `NF_INET_LOCAL_OUT`: packets the host sends.
    LocalOut,
}

/// What the byte accounting needs to know of a network device.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Device {
    pub(crate) mtu: u32,
    pub(crate) hard_header_len: u32,
}

/// Set while a [`Registration`] exists; the C side has one hook set only.
static REGISTERED: Atomic<bool> = Atomic::new(false);

/// Hooks at LOCAL_IN and LOCAL_OUT of IPv4 and IPv6 in every namespace.
///
/// # Invariants
///
/// While this value lives the hooks are registered with `data`, a pointer
/// from `Arc::<T>::into_foreign`, as their private data, and `REGISTERED`
/// is set.
pub(crate) struct Registration<T: Observer> {
    data: *mut c_void,
    _observer: PhantomData<Arc<T>>,
}

// SAFETY: The registration is a handle; the observer is `Send + Sync`.
unsafe impl<T: Observer> Send for Registration<T> {}

// SAFETY: `&Registration` offers no methods.
unsafe impl<T: Observer> Sync for Registration<T> {}

impl<T: Observer> Registration<T> {
    /// Registers `observer` at `priority` in all present and future network
    /// namespaces.
    ///
    /// Only one registration may exist at a time (`EBUSY`).
    pub(crate) fn new(observer: Arc<T>, priority: c_int) -> Result<Self> {
        if REGISTERED.xchg(true, Relaxed) {
            return Err(EBUSY);
        }
        let data = observer.into_foreign();
        // SAFETY: `hook_callback::<T>` expects exactly this `data`.
        let ret = unsafe { ffi::netatop_hooks_register(hook_callback::<T>, data, priority) };
        if ret < 0 {
            // SAFETY: Registration failed, no hook refers to `data`.
            drop(unsafe { Arc::<T>::from_foreign(data) });
            REGISTERED.store(false, Relaxed);
            return Err(Error::from_errno(ret));
        }
        // INVARIANT: Registered above with `data`; `REGISTERED` is set.
        Ok(Self {
            data,
            _observer: PhantomData,
        })
    }
}

impl<T: Observer> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: Registered by the type invariant.
        unsafe { ffi::netatop_hooks_unregister() };
        // Hooks run under rcu_read_lock(): after a grace period no call
        // that may have seen them is still running. (`drop` runs in
        // process context.)
        super::sync::synchronize_rcu();
        // SAFETY: No hook can use `data` any more; it came from
        // `into_foreign` in `new`.
        drop(unsafe { Arc::<T>::from_foreign(self.data) });
        REGISTERED.store(false, Relaxed);
    }
}

/// # Safety
///
/// Called by netfilter with the private data of a live [`Registration<T>`]
/// and the valid `skb` and `state` of the packet.
unsafe extern "C" fn hook_callback<T: Observer>(
    private: *mut c_void,
    skb: *mut bindings::sk_buff,
    state: *const ffi::NfHookState,
) -> c_uint {
    // SAFETY: `private` came from `Arc::<T>::into_foreign` and stays alive
    // until the registration is gone and an RCU grace period has passed.
    let observer = unsafe { Arc::<T>::borrow(private) };
    let mut facts = MaybeUninit::<ffi::PacketFacts>::uninit();
    // SAFETY: `skb` and `state` are valid for the duration of this call;
    // `facts` is valid for writes.
    unsafe { ffi::netatop_packet_facts(skb, state, facts.as_mut_ptr()) };
    // SAFETY: `netatop_packet_facts` writes every field.
    let facts = unsafe { facts.assume_init_ref() };
    let head = if facts.head_len == 0 {
        &[][..]
    } else {
        // SAFETY: `netatop_packet_facts` pointed `head` at `head_len` bytes
        // of the packet's linear data, which nobody changes or frees while
        // this hook runs: for the lifetime of `packet`, which ends with
        // this call.
        unsafe { core::slice::from_raw_parts(facts.head, usize::from(facts.head_len)) }
    };
    // INVARIANT: `skb` and `state` are valid for the duration of this
    // call; `facts` was filled in from them, and `head` from `facts`.
    let packet = Packet {
        skb,
        state,
        facts,
        head,
    };
    observer.observe(&packet);
    NF_ACCEPT
}
