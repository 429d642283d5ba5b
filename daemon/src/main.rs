//! netatopd: takes the counters of exited processes from the netatop
//! kernel module and appends them to the log atop reads, while atop (or
//! another reader) is subscribed.

mod logfile;
mod report;
mod sem;

use clap::Parser;
use logfile::LogFile;
use netatop_client::log::encode_record;
use netatop_client::{Control, NetPerTask};
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use report::{Reporter, Throttle};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Exit status: another netatopd is running.
const EXIT_RUNNING: u8 = 2;
/// Exit status: any other reason it could not start or had to stop.
const EXIT_FAILURE: u8 = 1;

/// Below this share of free space in the log's file system, records are
/// skipped (and the skip logged).
const MIN_FREE_PERCENT: u64 = 5;

/// The smallest --max-size: a header and a few records.
const MIN_MAX_SIZE: u64 = 1024;

/// A size in bytes, or in KiB, MiB or GiB with a K, M or G after the
/// number.
fn parse_size(s: &str) -> Result<u64, String> {
    let (digits, unit) = match s.as_bytes().last() {
        Some(b'K' | b'k') => (&s[..s.len() - 1], 1 << 10),
        Some(b'M' | b'm') => (&s[..s.len() - 1], 1 << 20),
        Some(b'G' | b'g') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a size (bytes, or a number and K, M or G)"))?;
    n.checked_mul(unit)
        .filter(|&b| b >= MIN_MAX_SIZE)
        .ok_or(format!(
            "{s:?}: the size must be at least {MIN_MAX_SIZE} bytes"
        ))
}

#[derive(Parser)]
#[command(
    name = "netatopd",
    version,
    disable_version_flag = true,
    about = "Keeps the network counters of exited processes for atop",
    long_about = "Keeps the network counters of exited processes for atop.\n\n\
        Takes each exited process from the netatop kernel module and, while a reader \
        such as atop is subscribed, appends its counters to the log atop reads. \
        Must run as root; only one instance runs at a time.\n\n\
        Exit status: 0 when stopped by SIGTERM or SIGINT, 1 on an error, \
        2 when another netatopd is already running. Without --foreground \
        the command returns 0 once the daemon runs on its own, which reports \
        later errors to syslog."
)]
struct Args {
    /// Stay in the foreground and log to standard error (for systemd)
    #[arg(short, long)]
    foreground: bool,
    /// The log file atop reads (a relative path is taken from the current
    /// directory)
    #[arg(long, default_value = "/run/netatop.log", value_name = "FILE")]
    log: PathBuf,
    /// Start a new log when a record would make it larger than SIZE bytes
    /// (K, M, G: KiB, MiB, GiB); a reader loses what it had not read yet
    #[arg(long, default_value = "32M", value_name = "SIZE", value_parser = parse_size)]
    max_size: u64,
    /// Print the version and exit
    #[arg(short = 'v', long = "version", action = clap::ArgAction::Version)]
    version: (),
}

static STOP: AtomicBool = AtomicBool::new(false);

/// A stop request sets STOP, which the loop looks at before it waits for
/// the next exited process. A request that arrives between that look and
/// the wait would be lost until the next process exits, so the handler
/// also sets an alarm, and the alarm sets itself again as long as the
/// daemon runs: one of them interrupts the wait within a second.
extern "C" fn on_stop(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
    // SAFETY: alarm() is async-signal-safe and has no preconditions.
    unsafe { libc::alarm(1) };
}

extern "C" fn on_alarm(_: libc::c_int) {
    if STOP.load(Ordering::SeqCst) {
        // SAFETY: As in on_stop.
        unsafe { libc::alarm(1) };
    }
}

extern "C" fn on_hup(_: libc::c_int) {}

