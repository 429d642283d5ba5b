//! netatopd and its log, with a reader that subscribes as atop does.

use crate::child::{Child, Ctl};
use crate::netatop::*;
use crate::sys::*;
use netatop_client::log;
use netatop_client::sem::{Semaphores, SEMAKEY};
use netatop_client::{abi, NetPerTask};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::net::UdpSocket;
use std::time::Duration;

const LOG: &str = "/run/netatop.log";

/// Waits until process `pid` (an atop) holds the current log open: it
/// opens the log when it first subscribes and again when it notices that
/// a new daemon has replaced it, and skips what the log holds by then.
pub(crate) fn wait_until_log_is_open_in(pid: u32) -> Check {
    use std::os::unix::fs::MetadataExt;
    let same =
        |a: &std::fs::Metadata, b: &std::fs::Metadata| a.dev() == b.dev() && a.ino() == b.ino();
    for _ in 0..100 {
        if let (Ok(log), Ok(fds)) = (
            std::fs::metadata(LOG),
            std::fs::read_dir(format!("/proc/{pid}/fd")),
        ) {
            // stat() through /proc/PID/fd reaches the open file itself.
            if fds
                .flatten()
                .any(|fd| std::fs::metadata(fd.path()).is_ok_and(|m| same(&m, &log)))
            {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("process {pid} did not open {LOG} within 10 s"))
}

fn semaphores() -> Result<Semaphores, String> {
    Semaphores::open().map_err(|e| format!("no netatopd semaphores: {e}"))
}

fn sem_val(n: u16) -> Result<i32, String> {
    semaphores()?
        .value(n)
        .map_err(|e| format!("semaphore {n}: {e}"))
}

/// A reader subscribed like atop: semaphore 1 decremented with SEM_UNDO.
/// Runs in a child so the subscription ends with it.
struct Reader {
    child: Child,
}

impl Reader {
    fn subscribe() -> Result<Reader, String> {
        let mut child = Child::spawn("log-reader", |ctl: &mut Ctl| {
            let r = semaphores().and_then(|s| s.subscribe().map_err(|e| e.to_string()));
            ctl.report(if r.is_ok() { "subscribed" } else { "failed" });
            ctl.wait();
        });
        match child.read().as_str() {
            "subscribed" => Ok(Reader { child }),
            other => Err(format!("subscribing failed: {other}")),
        }
    }

    fn leave(self) {
        self.child.finish();
    }
}

/// The log's header fields and records.
struct Log {
    magic: u32,
    curseq: u32,
    pid: i32,
    records: Vec<NetPerTask>,
    inode: u64,
}

fn read_log(path: &str) -> Result<Log, String> {
    use std::os::unix::fs::MetadataExt;
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let inode = std::fs::metadata(path).map_err(|e| e.to_string())?.ino();
    let (header, records) = log::decode(&bytes).map_err(|e| format!("{path}: {e}"))?;
    Ok(Log {
        magic: header.magic,
        curseq: header.curseq,
        pid: header.mypid,
        records,
        inode,
    })
}

/// What the current log, the semaphores and the module say of exited
/// process `pid`, for a failure message: whether atop could have found
/// its record.
pub(crate) fn log_state_of(pid: i32) -> String {
    let sems = format!(
        "semaphores: daemons {:?}, 100 - readers {:?}; the module's record of the process: {:?}, #taskexit {:?}",
        sem_val(0),
        sem_val(1),
        process(pid).map(|r| counters(&r)),
        proc_values().map(|v| v.get("#taskexit:").copied())
    );
    match read_log(LOG) {
        Ok(log) => {
            let mine: Vec<_> = log.records.iter().filter(|r| r.id == pid).collect();
            format!(
                "{LOG}: inode {}, daemon {}, curseq {}, {} records, those of pid {pid}: {:?}; {sems}",
                log.inode,
                log.pid,
                log.curseq,
                log.records.len(),
                mine.iter().map(|r| counters(r)).collect::<Vec<_>>()
            )
        }
        Err(e) => format!("{e}; {sems}"),
    }
}

/// Where process `pid` (an atop) stands in the log it holds open: each
/// descriptor of a file named like the log, with its inode and offset.
pub(crate) fn log_position_in(pid: u32) -> String {
    use std::os::unix::fs::MetadataExt;
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return format!("process {pid} has no descriptors to read");
    };
    let mut out = Vec::new();
    for fd in fds.flatten() {
        let target = std::fs::read_link(fd.path()).unwrap_or_default();
        if !target.to_string_lossy().contains("netatop.log") {
            continue;
        }
        let ino = std::fs::metadata(fd.path()).map(|m| m.ino()).unwrap_or(0);
        let info = format!("/proc/{pid}/fdinfo/{}", fd.file_name().to_string_lossy());
        let pos = std::fs::read_to_string(info)
            .ok()
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("pos:").map(|p| p.trim().to_string()))
            })
            .unwrap_or_default();
        out.push(format!("{} inode {ino} at {pos}", target.display()));
    }
    format!("atop holds {out:?}")
}

