//! Every input from user space that can be wrong: lengths, pointers,
//! ids, commands, privileges. None may crash, leak or splat (the harness
//! checks the kernel log after the run).

use crate::child::{Child, Ctl};
use crate::netatop::*;
use crate::sys::*;
use netatop_client::{abi, NetPerTask};
use nix::sys::mman::{mmap_anonymous, MapFlags, ProtFlags};
use std::num::NonZeroUsize;

/// getsockopt with an arbitrary buffer pointer and length.
fn raw_get(cmd: i32, buf: *mut libc::c_void, len: i32) -> (i32, i32, i32) {
    let s = control_socket().expect("socket");
    let mut optlen = len as libc::socklen_t;
    // SAFETY: Deliberately bad pointers are passed to the kernel, which
    // must reject them; our own memory is only written through `optlen`
    // and buffers of at least `len` bytes.
    let r = unsafe { s.get_raw(cmd, buf, &mut optlen) };
    match r {
        Ok(()) => (0, 0, optlen as i32),
        Err(e) => (-1, e.raw_os_error().unwrap_or(0), optlen as i32),
    }
}

fn expect(what: &str, got: (i32, i32, i32), errno: i32) -> Check {
    if got.0 == -1 && got.1 == errno {
        Ok(())
    } else {
        Err(format!(
            "{what}: result {} errno {}, expected errno {errno}",
            got.0, got.1
        ))
    }
}

pub fn short_and_negative_lengths_are_einval() -> Check {
    let mut npt = NetPerTask {
        id: 1,
        ..Default::default()
    };
    let p = (&mut npt as *mut NetPerTask).cast();
    for cmd in [
        abi::NETATOP_GETCNT_TGID,
        abi::NETATOP_GETCNT_PID,
        abi::NETATOP_GETCNT_EXIT,
    ] {
        for len in [0, 1, 3, -1, -96, i32::MIN] {
            expect(
                &format!("cmd {cmd} optlen {len}"),
                raw_get(cmd, p, len),
                libc::EINVAL,
            )?;
        }
    }
    Ok(())
}

pub fn long_lengths_are_clamped_and_reported() -> Check {
    // Any process with traffic: the runner itself sends a datagram.
    let s = std::net::UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    s.send_to(&[0; 8], "127.0.0.1:9")
        .map_err(|e| e.to_string())?;
    let me = std::process::id() as i32;
    let mut buf = vec![0xeeu8; 4096];
    buf[..4].copy_from_slice(&me.to_ne_bytes());
    for len in [97, 4096, 1 << 20, i32::MAX] {
        let (r, errno, out) = raw_get(abi::NETATOP_GETCNT_TGID, buf.as_mut_ptr().cast(), len);
        if r != 0 || out != 96 {
            return Err(format!(
                "optlen {len}: result {r} errno {errno}, length {out}, expected 0 and 96"
            ));
        }
        if buf[96..].iter().any(|&b| b != 0xee) {
            return Err(format!("optlen {len}: bytes past the record were written"));
        }
    }
    let npt = NetPerTask::from_bytes(&buf[..96]);
    if npt.id != me || npt.tc.udpsndpacks == 0 {
        return Err(format!(
            "record for the runner: id {} udpsndpacks {}",
            npt.id, npt.tc.udpsndpacks
        ));
    }
    // Exactly a pid: only the id comes back, not one byte more (the
    // buffer is refilled, so a write past the 4 bytes shows).
    buf.fill(0xee);
    buf[..4].copy_from_slice(&me.to_ne_bytes());
    let (r, _, out) = raw_get(abi::NETATOP_GETCNT_TGID, buf.as_mut_ptr().cast(), 4);
    if r != 0 || out != 4 {
        return Err(format!("optlen 4: result {r}, length {out}"));
    }
    if buf[..4] != me.to_ne_bytes() || buf[4..].iter().any(|&b| b != 0xee) {
        return Err("optlen 4: bytes past the id were written".into());
    }
    Ok(())
}

