//! The module's getsockopt commands, issued on an IPv4 socket.

use netatop_logic::abi::{self, NetPerTask, NETPERTASK_SIZE};
use std::io;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;

/// A socket to issue netatop's commands on. Every command needs
/// `CAP_NET_ADMIN`; without the module loaded they fail with
/// `ENOPROTOOPT`.
pub struct Control {
    sock: UdpSocket,
}

impl Control {
    /// Opens the socket (any IPv4 socket serves; it sends nothing).
    pub fn open() -> io::Result<Control> {
        Ok(Control {
            sock: UdpSocket::bind("127.0.0.1:0")?,
        })
    }

    /// `NETATOP_PROBE`: whether the module answers.
    pub fn probe(&self) -> io::Result<()> {
        self.command(abi::NETATOP_PROBE)
    }

    /// `NETATOP_FORCE_GC`: a garbage collection that has started after
    /// this call, so exited processes reach the exit list.
    pub fn force_gc(&self) -> io::Result<()> {
        self.command(abi::NETATOP_FORCE_GC)
    }

    /// `NETATOP_EMPTY_EXIT`: waits until the exit list is empty and the
    /// last record taken has been acknowledged. A caught signal does not
    /// end the wait (the call is restarted after the handler).
    pub fn empty_exit(&self) -> io::Result<()> {
        self.command(abi::NETATOP_EMPTY_EXIT)
    }

    /// `NETATOP_GETCNT_EXIT`: waits for the oldest exited process and takes
    /// it; calling it again acknowledges that one. Fails with `EINTR` when
    /// a signal interrupts the wait.
    pub fn next_exited(&self) -> io::Result<NetPerTask> {
        self.record(abi::NETATOP_GETCNT_EXIT, 0)
    }

    /// `NETATOP_GETCNT_TGID`: the counters of process `tgid`.
    pub fn process(&self, tgid: i32) -> io::Result<NetPerTask> {
        self.record(abi::NETATOP_GETCNT_TGID, tgid)
    }

    /// `NETATOP_GETCNT_PID`: the counters of thread `tid`.
    pub fn thread(&self, tid: i32) -> io::Result<NetPerTask> {
        self.record(abi::NETATOP_GETCNT_PID, tid)
    }

    /// Command `cmd` with no buffer and an option length of 0, as atop
    /// issues the commands that return nothing.
    pub fn command(&self, cmd: i32) -> io::Result<()> {
        let mut len = 0;
        // SAFETY: No buffer; the kernel writes at most `len` (0) bytes.
        unsafe { self.get_raw(cmd, std::ptr::null_mut(), &mut len) }
    }

    /// Command `cmd` with a `struct netpertask` holding `npt` as the buffer
    /// and `len` as the option length (which may be wrong on purpose);
    /// `npt` is updated from the buffer and the length the module reported
    /// is returned. A length beyond the record is passed as it is: the
    /// module must not write more than a record.
    pub fn get(&self, cmd: i32, npt: &mut NetPerTask, len: i32) -> io::Result<i32> {
        let mut buf = npt.to_bytes();
        let mut optlen = len as libc::socklen_t;
        let declared = usize::try_from(len).unwrap_or(0);
        if declared > buf.len() {
            // A longer option length needs a buffer that long.
            let mut long = vec![0u8; declared];
            long[..buf.len()].copy_from_slice(&buf);
            // SAFETY: `long` has room for `optlen` bytes.
            unsafe { self.get_raw(cmd, long.as_mut_ptr().cast(), &mut optlen)? };
            buf.copy_from_slice(&long[..NETPERTASK_SIZE]);
        } else {
            // SAFETY: `buf` has room for `optlen` bytes (or `optlen` is
            // negative, which the kernel refuses without writing).
            unsafe { self.get_raw(cmd, buf.as_mut_ptr().cast(), &mut optlen)? };
        }
        *npt = NetPerTask::from_bytes(&buf);
        Ok(optlen as i32)
    }

    /// `getsockopt(SOL_IP, cmd)` with the caller's buffer and length.
    ///
    /// # Safety
    ///
    /// The kernel may write up to `*optlen` bytes at `buf`: they must be
    /// writable memory of the caller's or memory the caller does not mind
    /// the kernel refusing (`EFAULT`), and `optlen` must be valid or a
    /// pointer the kernel refuses.
    pub unsafe fn get_raw(
        &self,
        cmd: i32,
        buf: *mut libc::c_void,
        optlen: *mut libc::socklen_t,
    ) -> io::Result<()> {
        // SAFETY: The caller's guarantees, passed on.
        let r = unsafe { libc::getsockopt(self.sock.as_raw_fd(), libc::SOL_IP, cmd, buf, optlen) };
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    fn record(&self, cmd: i32, id: i32) -> io::Result<NetPerTask> {
        let mut npt = NetPerTask {
            id,
            ..Default::default()
        };
        let len = self.get(cmd, &mut npt, NETPERTASK_SIZE as i32)?;
        if len != NETPERTASK_SIZE as i32 {
            return Err(io::Error::other(format!(
                "command {cmd} returned {len} bytes, not a record"
            )));
        }
        Ok(npt)
    }
}
