//! Exited processes: the exit list, EMPTY_EXIT, expiry and pid reuse.

use crate::child::{Child, Ctl};
use crate::netatop::*;
use crate::sys::*;
use netatop_client::{abi, NetPerTask};
use nix::unistd::alarm;
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

/// A process named `name` that sends `count` datagrams of `size` bytes to
/// a port nobody listens on and exits; returns its pid once reaped.
fn short_lived(name: &str, count: usize, size: usize) -> Result<i32, String> {
    let mut c = Child::spawn(name, move |ctl: &mut Ctl| {
        let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let to: SocketAddr = "127.0.0.1:9".parse().unwrap();
        for _ in 0..count {
            s.send_to(&vec![0x66; size], to).expect("send");
        }
        ctl.report("sent");
    });
    if c.read() != "sent" {
        return Err(format!("{name} did not send"));
    }
    let pid = c.pid;
    c.finish();
    Ok(pid)
}

fn expect_exited(npt: &NetPerTask, pid: i32, name: &str, count: u64, size: u64) -> Check {
    if npt.id != pid || command(npt) != name {
        return Err(format!(
            "exited record {} {:?}, expected {pid} {name:?}",
            npt.id,
            command(npt)
        ));
    }
    expect_eq(
        &format!("exited {pid}"),
        &counters(npt),
        &udp_only(count, count * udp_wire(size, false), 0, 0),
    )
}

/// After FORCE_GC an exited process comes out of GETCNT_EXIT once, with
/// its final counters; then GETCNT_EXIT blocks until a signal (EINTR).
pub fn exited_process_is_returned_once() -> Check {
    drain_exits()?;
    let pid = short_lived("gone-soon", 13, 222)?;
    if process(pid).is_err() {
        return Err("no record before the garbage collection".into());
    }
    force_gc()?;
    let npt = getcnt_exit(5)?.ok_or("GETCNT_EXIT found nothing")?;
    expect_exited(&npt, pid, "gone-soon", 13, 222)?;
    if let Some(again) = getcnt_exit(1)? {
        return Err(format!("a second record came out: {}", again.id));
    }
    if process(pid).is_ok() {
        return Err("the exited process still answers GETCNT_TGID".into());
    }
    Ok(())
}

/// Two FORCE_GCs less than half a second apart (two atops, or atop right
/// after another run): a process that exited between them is on the exit
/// list when the second returns; the second request is not skipped but
/// waits for a run of its own.
pub fn force_gc_soon_after_another_is_not_skipped() -> Check {
    drain_exits()?;
    let s = control_socket().map_err(|e| e.to_string())?;
    s.force_gc().map_err(|e| format!("first FORCE_GC: {e}"))?;
    let first = std::time::Instant::now();
    let pid = short_lived("between-gcs", 3, 10)?;
    let apart = first.elapsed();
    s.force_gc().map_err(|e| format!("second FORCE_GC: {e}"))?;
    // Taken at once: nothing may be left for a later collection to find.
    let npt = getcnt_exit(1)?.ok_or(format!(
        "the process that exited between two FORCE_GCs {} ms apart is not on the exit list",
        apart.as_millis()
    ))?;
    expect_exited(&npt, pid, "between-gcs", 3, 10)
}

/// EMPTY_EXIT returns only when the taker of the last record has come
/// back for the next one (having written what it took).
pub fn empty_exit_waits_until_the_taker_acknowledges() -> Check {
    drain_exits()?;
    let pid = short_lived("acked", 3, 10)?;
    force_gc()?;
    let marker = "/tmp/netatop-taker-wrote";
    let _ = std::fs::remove_file(marker);
    let mut taker = Child::spawn("taker", move |ctl: &mut Ctl| {
        let got = getcnt_exit(5);
        ctl.report(&match got {
            Ok(Some(n)) => n.id.to_string(),
            other => format!("{other:?}"),
        });
        // "Writing the log" takes a while, then the next call acknowledges.
        std::thread::sleep(Duration::from_millis(400));
        std::fs::write(marker, "written").expect("marker");
        let _ = getcnt_exit(3);
        ctl.wait();
    });
    if taker.read() != pid.to_string() {
        return Err("the taker did not get the exited process".into());
    }
    let s = control_socket().map_err(|e| e.to_string())?;
    s.command(abi::NETATOP_EMPTY_EXIT)
        .map_err(|e| format!("EMPTY_EXIT: {e}"))?;
    if std::fs::metadata(marker).is_err() {
        return Err("EMPTY_EXIT returned before the taker acknowledged".into());
    }
    taker.finish();
    Ok(())
}