pub fn bad_pointers_are_efault() -> Check {
    let page = |prot| {
        // SAFETY: A new anonymous mapping of our own, never unmapped.
        unsafe {
            mmap_anonymous(
                None,
                NonZeroUsize::new(4096).unwrap(),
                prot,
                MapFlags::MAP_PRIVATE,
            )
        }
        .map(|p| p.as_ptr())
        .map_err(|e| format!("mmap: {e}"))
    };
    // A page that may not be accessed at all.
    let unmapped = page(ProtFlags::PROT_NONE)?;
    // A read-only page: readable input, unwritable output.
    let readonly = page(ProtFlags::PROT_READ)?;
    for cmd in [abi::NETATOP_GETCNT_TGID, abi::NETATOP_GETCNT_PID] {
        expect(
            &format!("cmd {cmd} NULL"),
            raw_get(cmd, std::ptr::null_mut(), 96),
            libc::EFAULT,
        )?;
        expect(
            &format!("cmd {cmd} inaccessible page"),
            raw_get(cmd, unmapped, 96),
            libc::EFAULT,
        )?;
        expect(
            &format!("cmd {cmd} kernel address"),
            raw_get(cmd, 0xffff_8880_0000_0000usize as *mut _, 96),
            libc::EFAULT,
        )?;
    }
    // The page reads as zeros: pid 0 is not a task the module knows.
    expect(
        "read-only page, pid 0",
        raw_get(abi::NETATOP_GETCNT_TGID, readonly, 96),
        libc::ESRCH,
    )?;
    // A bad optlen pointer is the IP layer's EFAULT.
    let s = control_socket().map_err(|e| e.to_string())?;
    // SAFETY: Passing an invalid optlen pointer; the kernel must refuse it.
    let r = unsafe { s.get_raw(abi::NETATOP_PROBE, std::ptr::null_mut(), 8usize as *mut _) };
    if errno(&r) != Some(libc::EFAULT) {
        return Err("bad optlen pointer was not EFAULT".into());
    }
    Ok(())
}

/// A record GETCNT_EXIT cannot deliver (bad buffer) stays in the list.
pub fn getcnt_exit_with_bad_buffer_loses_nothing() -> Check {
    drain_exits()?;
    let mut c = Child::spawn("kept-exit", |ctl: &mut Ctl| {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        s.send_to(&[0; 5], "127.0.0.1:9").expect("send");
        ctl.report("sent");
    });
    c.read();
    let pid = c.pid;
    c.finish();
    force_gc()?;
    expect(
        "GETCNT_EXIT NULL",
        raw_get(abi::NETATOP_GETCNT_EXIT, std::ptr::null_mut(), 96),
        libc::EFAULT,
    )?;
    let npt = getcnt_exit(5)?.ok_or("the record was lost")?;
    if npt.id != pid || npt.tc.udpsndpacks != 1 {
        return Err(format!(
            "got {} with {} packets, expected {pid} with 1",
            npt.id, npt.tc.udpsndpacks
        ));
    }
    Ok(())
}

pub fn unknown_task_is_esrch() -> Check {
    for (cmd, id) in [
        (abi::NETATOP_GETCNT_TGID, 0),
        (abi::NETATOP_GETCNT_TGID, -1),
        (abi::NETATOP_GETCNT_TGID, 4_000_000),
        (abi::NETATOP_GETCNT_PID, i32::MAX),
        // init has sent nothing.
        (abi::NETATOP_GETCNT_TGID, 1),
    ] {
        match getcnt(cmd, id) {
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
            other => return Err(format!("cmd {cmd} id {id}: {other:?}, expected ESRCH")),
        }
    }
    Ok(())
}

/// The registered range is exactly the six commands; one past it is not
/// netatop's (ENOPROTOOPT from the IP layer).
pub fn commands_outside_the_range_are_not_netatops() -> Check {
    let s = control_socket().map_err(|e| e.to_string())?;
    for cmd in [abi::NETATOP_BASE_CTL - 1, abi::NETATOP_CTL_END] {
        expect_errno_io(&format!("command {cmd}"), s.command(cmd), libc::ENOPROTOOPT)?;
    }
    Ok(())
}

