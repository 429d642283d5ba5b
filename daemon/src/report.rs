//! Messages about what the daemon does: to standard error until it has
//! detached from the terminal (and always in the foreground), to syslog
//! (facility daemon) once it runs in the background.

use std::ffi::CString;

#[derive(Clone)]
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

/// Keeps a failure that repeats from filling the log: the first time a
/// message is seen it is reported, then again only after 10, 100, 1000, ...
/// times in a row; when the failure ends, how long it lasted.
#[derive(Default)]
pub struct Throttle {
    last: Option<String>,
    count: u64,
}

impl Throttle {
    /// What to report of one more failure with message `msg`, if anything.
    pub fn failed(&mut self, msg: &str) -> Option<String> {
        if self.last.as_deref() == Some(msg) {
            self.count += 1;
        } else {
            self.last = Some(msg.to_string());
            self.count = 1;
        }
        let n = self.count;
        let power_of_ten = (0..20).any(|k| 10u64.checked_pow(k) == Some(n));
        power_of_ten.then(|| {
            if n == 1 {
                msg.to_string()
            } else {
                format!("{msg} ({n} times in a row)")
            }
        })
    }

    /// The operation succeeded: what to report if it had been failing.
    pub fn succeeded(&mut self) -> Option<String> {
        let n = std::mem::take(&mut self.count);
        self.last.take();
        (n > 1).then(|| format!("recovered after {n} failures in a row"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_failure_is_reported_at_powers_of_ten() {
        let mut t = Throttle::default();
        let reported: Vec<_> = (1..=1000)
            .filter_map(|i| t.failed("boom").map(|m| (i, m)))
            .collect();
        assert_eq!(
            reported,
            [
                (1, "boom".to_string()),
                (10, "boom (10 times in a row)".to_string()),
                (100, "boom (100 times in a row)".to_string()),
                (1000, "boom (1000 times in a row)".to_string()),
            ]
        );
        assert_eq!(
            t.succeeded().as_deref(),
            Some("recovered after 1000 failures in a row")
        );
        assert_eq!(t.succeeded(), None);
    }

    #[test]
    fn another_failure_is_reported_at_once() {
        let mut t = Throttle::default();
        assert!(t.failed("a").is_some());
        assert!(t.failed("a").is_none());
        assert_eq!(t.failed("b").as_deref(), Some("b"));
        assert_eq!(t.failed("a").as_deref(), Some("a"));
        // One failure then success: nothing to say.
        assert_eq!(t.succeeded(), None);
    }
}
