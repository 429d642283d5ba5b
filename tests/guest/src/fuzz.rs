//! A fuzzer of the getsockopt interface: random commands, lengths,
//! pointers and ids from several threads, while traffic flows, processes
//! exit, FORCE_GC and EMPTY_EXIT run, netatopd restarts and the module is
//! unloaded and loaded again. Every call must end in success or one of the
//! documented errors, never write past what it reports, and the kernel
//! must neither splat (the harness reads its log) nor leak (kmemleak).

use crate::child::{Child, Ctl};
use crate::sys::*;
use netatop_client::abi;
use nix::sys::mman::{mmap_anonymous, mprotect, MapFlags, ProtFlags};
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::num::NonZeroUsize;
use std::os::unix::thread::JoinHandleExt;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the fuzzer runs.
const RUN: Duration = Duration::from_secs(20);
const PAGE: usize = 4096;
/// The pattern of buffer bytes the kernel must not touch.
const CANARY: u8 = 0xa5;

/// xorshift64*: small, and the same sequence for the same seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[(self.next() % from.len() as u64) as usize]
    }
}

/// Memory the calls point into: a writable page followed by an
/// inaccessible one (so a write running off its end faults), and a
/// read-only page. (Not the address of an unmapped page: another thread's
/// mapping may appear there, and the kernel would rightly write into it.)
struct Arena {
    rw: usize,
    ro: usize,
    none: usize,
}

impl Arena {
    fn new() -> Result<Self, String> {
        let map = |pages: usize, prot| {
            // SAFETY: Fresh private anonymous mappings, used only through
            // raw pointers handed to the kernel and read back here.
            unsafe {
                mmap_anonymous(
                    None,
                    NonZeroUsize::new(pages * PAGE).unwrap(),
                    prot,
                    MapFlags::MAP_PRIVATE,
                )
            }
            .map_err(|e| format!("mmap: {e}"))
        };
        let rw = map(2, ProtFlags::PROT_READ | ProtFlags::PROT_WRITE)?;
        // SAFETY: The second page of our own mapping becomes inaccessible.
        unsafe {
            mprotect(
                NonNull::new_unchecked(rw.as_ptr().cast::<u8>().add(PAGE).cast()),
                PAGE,
                ProtFlags::PROT_NONE,
            )
        }
        .map_err(|e| format!("mprotect: {e}"))?;
        let ro = map(1, ProtFlags::PROT_READ)?;
        Ok(Arena {
            rw: rw.as_ptr() as usize,
            ro: ro.as_ptr() as usize,
            none: rw.as_ptr() as usize + PAGE,
        })
    }

    fn rw_bytes(&mut self) -> &mut [u8] {
        // SAFETY: The first page of the arena is ours, readable and
        // writable, and only its owner (the one thread) uses it.
        unsafe { std::slice::from_raw_parts_mut(self.rw as *mut u8, PAGE) }
    }
}

/// What one fuzzing thread saw: results by name, or the first violation.
type Tally = Result<BTreeMap<String, u64>, String>;

