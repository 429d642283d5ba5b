// SPDX-License-Identifier: GPL-2.0

//! Lists that readers walk without a lock, and pointers they follow, under
//! RCU: what a writer takes away is freed only after a grace period.
//!
//! C header: [`include/linux/rcupdate.h`](srctree/include/linux/rcupdate.h)
//!
//! * A [`ReadSide`] proves that the caller is inside an RCU read-side
//!   critical section; whatever a reader finds with it stays valid as long
//!   as the `ReadSide` does.
//! * An [`RcuList`] is a singly linked list of nodes, each with a part
//!   readers see (`S`) and a part only writers see (`L`). Writers hold the
//!   list's spin lock (a [`SoftirqSpinLock`], so with bottom halves off);
//!   readers hold only a `ReadSide`. A node is published with a release
//!   store, and one that is unlinked is freed by `call_rcu`.
//! * An [`RcuPtr`] is an owned pointer readers follow the same way: replaced
//!   at any time, its old value is dropped after a grace period.
//!
//! Values dropped after a grace period are dropped by an RCU callback, in
//! softirq context: their destructors must not sleep. Before the module's
//! code goes, whoever retired values waits for their callbacks with
//! [`barrier`].

use super::once;
use super::sync::{SoftirqSpinLock, SoftirqSpinLockBackend};
use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::mem::size_of;
use core::ops::Deref;
use core::ptr;
use kernel::alloc::{AllocError, Flags, KBox};
use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::atomic::{Atomic, Full, Relaxed, Release};
use kernel::sync::lock::Guard;
use kernel::sync::LockClassKey;
use kernel::types::Opaque;

/// Proof that the caller is inside an RCU read-side critical section that
/// lasts at least as long as `'a`: one of `rcu_read_lock()`, bottom halves
/// off, preemption off or a spin lock held (all of which are read-side
/// critical sections of the consolidated RCU).
///
/// # Invariants
///
/// The task that holds the value is inside such a section for `'a`; the
/// value does not leave the task.
pub(crate) struct ReadSide<'a> {
    _section: PhantomData<(&'a (), *mut ())>,
}

impl<'a> ReadSide<'a> {
    /// The read-side critical section `rcu_read_lock()` began.
    #[cfg(netatop_kunit)]
    pub(crate) fn of(_guard: &'a kernel::sync::rcu::Guard) -> Self {
        // INVARIANT: The guard holds the section while it is borrowed.
        ReadSide {
            _section: PhantomData,
        }
    }

    /// Claims the read-side critical section the caller is in.
    ///
    /// # Safety
    ///
    /// The caller is inside an RCU read-side critical section, which lasts
    /// while the value lives.
    #[inline(always)]
    pub(crate) unsafe fn assume() -> Self {
        // INVARIANT: The caller's guarantee.
        ReadSide {
            _section: PhantomData,
        }
    }
}

/// Waits until the callbacks of every value retired so far (by anyone)
/// have run (`rcu_barrier`).
///
/// Sleeps.
pub(crate) fn barrier() {
    kernel::task::might_sleep();
    // SAFETY: No preconditions beyond a context that may sleep.
    unsafe { bindings::rcu_barrier() };
}

/// Loads a pointer that RCU readers follow (`rcu_dereference`): a
/// `READ_ONCE`, whose address dependency orders what is read through it
/// after what its writer stored before publishing it with a release store
/// (on every architecture Rust supports in the kernel).
#[inline(always)]
fn dereference<T>(link: &Atomic<*mut T>) -> *mut T {
    once::load(link)
}

/// A value with room for the RCU callback that drops it.
///
/// `repr(C)` with the callback head first: the callback finds the value
/// at the head's address.
#[repr(C)]
struct Deferred<T> {
    head: Opaque<bindings::callback_head>,
    value: T,
}

impl<T: Send> Deferred<T> {
    fn new(value: T, flags: Flags) -> Result<KBox<Self>, AllocError> {
        KBox::new(
            Deferred {
                head: Opaque::uninit(),
                value,
            },
            flags,
        )
    }

    /// Drops `this` once every read-side critical section under way now
    /// has ended.
    ///
    /// # Safety
    ///
    /// `this` is from `KBox::into_raw`, and the caller gives it up: it is
    /// reachable only by readers in a read-side critical section under way.
    unsafe fn retire(this: *mut Self) {
        // SAFETY: `this` is valid by the caller's guarantee, and nobody uses
        // its head; `call_rcu` initialises it and calls `drop_later` with it
        // once, after a grace period.
        unsafe {
            let head = Opaque::cast_into(ptr::addr_of!((*this).head));
            bindings::call_rcu(head, Some(Self::drop_later));
        }
    }

    /// # Safety
    ///
    /// Called by RCU with the head of a `Deferred<T>` that [`Self::retire`]
    /// passed on.
    unsafe extern "C" fn drop_later(head: *mut bindings::callback_head) {
        // CAST: The head is the first field of the `repr(C)` `Deferred<T>`.
        let this = head.cast::<Self>();
        // SAFETY: From `KBox::into_raw` in a caller of `retire`, given up
        // to this callback; no reader can hold it after the grace period.
        drop(unsafe { KBox::from_raw(this) });
    }
}