/// SIGTERM and SIGINT stop the daemon, SIGHUP only interrupts the wait
/// for the next exited process (to look at the readers again); none
/// restarts the interrupted call.
fn install_signals() -> nix::Result<()> {
    let action = |f| SigAction::new(SigHandler::Handler(f), SaFlags::empty(), SigSet::empty());
    // SAFETY: The handlers only use an atomic and alarm(), which are
    // async-signal-safe.
    unsafe {
        sigaction(Signal::SIGTERM, &action(on_stop))?;
        sigaction(Signal::SIGINT, &action(on_stop))?;
        sigaction(Signal::SIGALRM, &action(on_alarm))?;
        sigaction(Signal::SIGHUP, &action(on_hup))?;
    }
    Ok(())
}

/// Becomes a daemon: forks, starts a session, forks again (so that it is
/// not a session leader and can never get a controlling terminal), works
/// in /, has /dev/null as standard input and output, and keeps no other
/// descriptor of whoever started it.
///
/// The process that was started waits for the first child, which leaves
/// as soon as it has forked the daemon: when the command returns, the
/// daemon runs on its own, init's child. Its status is the first child's.
fn daemonize() -> nix::Result<()> {
    use nix::sys::wait::{waitpid, WaitStatus};
    use nix::unistd::{chdir, dup2, fork, setsid, ForkResult};
    use std::os::fd::AsRawFd;
    for session in [true, false] {
        // SAFETY: Nothing but this thread runs; the parent leaves with
        // _exit, running no destructors or exit handlers.
        match unsafe { fork() }? {
            ForkResult::Parent { child } => {
                let status = match session.then(|| waitpid(child, None)) {
                    None | Some(Ok(WaitStatus::Exited(_, 0))) => 0,
                    Some(_) => 1,
                };
                // SAFETY: As above.
                unsafe { libc::_exit(status) }
            }
            ForkResult::Child => {}
        }
        if session {
            setsid()?;
        }
    }
    chdir("/")?;
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(|e| nix::Error::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
    for fd in 0..3 {
        dup2(null.as_raw_fd(), fd)?;
    }
    drop(null);
    // SAFETY: close_range takes three integers and closes descriptors
    // this program has not opened: everything from 3 on is inherited.
    if unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) } != 0 {
        // Kernels before 5.9: one by one.
        let max = nix::unistd::sysconf(nix::unistd::SysconfVar::OPEN_MAX)
            .ok()
            .flatten()
            .unwrap_or(1024);
        for fd in 3..max as libc::c_int {
            // SAFETY: As above; closing a descriptor that is not open fails
            // harmlessly.
            unsafe { libc::close(fd) };
        }
    }
    Ok(())
}

/// Percentage of free space in the file system holding `path`.
fn free_percent(path: &Path) -> Option<u64> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    let s = nix::sys::statvfs::statvfs(dir).ok()?;
    let total = s.blocks() as u64;
    (total > 0).then(|| s.blocks_available() as u64 * 100 / total)
}

struct Daemon {
    path: PathBuf,
    max_size: u64,
    pid: i32,
    log: LogFile,
    sems: sem::Semaphores,
    report: Reporter,
    /// Whether records are being skipped for lack of space.
    skipping: bool,
    /// Failures to take an exited process, and to write the log.
    take_failures: Throttle,
    write_failures: Throttle,
}

impl Daemon {
    /// A fresh, empty log (atop notices the new file).
    fn recreate(&mut self) -> std::io::Result<()> {
        self.log = LogFile::create(&self.path, self.pid)?;
        Ok(())
    }