/// Starts netatopd (as a daemon) and waits until it has registered.
pub(crate) fn start_daemon(args: &str) -> Result<(), String> {
    started(&format!("netatopd {args}")).map(|_| ())
}

/// A netatopd writing the default log: the one running, or one started
/// (so that a check of a running daemon also runs alone).
pub(crate) fn ensure_daemon() -> Check {
    if sh("pidof netatopd").is_err() {
        start_daemon("")?;
    }
    Ok(())
}

/// Runs `command`, which starts a netatopd writing the default log, and
/// waits until that daemon has registered and written its log's header;
/// returns its pid. The log a stopped daemon left is removed first, so
/// that it cannot pass for the new one's.
fn started(command: &str) -> Result<i32, String> {
    start(command)?;
    registered(command)
}

/// Runs `command`, which starts netatopd, with no log left from before.
fn start(command: &str) -> Check {
    match std::fs::remove_file(LOG) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.to_string()),
        _ => {}
    }
    sh(command).map(drop)
}

/// The pid of the netatopd that `command` started, once it has registered
/// and written its log's header.
fn registered(command: &str) -> Result<i32, String> {
    for _ in 0..50 {
        // Registered, and the log has a whole header.
        if sem_val(0).unwrap_or(0) == 1 {
            if let Ok(log) = read_log(LOG) {
                return Ok(log.pid);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("{command}: netatopd did not register"))
}

/// Every process named netatopd, zombies too: pid, parent and session.
fn netatopd_processes() -> Result<Vec<(i32, i32, i32)>, String> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").map_err(|e| e.to_string())? {
        let Ok(pid) = e
            .map_err(|e| e.to_string())?
            .file_name()
            .to_string_lossy()
            .parse::<i32>()
        else {
            continue;
        };
        // Gone meanwhile: not there.
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        if !head.ends_with("(netatopd") {
            continue;
        }
        // After "(comm)": state, ppid, pgrp, session.
        let f: Vec<i32> = rest
            .split_whitespace()
            .skip(1)
            .take(3)
            .map(|x| x.parse().unwrap_or(-1))
            .collect();
        if let [ppid, _, session] = f[..] {
            found.push((pid, ppid, session));
        }
    }
    Ok(found)
}

fn daemon_pid() -> Result<i32, String> {
    Ok(read_log(LOG)?.pid)
}

