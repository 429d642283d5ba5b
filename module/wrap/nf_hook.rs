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

use super::constants::{self, NFPROTO_IPV6, NF_ACCEPT};
use super::ffi;
use super::fields::{field, field_once};
use super::rcu::ReadSide;
use super::task;
use core::marker::PhantomData;
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
/// The packet's fields are read in place, at offsets generated from the
/// kernel's headers when the module is built (`constants.c`). Its
/// network header is seen as far as the linear data holds it, up to
/// [`HEAD_LEN`] bytes; only headers beyond those (IPv6 extension
/// headers, headers outside the linear data) and the socket lookup call
/// into C, and, but on x86-64, the calling context (is it a task's, and
/// which: [`task::current_in_process_context`]).
///
/// # Invariants
///
/// `skb` and `state` are the valid arguments of a running hook call and
/// outlive `'a`; `head` is the linear data from the packet's network
/// header on (at most [`HEAD_LEN`] bytes), which is `network_offset`
/// bytes from `skb->data`; `hook`, `family` and `len` were read from
/// them; the hook call runs inside an RCU read-side critical section.
pub(crate) struct Packet<'a> {
    skb: *const c_void,
    state: *const c_void,
    head: &'a [u8],
    network_offset: c_int,
    len: u32,
    hook: Hook,
    family: Family,
    rcu: ReadSide<'a>,
}

/// Most bytes of the network header [`Packet`] reads in place.
const HEAD_LEN: usize = 64;

