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

use netatop_client::sem::Semaphores;
use netatop_client::{log, Control};
use nix::sys::wait::waitpid;
use nix::unistd::{fork, ForkResult};
use std::net::UdpSocket;
use std::time::{Duration, Instant};

fn logged_pids() -> std::collections::HashSet<i32> {
    let bytes = std::fs::read("/run/netatop.log").unwrap_or_default();
    match log::decode(&bytes) {
        Ok((_, records)) => records.iter().map(|r| r.id).collect(),
        Err(e) => {
            eprintln!("netatop-exit-storm: /run/netatop.log: {e}");
            Default::default()
        }
    }
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    // Subscribing as a reader (undone at exit).
    Semaphores::open()
        .and_then(|s| s.subscribe())
        .expect("netatopd is not running");
    let ctl = Control::open().expect("socket");
    let start = Instant::now();
    let mut pids = Vec::with_capacity(n);
    let mut longest = Duration::ZERO;
    let mut waiting = Duration::ZERO;
    let mut last_gc = Instant::now();
    for _ in 0..n {
        // SAFETY: Single threaded; the child sends one datagram and exits.
        let pid = match unsafe { fork() }.expect("fork") {
            ForkResult::Parent { child } => child,
            ForkResult::Child => {
                if let Ok(s) = UdpSocket::bind("127.0.0.1:0") {
                    let _ = s.send_to(&[0x6e; 32], "127.0.0.1:9");
                }
                // SAFETY: Leaving the forked child at once, without the parent's
                // destructors and exit handlers.
                unsafe { libc::_exit(0) }
            }
        };
        pids.push(pid.as_raw());
        let _ = waitpid(pid, None);
        if last_gc.elapsed() >= Duration::from_secs(1) {
            let _ = ctl.force_gc();
            let t = Instant::now();
            let _ = ctl.empty_exit();
            longest = longest.max(t.elapsed());
            waiting += t.elapsed();
            last_gc = Instant::now();
        }
    }
    let _ = ctl.force_gc();
    let t = Instant::now();
    let _ = ctl.empty_exit();
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
