//! Child processes with a known name that do network work in steps, each
//! step started by the parent, so the parent can look at the module's
//! counters in between.

use nix::fcntl::OFlag;
use nix::sys::prctl;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::{fork, pipe2, ForkResult, Pid};
use std::ffi::CString;
use std::io::{Read, Write};

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
    let (r, w) = pipe2(OFlag::O_CLOEXEC).expect("pipe");
    (std::fs::File::from(r), std::fs::File::from(w))
}

/// Sets the calling thread's comm.
pub fn set_comm(name: &str) {
    let n = name.len().min(15);
    let name = CString::new(&name.as_bytes()[..n]).expect("a name without NUL");
    prctl::set_name(&name).expect("PR_SET_NAME");
}

impl Child {
    /// Forks a child named `name` that runs `body`, then exits.
    pub fn spawn(name: &str, body: impl FnOnce(&mut Ctl)) -> Child {
        let (up_r, up_w) = pipe();
        let (down_r, down_w) = pipe();
        // SAFETY: The test runner is single threaded.
        let pid = match unsafe { fork() }.expect("fork") {
            ForkResult::Parent { child } => child.as_raw(),
            ForkResult::Child => 0,
        };
        if pid == 0 {
            drop(up_r);
            drop(down_w);
            set_comm(name);
            let mut ctl = Ctl {
                to_parent: up_w,
                from_parent: down_r,
            };
            body(&mut ctl);
            // SAFETY: Leaving the forked child at once, without the parent's
            // destructors and exit handlers.
            unsafe { libc::_exit(0) }
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
    pub fn finish(mut self) {
        if let Some(mut w) = self.to_child.take() {
            let _ = w.write_all(b"x");
        }
        let _ = waitpid(Pid::from_raw(self.pid), None);
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.to_child.is_some() {
            let pid = Pid::from_raw(self.pid);
            let _ = kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
        }
    }
}