impl Packet<'_> {
    /// The packet's address family.
    pub(crate) fn family(&self) -> Family {
        self.family
    }

    /// The hook the packet is seen at.
    pub(crate) fn hook(&self) -> Hook {
        self.hook
    }

    /// Cookie of the network namespace the packet is in (unique, never
    /// reused).
    pub(crate) fn net_cookie(&self) -> u64 {
        // SAFETY: `state` is valid by the type invariant, and its `net`
        // lives while the hook runs.
        unsafe {
            field(
                field::<*const c_void>(self.state, constants::HOOK_STATE_NET),
                constants::NET_COOKIE,
            )
        }
    }

    /// The packet's shared info (`skb_shinfo`).
    #[inline(always)]
    fn shinfo(&self) -> *const c_void {
        // SAFETY: `skb` is valid by the type invariant.
        let head = unsafe { field::<*const c_void>(self.skb, constants::SKB_HEAD) };
        #[cfg(CONFIG_64BIT)]
        // SAFETY: As above; on 64-bit kernels `end` is an offset from
        // `head` (asserted in constants.c).
        let end = unsafe { field::<u32>(self.skb, constants::SKB_END) } as usize;
        #[cfg(not(CONFIG_64BIT))]
        // SAFETY: As above; elsewhere `end` is a pointer.
        let end = unsafe { field::<*const c_void>(self.skb, constants::SKB_END) }
            .addr()
            .wrapping_sub(head.addr());
        head.wrapping_byte_add(end)
    }

    /// How many packets the packet stands for on the wire, if the stack
    /// counted them: the segments of a GSO packet, 1 for any other; `None`
    /// for a GSO packet whose segments the stack has not counted (from a
    /// virtio-net or tap device), see [`Packet::gso_size`].
    #[inline(always)]
    pub(crate) fn counted_segments(&self) -> Option<u32> {
        let shinfo = self.shinfo();
        // SAFETY: The shared info of a valid packet.
        let (size, segs) = unsafe {
            (
                field::<u16>(shinfo, constants::SHINFO_GSO_SIZE),
                field::<u16>(shinfo, constants::SHINFO_GSO_SEGS),
            )
        };
        match (size, segs) {
            (0, _) => Some(1),
            (_, 0) => None,
            (_, segs) => Some(u32::from(segs)),
        }
    }

    /// The payload bytes of each segment of a GSO packet (`gso_size`), 0
    /// for a packet that is not one.
    #[inline(always)]
    pub(crate) fn gso_size(&self) -> u32 {
        // SAFETY: The shared info of a valid packet.
        u32::from(unsafe { field::<u16>(self.shinfo(), constants::SHINFO_GSO_SIZE) })
    }

    /// Length of the packet from the network header on (`skb->len`).
    pub(crate) fn len(&self) -> u32 {
        self.len
    }

    /// What `f` makes of the `N` bytes at `offset` from the network
    /// header, wherever in the skb they are; `None` if the packet is
    /// shorter. Bytes in the linear data's first [`HEAD_LEN`] are read in
    /// place; others are copied first.
    #[inline(always)]
    pub(crate) fn header<const N: usize, R>(
        &self,
        offset: usize,
        f: impl FnOnce(&[u8; N]) -> R,
    ) -> Option<R> {
        let end = offset.checked_add(N)?;
        match self.head.get(offset..end) {
            Some(bytes) => Some(f(bytes.try_into().ok()?)),
            // SAFETY: `skb` is valid and `network_offset` its own by the
            // type invariant.
            None => unsafe { Self::header_outside::<N>(self.skb, self.network_offset, offset) }
                .map(|bytes| f(&bytes)),
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
        skb: *const c_void,
        network_offset: c_int,
        offset: usize,
    ) -> Option<[u8; N]> {
        let mut buf = [0u8; N];
        let offset = c_int::try_from(offset).ok()?.checked_add(network_offset)?;
        let len = c_int::try_from(N).ok()?;
        // SAFETY: `skb` is valid by the caller's guarantee; `buf` has room
        // for `len` bytes. The function checks the range against the
        // packet and returns NULL if it does not fit.
        let p = unsafe {
            ffi::netatop_skb_header_pointer(skb.cast(), offset, len, buf.as_mut_ptr().cast())
        };
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
    #[inline(always)]
    pub(crate) fn device(&self) -> Option<Device> {
        let slot = match self.hook {
            Hook::LocalIn => constants::HOOK_STATE_IN,
            Hook::LocalOut => constants::HOOK_STATE_OUT,
        };
        // SAFETY: `state` is valid by the type invariant.
        let dev = unsafe { field::<*const c_void>(self.state, slot) };
        if dev.is_null() {
            return None;
        }
        // SAFETY: The device of a running hook call lives while it runs.
        Some(unsafe {
            Device {
                mtu: field_once(dev, constants::DEV_MTU),
                hard_header_len: u32::from(field::<u16>(dev, constants::DEV_HARD_HEADER_LEN)),
            }
        })
    }

    /// The state (`TCP_ESTABLISHED`, ...) of the socket the stack attached
    /// to the packet, if any.
    #[inline(always)]
    pub(crate) fn socket_state(&self) -> Option<u8> {
        // SAFETY: `skb` is valid by the type invariant.
        let sk = unsafe { field::<*const c_void>(self.skb, constants::SKB_SK) };
        // SAFETY: The packet holds a reference on its socket.
        (!sk.is_null()).then(|| unsafe { field_once(sk, constants::SK_STATE) })
    }

    /// Whether a local socket takes this received packet (one the stack
    /// attached, or one the netfilter socket lookup finds).
    ///
    /// A lookup: call it only when the answer is needed.
    pub(crate) fn has_socket(&self) -> bool {
        // SAFETY: `skb` and `state` are valid by the type invariant; the
        // hook runs under RCU, as the lookup requires.
        unsafe { ffi::netatop_skb_has_socket(self.skb.cast(), self.state.cast()) }
    }

    /// The RCU read-side critical section the packet is seen in: netfilter
    /// runs its hooks inside one (`nf_hook()`, and the callers of
    /// `nf_reinject()`).
    #[inline(always)]
    pub(crate) fn read_side(&self) -> &ReadSide<'_> {
        &self.rcu
    }

    /// The task that sends this packet: the current one, for a packet
    /// sent in process context (not in an interrupt or softirq, nor with
    /// bottom halves disabled: threaded NAPI and busy polling handle
    /// packets of other tasks' sockets there).
    #[inline(always)]
    pub(crate) fn sender(&self) -> Option<task::Ids> {
        match self.hook {
            Hook::LocalIn => None,
            Hook::LocalOut => task::current_in_process_context(),
        }
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
    let skb = skb.cast_const().cast::<c_void>();
    let state = state.cast::<c_void>();
    // SAFETY: `skb` and `state` are valid for the duration of this call,
    // with fields at the generated offsets.
    let (hook, pf, len, data_len, head, data, network_header) = unsafe {
        (
            field::<u8>(state, constants::HOOK_STATE_HOOK),
            field::<u8>(state, constants::HOOK_STATE_PF),
            field::<u32>(skb, constants::SKB_LEN),
            field::<u32>(skb, constants::SKB_DATA_LEN),
            field::<*const u8>(skb, constants::SKB_HEAD),
            field::<*const u8>(skb, constants::SKB_DATA),
            field::<u16>(skb, constants::SKB_NETWORK_HEADER),
        )
    };
    let network = head.wrapping_add(usize::from(network_header));
    // Where the network header is from `data` (`skb_network_offset`), and
    // how much of the linear data (`skb_headlen`) lies beyond it.
    let network_offset = network.addr().wrapping_sub(data.addr()) as isize;
    let linear = len.wrapping_sub(data_len) as isize - network_offset;
    let head = if linear <= 0 {
        &[][..]
    } else {
        // SAFETY: The linear data from the network header on holds
        // `linear` bytes, which nobody changes or frees while this hook
        // runs: for the lifetime of `packet`, which ends with this call.
        unsafe { core::slice::from_raw_parts(network, (linear as usize).min(HEAD_LEN)) }
    };
    let hook = if hook == constants::NF_INET_LOCAL_IN {
        Hook::LocalIn
    } else {
        Hook::LocalOut
    };
    // INVARIANT: `skb` and `state` are valid for the duration of this
    // call, and `head` and the other fields were read from them; netfilter
    // calls hooks inside an RCU read-side critical section.
    let packet = Packet {
        skb,
        state,
        head,
        network_offset: network_offset as c_int,
        len,
        hook,
        family: if pf == NFPROTO_IPV6 {
            Family::Ipv6
        } else {
            Family::Ipv4
        },
        // SAFETY: See the invariant above; `packet` goes with this call.
        rcu: unsafe { ReadSide::assume() },
    };
    observer.observe(&packet);
    NF_ACCEPT
}