fn fuzz_thread(seed: u64, stop: Arc<AtomicBool>) -> Tally {
    let mut rng = Rng(seed | 1);
    let mut arena = Arena::new()?;
    let s = control_socket().map_err(|e| e.to_string())?;
    let me = std::process::id() as i32;
    let mut tally = BTreeMap::new();
    let commands: Vec<i32> = (abi::NETATOP_BASE_CTL - 2..abi::NETATOP_CTL_END + 2).collect();
    let lengths = [
        i32::MIN,
        -96,
        -1,
        0,
        1,
        3,
        4,
        5,
        8,
        95,
        96,
        97,
        4096,
        i32::MAX,
    ];
    let ids = [0, 1, -1, me, i32::MAX, i32::MIN, 4_194_304];
    while !stop.load(Ordering::Relaxed) {
        let cmd = rng.pick(&commands);
        let len = if rng.next().is_multiple_of(8) {
            (rng.next() % 200) as i32
        } else {
            rng.pick(&lengths)
        };
        let id = if rng.next().is_multiple_of(4) {
            rng.next() as i32
        } else {
            rng.pick(&ids)
        };
        let (rw, ro, none) = (arena.rw, arena.ro, arena.none);
        let buf = arena.rw_bytes();
        buf.fill(CANARY);
        buf[..4].copy_from_slice(&id.to_ne_bytes());
        // Where the call points: the buffer, its last bytes before the
        // inaccessible page, a read-only page, the inaccessible page, null,
        // the kernel's half.
        let tail = 1 + (rng.next() % 96) as usize;
        let (ptr, what) = match rng.next() % 8 {
            0..=2 => (rw, "buffer"),
            3 => (rw + PAGE - tail, "edge"),
            4 => (ro, "read-only"),
            5 => (none, "inaccessible"),
            6 => (0, "null"),
            _ => (0xffff_8880_0000_0000, "kernel"),
        };
        let mut optlen = len as libc::socklen_t;
        let bad_optlen = rng.next().is_multiple_of(32);
        let optlen_ptr = if bad_optlen {
            none as *mut libc::socklen_t
        } else {
            &raw mut optlen
        };
        // SAFETY: The kernel writes at most `optlen` bytes at `ptr`: into
        // the arena's writable page (a write past it faults on the
        // inaccessible page) or into memory it must refuse.
        let r = unsafe { s.get_raw(cmd, ptr as *mut libc::c_void, optlen_ptr) };
        let errno = r.as_ref().err().and_then(|e| e.raw_os_error());
        let outcome = match errno {
            None => "ok",
            Some(libc::EINVAL) => "EINVAL",
            Some(libc::EFAULT) => "EFAULT",
            Some(libc::ESRCH) => "ESRCH",
            Some(libc::EINTR) => "EINTR",
            Some(libc::ENOPROTOOPT) => "ENOPROTOOPT",
            Some(e) => {
                return Err(format!(
                    "command {cmd}, length {len}, id {id}, {what} buffer: errno {e}"
                ))
            }
        };
        *tally.entry(outcome.to_string()).or_insert(0) += 1;
        // Pauses now and then, in which nobody may be inside the module
        // and an unload gets through while calls come and go.
        if rng.next().is_multiple_of(4) {
            std::thread::sleep(Duration::from_millis(rng.next() % 30));
        }
        if r.is_ok() && !bad_optlen {
            let n = optlen as i32;
            // A record is at least the id and at most what was asked for
            // and the record's size; the other commands write nothing.
            let record = [
                abi::NETATOP_GETCNT_TGID,
                abi::NETATOP_GETCNT_PID,
                abi::NETATOP_GETCNT_EXIT,
            ]
            .contains(&cmd);
            if record && !(4..=len.min(96)).contains(&n) {
                return Err(format!("command {cmd}, length {len}: optlen {n} came back"));
            }
            // Nothing past the reported length was written.
            if what == "buffer" {
                let from = if record { n as usize } else { 4 };
                if let Some(i) = buf[from..].iter().position(|&b| b != CANARY) {
                    return Err(format!(
                        "command {cmd}, length {len}: byte {} written past the {n} reported",
                        from + i
                    ));
                }
            }
        }
    }
    Ok(tally)
}

extern "C" fn on_usr1(_: libc::c_int) {}