/// A value on its way to an [`RcuPtr`], allocated beforehand (where the
/// caller may still fail).
pub(crate) struct RcuBox<T: Send>(KBox<Deferred<T>>);

impl<T: Send> RcuBox<T> {
    /// The bytes a value takes.
    pub(crate) const BYTES: usize = size_of::<Deferred<T>>();

    /// Allocates `value`'s place, with `flags`.
    pub(crate) fn new(value: T, flags: Flags) -> Result<Self, AllocError> {
        Ok(RcuBox(Deferred::new(value, flags)?))
    }
}

impl<T: Send> Deref for RcuBox<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0.value
    }
}

/// An owned pointer that readers follow under RCU, `None` or a `T`.
///
/// # Invariants
///
/// `ptr` is null or from `KBox::into_raw` of a `Deferred<T>` that the
/// pointer owns. A value replaced is retired: dropped after a grace
/// period.
pub(crate) struct RcuPtr<T: Send> {
    ptr: Atomic<*mut Deferred<T>>,
}

// SAFETY: The pointer owns its `T`, which is `Send`.
unsafe impl<T: Send> Send for RcuPtr<T> {}

// SAFETY: Shared references give out `&T` (so `T: Sync`) and replace the
// value atomically, dropping the old one elsewhere (so `T: Send`).
unsafe impl<T: Send + Sync> Sync for RcuPtr<T> {}

impl<T: Send> RcuPtr<T> {
    /// An empty pointer.
    pub(crate) fn new() -> Self {
        // INVARIANT: Null.
        RcuPtr {
            ptr: Atomic::new(ptr::null_mut()),
        }
    }

    /// The value, valid as long as the read-side critical section.
    #[inline(always)]
    pub(crate) fn get<'a>(&'a self, _rcu: &'a ReadSide<'_>) -> Option<&'a T> {
        let p = dereference(&self.ptr);
        // SAFETY: Non-null is a live `Deferred<T>` (the type invariant),
        // published by a release store; one retired since is dropped only
        // after the read-side critical section `_rcu` proves has ended.
        unsafe { p.as_ref() }.map(|d| &d.value)
    }

    /// Puts `new` in the place of the value, which is dropped after a
    /// grace period.
    pub(crate) fn replace(&self, new: Option<RcuBox<T>>) {
        let new = new.map_or(ptr::null_mut(), |b| KBox::into_raw(b.0));
        // INVARIANT: `new` is null or given up to the pointer; the old
        // value is retired.
        let old = self.ptr.xchg(new, Full);
        if !old.is_null() {
            // SAFETY: Owned by the pointer until the exchange; readers
            // that loaded it are in read-side critical sections under way.
            unsafe { Deferred::retire(old) };
        }
    }
}

impl<T: Send> Default for RcuPtr<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Send> Drop for RcuPtr<T> {
    fn drop(&mut self) {
        let p = self.ptr.load(Relaxed);
        if !p.is_null() {
            // SAFETY: Owned by the pointer (the type invariant); nobody
            // holds a reference to it any more: readers borrowed it from
            // `self`, and a pointer inside a node that RCU frees is dropped
            // after the grace period.
            drop(unsafe { KBox::from_raw(p) });
        }
    }
}

/// A node of an [`RcuList`].
struct Node<S, L> {
    next: Atomic<*mut Deferred<Node<S, L>>>,
    shared: S,
    locked: UnsafeCell<L>,
}

/// A list that readers walk under RCU and writers change under its spin
/// lock.
///
/// # Invariants
///
/// `head` and every node's `next` are null or from `KBox::into_raw` of a
/// `Deferred<Node>` the list owns, linked once; they change only while
/// `lock` is held. A node's `locked` part is used only while `lock` is
/// held. A node unlinked is retired.
#[pin_data(PinnedDrop)]
pub(crate) struct RcuList<S, L> {
    #[pin]
    lock: SoftirqSpinLock<()>,
    head: Atomic<*mut Deferred<Node<S, L>>>,
}

// SAFETY: The list owns its nodes; `S` and `L` are `Send`.
unsafe impl<S: Send, L: Send> Send for RcuList<S, L> {}

// SAFETY: Readers on any CPU get `&S` (so `S: Sync`); `L` is used under the
// lock only and nodes are dropped on other CPUs (so `Send`).
unsafe impl<S: Send + Sync, L: Send> Sync for RcuList<S, L> {}

impl<S: Send + Sync, L: Send> RcuList<S, L> {
    /// The bytes a node takes.
    pub(crate) const NODE_BYTES: usize = size_of::<Deferred<Node<S, L>>>();

    /// An empty list whose lock is of class `key`, named `name`.
    pub(crate) fn new(
        name: &'static CStr,
        key: Pin<&'static LockClassKey>,
    ) -> impl PinInit<Self, Error> {
        // INVARIANT: Empty.
        try_pin_init!(RcuList {
            lock <- SoftirqSpinLock::new((), name, key),
            head: Atomic::new(ptr::null_mut()),
        }? Error)
    }

