// SPDX-License-Identifier: GPL-2.0

//! What a getsockopt request means, before anything is done about it.
//!
//! Pure logic shared by the kernel module and the host tests: the command
//! numbers of `include/netatop.h` and the rules for the caller's length.
//! The kernel side maps [`Invalid`] to `EINVAL` at the boundary.

use super::abi::{self, Pid, NETPERTASK_SIZE};
use core::ffi::c_int;
use core::mem::size_of;

/// A request that is invalid (`EINVAL`): an unknown command, or a
/// buffer shorter than `sizeof(pid_t)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Invalid;

/// One getsockopt command of the netatop range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Succeed if the module is loaded.
    Probe,
    /// Run the garbage collector now.
    ForceGc,
    /// Wait until every exited process has been taken and acknowledged.
    EmptyExit,
    /// Take the oldest exited process, waiting for one if needed.
    GetcntExit,
    /// Counters of the thread group with the given pid.
    GetcntTgid,
    /// Counters of the thread with the given tid.
    GetcntPid,
}

impl Command {
    /// Decodes a command number; numbers outside the six commands (the
    /// registered range is one wider) are `EINVAL`.
    pub fn from_raw(cmd: c_int) -> Result<Self, Invalid> {
        Ok(match cmd {
            abi::NETATOP_PROBE => Command::Probe,
            abi::NETATOP_FORCE_GC => Command::ForceGc,
            abi::NETATOP_EMPTY_EXIT => Command::EmptyExit,
            abi::NETATOP_GETCNT_EXIT => Command::GetcntExit,
            abi::NETATOP_GETCNT_TGID => Command::GetcntTgid,
            abi::NETATOP_GETCNT_PID => Command::GetcntPid,
            _ => return Err(Invalid),
        })
    }
}

/// The number of bytes to exchange for a caller's `*optlen`: below
/// `sizeof(pid_t)` (negative included) is `EINVAL`, above the size of `struct
/// netpertask` is clamped to it.
///
/// The caller is told the clamped length back.
pub fn transfer_len(optlen: c_int) -> Result<usize, Invalid> {
    let len = usize::try_from(optlen).map_err(|_| Invalid)?;
    if len < size_of::<Pid>() {
        return Err(Invalid);
    }
    Ok(len.min(NETPERTASK_SIZE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_number_decodes_to_its_command() {
        let expect = [
            (15661, Command::Probe),
            (15662, Command::ForceGc),
            (15663, Command::EmptyExit),
            (15664, Command::GetcntExit),
            (15665, Command::GetcntTgid),
            (15666, Command::GetcntPid),
        ];
        for (raw, cmd) in expect {
            assert_eq!(Command::from_raw(raw), Ok(cmd), "command {raw}");
        }
    }

    #[test]
    fn numbers_outside_the_six_commands_are_einval() {
        for raw in [15660, 15667, 0, -1, c_int::MIN, c_int::MAX] {
            assert_eq!(Command::from_raw(raw), Err(Invalid), "command {raw}");
        }
    }

    #[test]
    fn short_and_negative_lengths_are_einval() {
        for len in [c_int::MIN, -96, -1, 0, 1, 2, 3] {
            assert_eq!(transfer_len(len), Err(Invalid), "optlen {len}");
        }
    }

    #[test]
    fn lengths_are_clamped_to_the_record() {
        assert_eq!(transfer_len(4), Ok(4));
        assert_eq!(transfer_len(95), Ok(95));
        assert_eq!(transfer_len(96), Ok(96));
        assert_eq!(transfer_len(97), Ok(96));
        assert_eq!(transfer_len(c_int::MAX), Ok(96));
    }
}
