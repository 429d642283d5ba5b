//! Taking exited processes from the netatop module.

use netatop_logic::abi::{NetPerTask, NETATOP_GETCNT_EXIT, NETPERTASK_SIZE};
use std::io;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;

/// A socket to issue netatop's getsockopt commands on.
pub struct Module {
    sock: UdpSocket,
}

impl Module {
    pub fn open() -> io::Result<Module> {
        Ok(Module { sock: UdpSocket::bind("127.0.0.1:0")? })
    }

    /// GETCNT_EXIT: waits for the next exited process. Calling it again
    /// tells the module the previous one is written. Fails with EINTR on
    /// a signal and ENOPROTOOPT when the module is not loaded.
    pub fn next_exited(&self) -> io::Result<NetPerTask> {
        let mut buf = [0u8; NETPERTASK_SIZE];
        let mut len = NETPERTASK_SIZE as libc::socklen_t;
        // SAFETY: `buf` has room for `len` bytes; `len` is writable.
        let r = unsafe {
            libc::getsockopt(
                self.sock.as_raw_fd(),
                libc::SOL_IP,
                NETATOP_GETCNT_EXIT,
                buf.as_mut_ptr().cast(),
                &mut len,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(NetPerTask::from_bytes(&buf[..len as usize]))
    }
}
