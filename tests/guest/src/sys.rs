//! Thin helpers over the system calls the tests use.

use netatop_logic::abi::{NetPerTask, NETPERTASK_SIZE};
use std::io;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::process::Command;

/// Result of a test step: an error message says what differed.
pub type Check = Result<(), String>;

/// Issues a netatop getsockopt command on `sock` with a buffer of `len`
/// bytes holding `npt`; returns the length the module reported back.
pub fn netatop_get(sock: &UdpSocket, cmd: i32, npt: &mut NetPerTask, len: i32) -> io::Result<i32> {
    let mut buf = [0u8; NETPERTASK_SIZE];
    buf.copy_from_slice(&npt.to_bytes());
    let mut optlen = len as libc::socklen_t;
    // SAFETY: `buf` is valid for NETPERTASK_SIZE bytes and `optlen` for
    // writing; the module never writes more than NETPERTASK_SIZE bytes,
    // whatever `len` says.
    let r = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_IP,
            cmd,
            buf.as_mut_ptr().cast(),
            &mut optlen,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    *npt = NetPerTask::from_bytes(&buf);
    Ok(optlen as i32)
}

/// Issues a command with no buffer at all, as atop does for PROBE.
pub fn netatop_cmd(sock: &UdpSocket, cmd: i32) -> io::Result<()> {
    let mut optlen: libc::socklen_t = 0;
    // SAFETY: A NULL buffer with length 0; `optlen` is valid.
    let r = unsafe {
        libc::getsockopt(sock.as_raw_fd(), libc::SOL_IP, cmd, std::ptr::null_mut(), &mut optlen)
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// A UDP socket to talk to the module through.
pub fn control_socket() -> io::Result<UdpSocket> {
    UdpSocket::bind("127.0.0.1:0")
}

/// The errno of a result, for comparisons.
pub fn errno<T>(r: &io::Result<T>) -> Option<i32> {
    r.as_ref().err().and_then(|e| e.raw_os_error())
}

/// Runs `f` in a forked child and returns its verdict; the child may
/// change its credentials without affecting the runner.
pub fn in_child(f: impl FnOnce() -> Check) -> Check {
    let mut fds = [0i32; 2];
    // SAFETY: `fds` has room for two descriptors.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } < 0 {
        return Err(format!("pipe: {}", io::Error::last_os_error()));
    }
    // SAFETY: The runner is single threaded.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!("fork: {}", io::Error::last_os_error()));
    }
    if pid == 0 {
        let msg = match f() {
            Ok(()) => String::new(),
            Err(e) => e,
        };
        // SAFETY: Writing a valid buffer to our end of the pipe, then
        // leaving without running the parent's destructors.
        unsafe {
            libc::write(fds[1], msg.as_ptr().cast(), msg.len());
            libc::_exit(if msg.is_empty() { 0 } else { 1 });
        }
    }
    // SAFETY: Closing our copy of the write end.
    unsafe { libc::close(fds[1]) };
    let mut msg = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        // SAFETY: `buf` is valid for its length.
        let n = unsafe { libc::read(fds[0], buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            break;
        }
        msg.extend_from_slice(&buf[..n as usize]);
    }
    // SAFETY: Closing our read end; reaping our own child.
    let mut status = 0;
    unsafe {
        libc::close(fds[0]);
        libc::waitpid(pid, &mut status, 0);
    }
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        Ok(())
    } else if msg.is_empty() {
        Err(format!("child ended with status {status:#x}"))
    } else {
        Err(String::from_utf8_lossy(&msg).into_owned())
    }
}

/// Clears every capability from the effective set of this process.
pub fn drop_effective_capabilities(keep: &[u32]) -> Check {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let mut hdr = Header { version: 0x2008_0522, pid: 0 };
    let mut data = [Data::default(); 2];
    // SAFETY: Version 3 header and two data elements, as capget expects.
    if unsafe { libc::syscall(libc::SYS_capget, &mut hdr, data.as_mut_ptr()) } < 0 {
        return Err(format!("capget: {}", io::Error::last_os_error()));
    }
    data[0].effective = 0;
    data[1].effective = 0;
    for &cap in keep {
        data[(cap / 32) as usize].effective |= 1 << (cap % 32);
    }
    // SAFETY: As above, for capset.
    if unsafe { libc::syscall(libc::SYS_capset, &mut hdr, data.as_ptr()) } < 0 {
        return Err(format!("capset: {}", io::Error::last_os_error()));
    }
    Ok(())
}

/// Runs a shell command line in the guest; fails with its output.
pub fn sh(cmd: &str) -> Result<String, String> {
    let out = Command::new("/bin/sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .map_err(|e| format!("{cmd}: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned()
        + &String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!("'{cmd}' failed ({}): {}", out.status, text.trim()))
    }
}

/// Loads netatop.ko, with module parameters if given.
pub fn load_module(params: &str) -> Check {
    sh(&format!("insmod /lib/modules/netatop.ko {params}")).map(|_| ())
}

/// Unloads netatop.ko.
pub fn unload_module() -> Check {
    sh("rmmod netatop").map(|_| ())
}

/// Whether netatop is listed in /proc/modules.
pub fn module_loaded() -> bool {
    std::fs::read_to_string("/proc/modules")
        .map(|m| m.lines().any(|l| l.starts_with("netatop ")))
        .unwrap_or(false)
}

/// Writes `value` to a sysfs/debugfs control file.
pub fn write_file(path: &str, value: &str) -> Check {
    std::fs::write(path, value).map_err(|e| format!("write {value:?} to {path}: {e}"))
}

/// Becomes the unprivileged user `nobody` (uid and gid 65534).
pub fn setuid_nobody() -> Check {
    // SAFETY: Plain system calls changing this (child) process's ids.
    unsafe {
        if libc::setgid(65534) < 0 || libc::setuid(65534) < 0 {
            return Err(format!("setuid: {}", io::Error::last_os_error()));
        }
    }
    Ok(())
}
