// SPDX-License-Identifier: GPL-2.0

//! The key of the tables' hash ([`keyed_hash`]): random multipliers from
//! the kernel's random number generator, so that nobody who does not know
//! them can choose keys that share a bucket.

use crate::logic::account::{keyed_hash, HASH_KEY_WORDS};
use core::mem::size_of_val;
use kernel::bindings;

/// A random key of the hash.
pub(crate) struct HashKey([u64; HASH_KEY_WORDS]);

impl HashKey {
    /// A key from the kernel's random number generator.
    pub(crate) fn random() -> Self {
        let mut key = [0u64; HASH_KEY_WORDS];
        // SAFETY: `key` is valid for writes of its own size;
        // `get_random_bytes` may be called from any context.
        unsafe { bindings::get_random_bytes(key.as_mut_ptr().cast(), size_of_val(&key)) };
        HashKey(key)
    }

    /// The hash of `words` (at most six).
    #[inline(always)]
    pub(crate) fn hash(&self, words: &[u64]) -> u64 {
        u64::from(keyed_hash(&self.0, words))
    }
}