/// The fuzzing process: threads of random calls, one of FORCE_GC and
/// EMPTY_EXIT, and a watchdog that interrupts blocked calls.
fn fuzzer(ctl: &mut Ctl, seed: u64) {
    let action = SigAction::new(
        SigHandler::Handler(on_usr1),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: The handler does nothing.
    unsafe { sigaction(Signal::SIGUSR1, &action) }.expect("sigaction");
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads: Vec<std::thread::JoinHandle<Tally>> = (0..3u64)
        .map(|i| {
            let stop = stop.clone();
            std::thread::spawn(move || fuzz_thread(seed.wrapping_add(i * 0x9e37_79b9), stop))
        })
        .collect();
    let gc_stop = stop.clone();
    threads.push(std::thread::spawn(move || {
        let mut tally = BTreeMap::new();
        while !gc_stop.load(Ordering::Relaxed) {
            let s = control_socket().map_err(|e| e.to_string())?;
            for (name, cmd) in [
                ("FORCE_GC", abi::NETATOP_FORCE_GC),
                ("EMPTY_EXIT", abi::NETATOP_EMPTY_EXIT),
            ] {
                let outcome = match s.command(cmd) {
                    Ok(()) => "ok".to_string(),
                    Err(e) => match e.raw_os_error() {
                        Some(libc::EINTR | libc::ENOPROTOOPT) => e.to_string(),
                        _ => return Err(format!("{name}: {e}")),
                    },
                };
                *tally.entry(format!("{name} {outcome}")).or_insert(0) += 1;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(tally)
    }));
    // Blocked calls (GETCNT_EXIT, EMPTY_EXIT) end with EINTR.
    let handles: Vec<libc::pthread_t> = threads.iter().map(|t| t.as_pthread_t()).collect();
    let t0 = Instant::now();
    while t0.elapsed() < RUN {
        for &h in &handles {
            // SAFETY: The threads are joined only after this loop.
            unsafe { libc::pthread_kill(h, libc::SIGUSR1) };
        }
        // Often: a blocked call holds the module, which is to be unloaded
        // now and then.
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::Relaxed);
    let mut total = BTreeMap::new();
    let mut verdict = Ok(());
    for t in threads {
        // Keep interrupting whatever still blocks.
        while !t.is_finished() {
            // SAFETY: As above: the thread has not been joined yet.
            unsafe { libc::pthread_kill(t.as_pthread_t(), libc::SIGUSR1) };
            std::thread::sleep(Duration::from_millis(20));
        }
        match t.join() {
            Ok(Ok(tally)) => {
                for (k, v) in tally {
                    *total.entry(k).or_insert(0) += v;
                }
            }
            Ok(Err(e)) => verdict = verdict.and(Err(e)),
            Err(_) => verdict = verdict.and(Err("a fuzzing thread panicked".to_string())),
        }
    }
    ctl.report(&match verdict {
        Ok(()) => format!("ok {total:?}"),
        Err(e) => format!("fail {e}"),
    });
    ctl.wait();
}

/// Processes that send a datagram and exit, one after another.
fn exiting_processes(ctl: &mut Ctl) {
    ctl.report("started");
    loop {
        let c = Child::spawn("fuzz-exit", |_: &mut Ctl| {
            if let Ok(s) = UdpSocket::bind("127.0.0.1:0") {
                let _ = s.send_to(&[0x72; 30], "127.0.0.1:9");
            }
        });
        c.finish();
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// UDP over IPv4 and IPv6 in both directions, as fast as it goes.
pub(crate) fn traffic(ctl: &mut Ctl) {
    let rx4 = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let rx6 = UdpSocket::bind("[::1]:0").expect("bind");
    let (to4, to6) = (
        rx4.local_addr().expect("addr"),
        rx6.local_addr().expect("addr"),
    );
    for rx in [rx4, rx6] {
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while let Ok((_, from)) = rx.recv_from(&mut buf) {
                let _ = rx.send_to(&buf[..64], from);
            }
        });
    }
    let tx4 = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let tx6 = UdpSocket::bind("[::1]:0").expect("bind");
    ctl.report("started");
    loop {
        let _ = tx4.send_to(&[0x73; 500], to4);
        let _ = tx6.send_to(&[0x74; 1400], to6);
    }
}

pub fn interface_fuzz_under_load() -> Check {
    let seed = std::env::var("NETATOP_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    let kmemleak = std::path::Path::new(crate::tests::KMEMLEAK).exists();
    if kmemleak {
        let _ = crate::tests::kmemleak_report()?;
        write_file(crate::tests::KMEMLEAK, "clear")?;
    }
    let daemon_was_running = sh("pidof netatopd").is_ok();
    let mut flow = Child::spawn("fuzz-traffic", traffic);
    flow.read();
    let mut exits = Child::spawn("fuzz-exits", exiting_processes);
    exits.read();
    let mut fuzz = Child::spawn("fuzzer", move |ctl: &mut Ctl| fuzzer(ctl, seed));
    // Meanwhile netatopd stops (its blocked call holds the module), the
    // module is unloaded (refused while a call is inside it: tried a few
    // times; whether one gets through is up to the fuzzing threads, so
    // it is counted, not required) and loaded, and netatopd starts again.
    let t0 = Instant::now();
    let (mut unloads, mut refused, mut restarts) = (0, 0, 0);
    while t0.elapsed() < RUN - Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(500));
        let _ = sh("kill $(pidof netatopd) 2>/dev/null; usleep 100000");
        for _ in 0..10 {
            if unload_module().is_ok() {
                unloads += 1;
                std::thread::sleep(Duration::from_millis(100));
                load_module("")?;
                break;
            }
            refused += 1;
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(500));
        let _ = sh("netatopd");
        restarts += 1;
    }
    let report = fuzz.read();
    fuzz.finish();
    drop(flow);
    drop(exits);
    let _ = sh("kill $(pidof netatopd) 2>/dev/null");
    std::thread::sleep(Duration::from_millis(300));
    if !module_loaded() {
        load_module("")?;
    }
    let context =
        format!("seed {seed}, {unloads} unloads, {refused} refused, {restarts} netatopd starts");
    let Some(summary) = report.strip_prefix("ok ") else {
        return Err(format!("{context}: {report}"));
    };
    if !summary.contains("\"ok\"") || !summary.contains("EFAULT") || !summary.contains("EINVAL") {
        return Err(format!("{context}: too little got through: {summary}"));
    }
    // Still exact afterwards.
    crate::accounting::udp_v4_loopback_counts_exact_per_process_and_thread()
        .map_err(|e| format!("{context}: after: {e}"))?;
    if kmemleak {
        unload_module()?;
        let leaks = crate::tests::kmemleak_report()?;
        load_module("")?;
        if !leaks.trim().is_empty() {
            return Err(format!("{context}: kmemleak reports:\n{leaks}"));
        }
    }
    if daemon_was_running {
        crate::daemon::start_daemon("")?;
    }
    println!("# fuzz: {context}: {summary}");
    Ok(())
}
