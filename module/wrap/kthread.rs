// SPDX-License-Identifier: GPL-2.0

//! A kernel thread that runs until its owner drops it.
//!
//! C header: [`include/linux/kthread.h`](srctree/include/linux/kthread.h)

use core::marker::PhantomData;
use kernel::bindings;
use kernel::error::from_err_ptr;
use kernel::ffi::{c_int, c_void};
use kernel::prelude::*;
use kernel::sync::aref::ARef;
use kernel::sync::Arc;
use kernel::task::Task;
use kernel::types::ForeignOwnable;

/// The body of a kernel thread.
pub(crate) trait ThreadMain: Send + Sync + 'static {
    /// Runs in the new thread; must return once `me.should_stop()` is true.
    fn run(&self, me: &Running);
}

/// The running kernel thread, handed to [`ThreadMain::run`].
///
/// # Invariants
///
/// Only exists on the stack of a thread started by [`KThread`].
pub(crate) struct Running(PhantomData<*const ()>);

impl Running {
    /// Whether the thread has been asked to stop.
    pub(crate) fn should_stop(&self) -> bool {
        // SAFETY: By the type invariant the current task is a kthread.
        unsafe { bindings::kthread_should_stop() }
    }
}

/// Sleeps for `msecs`, or until woken (`KThread` drop wakes it), or until
/// a signal arrives.
pub(crate) fn sleep_interruptible(msecs: u32) {
    let jiffies = kernel::time::msecs_to_jiffies(msecs);
    let timeout = kernel::ffi::c_long::try_from(jiffies).unwrap_or(kernel::ffi::c_long::MAX);
    // SAFETY: Called from process context with no locks held.
    unsafe { bindings::schedule_timeout_interruptible(timeout) };
}

// `KThread::run` views a `task_struct` pointer as a `Task`.
const _: () = assert!(
    core::mem::size_of::<Task>() == core::mem::size_of::<bindings::task_struct>()
        && core::mem::align_of::<Task>() == core::mem::align_of::<bindings::task_struct>()
);

/// A running kernel thread.
///
/// # Invariants
///
/// `task` is a kthread created by `kthread_create_on_node` that has not
/// been stopped, and this value holds a reference on it, so its
/// `task_struct` stays valid for `kthread_stop` even if the thread
/// function has already returned; `data` came from
/// `Arc::<T>::into_foreign` and is what the thread borrows.
pub(crate) struct KThread<T: ThreadMain> {
    task: ARef<Task>,
    data: *mut c_void,
    _main: PhantomData<Arc<T>>,
}

// SAFETY: The handle may be dropped from any thread; `T` is Send + Sync.
unsafe impl<T: ThreadMain> Send for KThread<T> {}

// SAFETY: `&KThread` offers no methods.
unsafe impl<T: ThreadMain> Sync for KThread<T> {}

impl<T: ThreadMain> KThread<T> {
    /// Starts a thread named `name` that calls `main.run()`.
    pub(crate) fn run(name: &'static CStr, main: Arc<T>) -> Result<Self> {
        let data = main.into_foreign();
        // SAFETY: `thread_fn::<T>` borrows `data` for as long as this value
        // lives; the format is "%s" with one NUL-terminated argument.
        let task = unsafe {
            bindings::kthread_create_on_node(
                Some(thread_fn::<T>),
                data,
                bindings::NUMA_NO_NODE,
                c"%s".as_char_ptr(),
                name.as_char_ptr(),
            )
        };
        let task = match from_err_ptr(task) {
            Ok(task) => task,
            Err(e) => {
                // SAFETY: No thread was created, nothing borrows `data`.
                drop(unsafe { Arc::<T>::from_foreign(data) });
                return Err(e);
            }
        };
        // CAST: `Task` is a transparent wrapper of `struct task_struct`.
        // SAFETY: `task` is a valid task that cannot exit before it is
        // woken; taking the reference here (`get_task_struct`) keeps it
        // valid for as long as the returned value lives.
        let task = ARef::from(unsafe { &*task.cast::<Task>() });
        // SAFETY: `task` was just created and not yet woken.
        unsafe { bindings::wake_up_process(task.as_ptr()) };
        // INVARIANT: Created above, with `data` from `into_foreign`; the
        // reference is held by `task`.
        Ok(KThread {
            task,
            data,
            _main: PhantomData,
        })
    }
}

impl<T: ThreadMain> Drop for KThread<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the thread was not stopped and its
        // `task_struct` is held; `kthread_stop` wakes it and waits until
        // `run` returned (at once if it already has). The reference is
        // dropped with `self.task` afterwards.
        unsafe { bindings::kthread_stop(self.task.as_ptr()) };
        // SAFETY: The thread is gone, nothing borrows `data`.
        drop(unsafe { Arc::<T>::from_foreign(self.data) });
    }
}

/// # Safety
///
/// `data` is the pointer passed by `KThread::run`, alive until the thread
/// has been stopped.
unsafe extern "C" fn thread_fn<T: ThreadMain>(data: *mut c_void) -> c_int {
    // SAFETY: See the function's safety requirements.
    let main = unsafe { Arc::<T>::borrow(data) };
    // INVARIANT: This is a thread started by `KThread::run`.
    main.run(&Running(PhantomData));
    0
}
