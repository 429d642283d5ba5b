//! Child processes with a known name that do network work in steps, each
//! step started by the parent, so the parent can look at the module's
//! counters in between.

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};

/// The child's side: report results and wait for the next step.
pub struct Ctl {
    to_parent: std::fs::File,
    from_parent: std::fs::File,
}

impl Ctl {
    /// Sends one line to the parent.
    pub fn report(&mut self, line: &str) {
        let _ = self.to_parent.write_all(format!("{line}\n").as_bytes());
    }

    /// Blocks until the parent says go; false when the parent is done.
    pub fn wait(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.from_parent.read(&mut b), Ok(1)) && b[0] == b'g'
    }
}

/// The parent's handle on a running child.
pub struct Child {
    pub pid: i32,
    to_child: Option<std::fs::File>,
    from_child: std::io::BufReader<std::fs::File>,
}

fn pipe() -> (std::fs::File, std::fs::File) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for two descriptors.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0, "pipe");
    // SAFETY: Both descriptors were just created and are owned here.
    unsafe {
        (
            std::fs::File::from(OwnedFd::from_raw_fd(fds[0])),
            std::fs::File::from(OwnedFd::from_raw_fd(fds[1])),
        )
    }
}

/// Sets the calling thread's comm.
pub fn set_comm(name: &str) {
    let mut buf = [0u8; 16];
    let n = name.len().min(15);
    buf[..n].copy_from_slice(&name.as_bytes()[..n]);
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of up to 16 bytes.
    unsafe { libc::prctl(libc::PR_SET_NAME, buf.as_ptr()) };
}

impl Child {
    /// Forks a child named `name` that runs `body`, then exits.
    pub fn spawn(name: &str, body: impl FnOnce(&mut Ctl)) -> Child {
        let (up_r, up_w) = pipe();
        let (down_r, down_w) = pipe();
        // SAFETY: The test runner is single threaded.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            drop(up_r);
            drop(down_w);
            set_comm(name);
            let mut ctl = Ctl { to_parent: up_w, from_parent: down_r };
            body(&mut ctl);
            // SAFETY: Leaving the child without the parent's destructors.
            unsafe { libc::_exit(0) };
        }
        Child {
            pid,
            to_child: Some(down_w),
            from_child: std::io::BufReader::new(up_r),
        }
    }

    /// The next line the child reports (empty if it exited).
    pub fn read(&mut self) -> String {
        use std::io::BufRead;
        let mut line = String::new();
        let _ = self.from_child.read_line(&mut line);
        line.trim_end().to_string()
    }

    /// Lets the child go on to its next step.
    pub fn go(&mut self) {
        if let Some(w) = self.to_child.as_mut() {
            let _ = w.write_all(b"g");
        }
    }

    /// Tells the child it is done and waits for it to exit. (An explicit
    /// message, not end of file: other children inherit the pipe.)
    pub fn finish(mut self) -> i32 {
        if let Some(mut w) = self.to_child.take() {
            let _ = w.write_all(b"x");
        }
        let mut status = 0;
        // SAFETY: Waiting for our own child.
        unsafe { libc::waitpid(self.pid, &mut status, 0) };
        status
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.to_child.is_some() {
            // SAFETY: Killing and reaping our own child.
            unsafe {
                libc::kill(self.pid, libc::SIGKILL);
                libc::waitpid(self.pid, std::ptr::null_mut(), 0);
            }
        }
    }
}
