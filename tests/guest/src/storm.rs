//! netatop-exit-storm: how fast netatopd drains exited processes, and how
//! long atop's EMPTY_EXIT waits, under a storm of short-lived processes.
//! A measurement (it also checks that no record is lost, and says so).
//!
//!   netatop-exit-storm [PROCESSES]     (default 10000)
//!
//! Needs the module loaded and netatopd running with its log at
//! /run/netatop.log. Subscribes as a reader like atop, starts PROCESSES
//! processes that each send one UDP datagram and exit, and meanwhile does
//! what atop does every second: FORCE_GC, then EMPTY_EXIT (timed).

use std::io::Read;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

const SEMAKEY: libc::key_t = 1541961;

fn getsockopt(fd: i32, cmd: i32) -> bool {
    let mut len: libc::socklen_t = 0;
    // SAFETY: No buffer, a valid length.
    unsafe { libc::getsockopt(fd, libc::SOL_IP, cmd, std::ptr::null_mut(), &mut len) == 0 }
}

fn logged_pids() -> std::collections::HashSet<i32> {
    let bytes = std::fs::read("/run/netatop.log").unwrap_or_default();
    let mut pids = std::collections::HashSet::new();
    let mut off = 16;
    while off < bytes.len() {
        let n = bytes[off] as usize;
        let Some(stream) = bytes.get(off + 1..off + 1 + n) else { break };
        let mut out = Vec::new();
        if flate2::read::ZlibDecoder::new(stream).read_to_end(&mut out).is_ok() && out.len() >= 4 {
            pids.insert(i32::from_ne_bytes([out[0], out[1], out[2], out[3]]));
        }
        off += 1 + n;
    }
    pids
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    // SAFETY: Subscribing as a reader (semaphore 1 down, undone at exit).
    unsafe {
        let id = libc::semget(SEMAKEY, 0, 0);
        let mut op = libc::sembuf { sem_num: 1, sem_op: -1, sem_flg: libc::SEM_UNDO as i16 };
        assert!(id >= 0 && libc::semop(id, &mut op, 1) == 0, "netatopd is not running");
    }
    let ctl = UdpSocket::bind("127.0.0.1:0").expect("socket");
    let fd = ctl.as_raw_fd();
    let start = Instant::now();
    let mut pids = Vec::with_capacity(n);
    let mut longest = Duration::ZERO;
    let mut waiting = Duration::ZERO;
    let mut last_gc = Instant::now();
    for _ in 0..n {
        // SAFETY: Single threaded; the child sends one datagram and exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            if let Ok(s) = UdpSocket::bind("127.0.0.1:0") {
                let _ = s.send_to(&[0x6e; 32], "127.0.0.1:9");
            }
            // SAFETY: Leaving the child at once.
            unsafe { libc::_exit(0) };
        }
        pids.push(pid);
        // SAFETY: Reaping our own child.
        unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
        if last_gc.elapsed() >= Duration::from_secs(1) {
            getsockopt(fd, netatop_logic::abi::NETATOP_FORCE_GC);
            let t = Instant::now();
            getsockopt(fd, netatop_logic::abi::NETATOP_EMPTY_EXIT);
            longest = longest.max(t.elapsed());
            waiting += t.elapsed();
            last_gc = Instant::now();
        }
    }
    std::thread::sleep(Duration::from_millis(600));
    getsockopt(fd, netatop_logic::abi::NETATOP_FORCE_GC);
    let t = Instant::now();
    getsockopt(fd, netatop_logic::abi::NETATOP_EMPTY_EXIT);
    longest = longest.max(t.elapsed());
    waiting += t.elapsed();
    let elapsed = start.elapsed().as_secs_f64();
    let logged = logged_pids();
    let missing = pids.iter().filter(|p| !logged.contains(p)).count();
    println!(
        "netatop-exit-storm: {n} processes in {elapsed:.1} s; drained at {:.0} records/s of EMPTY_EXIT waiting \
         ({:.2} s in all), longest EMPTY_EXIT wait {:.1} ms; {missing} missing from the log",
        (n - missing) as f64 / waiting.as_secs_f64().max(1e-9),
        waiting.as_secs_f64(),
        longest.as_secs_f64() * 1000.0
    );
}
