//! Loading, unloading and limits under load.

use crate::child::{Child, Ctl};
use crate::netatop::*;
use crate::sys::*;
use netatop_client::abi;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::net::UdpSocket;
use std::time::Duration;

/// The module's reference count from /proc/modules.
fn refcount() -> Option<u64> {
    let m = std::fs::read_to_string("/proc/modules").ok()?;
    m.lines()
        .find(|l| l.starts_with("netatop "))?
        .split_whitespace()
        .nth(2)?
        .parse()
        .ok()
}

/// How many lines the kernel log has now: a mark for [`kernel_log_since`].
fn kernel_log_mark() -> Result<usize, String> {
    Ok(sh("dmesg")?.lines().count())
}

/// The lines the kernel logged after `mark` ([`kernel_log_mark`]).
fn kernel_log_since(mark: usize) -> Result<Vec<String>, String> {
    Ok(sh("dmesg")?
        .lines()
        .skip(mark)
        .map(str::to_string)
        .collect())
}

/// A caller blocked in GETCNT_EXIT holds the module: rmmod is refused
/// (EBUSY, nothing freed under it) until the caller is gone.
pub fn unload_refused_while_a_caller_is_blocked() -> Check {
    drain_exits()?;
    let before = refcount().ok_or("module not loaded")?;
    let mut waiter = Child::spawn("blocked-taker", |ctl: &mut Ctl| {
        let s = control_socket().expect("socket");
        ctl.report("calling");
        let mut npt = netatop_client::abi::NetPerTask::default();
        let r = s.get(abi::NETATOP_GETCNT_EXIT, &mut npt, 96);
        ctl.report(&format!("{r:?}"));
    });
    waiter.read();
    std::thread::sleep(Duration::from_millis(500));
    let during = refcount().ok_or("module not loaded")?;
    if during != before + 1 {
        return Err(format!(
            "refcount {before} -> {during} with a blocked caller, expected +1"
        ));
    }
    if unload_module().is_ok() {
        return Err("rmmod succeeded under a blocked caller".into());
    }
    let _ = kill(Pid::from_raw(waiter.pid), Signal::SIGKILL);
    drop(waiter);
    std::thread::sleep(Duration::from_millis(200));
    let after = refcount().ok_or("module not loaded")?;
    if after != before {
        return Err(format!(
            "refcount {after} after the caller died, expected {before}"
        ));
    }
    unload_module()?;
    load_module("")
}

/// Tables large enough that their bucket arrays come from vmalloc are
/// freed where that may sleep: unloading logs no "sleeping function
/// called from invalid context" (it did when the last reference to the
/// state was dropped under a spinlock).
pub fn large_tables_are_freed_where_that_may_sleep() -> Check {
    unload_module()?;
    let before = kernel_log_mark()?;
    load_module("sockmem=67108864 taskmem=67108864")?;
    let sock = UdpSocket::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    let to = sock.local_addr().map_err(|e| format!("addr: {e}"))?;
    sock.send_to(b"x", to).map_err(|e| format!("send: {e}"))?;
    unload_module()?;
    let new = kernel_log_since(before)?;
    if let Some(l) = new
        .iter()
        .find(|l| l.contains("invalid context") || l.contains("BUG"))
    {
        return Err(format!("unloading logged: {l}"));
    }
    if !new.iter().any(|l| l.contains("67108864 bytes for sockets")) {
        return Err("the load message with the large bounds is missing".into());
    }
    load_module("")
}