fn expect_errno_io<T>(what: &str, r: std::io::Result<T>, want: i32) -> Check {
    match errno(&r) {
        Some(e) if e == want => Ok(()),
        other => Err(format!("{what}: errno {other:?}, expected {want}")),
    }
}

/// Without CAP_NET_ADMIN every command is EPERM, even the blocking ones.
pub fn every_command_needs_cap_net_admin() -> Check {
    in_child(|| {
        let s = control_socket().map_err(|e| e.to_string())?;
        drop_effective_capabilities(&[])?;
        for cmd in abi::NETATOP_BASE_CTL..abi::NETATOP_CTL_END {
            let mut npt = NetPerTask {
                id: 1,
                ..Default::default()
            };
            expect_errno_io(
                &format!("command {cmd}"),
                s.get(cmd, &mut npt, 96),
                libc::EPERM,
            )?;
        }
        Ok(())
    })
}

/// A userfaultfd: page faults in a registered range wait until this
/// process resolves them.
struct Userfault {
    fd: std::os::fd::OwnedFd,
}

impl Userfault {
    // _IOWR(0xAA, nr, size) of include/uapi/linux/userfaultfd.h.
    const API: libc::c_ulong = 0xc018_aa3f;
    const REGISTER: libc::c_ulong = 0xc020_aa00;
    const COPY: libc::c_ulong = 0xc028_aa03;

    fn new() -> Result<Self, String> {
        use std::os::fd::FromRawFd;
        // SAFETY: userfaultfd takes flags only.
        let fd = unsafe { libc::syscall(libc::SYS_userfaultfd, libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(format!("userfaultfd: {}", std::io::Error::last_os_error()));
        }
        // SAFETY: A new descriptor that nothing else owns.
        let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) };
        let uf = Userfault { fd };
        let mut api = [0xaau64, 0, 0];
        uf.ioctl(Self::API, api.as_mut_ptr().cast(), "UFFDIO_API")?;
        Ok(uf)
    }

    fn ioctl(&self, req: libc::c_ulong, arg: *mut libc::c_void, what: &str) -> Check {
        use std::os::fd::AsRawFd;
        // SAFETY: `arg` points to the structure `req` names, owned by the
        // caller for the duration of the call.
        if unsafe { libc::ioctl(self.fd.as_raw_fd(), req, arg) } < 0 {
            return Err(format!("{what}: {}", std::io::Error::last_os_error()));
        }
        Ok(())
    }

    /// Faults on missing pages of `[start, start + len)` wait for us.
    fn register(&self, start: usize, len: usize) -> Check {
        // range.start, range.len, mode (MISSING), ioctls (out)
        let mut reg = [start as u64, len as u64, 1, 0];
        self.ioctl(Self::REGISTER, reg.as_mut_ptr().cast(), "UFFDIO_REGISTER")
    }

    /// The address of the next fault, waiting at most `ms`.
    fn next_fault(&self, ms: i32) -> Result<u64, String> {
        use std::os::fd::AsRawFd;
        let mut p = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: One valid pollfd.
        if unsafe { libc::poll(&mut p, 1, ms) } != 1 {
            return Err(format!("no page fault within {ms} ms"));
        }
        let mut msg = [0u64; 4];
        // SAFETY: Reading one 32-byte uffd_msg into a buffer of that size.
        let n = unsafe { libc::read(p.fd, msg.as_mut_ptr().cast(), 32) };
        if n != 32 || msg[0] & 0xff != 0x12 {
            return Err(format!(
                "unexpected userfault message ({n} bytes, {:#x})",
                msg[0]
            ));
        }
        Ok(msg[2])
    }

    /// Resolves the fault on the page at `page` with a page of zeros.
    fn fill(&self, page: usize) -> Check {
        let zeros = vec![0u8; 4096];
        // dst, src, len, mode, copy (out)
        let mut copy = [page as u64, zeros.as_ptr() as u64, 4096, 0, 0];
        self.ioctl(Self::COPY, copy.as_mut_ptr().cast(), "UFFDIO_COPY")
    }
}

