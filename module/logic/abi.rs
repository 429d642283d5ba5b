// SPDX-License-Identifier: GPL-2.0

//! The kernel/user ABI of `include/netatop.h`, in Rust.
//!
//! Shared by the kernel module, the host-side logic crate and `netatopd`,
//! so there is one definition of the layout. It uses `core` only. The
//! layout is fixed by atop binaries in the field: the assertions at the end
//! of this file hold the exact sizes and offsets of the C header on
//! x86_64, and the host crate's build script checks them again against
//! the header itself.

use core::ffi::{c_char, c_int, c_ulong};
use core::mem::{offset_of, size_of};

/// Length of the `command` field, `COMLEN` in C (the kernel's TASK_COMM_LEN).
pub const COMLEN: usize = 16;

/// First getsockopt command number (level `SOL_IP`).
pub const NETATOP_BASE_CTL: c_int = 15661;
/// Succeed if the module is loaded.
pub const NETATOP_PROBE: c_int = NETATOP_BASE_CTL;
/// Run the garbage collector now.
pub const NETATOP_FORCE_GC: c_int = NETATOP_BASE_CTL + 1;
/// Block until the exit list is empty and acknowledged.
pub const NETATOP_EMPTY_EXIT: c_int = NETATOP_BASE_CTL + 2;
/// Take the oldest exited process (blocks).
pub const NETATOP_GETCNT_EXIT: c_int = NETATOP_BASE_CTL + 3;
/// Counters of a thread group.
pub const NETATOP_GETCNT_TGID: c_int = NETATOP_BASE_CTL + 4;
/// Counters of a thread.
pub const NETATOP_GETCNT_PID: c_int = NETATOP_BASE_CTL + 5;
/// One past the last command, the `get_optmax` of the sockopt range.
pub const NETATOP_CTL_END: c_int = NETATOP_BASE_CTL + 6;

/// `pid_t`.
pub type Pid = c_int;

/// `struct taskcount`: packets and wire bytes per direction and protocol.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskCount {
    pub tcpsndpacks: u64,
    pub tcpsndbytes: u64,
    pub tcprcvpacks: u64,
    pub tcprcvbytes: u64,
    pub udpsndpacks: u64,
    pub udpsndbytes: u64,
    pub udprcvpacks: u64,
    pub udprcvbytes: u64,
}

/// `struct netpertask`: the record exchanged with user space.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetPerTask {
    /// Thread group id or thread id, depending on the command.
    pub id: Pid,
    /// Start time of the task in seconds since the epoch.
    pub btime: c_ulong,
    /// The task's comm, NUL padded.
    pub command: [c_char; COMLEN],
    pub tc: TaskCount,
}

/// Size of `struct netpertask`.
pub const NETPERTASK_SIZE: usize = size_of::<NetPerTask>();

impl NetPerTask {
    /// The record as the bytes user space sees, padding zeroed.
    pub fn to_bytes(self) -> [u8; NETPERTASK_SIZE] {
        let mut out = [0u8; NETPERTASK_SIZE];
        put(&mut out, offset_of!(NetPerTask, id), &self.id.to_ne_bytes());
        put(
            &mut out,
            offset_of!(NetPerTask, btime),
            &self.btime.to_ne_bytes(),
        );
        for (i, c) in self.command.iter().enumerate() {
            out[offset_of!(NetPerTask, command) + i] = *c as u8;
        }
        let tc = offset_of!(NetPerTask, tc);
        for (i, v) in self.tc.as_array().iter().enumerate() {
            put(&mut out, tc + 8 * i, &v.to_ne_bytes());
        }
        out
    }

