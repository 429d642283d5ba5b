//! Thin helpers over the system calls the tests use.

use netatop_client::Control;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, pipe, setgid, setuid, ForkResult, Gid, Uid};
use std::io::{self, Read, Write};
use std::process::Command;

/// Result of a test step: an error message says what differed.
pub type Check = Result<(), String>;

/// A socket to talk to the module through.
pub fn control_socket() -> io::Result<Control> {
    Control::open()
}

/// The errno of a result, for comparisons.
pub fn errno<T>(r: &io::Result<T>) -> Option<i32> {
    r.as_ref().err().and_then(|e| e.raw_os_error())
}

/// Runs `f` in a forked child and returns its verdict; the child may
/// change its credentials without affecting the runner.
pub fn in_child(f: impl FnOnce() -> Check) -> Check {
    let (r, w) = pipe().map_err(|e| format!("pipe: {e}"))?;
    // SAFETY: The runner is single threaded.
    let pid = match unsafe { fork() }.map_err(|e| format!("fork: {e}"))? {
        ForkResult::Parent { child } => child,
        ForkResult::Child => {
            drop(r);
            let msg = match f() {
                Ok(()) => String::new(),
                Err(e) => e,
            };
            let _ = std::fs::File::from(w).write_all(msg.as_bytes());
            // SAFETY: Leaving the forked child at once, without the parent's
            // destructors and exit handlers.
            unsafe { libc::_exit(if msg.is_empty() { 0 } else { 1 }) }
        }
    };
    drop(w);
    let mut msg = Vec::new();
    let _ = std::fs::File::from(r).read_to_end(&mut msg);
    let status = waitpid(pid, None).map_err(|e| format!("waitpid: {e}"))?;
    match status {
        WaitStatus::Exited(_, 0) => Ok(()),
        _ if msg.is_empty() => Err(format!("child ended: {status:?}")),
        _ => Err(String::from_utf8_lossy(&msg).into_owned()),
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
    let mut hdr = Header {
        version: 0x2008_0522,
        pid: 0,
    };
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
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!("'{cmd}' failed ({}): {}", out.status, text.trim()))
    }
}

/// The test kernel's build of the module, put there by the VM harness. On
/// a distribution's kernel there is none: the module is installed in that
/// kernel's module tree (by DKMS) and loaded by name.
const TEST_BUILD: &str = "/lib/modules/netatop.ko";

/// Loads netatop, with module parameters if given.
pub fn load_module(params: &str) -> Check {
    let cmd = if std::path::Path::new(TEST_BUILD).exists() {
        format!("insmod {TEST_BUILD} {params}")
    } else {
        format!("modprobe netatop {params}")
    };
    sh(&cmd).map(|_| ())
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
    setgid(Gid::from_raw(65534)).map_err(|e| format!("setgid: {e}"))?;
    setuid(Uid::from_raw(65534)).map_err(|e| format!("setuid: {e}"))
}