/// A taker that dies holding a record does not block EMPTY_EXIT for long,
/// but EMPTY_EXIT does wait for it: a second (the grace period) after the
/// record was taken, it returns.
pub fn empty_exit_gives_up_on_a_dead_taker() -> Check {
    drain_exits()?;
    short_lived("orphaned", 2, 10)?;
    force_gc()?;
    // The record is taken after this instant.
    let before_take = std::time::Instant::now();
    let mut taker = Child::spawn("dying-taker", |ctl: &mut Ctl| {
        let got = getcnt_exit(5);
        ctl.report(&format!("{}", matches!(got, Ok(Some(_)))));
        // Dies without coming back.
    });
    if taker.read() != "true" {
        return Err("the taker did not get a record".into());
    }
    taker.finish();
    let s = control_socket().map_err(|e| e.to_string())?;
    // (No signal ends EMPTY_EXIT but a fatal one: were it to hang, the
    // guest's run would time out.)
    s.command(abi::NETATOP_EMPTY_EXIT)
        .map_err(|e| format!("EMPTY_EXIT: {e}"))?;
    let waited = before_take.elapsed();
    // A jiffy of rounding allowed.
    returned_after(
        waited,
        990,
        "after the record was taken, before the 1 s grace period",
    )
}

/// Whether EMPTY_EXIT waited at least `ms`; `before` tells what it did
/// not wait for otherwise.
fn returned_after(waited: Duration, ms: u64, before: &str) -> Check {
    if waited < Duration::from_millis(ms) {
        return Err(format!(
            "EMPTY_EXIT returned {} ms {before}",
            waited.as_millis()
        ));
    }
    Ok(())
}

/// A signal caught while EMPTY_EXIT waits does not end the wait: the
/// call goes on after the handler and returns once the exited process has
/// been taken and acknowledged. (atop's interval alarm has a handler
/// without SA_RESTART: an EMPTY_EXIT ended by it with EINTR made atop skip
/// the log and show that sample's exited processes with zero counters.)
pub fn empty_exit_outlasts_a_caught_signal() -> Check {
    drain_exits()?;
    let pid = short_lived("waited-for", 2, 10)?;
    force_gc()?;
    // Takes the record well after the alarm below, then acknowledges.
    let mut taker = Child::spawn("late-taker", |ctl: &mut Ctl| {
        std::thread::sleep(Duration::from_millis(2000));
        let got = getcnt_exit(5);
        let _ = getcnt_exit(1);
        ctl.report(&match got {
            Ok(Some(n)) => n.id.to_string(),
            other => format!("{other:?}"),
        });
        ctl.wait();
    });
    let s = control_socket().map_err(|e| e.to_string())?;
    catch_alarm();
    let start = std::time::Instant::now();
    alarm::set(1);
    let r = s.command(abi::NETATOP_EMPTY_EXIT);
    alarm::cancel();
    let waited = start.elapsed();
    r.map_err(|e| format!("EMPTY_EXIT failed after {} ms: {e}", waited.as_millis()))?;
    let took = taker.read();
    taker.finish();
    if took != pid.to_string() {
        return Err(format!(
            "the taker got {took}, not the exited process {pid}"
        ));
    }
    returned_after(waited, 1900, "after it began, before the record was taken")
}

/// A process that exits after a FORCE_GC request, while the request waits
/// out the half second between two runs, is left to the next request's
/// run. atop reads the process accounting before it asks: it sees that
/// exit only at its next sample, and must find the counters in the log
/// then, not in the sample it read before.
pub fn exit_after_a_force_gc_request_waits_for_the_next() -> Check {
    // The wait is what is left of half a second after the first run: on
    // a slow machine the process may not exit within it. Tried again then.
    for _ in 0..5 {
        if exit_during_a_force_gc_wait()? {
            return Ok(());
        }
    }
    Err(
        "in five tries the process never exited while the request waited: nothing was tested"
            .into(),
    )
}

