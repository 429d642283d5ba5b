// SPDX-License-Identifier: GPL-2.0

//! A read-only `/proc` file produced by a `seq_file` show function.
//!
//! C header: [`include/linux/proc_fs.h`](srctree/include/linux/proc_fs.h)
//!
//! The file exists as long as the [`ProcEntry`] does; dropping it removes
//! the file and waits for readers in progress before the shown data is
//! released.

use super::ffi;
use core::marker::PhantomData;
use core::ptr::{self, NonNull};
use kernel::bindings;
use kernel::ffi::{c_int, c_void};
use kernel::prelude::*;
use kernel::seq_file::SeqFile;
use kernel::sync::Arc;
use kernel::types::ForeignOwnable;

/// What a `/proc` file shows.
pub(crate) trait Show: Send + Sync + 'static {
    /// Writes the whole content of the file to `m`.
    fn show(&self, m: &SeqFile);
}

/// A file directly under `/proc`.
///
/// # Invariants
///
/// `entry` is a live proc entry created with `proc_create_single_data`
/// whose data pointer is `data`, which came from `Arc::<T>::into_foreign`
/// and is released only after the entry is removed.
pub(crate) struct ProcEntry<T: Show> {
    entry: NonNull<ffi::ProcDirEntry>,
    data: *mut c_void,
    _shown: PhantomData<Arc<T>>,
}

// SAFETY: The entry is a handle the proc code manages with its own locking;
// the shown data is an `Arc<T>` with `T: Send + Sync`.
unsafe impl<T: Show> Send for ProcEntry<T> {}

// SAFETY: `&ProcEntry` offers no methods.
unsafe impl<T: Show> Sync for ProcEntry<T> {}

impl<T: Show> ProcEntry<T> {
    /// Creates `/proc/<name>` with permissions `mode`, showing `data`.
    pub(crate) fn new(name: &'static CStr, mode: u16, data: Arc<T>) -> Result<Self> {
        let data = data.into_foreign();
        // SAFETY: `name` is a NUL-terminated string that outlives the entry;
        // a NULL parent means /proc itself; `show_callback::<T>` expects
        // exactly the data pointer passed here.
        let entry = unsafe {
            ffi::proc_create_single_data(
                name.as_char_ptr(),
                mode,
                ptr::null_mut(),
                show_callback::<T>,
                data,
            )
        };
        match NonNull::new(entry) {
            // INVARIANT: The entry was created with `data` as its data.
            Some(entry) => Ok(Self {
                entry,
                data,
                _shown: PhantomData,
            }),
            None => {
                // SAFETY: No entry refers to `data`; it came from
                // `into_foreign` above.
                drop(unsafe { Arc::<T>::from_foreign(data) });
                Err(ENOMEM)
            }
        }
    }
}

impl<T: Show> Drop for ProcEntry<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the entry is live. `proc_remove`
        // waits until readers in progress have left `show_callback`.
        unsafe { ffi::proc_remove(self.entry.as_ptr()) };
        // SAFETY: The entry is gone, nothing can borrow `data` any more; it
        // came from `Arc::<T>::into_foreign`.
        drop(unsafe { Arc::<T>::from_foreign(self.data) });
    }
}

/// # Safety
///
/// Called by the seq_file code with a valid `m` whose `private` field is
/// the data pointer of a live [`ProcEntry<T>`].
unsafe extern "C" fn show_callback<T: Show>(m: *mut bindings::seq_file, _v: *mut c_void) -> c_int {
    // SAFETY: `m` is valid, as the function's safety requirements say.
    let data = unsafe { (*m).private };
    // SAFETY: `data` came from `Arc::<T>::into_foreign` and the entry, which
    // keeps it alive, cannot be removed while a reader is in here.
    let shown = unsafe { Arc::<T>::borrow(data) };
    // SAFETY: `m` is valid and used by this thread only for the call.
    shown.show(unsafe { SeqFile::from_raw(m) });
    0
}
