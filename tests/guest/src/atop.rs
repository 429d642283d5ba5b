//! The real client: Debian's atop (`-K` makes it use netatop) shows
//! the exact counters of a known traffic generator, per process and per
//! thread, in its parseable output.

use crate::child::{Child, Ctl};
use crate::netatop::*;
use crate::prn::{parse_prn, sum, Prn};
use crate::sys::Check;
use std::net::UdpSocket;
use std::process::Command;

pub fn atop_shows_exact_process_and_thread_counters() -> Check {
    const SENDS: [u64; 2] = [333, 444];
    const SIZE: usize = 100;
    let mut target = Child::spawn("atop-target", |ctl: &mut Ctl| {
        let sink = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let to = sink.local_addr().expect("addr");
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        let mut tids = Vec::new();
        let mut handles = Vec::new();
        for n in SENDS {
            let (tid_tx, tid_rx) = std::sync::mpsc::channel();
            let rx = rx.clone();
            handles.push(std::thread::spawn(move || {
                let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
                for _ in 0..n {
                    s.send_to(&[0x6c; SIZE], to).expect("send");
                }
                tid_tx.send(gettid()).expect("tid");
                // Stay alive until the parent is done with atop.
                let _ = rx.lock().map(|r| r.recv());
            }));
            tids.push(tid_rx.recv().expect("tid").to_string());
        }
        ctl.report(&tids.join(" "));
        ctl.wait();
        drop(tx);
        for h in handles {
            let _ = h.join();
        }
    });
    let tids: Vec<i32> = target
        .read()
        .split_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect();
    if tids.len() != 2 {
        return Err("the target's threads did not start".into());
    }
    let out = Command::new("/usr/bin/atop")
        .args(["-K", "-y", "-P", "PRN", "1", "3"])
        .output()
        .map_err(|e| format!("atop: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines = parse_prn(&text)?;
    let total: u64 = SENDS.iter().sum();
    let w = udp_wire(SIZE as u64, false);
    let process = sum(&lines, |l| l.pid == target.pid && l.is_process);
    let want = [0, 0, 0, 0, total, total * w, 0, 0];
    if process != want {
        return Err(format!(
            "atop's process line sums {process:?}, expected {want:?}\n{text}"
        ));
    }
    for (tid, n) in tids.iter().zip(SENDS) {
        let thread = sum(&lines, |l| {
            l.pid == *tid && !l.is_process && l.tgid == target.pid
        });
        let want = [0, 0, 0, 0, n, n * w, 0, 0];
        if thread != want {
            return Err(format!(
                "atop's lines of thread {tid} sum {thread:?}, expected {want:?}\n{text}"
            ));
        }
    }
    target.finish();
    Ok(())
}

/// A process that only reads UDP (it never sends) shows in atop with
/// exactly what it received.
pub fn atop_shows_a_receive_only_process() -> Check {
    const K: u64 = 40;
    const SIZE: usize = 200;
    let bind = crate::accounting::unused_udp_addr("[::1]:0")?;
    let mut reader = crate::accounting::udp_reader("atop-reader", bind, None, K as usize);
    crate::accounting::bound_at(&mut reader, bind, "reader")?;
    let tx = UdpSocket::bind("[::1]:0").map_err(|e| e.to_string())?;
    for _ in 0..K {
        tx.send_to(&[0x6d; SIZE], bind).map_err(|e| e.to_string())?;
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let tid: i32 = reader
        .read()
        .parse()
        .map_err(|_| "reader did not read them all")?;
    let out = Command::new("/usr/bin/atop")
        .args(["-K", "-y", "-P", "PRN", "1", "2"])
        .output()
        .map_err(|e| format!("atop: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines = parse_prn(&text)?;
    let w = udp_wire(SIZE as u64, true);
    let want = [0, 0, 0, 0, 0, 0, K, K * w];
    // One thread: atop shows it as the process line alone.
    let process = sum(&lines, |l| {
        l.pid == reader.pid && l.tgid == reader.pid && l.is_process
    });
    if tid != reader.pid || process != want {
        return Err(format!(
            "atop shows {process:?} for {} (thread {tid}), expected {want:?}\n{text}",
            reader.pid
        ));
    }
    reader.finish();
    Ok(())
}

/// A running `atop -K -P PRN` that takes a sample when it starts and then
/// whenever it is told to ([`LiveAtop::sample`]: SIGUSR1; its interval is
/// ten minutes). What it prints is read as it goes (a full pipe would hold
/// it up; atop writes it unbuffered). Dropped unfinished, it is killed.
///
/// Between two samples atop waits in pause(). A process that exits then is
/// in the accounting atop reads at the next sample, before that sample's
/// FORCE_GC. One that exits during a sample, after atop has read the
/// accounting, is in the accounting of the next sample only; the module
/// leaves it to that sample's FORCE_GC, but for a short window before
/// atop's call (see README). Triggered samples keep the exits of these
/// checks out of that window.
struct LiveAtop {
    child: std::process::Child,
    text: std::sync::Arc<std::sync::Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl LiveAtop {
    fn start() -> Result<LiveAtop, String> {
        let mut child = Command::new("/usr/bin/atop")
            .args(["-K", "-P", "PRN", "600", "1000"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("atop: {e}"))?;
        let mut stdout = child.stdout.take().ok_or("atop: no stdout")?;
        let text = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = text.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = [0; 8192];
            while let Ok(n @ 1..) = std::io::Read::read(&mut stdout, &mut buf) {
                if let Ok(mut t) = sink.lock() {
                    t.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        });
        Ok(LiveAtop {
            child,
            text,
            reader: Some(reader),
        })
    }

    /// An atop started with netatopd running, once it has subscribed and
    /// holds the log (it switched accounting on by then) and has taken its
    /// first sample: it then waits for [`LiveAtop::sample`].
    fn subscribed() -> Result<LiveAtop, String> {
        use crate::daemon::{ensure_daemon, wait_until_log_is_open_in};
        std::fs::create_dir_all("/var/cache").map_err(|e| e.to_string())?;
        ensure_daemon()?;
        let atop = LiveAtop::start()?;
        wait_until_log_is_open_in(atop.pid())?;
        atop.wait_for_samples(1)?;
        Ok(atop)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the log and the module hold of exited process `pid`, and where
    /// atop stands in the log, for a failure message.
    fn state_of(&self, pid: i32) -> String {
        use crate::daemon::{log_position_in, log_state_of};
        format!("{}; {}", log_state_of(pid), log_position_in(self.pid()))
    }

    fn text(&self) -> String {
        self.text.lock().map(|t| t.clone()).unwrap_or_default()
    }

    /// How many samples atop has printed (each ends with `SEP`).
    fn samples(&self) -> usize {
        self.text().lines().filter(|l| *l == "SEP").count()
    }

    /// Waits until atop has printed `n` samples.
    fn wait_for_samples(&self, n: usize) -> Check {
        for _ in 0..300 {
            if self.samples() >= n {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Err(format!(
            "atop printed {} samples in 30 s, not {n}\n{}",
            self.samples(),
            self.text()
        ))
    }

    /// Makes atop take a sample now (SIGUSR1) and waits until it has
    /// printed it.
    fn sample(&self) -> Check {
        use nix::sys::signal::{kill, Signal};
        let n = self.samples();
        let pid = nix::unistd::Pid::from_raw(self.pid() as i32);
        kill(pid, Signal::SIGUSR1).map_err(|e| format!("SIGUSR1 to atop: {e}"))?;
        self.wait_for_samples(n + 1)
    }

    /// SIGUSR2 (atop takes a last sample and ends); everything it printed,
    /// or an error if it ended otherwise than cleanly.
    fn finish(mut self) -> Result<String, String> {
        use nix::sys::signal::{kill, Signal};
        let pid = nix::unistd::Pid::from_raw(self.pid() as i32);
        kill(pid, Signal::SIGUSR2).map_err(|e| format!("SIGUSR2 to atop: {e}"))?;
        let status = self.child.wait().map_err(|e| format!("atop: {e}"))?;
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        let text = self.text();
        if !status.success() {
            return Err(format!("atop ended with {status}\n{text}"));
        }
        Ok(text)
    }
}

impl Drop for LiveAtop {
    fn drop(&mut self) {
        if self.reader.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The sum of atop's lines for the exited process `pid`, with how many
/// there were, for a message.
fn exited_counters(text: &str, pid: i32) -> Result<([u64; 8], usize), String> {
    let lines = parse_prn(text)?;
    let of_pid = |l: &Prn| l.pid == pid && l.is_process;
    Ok((
        sum(&lines, of_pid),
        lines.iter().filter(|l| of_pid(l)).count(),
    ))
}

/// With netatopd running, atop shows the network counters of a process
/// that sent known traffic and exited between two samples (atop learns of
/// the exit from process accounting, then finds the counters in
/// netatopd's log by pid).
pub fn atop_shows_exited_process_counters_via_netatopd() -> Check {
    use crate::daemon::exiting_sender;
    const COUNT: u64 = 555;
    const SIZE: u64 = 100;
    let atop = LiveAtop::subscribed()?;
    let pid = exiting_sender("gone-between", COUNT as usize, SIZE as usize)?;
    // The sample after the exit shows it.
    atop.sample()?;
    // What the log and the module held while atop ran, in case it failed.
    let state = atop.state_of(pid);
    let text = atop.finish()?;
    let (got, n) = exited_counters(&text, pid)?;
    let w = udp_wire(SIZE, false);
    let want = [0, 0, 0, 0, COUNT, COUNT * w, 0, 0];
    if got != want {
        return Err(format!(
            "atop's {n} lines for the exited pid {pid} sum {got:?}, expected {want:?}; {state}\n{text}"
        ));
    }
    Ok(())
}

/// netatopd restarted under a running `atop -K` (a package upgrade,
/// `systemctl restart`): atop keeps running and shows the exact counters
/// of a process that exited after the restart. (A daemon that reset the
/// log in place made atop read across the reset: it tried to allocate
/// hundreds of gigabytes and exited.)
pub fn atop_survives_a_netatopd_restart() -> Check {
    use crate::daemon::{exiting_sender, start_daemon, stop_daemon, wait_until_log_is_open_in};
    const SIZE: u64 = 10;
    let atop = LiveAtop::subscribed()?;
    // Records atop reads from the first daemon's log.
    let before = [
        exiting_sender("before-restart", 3, SIZE as usize)?,
        exiting_sender("before-restart", 3, SIZE as usize)?,
    ];
    atop.sample()?;
    stop_daemon()?;
    start_daemon("")?;
    // atop opens the new log at its next sample, when it notices the old
    // one was removed, and starts at its end.
    atop.sample()?;
    wait_until_log_is_open_in(atop.pid())?;
    let pid = exiting_sender("after-restart", 4, SIZE as usize)?;
    atop.sample()?;
    // What the log and the module held while atop ran, in case it failed.
    let state = atop.state_of(pid);
    let text = atop.finish()?;
    let w = udp_wire(SIZE, false);
    for b in before {
        let (got, n) = exited_counters(&text, b)?;
        let want = [0, 0, 0, 0, 3, 3 * w, 0, 0];
        if got != want {
            return Err(format!(
                "atop's {n} lines for pid {b}, exited before the restart, sum {got:?}, expected {want:?}\n{text}"
            ));
        }
    }
    let (got, n) = exited_counters(&text, pid)?;
    let want = [0, 0, 0, 0, 4, 4 * w, 0, 0];
    if got != want {
        return Err(format!(
            "atop's {n} lines for pid {pid}, exited after the restart, sum {got:?}, expected {want:?}; {state}\n{text}"
        ));
    }
    Ok(())
}