    fn handle(&mut self, npt: &NetPerTask) {
        let readers = self.sems.readers().unwrap_or(0);
        if readers == 0 {
            // Nobody reads: drop it, and start a fresh file for the next
            // reader if this one has records.
            if self.log.records() > 0 {
                if let Err(e) = self.recreate() {
                    self.report
                        .error(&format!("cannot recreate {}: {e}", self.path.display()));
                }
            }
            return;
        }
        if !self.log.is_current() {
            self.report.warn(&format!(
                "{} was removed or replaced; recreating it",
                self.path.display()
            ));
            if let Err(e) = self.recreate() {
                self.report
                    .error(&format!("cannot recreate {}: {e}", self.path.display()));
                return;
            }
        }
        if free_percent(&self.path).is_some_and(|p| p < MIN_FREE_PERCENT) {
            if !self.skipping {
                self.report.warn(&format!(
                    "less than {MIN_FREE_PERCENT}% free in the file system of {}: skipping records",
                    self.path.display()
                ));
                self.skipping = true;
            }
            return;
        }
        if self.skipping {
            self.report
                .info("free space is back: writing records again");
            self.skipping = false;
        }
        let written = encode_record(npt).and_then(|rec| {
            if self.log.size() + rec.len() as u64 > self.max_size {
                self.report.warn(&format!(
                    "{} reached its size limit ({} bytes, {} records); starting a new one",
                    self.path.display(),
                    self.max_size,
                    self.log.records()
                ));
                self.recreate()?;
            }
            self.log.append(&rec)
        });
        match written {
            Ok(()) => {
                if let Some(m) = self.write_failures.succeeded() {
                    self.report.info(&format!("writing records again: {m}"));
                }
            }
            Err(e) => {
                let msg = format!("records not written to {}: {e}", self.path.display());
                if let Some(m) = self.write_failures.failed(&msg) {
                    self.report.error(&m);
                }
            }
        }
    }

