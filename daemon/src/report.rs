//! Messages about what the daemon does: to standard error until it has
//! detached from the terminal (and always in the foreground), to syslog
//! (facility daemon) once it runs in the background.

use std::ffi::CString;

pub struct Reporter {
    stderr: bool,
}

impl Reporter {
    pub fn new() -> Reporter {
        Reporter { stderr: true }
    }

    /// From now on report to syslog.
    pub fn detached(&mut self) {
        // SAFETY: The identity is a static NUL-terminated string.
        unsafe { libc::openlog(c"netatopd".as_ptr(), libc::LOG_PID, libc::LOG_DAEMON) };
        self.stderr = false;
    }

    fn say(&self, priority: libc::c_int, level: &str, msg: &str) {
        if self.stderr {
            eprintln!("netatopd: {level}{msg}");
        } else if let Ok(m) = CString::new(msg) {
            // SAFETY: "%s" with one NUL-terminated string argument.
            unsafe { libc::syslog(priority, c"%s".as_ptr(), m.as_ptr()) };
        }
    }

    pub fn info(&self, msg: &str) {
        self.say(libc::LOG_INFO, "", msg);
    }

    pub fn warn(&self, msg: &str) {
        self.say(libc::LOG_WARNING, "warning: ", msg);
    }

    pub fn error(&self, msg: &str) {
        self.say(libc::LOG_ERR, "error: ", msg);
    }
}
