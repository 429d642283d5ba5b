// SPDX-License-Identifier: GPL-2.0

//! The key of the tables' hash ([`keyed_hash`]): random multipliers from
//! the kernel's random number generator, so that nobody who does not know
//! them can choose keys that share a bucket.

#![forbid(unsafe_code)]

use crate::logic::key::{keyed_hash, HASH_KEY_WORDS};
use crate::wrap::random;

/// A random key of the hash.
pub(crate) struct HashKey([u64; HASH_KEY_WORDS]);

impl HashKey {
    /// A key from the kernel's random number generator.
    pub(crate) fn random() -> Self {
        HashKey(random::words())
    }

    /// The hash of `words` (at most six).
    #[inline(always)]
    pub(crate) fn hash(&self, words: &[u64]) -> u64 {
        u64::from(keyed_hash(&self.0, words))
    }
}