/// Unloading and loading while packets flow in both directions on two
/// threads of a busy sender.
pub fn unload_while_traffic_flows() -> Check {
    let sender = Child::spawn("udp-flood", |ctl: &mut Ctl| {
        let rx = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let to = rx.local_addr().expect("addr");
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while rx.recv(&mut buf).is_ok() {}
        });
        let tx = UdpSocket::bind("[::1]:0").expect("bind");
        let to6 = UdpSocket::bind("[::1]:0").expect("bind");
        let to6a = to6.local_addr().expect("addr");
        ctl.report("flooding");
        loop {
            let _ = tx.send_to(&[0x68; 1000], to6a);
            let _ = rx_send(&to);
        }
    });
    let mut sender = sender;
    sender.read();
    for i in 0..10 {
        unload_module().map_err(|e| format!("round {i}: {e}"))?;
        std::thread::sleep(Duration::from_millis(50));
        load_module("").map_err(|e| format!("round {i}: {e}"))?;
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(sender);
    let v = proc_values()?;
    if v["udpsndpacks:"] == 0 {
        return Err("no traffic seen after the last load".into());
    }
    Ok(())
}

fn rx_send(to: &std::net::SocketAddr) -> std::io::Result<usize> {
    UdpSocket::bind("127.0.0.1:0")?.send_to(&[0x69; 100], to)
}

/// The memory bound is on memory: three times a process fills the socket
/// table beyond its bound and exits; the bytes the records hold never pass
/// the bound, and once the garbage collector has dropped the records and
/// the exited process is taken, both tables hold nothing at all.
pub fn memory_stays_within_the_bound_and_is_given_back() -> Check {
    const BOUND: u64 = 65536;
    unload_module()?;
    load_module(&format!("sockmem={BOUND}"))?;
    let result = (|| -> Check {
        let v = proc_values()?;
        let get = |v: &std::collections::HashMap<String, u64>, k: &str| {
            v.get(k).copied().ok_or(format!("no {k} in /proc/netatop"))
        };
        if get(&v, "sockmem:bound")? != BOUND || get(&v, "sockmem:")? != 0 {
            return Err(format!("fresh module: {v:?}"));
        }
        for round in 0..3 {
            let mut c = Child::spawn("filler", move |ctl: &mut Ctl| {
                // Each socket sends to itself: one owned record each.
                for _ in 0..1500 {
                    let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
                    let me = s.local_addr().expect("addr");
                    s.send_to(&[0x6c; 8], me).expect("send");
                }
                ctl.report("filled");
                ctl.wait();
            });
            c.read();
            let full = proc_values()?;
            let held = get(&full, "sockmem:")?;
            if held > BOUND || get(&full, "#sockinfo:overflow")? == 0 {
                return Err(format!(
                    "round {round}: {held} bytes held, bound {BOUND}: {full:?}"
                ));
            }
            c.finish();
            // The process moves to the exit list, then its sockets go.
            force_gc()?;
            force_gc()?;
            drain_exits()?;
            let v = proc_values()?;
            let got = [
                ("#sockinfo:", get(&v, "#sockinfo:")?),
                ("sockmem:", get(&v, "sockmem:")?),
                ("#taskinfo:", get(&v, "#taskinfo:")?),
                ("#taskexit:", get(&v, "#taskexit:")?),
                ("taskmem:", get(&v, "taskmem:")?),
            ];
            let want = [
                ("#sockinfo:", 0),
                ("sockmem:", 0),
                ("#taskinfo:", 0),
                ("#taskexit:", 0),
                ("taskmem:", 0),
            ];
            expect_eq(&format!("after round {round}"), &got, &want)?;
        }
        Ok(())
    })();
    unload_module()?;
    load_module("")?;
    result
}