/// One try of the check above: whether the process exited while the
/// request waited (and was then left to the next run).
fn exit_during_a_force_gc_wait() -> Result<bool, String> {
    drain_exits()?;
    let s = control_socket().map_err(|e| e.to_string())?;
    // A run now: the next request waits until half a second after it.
    s.force_gc().map_err(|e| format!("first FORCE_GC: {e}"))?;
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let _ = tx.send(nix::unistd::gettid().as_raw());
        let s = control_socket().map_err(|e| e.to_string())?;
        s.force_gc().map_err(|e| format!("second FORCE_GC: {e}"))
    });
    let tid = rx.recv().map_err(|e| e.to_string())?;
    // The request is in: the thread is inside getsockopt.
    let syscall = format!("/proc/self/task/{tid}/syscall");
    let inside = format!("{} ", libc::SYS_getsockopt);
    while !std::fs::read_to_string(&syscall).is_ok_and(|t| t.starts_with(&inside)) {
        if waiter.is_finished() {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let pid = short_lived("after-request", 3, 10)?;
    let exited_in_the_wait = !waiter.is_finished();
    waiter
        .join()
        .map_err(|_| "the FORCE_GC thread panicked".to_string())??;
    let queued = proc_values()?["#taskexit:"];
    if exited_in_the_wait && (queued != 0 || process(pid).is_err()) {
        return Err(format!(
            "the process that exited after the request was collected by it ({queued} on the exit list)"
        ));
    }
    // The next request's run takes it, with its counters.
    s.force_gc().map_err(|e| format!("third FORCE_GC: {e}"))?;
    let npt = getcnt_exit(2)?.ok_or("not on the exit list after the next request")?;
    expect_exited(&npt, pid, "after-request", 3, 10)?;
    Ok(exited_in_the_wait)
}

/// Exited processes nobody takes are freed after 15 s.
pub fn unread_exits_vanish_after_15_seconds() -> Check {
    drain_exits()?;
    short_lived("forgotten", 1, 10)?;
    force_gc()?;
    let n = proc_values()?["#taskexit:"];
    if n != 1 {
        return Err(format!("#taskexit {n} after the exit, expected 1"));
    }
    std::thread::sleep(Duration::from_secs(16));
    force_gc()?;
    let n = proc_values()?["#taskexit:"];
    if n != 0 {
        return Err(format!("#taskexit {n} after 16 s, expected 0"));
    }
    Ok(())
}

/// A new process that gets the pid of an exited one (not yet collected)
/// is not merged with it.
pub fn reused_pid_is_a_new_process() -> Check {
    drain_exits()?;
    let old_max = std::fs::read_to_string("/proc/sys/kernel/pid_max").map_err(|e| e.to_string())?;
    write_file("/proc/sys/kernel/pid_max", "400")?;
    let result = (|| -> Check {
        // Get into the 300..399 range, where pids cycle quickly, with
        // children that send nothing.
        for _ in 0..1000 {
            let c = Child::spawn("idle", |_: &mut Ctl| {});
            let pid = c.pid;
            c.finish();
            if (300..390).contains(&pid) {
                break;
            }
        }
        let first = short_lived("first-owner", 4, 10)?;
        // Cycle through the pids until `first` comes back.
        let mut second = None;
        for _ in 0..200 {
            let mut c = Child::spawn("second-owner", |ctl: &mut Ctl| {
                ctl.report("up");
                if ctl.wait() {
                    let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
                    for _ in 0..9 {
                        s.send_to(&[0x67; 10], "127.0.0.1:9").expect("send");
                    }
                    ctl.report("sent");
                    ctl.wait();
                }
            });
            c.read();
            if c.pid == first {
                second = Some(c);
                break;
            }
            c.finish();
        }
        let mut second = second.ok_or(format!("pid {first} did not come back"))?;
        // Before it sends, the new owner of the pid has no counters: not
        // those of the dead process that had the pid (not yet collected).
        for (what, cmd) in [
            ("GETCNT_TGID", abi::NETATOP_GETCNT_TGID),
            ("GETCNT_PID", abi::NETATOP_GETCNT_PID),
        ] {
            match getcnt(cmd, first) {
                Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
                other => {
                    return Err(format!(
                        "{what} of the reused pid before it sent: {:?}, expected ESRCH",
                        other.map(|n| counters(&n))
                    ))
                }
            }
        }
        second.go();
        second.read();
        let now = process(first)?;
        expect_eq(
            "GETCNT_TGID of the reused pid",
            &counters(&now),
            &udp_only(9, 9 * udp_wire(10, false), 0, 0),
        )?;
        force_gc()?;
        let exited: Vec<NetPerTask> = drain_exits()?
            .into_iter()
            .filter(|n| n.id == first)
            .collect();
        match exited.as_slice() {
            [gone] => expect_exited(gone, first, "first-owner", 4, 10)?,
            other => return Err(format!("{} exit records for pid {first}", other.len())),
        }
        let still = process(first)?;
        expect_eq(
            "the second owner after GC",
            &counters(&still),
            &udp_only(9, 9 * udp_wire(10, false), 0, 0),
        )?;
        second.finish();
        Ok(())
    })();
    write_file("/proc/sys/kernel/pid_max", old_max.trim())?;
    result
}
