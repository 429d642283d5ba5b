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
    // Exactly a pid: only the id comes back.
    let (r, _, out) = raw_get(abi::NETATOP_GETCNT_TGID, buf.as_mut_ptr().cast(), 4);
    if r != 0 || out != 4 {
        return Err(format!("optlen 4: result {r}, length {out}"));
    }
    let npt = NetPerTask::from_bytes(&buf[..96]);
    if npt.id != me || npt.tc.udpsndpacks == 0 {
        return Err(format!(
            "record for the runner: id {} udpsndpacks {}",
            npt.id, npt.tc.udpsndpacks
        ));
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