/// A caller whose buffer faults for as long as it likes (a userfaultfd
/// page) holds nobody else up: while its GETCNT_EXIT is stuck copying,
/// FORCE_GC and another caller's GETCNT_EXIT complete. When the fault is
/// resolved it gets its record and the other caller the other one:
/// nothing lost, nothing delivered twice.
pub fn stalled_getcnt_exit_copy_blocks_nobody() -> Check {
    use std::sync::mpsc::channel;
    use std::time::Duration;
    drain_exits()?;
    let mut pids = Vec::new();
    for name in ["stall-a", "stall-b"] {
        let mut c = Child::spawn(name, |ctl: &mut Ctl| {
            let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
            s.send_to(&[0; 5], "127.0.0.1:9").expect("send");
            ctl.report("sent");
        });
        c.read();
        pids.push(c.pid);
        c.finish();
    }
    force_gc()?;
    // Threads of our own in a child: the runner stays single threaded.
    in_child(move || {
        let uf = Userfault::new()?;
        let len = NonZeroUsize::new(4096).unwrap();
        // SAFETY: A fresh private anonymous mapping, used only here.
        let page = unsafe {
            mmap_anonymous(
                None,
                len,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_PRIVATE,
            )
        }
        .map_err(|e| format!("mmap: {e}"))?
        .as_ptr() as usize;
        uf.register(page, 4096)?;
        let stalled = std::thread::spawn(move || {
            let got = raw_get(abi::NETATOP_GETCNT_EXIT, page as *mut libc::c_void, 96);
            // SAFETY: The page is mapped (and filled) by now; a
            // NetPerTask is plain data of 96 bytes.
            let npt = unsafe { std::ptr::read(page as *const NetPerTask) };
            (got, npt)
        });
        let fault = uf.next_fault(10_000)?;
        if fault & !4095 != page as u64 {
            return Err(format!("fault at {fault:#x}, not on the page {page:#x}"));
        }
        // Now the first caller is inside its copy. Others must get on.
        let (tx, rx) = channel();
        let gc_tx = tx.clone();
        std::thread::spawn(move || {
            let _ = gc_tx.send(("FORCE_GC", force_gc().map(|_| None)));
        });
        let first = rx.recv_timeout(Duration::from_secs(5));
        std::thread::spawn(move || {
            let s = control_socket().expect("socket");
            let mut npt = NetPerTask::default();
            let r = s.get(abi::NETATOP_GETCNT_EXIT, &mut npt, 96);
            let _ = tx.send((
                "GETCNT_EXIT",
                r.map(|_| Some(npt)).map_err(|e| e.to_string()),
            ));
        });
        let second = rx.recv_timeout(Duration::from_secs(5));
        // Whatever happened, let the stalled caller finish.
        uf.fill(page)?;
        let ((code, err, optlen), npt_a) = stalled.join().map_err(|_| "stalled caller panicked")?;
        let mut other = None;
        for r in [first, second] {
            match r {
                Err(_) => {
                    return Err("a request waited for the stalled caller's copy".into());
                }
                Ok((what, Err(e))) => return Err(format!("{what}: {e}")),
                Ok((_, Ok(npt))) => other = other.or(npt),
            }
        }
        if (code, err, optlen) != (0, 0, 96) {
            return Err(format!(
                "stalled GETCNT_EXIT: result {code} errno {err} optlen {optlen}"
            ));
        }
        let other = other.ok_or("the second caller got no record")?;
        let mut got = [npt_a.id, other.id];
        got.sort();
        let mut want = [pids[0], pids[1]];
        want.sort();
        if got != want {
            return Err(format!("records of {got:?}, expected {want:?}"));
        }
        Ok(())
    })
}