    /// Parses the bytes user space passed in; a short buffer leaves the
    /// remaining fields zero (only `id` is input to the module).
    pub fn from_bytes(bytes: &[u8]) -> Self {
        let mut full = [0u8; NETPERTASK_SIZE];
        let n = bytes.len().min(NETPERTASK_SIZE);
        full[..n].copy_from_slice(&bytes[..n]);
        let get8 = |off: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&full[off..off + 8]);
            b
        };
        let idoff = offset_of!(NetPerTask, id);
        let mut id = [0u8; 4];
        id.copy_from_slice(&full[idoff..idoff + 4]);
        let mut command = [0 as c_char; COMLEN];
        for (i, c) in command.iter_mut().enumerate() {
            *c = full[offset_of!(NetPerTask, command) + i] as c_char;
        }
        let tc = offset_of!(NetPerTask, tc);
        let mut vals = [0u64; 8];
        for (i, v) in vals.iter_mut().enumerate() {
            *v = u64::from_ne_bytes(get8(tc + 8 * i));
        }
        NetPerTask {
            id: Pid::from_ne_bytes(id),
            btime: c_ulong::from_ne_bytes(get8(offset_of!(NetPerTask, btime))),
            command,
            tc: TaskCount::from_array(vals),
        }
    }

    /// Sets `command` from a task's comm bytes (up to the first NUL),
    /// truncated to `COMLEN - 1` bytes and NUL padded.
    pub fn set_command(&mut self, comm: &[u8]) {
        self.command = [0; COMLEN];
        let len = comm.iter().position(|&c| c == 0).unwrap_or(comm.len());
        for (dst, src) in self.command.iter_mut().zip(&comm[..len.min(COMLEN - 1)]) {
            *dst = *src as c_char;
        }
    }
}

impl TaskCount {
    /// The counters in declaration order.
    pub fn as_array(&self) -> [u64; 8] {
        [
            self.tcpsndpacks,
            self.tcpsndbytes,
            self.tcprcvpacks,
            self.tcprcvbytes,
            self.udpsndpacks,
            self.udpsndbytes,
            self.udprcvpacks,
            self.udprcvbytes,
        ]
    }

    /// The inverse of [`TaskCount::as_array`].
    pub fn from_array(v: [u64; 8]) -> Self {
        TaskCount {
            tcpsndpacks: v[0],
            tcpsndbytes: v[1],
            tcprcvpacks: v[2],
            tcprcvbytes: v[3],
            udpsndpacks: v[4],
            udpsndbytes: v[5],
            udprcvpacks: v[6],
            udprcvbytes: v[7],
        }
    }
}

fn put(out: &mut [u8], off: usize, bytes: &[u8]) {
    out[off..off + bytes.len()].copy_from_slice(bytes);
}

// The C layout on x86_64 (LP64): pid_t at 0, 4 bytes of padding, then
// btime at 8, command at 16, the counters at 32, 96 bytes in all.
#[cfg(target_pointer_width = "64")]
const _: () = {
    assert!(size_of::<TaskCount>() == 64);
    assert!(size_of::<NetPerTask>() == 96);
    assert!(offset_of!(NetPerTask, id) == 0);
    assert!(offset_of!(NetPerTask, btime) == 8);
    assert!(offset_of!(NetPerTask, command) == 16);
    assert!(offset_of!(NetPerTask, tc) == 32);
    assert!(offset_of!(TaskCount, udpsndpacks) == 32);
    assert!(offset_of!(TaskCount, udprcvbytes) == 56);
};

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> NetPerTask {
        let mut npt = NetPerTask {
            id: 4242,
            btime: 1_764_000_000,
            tc: TaskCount::from_array([1, 2, 3, 4, 5, 6, 7, 8]),
            ..Default::default()
        };
        npt.set_command(b"sender\0junk");
        npt
    }

    #[test]
    fn bytes_follow_the_c_layout() {
        let b = sample().to_bytes();
        assert_eq!(&b[0..4], &4242i32.to_ne_bytes());
        assert_eq!(&b[4..8], &[0, 0, 0, 0], "padding must be zero");
        assert_eq!(&b[8..16], &1_764_000_000u64.to_ne_bytes());
        assert_eq!(&b[16..32], b"sender\0\0\0\0\0\0\0\0\0\0");
        for i in 0..8 {
            let off = 32 + 8 * i;
            assert_eq!(
                &b[off..off + 8],
                &(i as u64 + 1).to_ne_bytes(),
                "counter {i}"
            );
        }
    }

    #[test]
    fn bytes_round_trip() {
        let npt = sample();
        assert_eq!(NetPerTask::from_bytes(&npt.to_bytes()), npt);
    }

    #[test]
    fn short_input_reads_the_id_only() {
        let npt = NetPerTask::from_bytes(&77i32.to_ne_bytes());
        assert_eq!(
            npt,
            NetPerTask {
                id: 77,
                ..Default::default()
            }
        );
    }

    #[test]
    fn command_is_truncated_and_nul_terminated() {
        let mut npt = NetPerTask::default();
        npt.set_command(b"a-very-long-command-name");
        assert_eq!(npt.to_bytes()[16..32], *b"a-very-long-com\0");
    }
}