    /// Takes exited processes until SIGTERM or SIGINT.
    fn run(&mut self, module: &Control) {
        let mut waiting_for_module = false;
        while !STOP.load(Ordering::SeqCst) {
            match module.next_exited() {
                Ok(npt) => {
                    if let Some(m) = self.take_failures.succeeded() {
                        self.report
                            .info(&format!("taking exited processes again: {m}"));
                    }
                    if waiting_for_module {
                        self.report.info("the netatop module is back");
                        waiting_for_module = false;
                    }
                    self.handle(&npt);
                }
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => {
                    // SIGHUP (readers changed) or a stop request.
                    if self.sems.readers().unwrap_or(0) == 0 && self.log.records() > 0 {
                        if let Err(e) = self.recreate() {
                            self.report
                                .error(&format!("cannot recreate {}: {e}", self.path.display()));
                        }
                    }
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOPROTOOPT) => {
                    if !waiting_for_module {
                        self.report
                            .warn("the netatop module is not loaded; waiting for it");
                        waiting_for_module = true;
                    }
                    std::thread::sleep(Duration::from_secs(1));
                }
                Err(e) => {
                    let msg = format!("taking an exited process failed: {e}");
                    if let Some(m) = self.take_failures.failed(&msg) {
                        self.report.error(&m);
                    }
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        }
        self.report.info("stopping");
    }
}

/// Why netatopd could not start or had to stop.
enum Fatal {
    /// Another netatopd is running.
    Running,
    /// Anything else, said in a message.
    Failed(String),
}

impl Fatal {
    /// What failed, and the error it failed with.
    fn failed(what: impl std::fmt::Display, e: impl std::fmt::Display) -> Fatal {
        Fatal::Failed(format!("{what}: {e}"))
    }

    fn status(&self) -> u8 {
        match self {
            Fatal::Running => EXIT_RUNNING,
            Fatal::Failed(_) => EXIT_FAILURE,
        }
    }

    fn message(&self) -> &str {
        match self {
            Fatal::Running => "another netatopd is already running",
            Fatal::Failed(m) => m,
        }
    }
}

/// Tells the service manager that started this process with
/// `NOTIFY_SOCKET` (a systemd `Type=notify` service) that the daemon is
/// ready: registered, its priority raised and its log created.
///
/// Without `NOTIFY_SOCKET` it does nothing.
fn notify_ready() -> std::io::Result<()> {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::net::{SocketAddr, UnixDatagram};

    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return Ok(());
    };
    let addr = match path.as_bytes().strip_prefix(b"@") {
        Some(name) => SocketAddr::from_abstract_name(name)?,
        None => SocketAddr::from_pathname(&path)?,
    };
    UnixDatagram::unbound()?.send_to_addr(b"READY=1", &addr)?;
    Ok(())
}

/// Starts the daemon and runs it until it is asked to stop.
fn serve(mut args: Args, report: &mut Reporter) -> Result<(), Fatal> {
    // Taken from the directory netatopd was started in: as a daemon it
    // works in /.
    args.log = std::path::absolute(&args.log)
        .map_err(|e| Fatal::failed(format!("bad log path {}", args.log.display()), e))?;
    if !nix::unistd::geteuid().is_root() {
        return Err(Fatal::Failed("must run as root".into()));
    }
    if sem::Semaphores::running() {
        return Err(Fatal::Running);
    }
    if !args.foreground {
        daemonize().map_err(|e| Fatal::failed("cannot become a daemon", e))?;
        report.detached();
    }
    // Registered after daemon(): the kernel undoes it when this process,
    // not a parent that exited, ends.
    let sems = match sem::Semaphores::register() {
        Ok((s, None)) => s,
        Ok((s, Some(theirs))) => {
            report.warn(&format!(
                "removed a semaphore set of key {} that was not netatopd's (owner uid {}, creator uid {}, mode {:o}, {} semaphores) and made a new one",
                sem::SEMAKEY,
                theirs.uid,
                theirs.cuid,
                theirs.mode,
                theirs.nsems
            ));
            s
        }
        Err(sem::RegisterError::AlreadyRunning) => return Err(Fatal::Running),
        Err(sem::RegisterError::Io(e)) => {
            return Err(Fatal::failed(
                format!("cannot use the semaphores (key {})", sem::SEMAKEY),
                e,
            ))
        }
    };
    install_signals().map_err(|e| Fatal::failed("cannot install signal handlers", e))?;
    // SAFETY: Changes this process's own scheduling priority.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, -10) } != 0 {
        report.warn(&format!(
            "cannot raise the priority: {}",
            std::io::Error::last_os_error()
        ));
    }
    let pid = std::process::id() as i32;
    let log = LogFile::create(&args.log, pid)
        .map_err(|e| Fatal::failed(format!("cannot create {}", args.log.display()), e))?;
    let module = Control::open().map_err(|e| Fatal::failed("cannot open a socket", e))?;
    report.info(&format!("started, writing {}", args.log.display()));
    if let Err(e) = notify_ready() {
        report.warn(&format!("cannot tell systemd that it is ready: {e}"));
    }
    let mut d = Daemon {
        path: args.log,
        max_size: args.max_size,
        pid,
        log,
        sems,
        report: report.clone(),
        skipping: false,
        take_failures: Throttle::default(),
        write_failures: Throttle::default(),
    };
    d.run(&module);
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut report = Reporter::new();
    match serve(args, &mut report) {
        Ok(()) => ExitCode::SUCCESS,
        Err(fatal) => {
            report.error(fatal.message());
            ExitCode::from(fatal.status())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_daemon_is_status_2_and_every_other_failure_1() {
        assert_eq!(Fatal::Running.status(), 2);
        let e = Fatal::failed("cannot create /run/netatop.log", "Permission denied");
        assert_eq!(e.status(), 1);
        assert_eq!(
            e.message(),
            "cannot create /run/netatop.log: Permission denied"
        );
    }

    #[test]
    fn sizes_take_a_unit_and_have_a_floor() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("6K"), Ok(6 << 10));
        assert_eq!(parse_size("32M"), Ok(32 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert!(parse_size("1023").unwrap_err().contains("at least 1024"));
        assert!(parse_size("12X").unwrap_err().contains("not a size"));
        assert!(parse_size("").is_err());
        assert!(parse_size("99999999999999G").is_err());
    }
}
