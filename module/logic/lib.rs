// SPDX-License-Identifier: GPL-2.0

//! The parts of the netatop module that need no kernel: the same source
//! files the kernel build compiles into `netatop.ko`, built here as a
//! normal crate so their logic is unit tested on the host and their ABI
//! definitions can be shared with `netatopd`.
//!
//! Files listed here may use `core` only, and no `unsafe`; the kernel
//! build lists the same files in `../logic.rs`.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

pub mod abi;
pub mod exits;
pub mod gc;
pub mod key;
pub mod packet;
pub mod procfs;
pub mod record;
pub mod sockopt;
pub mod wire;

/// The layout of `include/netatop.h` as the C compiler sees it, written by
/// `build.rs`; compared with the Rust definitions at compile time.
mod c_layout {
    include!(concat!(env!("OUT_DIR"), "/c_layout.rs"));
}

const _: () = {
    use crate::abi::{NetPerTask, TaskCount, COMLEN};
    use core::mem::{offset_of, size_of};
    assert!(c_layout::COMLEN == COMLEN);
    assert!(c_layout::SIZEOF_TASKCOUNT == size_of::<TaskCount>());
    assert!(c_layout::SIZEOF_NETPERTASK == size_of::<NetPerTask>());
    assert!(c_layout::OFFSETOF_ID == offset_of!(NetPerTask, id));
    assert!(c_layout::OFFSETOF_BTIME == offset_of!(NetPerTask, btime));
    assert!(c_layout::OFFSETOF_COMMAND == offset_of!(NetPerTask, command));
    assert!(c_layout::OFFSETOF_TC == offset_of!(NetPerTask, tc));
    assert!(c_layout::OFFSETOF_UDPRCVBYTES == offset_of!(TaskCount, udprcvbytes));
    assert!(c_layout::NETATOP_BASE_CTL == crate::abi::NETATOP_BASE_CTL as i64);
    assert!(c_layout::NETATOP_GETCNT_PID == crate::abi::NETATOP_GETCNT_PID as i64);
};
