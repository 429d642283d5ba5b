// SPDX-License-Identifier: GPL-2.0

//! The getsockopt commands of `include/netatop.h`.

#![forbid(unsafe_code)]

use crate::exits::WaitError;
use crate::logic::abi::{NetPerTask, NETPERTASK_SIZE};
use crate::logic::key::TaskKind;
use crate::logic::sockopt::{self, Command, Invalid};
use crate::state::State;
use crate::tasks;
use crate::wrap::cred;
use crate::wrap::nf_sockopt::GetSockopt;
use kernel::ffi::c_int;
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::uaccess::{UserPtr, UserSlice};

/// The getsockopt interface to the module's state.
pub(crate) struct Control {
    pub(crate) state: Arc<State>,
}

impl GetSockopt for Control {
    fn get(&self, cmd: c_int, buf: UserPtr, len: &mut c_int) -> Result {
        if !cred::capable_net_admin() {
            return Err(EPERM);
        }
        let cmd = Command::from_raw(cmd).map_err(errno)?;
        let state = &self.state;
        match cmd {
            Command::Probe => Ok(()),
            Command::ForceGc => {
                state.collect_garbage(true);
                Ok(())
            }
            // A caught signal does not end this wait: the call goes on
            // once the handler has run. atop's interval alarm has a
            // handler without SA_RESTART, and an EMPTY_EXIT that failed
            // with EINTR made atop skip the log for that sample and show
            // its exited processes with zero counters.
            Command::EmptyExit => state
                .exits
                .wait_drained()
                .map_err(wait_error(ERESTARTNOINTR)),
            Command::GetcntExit => {
                let n = sockopt::transfer_len(*len).map_err(errno)?;
                let taker = tasks::current_owner().tgid;
                state
                    .exits
                    .take(taker, |record| {
                        write_record(buf, n, &record.to_netpertask())
                    })
                    .map_err(wait_error(ERESTARTSYS))?;
                *len = n as c_int;
                Ok(())
            }
            Command::GetcntTgid | Command::GetcntPid => {
                let n = sockopt::transfer_len(*len).map_err(errno)?;
                let mut input = [0u8; NETPERTASK_SIZE];
                UserSlice::new(buf, n)
                    .reader()
                    .read_slice(&mut input[..n])?;
                let id = NetPerTask::from_bytes(&input[..n]).id;
                let kind = if cmd == Command::GetcntTgid {
                    TaskKind::Process
                } else {
                    TaskKind::Thread
                };
                let record = state.lookup(id, kind).ok_or(ESRCH)?;
                write_record(buf, n, &record.to_netpertask())?;
                *len = n as c_int;
                Ok(())
            }
        }
    }
}

/// Copies the first `n` bytes of `npt` (padding zeroed) to the caller.
fn write_record(buf: UserPtr, n: usize, npt: &NetPerTask) -> Result {
    UserSlice::new(buf, n)
        .writer()
        .write_slice(&npt.to_bytes()[..n])
}

/// The error of a failed wait; a signal makes it `interrupted`, a
/// restart code (`ERESTARTSYS`: the call fails with `EINTR` unless the
/// handler has `SA_RESTART`; `ERESTARTNOINTR`: it is restarted after any
/// handler).
fn wait_error(interrupted: Error) -> impl FnOnce(WaitError) -> Error {
    move |e| match e {
        WaitError::Interrupted => interrupted,
        WaitError::Failed(e) => e,
    }
}

fn errno(_: Invalid) -> Error {
    EINVAL
}