    /// The shared parts of the nodes, for a reader.
    #[inline(always)]
    pub(crate) fn iter<'a>(&'a self, _rcu: &'a ReadSide<'_>) -> impl Iterator<Item = &'a S> + 'a {
        let mut link = &self.head;
        core::iter::from_fn(move || {
            // SAFETY: Non-null is a node published by a release store; an
            // unlinked one is freed only after the read-side critical
            // section `_rcu` proves (the type invariant).
            let node = &unsafe { dereference(link).as_ref() }?.value;
            link = &node.next;
            Some(&node.shared)
        })
    }

    /// Locks the list for a writer. The caller keeps bottom halves off
    /// while the guard lives (see [`SoftirqSpinLock`]).
    #[inline(always)]
    pub(crate) fn lock(&self) -> ListGuard<'_, S, L> {
        ListGuard {
            list: self,
            _guard: self.lock.lock(),
        }
    }

    /// [`RcuList::lock`], unless the lock is held.
    pub(crate) fn try_lock(&self) -> Option<ListGuard<'_, S, L>> {
        Some(ListGuard {
            list: self,
            _guard: self.lock.try_lock()?,
        })
    }
}

#[pinned_drop]
impl<S, L> PinnedDrop for RcuList<S, L> {
    fn drop(self: Pin<&mut Self>) {
        let mut p = self.head.load(Relaxed);
        while !p.is_null() {
            // SAFETY: A node the list owns (the type invariant); nobody
            // else can reach the list being dropped, and a reader's
            // references were borrowed from it.
            let node = unsafe { KBox::from_raw(p) };
            p = node.value.next.load(Relaxed);
        }
    }
}

/// A locked [`RcuList`]: its writer.
pub(crate) struct ListGuard<'a, S, L> {
    list: &'a RcuList<S, L>,
    _guard: Guard<'a, (), SoftirqSpinLockBackend>,
}

impl<'a, S: Send + Sync, L: Send> ListGuard<'a, S, L> {
    /// The nodes, each as its two parts.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&S, &L)> + '_ {
        let mut link = &self.list.head;
        core::iter::from_fn(move || {
            // SAFETY: A node of the list, which the lock held keeps linked
            // (the type invariant of `RcuList`).
            let node = &unsafe { link.load(Relaxed).as_ref() }?.value;
            link = &node.next;
            // SAFETY: The lock is held, and `&self` lends nobody `&mut L`.
            Some((&node.shared, unsafe { &*node.locked.get() }))
        })
    }

    /// The first node for which `f` is true, as its two parts.
    pub(crate) fn find_mut(&mut self, mut f: impl FnMut(&S, &L) -> bool) -> Option<(&S, &mut L)> {
        let mut link = &self.list.head;
        // SAFETY: As in `iter`.
        while let Some(d) = unsafe { link.load(Relaxed).as_ref() } {
            let node = &d.value;
            // SAFETY: The lock is held; no other reference to `L` exists
            // while `&mut self` is borrowed.
            let locked = unsafe { &mut *node.locked.get() };
            if f(&node.shared, locked) {
                return Some((&node.shared, locked));
            }
            link = &node.next;
        }
        None
    }

    /// Adds a node at the head; an error if memory is short.
    pub(crate) fn push(&mut self, shared: S, locked: L, flags: Flags) -> Result<(), AllocError> {
        let node = Deferred::new(
            Node {
                next: Atomic::new(self.list.head.load(Relaxed)),
                shared,
                locked: UnsafeCell::new(locked),
            },
            flags,
        )?;
        // INVARIANT: Linked once, under the lock; the release store
        // publishes the node's contents before the node.
        self.list.head.store(KBox::into_raw(node), Release);
        Ok(())
    }

    /// Unlinks the nodes for which `keep` is false (it may change their
    /// locked parts first), to be dropped after a grace period; returns how
    /// many went.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&S, &mut L) -> bool) -> usize {
        let mut gone = 0;
        let mut link = &self.list.head;
        loop {
            let p = link.load(Relaxed);
            // SAFETY: As in `iter`.
            let Some(d) = (unsafe { p.as_ref() }) else {
                return gone;
            };
            let node = &d.value;
            // SAFETY: As in `find_mut`.
            if keep(&node.shared, unsafe { &mut *node.locked.get() }) {
                link = &node.next;
                continue;
            }
            // INVARIANT: Unlinked under the lock, then retired; a reader
            // on the node still finds its successor.
            link.store(node.next.load(Relaxed), Relaxed);
            // SAFETY: A node the list owned (the type invariant of
            // `RcuList`), now unlinked: only readers that found it before
            // can reach it.
            unsafe { Deferred::retire(p) };
            gone += 1;
        }
    }

    /// Unlinks the first node for which `f` is true, as [`Self::retain`];
    /// whether there was one.
    pub(crate) fn remove_first(&mut self, mut f: impl FnMut(&S, &L) -> bool) -> bool {
        let mut found = false;
        self.retain(|s, l| {
            let go = !found && f(s, l);
            found |= go;
            !go
        });
        found
    }
}
