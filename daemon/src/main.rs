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
use report::Reporter;
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
        2 when another netatopd is already running."
)]
struct Args {
    /// Stay in the foreground and log to standard error (for systemd)
    #[arg(short, long)]
    foreground: bool,
    /// The log file atop reads (a relative path is taken from the current
    /// directory)
    #[arg(long, default_value = "/run/netatop.log", value_name = "FILE")]
    log: PathBuf,
    /// Print the version and exit
    #[arg(short = 'v', long = "version", action = clap::ArgAction::Version)]
    version: (),
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

extern "C" fn on_hup(_: libc::c_int) {}

/// SIGTERM and SIGINT stop the daemon, SIGHUP only interrupts the wait
/// for the next exited process (to look at the readers again); neither
/// restarts the interrupted call.
fn install_signals() -> nix::Result<()> {
    let stop = SigAction::new(
        SigHandler::Handler(on_stop),
        SaFlags::empty(),
        SigSet::empty(),
    );
    let hup = SigAction::new(
        SigHandler::Handler(on_hup),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: The handlers only store to an atomic or do nothing.
    unsafe {
        sigaction(Signal::SIGTERM, &stop)?;
        sigaction(Signal::SIGINT, &stop)?;
        sigaction(Signal::SIGHUP, &hup)?;
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
    pid: i32,
    log: LogFile,
    sems: sem::Semaphores,
    report: Reporter,
    /// Whether records are being skipped for lack of space.
    skipping: bool,
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
        let written = encode_record(npt).and_then(|rec| self.log.append(&rec));
        if let Err(e) = written {
            self.report
                .error(&format!("record of pid {} not written: {e}", npt.id));
        }
    }

    fn run(&mut self, module: &Control) -> ExitCode {
        let mut waiting_for_module = false;
        while !STOP.load(Ordering::SeqCst) {
            match module.next_exited() {
                Ok(npt) => {
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
                    self.report
                        .error(&format!("taking an exited process failed: {e}"));
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        }
        self.report.info("stopping");
        ExitCode::SUCCESS
    }
}

fn main() -> ExitCode {
    let mut args = Args::parse();
    let mut report = Reporter::new();
    // Taken from the directory netatopd was started in: as a daemon it
    // works in /.
    args.log = match std::path::absolute(&args.log) {
        Ok(path) => path,
        Err(e) => {
            report.error(&format!("bad log path {}: {e}", args.log.display()));
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    if !nix::unistd::geteuid().is_root() {
        report.error("must run as root");
        return ExitCode::from(EXIT_FAILURE);
    }
    if sem::Semaphores::running() {
        report.error("another netatopd is already running");
        return ExitCode::from(EXIT_RUNNING);
    }
    if !args.foreground {
        if let Err(e) = nix::unistd::daemon(false, false) {
            report.error(&format!("cannot become a daemon: {e}"));
            return ExitCode::from(EXIT_FAILURE);
        }
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
        Err(sem::RegisterError::AlreadyRunning) => {
            report.error("another netatopd is already running");
            return ExitCode::from(EXIT_RUNNING);
        }
        Err(sem::RegisterError::Io(e)) => {
            report.error(&format!(
                "cannot use the semaphores (key {}): {e}",
                sem::SEMAKEY
            ));
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    if let Err(e) = install_signals() {
        report.error(&format!("cannot install signal handlers: {e}"));
        return ExitCode::from(EXIT_FAILURE);
    }
    // SAFETY: Changes this process's own scheduling priority.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, -10) } != 0 {
        report.warn(&format!(
            "cannot raise the priority: {}",
            std::io::Error::last_os_error()
        ));
    }
    let pid = std::process::id() as i32;
    let log = match LogFile::create(&args.log, pid) {
        Ok(l) => l,
        Err(e) => {
            report.error(&format!("cannot create {}: {e}", args.log.display()));
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let module = match Control::open() {
        Ok(m) => m,
        Err(e) => {
            report.error(&format!("cannot open a socket: {e}"));
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    report.info(&format!("started, writing {}", args.log.display()));
    let mut d = Daemon {
        path: args.log,
        pid,
        log,
        sems,
        report,
        skipping: false,
    };
    d.run(&module)
}
