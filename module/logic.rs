// SPDX-License-Identifier: GPL-2.0

//! The pure logic of the module: the ABI of `include/netatop.h` (`abi`),
//! the tables' keys and hash (`key`), records and who is charged
//! (`record`), the byte formula (`wire`), the garbage collection policy
//! (`gc`), the exit protocol's rules (`exits`), header parsing (`packet`),
//! the `/proc/netatop` text (`procfs`) and the getsockopt request rules
//! (`sockopt`).
//!
//! These files use `core` only and no `unsafe`; the same files are the
//! host crate `netatop-logic` (`logic/lib.rs`), where they are unit tested
//! and shared with the user-space programs.

#![forbid(unsafe_code)]

// Public because the host crate exports them.
#[expect(unreachable_pub)]
pub(crate) mod abi;
#[expect(unreachable_pub)]
pub(crate) mod exits;
#[expect(unreachable_pub)]
pub(crate) mod gc;
#[expect(unreachable_pub)]
pub(crate) mod key;
#[expect(unreachable_pub)]
pub(crate) mod packet;
#[expect(unreachable_pub)]
pub(crate) mod procfs;
#[expect(unreachable_pub)]
pub(crate) mod record;
#[expect(unreachable_pub)]
pub(crate) mod sockopt;
#[expect(unreachable_pub)]
pub(crate) mod wire;