/// Exited processes count against the task memory bound: 300 processes
/// exit with nobody taking them, under a bound that holds about 70
/// records; the exit list stops at the bound (the rest are dropped with a
/// warning, never a kernel WARN), and taskmem never passes it.
pub fn exit_list_stays_within_the_task_memory_bound() -> Check {
    const BOUND: u64 = 8192;
    unload_module()?;
    load_module(&format!("taskmem={BOUND}"))?;
    let result = (|| -> Check {
        let get = |v: &std::collections::HashMap<String, u64>, k: &str| {
            v.get(k).copied().ok_or(format!("no {k} in /proc/netatop"))
        };
        let mut most = 0;
        for batch in 0..15 {
            for _ in 0..20 {
                let c = Child::spawn("exiter", move |_: &mut Ctl| {
                    let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
                    let me = s.local_addr().expect("addr");
                    s.send_to(&[0x6d; 8], me).expect("send");
                });
                c.finish();
            }
            force_gc()?;
            let v = proc_values()?;
            let held = get(&v, "taskmem:")?;
            let queued = get(&v, "#taskexit:")?;
            if held > BOUND || queued * 96 > BOUND {
                return Err(format!(
                    "batch {batch}: taskmem {held}, {queued} exits queued, bound {BOUND}"
                ));
            }
            most = most.max(queued);
        }
        if most < 20 {
            return Err(format!("at most {most} exits were ever queued"));
        }
        let taken = drain_exits()?.len() as u64;
        let v = proc_values()?;
        if get(&v, "taskmem:")? != 0 || taken == 0 {
            return Err(format!("after taking {taken} exits: {v:?}"));
        }
        Ok(())
    })();
    unload_module()?;
    load_module("")?;
    result
}

/// `readers` takes 0 or 1 only: any other value refuses the load with
/// EINVAL and says why in the kernel log.
pub fn readers_other_than_0_or_1_refuse_the_load() -> Check {
    unload_module()?;
    let result = (|| -> Check {
        for bad in ["2", "255"] {
            let before = kernel_log_mark()?;
            match load_module(&format!("readers={bad}")) {
                Ok(()) => {
                    unload_module()?;
                    return Err(format!("readers={bad} loaded"));
                }
                // "Invalid argument" (kmod), "invalid parameters" (busybox).
                Err(e) if e.to_lowercase().contains("invalid") => {}
                Err(e) => return Err(format!("readers={bad}: {e}")),
            }
            if module_loaded() {
                return Err(format!("readers={bad}: the module is listed"));
            }
            let want = format!("readers={bad}: must be 0 or 1");
            if !kernel_log_since(before)?.iter().any(|l| l.contains(&want)) {
                return Err(format!("no '{want}' in the kernel log"));
            }
        }
        Ok(())
    })();
    load_module("")?;
    result
}

/// With tiny limits a socket storm overflows the tables; the system stays
/// healthy and the counts of sockets known before stay exact.
pub fn tiny_limits_overflow_but_known_sockets_stay_exact() -> Check {
    unload_module()?;
    load_module("sockmem=4096 taskmem=2048")?;
    let result = (|| -> Check {
        let sink = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let to = sink.local_addr().map_err(|e| e.to_string())?;
        let mut known = Child::spawn("known-sender", move |ctl: &mut Ctl| {
            let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
            s.send_to(&[0x6a; 100], to).expect("send");
            ctl.report("first");
            ctl.wait();
            for _ in 0..20 {
                s.send_to(&[0x6a; 100], to).expect("send");
            }
            ctl.report("more");
            ctl.wait();
        });
        known.read();
        let before = proc_values()?;
        // The storm: 300 sockets in 30 processes.
        for _ in 0..30 {
            let c = Child::spawn("storm", move |_: &mut Ctl| {
                for _ in 0..10 {
                    let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
                    s.send_to(&[0x6b; 10], to).expect("send");
                }
            });
            c.finish();
        }
        let after = proc_values()?;
        let ovf =
            |v: &std::collections::HashMap<String, u64>, k: &str| v.get(k).copied().unwrap_or(0);
        if ovf(&after, "#sockinfo:overflow") == ovf(&before, "#sockinfo:overflow") {
            return Err(format!(
                "socket overflow did not rise: {}",
                ovf(&after, "#sockinfo:overflow")
            ));
        }
        known.go();
        known.read();
        let p = process(known.pid)?;
        expect_eq(
            "known sender",
            &counters(&p),
            &udp_only(21, 21 * udp_wire(100, false), 0, 0),
        )?;
        known.finish();
        Ok(())
    })();
    unload_module()?;
    load_module("")?;
    result
}
