// SPDX-License-Identifier: GPL-2.0

//! A keyed hash for hash tables: the kernel's `hsiphash` (SipHash-1-3 on
//! 64-bit kernels, HalfSipHash-1-3 on 32-bit ones) under a random key, so
//! that nobody who does not know the key can choose keys that share a
//! bucket.

use core::mem::size_of_val;
use kernel::bindings;

/// A random key of the hash.
pub(crate) struct HashKey(bindings::hsiphash_key_t);

impl HashKey {
    /// A key from the kernel's random number generator.
    pub(crate) fn random() -> Self {
        let mut key = bindings::hsiphash_key_t::default();
        // SAFETY: `key` is valid for writes of its own size;
        // `get_random_bytes` may be called from any context.
        unsafe { bindings::get_random_bytes((&raw mut key).cast(), size_of_val(&key)) };
        HashKey(key)
    }

    /// A key of the given words (for tests against known values).
    #[cfg(netatop_kunit)]
    pub(crate) fn from_words(key: [kernel::ffi::c_ulong; 2]) -> Self {
        HashKey(bindings::hsiphash_key_t { key })
    }

    /// The hash of the bytes of `words` in memory order.
    pub(crate) fn hash(&self, words: &[u64]) -> u64 {
        // Two words (a UDP socket's key) take the fixed-length function,
        // which hashes the same 16 bytes without the general one's loop.
        #[cfg(target_endian = "little")]
        if let [a, b] = *words {
            let half = |w: u64, i: u32| (w >> (32 * i)) as u32;
            // SAFETY: `self.0` is a valid key, the only memory read.
            return u64::from(unsafe {
                bindings::hsiphash_4u32(half(a, 0), half(a, 1), half(b, 0), half(b, 1), &self.0)
            });
        }
        self.hash_bytes(words)
    }

    /// [`HashKey::hash`] by the general function, for any number of words.
    pub(crate) fn hash_bytes(&self, words: &[u64]) -> u64 {
        // SAFETY: `words` is valid for reads of its size in bytes, and
        // `self.0` is a valid key; `__hsiphash_unaligned` reads nothing
        // else and has no alignment requirement.
        u64::from(unsafe {
            bindings::__hsiphash_unaligned(words.as_ptr().cast(), size_of_val(words), &self.0)
        })
    }
}