pub(crate) fn stop_daemon() -> Check {
    let pid = match daemon_pid() {
        // The log's daemon, if it still runs; otherwise whichever runs.
        Ok(pid) if kill(Pid::from_raw(pid), None).is_ok() => pid,
        _ => sh("pidof netatopd")?
            .trim()
            .parse()
            .map_err(|_| "no netatopd to stop")?,
    };
    kill(Pid::from_raw(pid), Signal::SIGTERM).map_err(|e| format!("SIGTERM to {pid}: {e}"))?;
    for _ in 0..50 {
        if sem_val(0).unwrap_or(0) == 0 {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err("netatopd did not stop on SIGTERM".into())
}

/// A process named `name` that sends `count` UDP datagrams of `size`
/// bytes and exits; its pid once reaped.
pub(crate) fn exiting_sender(name: &str, count: usize, size: usize) -> Result<i32, String> {
    let mut c = Child::spawn(name, move |ctl: &mut Ctl| {
        let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
        for _ in 0..count {
            s.send_to(&vec![0x70; size], "127.0.0.1:9").expect("send");
        }
        ctl.report("sent");
    });
    c.read();
    let pid = c.pid;
    c.finish();
    Ok(pid)
}

/// What atop does for exited processes: FORCE_GC, then EMPTY_EXIT.
fn gc_and_empty_exit() -> Check {
    force_gc()?;
    let s = control_socket().map_err(|e| e.to_string())?;
    s.command(abi::NETATOP_EMPTY_EXIT)
        .map_err(|e| format!("EMPTY_EXIT: {e}"))
}

pub fn netatopd_second_instance_is_refused_with_status_2() -> Check {
    drain_exits()?;
    start_daemon("")?;
    let out = std::process::Command::new("netatopd")
        .output()
        .map_err(|e| e.to_string())?;
    let msg = String::from_utf8_lossy(&out.stderr);
    if out.status.code() != Some(2) || !msg.contains("already running") {
        return Err(format!("second netatopd: {:?} {msg:?}", out.status.code()));
    }
    Ok(())
}

/// With a reader subscribed, every exited process is in the log, with its
/// exact counters, by the time EMPTY_EXIT returns; twenty rounds in a row.
pub fn netatopd_no_exited_process_is_missed() -> Check {
    ensure_daemon()?;
    let reader = Reader::subscribe()?;
    let before = read_log(LOG)?;
    if before.magic != 0xfeed_b0b0 {
        return Err(format!("magic {:#x}", before.magic));
    }
    for round in 0..20 {
        let size = 50 + round;
        let pid = exiting_sender("exits-soon", round + 1, size)?;
        gc_and_empty_exit()?;
        let log = read_log(LOG)?;
        let Some(rec) = log.records.iter().find(|r| r.id == pid) else {
            return Err(format!(
                "round {round}: pid {pid} not in the log after EMPTY_EXIT ({} records)",
                log.records.len()
            ));
        };
        let n = round as u64 + 1;
        expect_eq(
            &format!("round {round}"),
            &counters(rec),
            &udp_only(n, n * udp_wire(size as u64, false), 0, 0),
        )?;
        if command(rec) != "exits-soon" || log.curseq as usize != log.records.len() {
            return Err(format!(
                "round {round}: command {:?}, curseq {} for {} records",
                command(rec),
                log.curseq,
                log.records.len()
            ));
        }
    }
    reader.leave();
    Ok(())
}

/// Without readers nothing is written; when the last reader has left, the
/// next record makes the daemon start a fresh, empty file.
pub fn netatopd_log_is_recreated_when_readers_leave() -> Check {
    ensure_daemon()?;
    let reader = Reader::subscribe()?;
    exiting_sender("logged", 1, 10)?;
    gc_and_empty_exit()?;
    let with_reader = read_log(LOG)?;
    if with_reader.records.is_empty() {
        return Err("nothing logged with a reader".into());
    }
    reader.leave();
    // SIGHUP tells the daemon to look at the readers again.
    kill(Pid::from_raw(daemon_pid()?), Signal::SIGHUP).map_err(|e| format!("SIGHUP: {e}"))?;
    std::thread::sleep(Duration::from_millis(500));
    exiting_sender("unlogged", 1, 10)?;
    gc_and_empty_exit()?;
    let after = read_log(LOG)?;
    if after.inode == with_reader.inode || !after.records.is_empty() || after.curseq != 0 {
        return Err(format!(
            "after the reader left: inode {} (was {}), {} records, curseq {}",
            after.inode,
            with_reader.inode,
            after.records.len(),
            after.curseq
        ));
    }
    Ok(())
}

/// kill -9 leaves no registration behind (SEM_UNDO): a new daemon starts.
pub fn netatopd_restarts_after_kill_9() -> Check {
    ensure_daemon()?;
    let pid = daemon_pid()?;
    kill(Pid::from_raw(pid), Signal::SIGKILL).map_err(|e| format!("SIGKILL to {pid}: {e}"))?;
    std::thread::sleep(Duration::from_millis(300));
    if sem_val(0)? != 0 {
        return Err("semaphore 0 still set after kill -9".into());
    }
    start_daemon("")?;
    // The new daemon writes a fresh header soon after it registers.
    for _ in 0..50 {
        if daemon_pid().is_ok_and(|p| p != pid) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!(
        "the log still names the killed daemon: {:?}",
        daemon_pid()
    ))
}

/// A daemon started before the module waits for it, then works.
pub fn netatopd_waits_for_the_module() -> Check {
    stop_daemon()?;
    unload_module()?;
    start_daemon("")?;
    std::thread::sleep(Duration::from_millis(1500));
    load_module("")?;
    let reader = Reader::subscribe()?;
    // The daemon polls once a second while the module is missing.
    std::thread::sleep(Duration::from_millis(1500));
    let pid = exiting_sender("after-load", 3, 10)?;
    gc_and_empty_exit()?;
    let log = read_log(LOG)?;
    reader.leave();
    if !log.records.iter().any(|r| r.id == pid) {
        return Err("the process that exited after the module came back is not logged".into());
    }
    Ok(())
}

/// On a nearly full file system records are skipped (and that is
/// reported), and written again once there is room.
pub fn netatopd_full_file_system_skips_then_recovers() -> Check {
    stop_daemon()?;
    sh("mkdir -p /mnt/small && mount -t tmpfs -o size=512k tmpfs /mnt/small")?;
    let result = (|| -> Check {
        let log = "/mnt/small/netatop.log";
        sh(&format!(
            "netatopd -f --log {log} >/dev/null 2>/tmp/netatopd.err &"
        ))?;
        std::thread::sleep(Duration::from_millis(500));
        let reader = Reader::subscribe()?;
        sh("dd if=/dev/zero of=/mnt/small/filler bs=1k count=500 2>/dev/null")?;
        let skipped = exiting_sender("no-room", 1, 10)?;
        gc_and_empty_exit()?;
        let full = read_log(log)?;
        if full.records.iter().any(|r| r.id == skipped) {
            return Err("a record was written with less than 5% free".into());
        }
        let err = std::fs::read_to_string("/tmp/netatopd.err").unwrap_or_default();
        if !err.contains("skipping records") {
            return Err(format!("no report of the skip: {err:?}"));
        }
        std::fs::remove_file("/mnt/small/filler").map_err(|e| e.to_string())?;
        let written = exiting_sender("room-again", 1, 10)?;
        gc_and_empty_exit()?;
        let after = read_log(log)?;
        reader.leave();
        if !after.records.iter().any(|r| r.id == written) {
            return Err("no record written after space came back".into());
        }
        let _ = sh("kill $(pidof netatopd)");
        std::thread::sleep(Duration::from_millis(500));
        Ok(())
    })();
    let _ = sh("umount /mnt/small");
    start_daemon("")?;
    result
}

/// SIGTERM stops the daemon and ends its registration.
pub fn netatopd_stops_on_sigterm() -> Check {
    stop_daemon()
}

/// A log removed (or replaced) under the daemon is created again, and the
/// next record lands in the new file.
pub fn netatopd_recreates_a_removed_log() -> Check {
    ensure_daemon()?;
    let reader = Reader::subscribe()?;
    std::fs::remove_file(LOG).map_err(|e| e.to_string())?;
    let pid = exiting_sender("after-rm", 2, 10)?;
    gc_and_empty_exit()?;
    let log = read_log(LOG);
    reader.leave();
    let log = log?;
    match log.records.as_slice() {
        [rec] if rec.id == pid => Ok(()),
        other => Err(format!(
            "{} records in the new log, expected only pid {pid}",
            other.len()
        )),
    }
}

/// Only root may run the daemon: anyone else gets status 1 and a reason.
pub fn netatopd_refuses_to_run_as_non_root() -> Check {
    in_child(|| {
        setuid_nobody()?;
        let out = std::process::Command::new("/opt/netatop/bin/netatopd")
            .arg("-f")
            .output()
            .map_err(|e| e.to_string())?;
        let msg = String::from_utf8_lossy(&out.stderr);
        if out.status.code() != Some(1) || !msg.contains("must run as root") {
            return Err(format!("as nobody: {:?} {msg:?}", out.status.code()));
        }
        Ok(())
    })
}

/// An unprivileged user who makes the semaphore set first (world-writable,
/// "a daemon is running") controls nothing: netatopd removes it, makes its
/// own (root's, mode 0600, two semaphores), registers and logs as usual.
/// Leaves the daemon running.
pub fn netatopd_replaces_a_squatted_semaphore_set() -> Check {
    if sh("pidof netatopd").is_ok() {
        stop_daemon()?;
    }
    semaphores()?
        .remove()
        .map_err(|e| format!("removing the set: {e}"))?;
    in_child(|| {
        setuid_nobody()?;
        // SAFETY: Plain system calls making and setting a semaphore set.
        let made = unsafe {
            let id = libc::semget(SEMAKEY, 2, libc::IPC_CREAT | libc::IPC_EXCL | 0o666);
            id >= 0 && libc::semctl(id, 0, libc::SETVAL, 1) == 0
        };
        if made {
            Ok(())
        } else {
            Err(format!("as nobody: {}", std::io::Error::last_os_error()))
        }
    })?;
    let theirs = semaphores()?.info().map_err(|e| e.to_string())?;
    if theirs.uid != 65534 {
        return Err(format!("the squatter's set: {theirs:?}"));
    }
    // The squatter's semaphore 0 already says "running": wait for the new
    // daemon's own log (made after it registered) instead of an old one.
    let _ = std::fs::remove_file(LOG);
    start_daemon("")?;
    let ours = semaphores()?.info().map_err(|e| e.to_string())?;
    if (ours.uid, ours.cuid, ours.mode, ours.nsems) != (0, 0, 0o600, 2) {
        return Err(format!("the set after netatopd started: {ours:?}"));
    }
    let reader = Reader::subscribe()?;
    let pid = exiting_sender("after-squat", 2, 10)?;
    gc_and_empty_exit()?;
    let log = read_log(LOG)?;
    reader.leave();
    if !log.records.iter().any(|r| r.id == pid) {
        return Err(format!("pid {pid} is not in the log"));
    }
    Ok(())
}

/// `netatopd --log` with a relative path writes where it was started,
/// not in `/`, where the daemon works once detached. Expects no daemon
/// running; leaves none.
pub fn netatopd_relative_log_path_is_taken_from_the_working_directory() -> Check {
    let dir = "/tmp/netatopd-cwd";
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file("/here.log");
    sh(&format!("cd {dir} && netatopd --log here.log"))?;
    let path = format!("{dir}/here.log");
    let mut header = None;
    for _ in 0..50 {
        if let Ok(log) = read_log(&path) {
            header = Some(log);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let in_root = std::path::Path::new("/here.log").exists();
    let result = match (&header, in_root) {
        (Some(_), false) => Ok(()),
        _ => Err(format!(
            "{path}: {}, /here.log exists: {in_root}",
            if header.is_some() {
                "written"
            } else {
                "not written"
            }
        )),
    };
    // Stop the daemon whichever log it wrote.
    let pid = header
        .map(|l| l.pid)
        .or_else(|| read_log("/here.log").ok().map(|l| l.pid));
    if let Some(pid) = pid {
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        for _ in 0..50 {
            if sem_val(0).unwrap_or(0) == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let _ = std::fs::remove_file("/here.log");
    result
}

/// The log holds the same counters the module gives only to CAP_NET_ADMIN:
/// it is readable by root only.
pub fn netatopd_log_is_readable_by_root_only() -> Check {
    ensure_daemon()?;
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(LOG)
        .map_err(|e| e.to_string())?
        .permissions()
        .mode()
        & 0o7777;
    if mode != 0o600 {
        return Err(format!("{LOG} has mode {mode:o}, expected 600"));
    }
    Ok(())
}

/// Started with a descriptor of its starter open, the daemon keeps none of
/// it, has /dev/null as standard streams, is not a session leader (it can
/// never get a controlling terminal) and is init's child, and it is so when
/// the command that started it returns: no other netatopd process is left
/// then. Ten starts, as the moment the command returns is the point. Leaves
/// the daemon running.
pub fn netatopd_detaches_fully_and_keeps_no_inherited_descriptor() -> Check {
    let inherited = "/tmp/netatopd-inherited";
    // The shell becomes netatopd: the command returns when netatopd does.
    let command = format!("exec 7>{inherited}; exec netatopd >/dev/null 2>&1");
    for round in 1..=10 {
        stop_daemon()?;
        start(&command)?;
        let procs = netatopd_processes()?;
        let pid = registered(&command)?;
        if !matches!(procs[..], [(p, 1, session)] if p == pid && session != pid) {
            return Err(format!(
                "start {round}: when the command returned, netatopd processes (pid, parent, session) were {procs:?}; the daemon is {pid}"
            ));
        }
        let mut fds = Vec::new();
        for e in std::fs::read_dir(format!("/proc/{pid}/fd")).map_err(|e| e.to_string())? {
            let e = e.map_err(|e| e.to_string())?;
            let target = std::fs::read_link(e.path()).map_err(|e| e.to_string())?;
            fds.push((
                e.file_name().to_string_lossy().into_owned(),
                target.display().to_string(),
            ));
        }
        fds.sort();
        if fds.iter().any(|(_, t)| t == inherited) {
            return Err(format!("the starter's descriptor is still open: {fds:?}"));
        }
        for n in ["0", "1", "2"] {
            if !fds.iter().any(|(fd, t)| fd == n && t == "/dev/null") {
                return Err(format!("descriptor {n} is not /dev/null: {fds:?}"));
            }
        }
    }
    Ok(())
}

/// A failure that persists (here: no CAP_NET_ADMIN, so every request is
/// EPERM) is reported once, not every second. Leaves the daemon running.
pub fn netatopd_reports_a_persistent_failure_once() -> Check {
    stop_daemon()?;
    let err = "/tmp/netatopd-eperm.err";
    let r = in_child(move || {
        // SAFETY: Drops CAP_NET_ADMIN (12) from this process's bounding
        // set, so the netatopd it starts never has it.
        if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, 12, 0, 0, 0) } != 0 {
            return Err(format!(
                "PR_CAPBSET_DROP: {}",
                std::io::Error::last_os_error()
            ));
        }
        let file = std::fs::File::create(err).map_err(|e| e.to_string())?;
        let mut d = std::process::Command::new("/opt/netatop/bin/netatopd")
            .args(["-f", "--log", "/tmp/netatopd-eperm.log"])
            .stderr(file)
            .spawn()
            .map_err(|e| e.to_string())?;
        std::thread::sleep(Duration::from_millis(4500));
        kill(Pid::from_raw(d.id() as i32), Signal::SIGTERM).map_err(|e| e.to_string())?;
        let status = d.wait().map_err(|e| e.to_string())?;
        let text = std::fs::read_to_string(err).unwrap_or_default();
        let failures = text.lines().filter(|l| l.contains("failed")).count();
        if failures != 1 || !text.contains("Operation not permitted") || !status.success() {
            return Err(format!(
                "{failures} failure lines, status {status}: {text:?}"
            ));
        }
        Ok(())
    });
    start_daemon("")?;
    r
}

/// At its size limit the log starts afresh (removed and made anew, as a
/// reader expects), and nothing is lost in between: a reader that follows
/// the files as atop does finds all 100 records, none of the two files
/// larger than the limit. Leaves the daemon running.
pub fn netatopd_starts_a_new_log_at_its_size_limit() -> Check {
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;
    const LIMIT: u64 = 4096;
    stop_daemon()?;
    let err = "/tmp/netatopd-size.err";
    let r = (|| -> Check {
        started(&format!("netatopd -f --max-size 4K >/dev/null 2>{err} &"))?;
        let reader = Reader::subscribe()?;
        let mut first = std::fs::File::open(LOG).map_err(|e| e.to_string())?;
        let mut pids = Vec::new();
        for _ in 0..100 {
            pids.push(exiting_sender("sized", 1, 10)?);
        }
        gc_and_empty_exit()?;
        let mut bytes = Vec::new();
        first.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
        let removed = first.metadata().map_err(|e| e.to_string())?.nlink() == 0;
        let (_, old) = log::decode(&bytes).map_err(|e| format!("first log: {e}"))?;
        let text = std::fs::read_to_string(err).unwrap_or_default();
        let new = read_log(LOG).map_err(|e| format!("{e}; netatopd said {text:?}"))?;
        let new_size = std::fs::metadata(LOG).map_err(|e| e.to_string())?.len();
        reader.leave();
        let mut got: Vec<i32> = old.iter().chain(&new.records).map(|r| r.id).collect();
        got.sort();
        pids.sort();
        if !removed
            || bytes.len() as u64 > LIMIT
            || new_size > LIMIT
            || got != pids
            || !text.contains("reached its size limit")
        {
            return Err(format!(
                "first log removed: {removed}, {} bytes, {} records; new log {new_size} bytes, {} records; {} of 100 pids; {text:?}",
                bytes.len(),
                old.len(),
                new.records.len(),
                got.iter().filter(|p| pids.contains(p)).count()
            ));
        }
        Ok(())
    })();
    let _ = sh("kill $(pidof netatopd)");
    for _ in 0..50 {
        if sem_val(0).unwrap_or(0) == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    start_daemon("")?;
    r
}
