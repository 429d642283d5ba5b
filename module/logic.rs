// SPDX-License-Identifier: GPL-2.0

//! The pure logic of the module: the ABI of `include/netatop.h`, the
//! attribution and garbage collection rules, the byte formula, header
//! parsing, the `/proc/netatop` text and the getsockopt request rules.
//!
//! These files use `core` only and no `unsafe`; the same files are the
//! host crate `netatop-logic` (`logic/lib.rs`), where they are unit tested
//! and shared with the user-space programs.

#![forbid(unsafe_code)]

// Public because the host crate exports them.
#[expect(unreachable_pub)]
pub(crate) mod abi;
#[expect(unreachable_pub)]
pub(crate) mod account;
#[expect(unreachable_pub)]
pub(crate) mod packet;
#[expect(unreachable_pub)]
pub(crate) mod procfs;
#[expect(unreachable_pub)]
pub(crate) mod sockopt;
