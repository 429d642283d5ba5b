//! The SysV semaphore set atop and netatopd share (`include/netatopd.h`):
//! semaphore 0 counts running daemons (0 or 1), semaphore 1 is 100 minus
//! the number of subscribed readers.

use std::io;

/// `SEMAKEY`.
pub const SEMAKEY: libc::key_t = 1541961;
/// Initial value of semaphore 1: no readers.
pub const READERS_BASE: i32 = 100;

/// Readers subscribed, from the value of semaphore 1.
pub fn readers_from(value: i32) -> u32 {
    u32::try_from(READERS_BASE - value).unwrap_or(0)
}

/// The semaphore set, with this process registered as the running daemon.
pub struct Semaphores {
    id: i32,
}

/// Why the daemon cannot register.
#[derive(Debug)]
pub enum RegisterError {
    /// Another netatopd holds semaphore 0.
    AlreadyRunning,
    Io(io::Error),
}

fn last_error() -> io::Error {
    io::Error::last_os_error()
}

impl Semaphores {
    /// Whether a netatopd is registered now (checked before daemonising,
    /// so the person starting a second one sees the refusal).
    pub fn running() -> bool {
        // SAFETY: Plain system calls on the semaphore set of SEMAKEY.
        unsafe {
            let id = libc::semget(SEMAKEY, 0, 0);
            id >= 0 && libc::semctl(id, 0, libc::GETVAL) > 0
        }
    }

    /// Opens (creating if needed) the set and registers this process as
    /// the running daemon; the kernel undoes the registration when the
    /// process ends, however it ends (SEM_UNDO).
    pub fn register() -> Result<Semaphores, RegisterError> {
        // SAFETY: Plain system calls on the semaphore set of SEMAKEY.
        let id = unsafe {
            let id = libc::semget(SEMAKEY, 2, libc::IPC_CREAT | libc::IPC_EXCL | 0o600);
            if id >= 0 {
                // New set: no readers yet.
                if libc::semctl(id, 1, libc::SETVAL, READERS_BASE) < 0 {
                    return Err(RegisterError::Io(last_error()));
                }
                id
            } else {
                let id = libc::semget(SEMAKEY, 0, 0);
                if id < 0 {
                    return Err(RegisterError::Io(last_error()));
                }
                id
            }
        };
        // Atomically: semaphore 0 must be zero, then becomes one.
        let mut ops = [
            libc::sembuf { sem_num: 0, sem_op: 0, sem_flg: libc::IPC_NOWAIT as i16 },
            libc::sembuf { sem_num: 0, sem_op: 1, sem_flg: libc::SEM_UNDO as i16 },
        ];
        // SAFETY: `ops` holds two valid operations on set `id`.
        if unsafe { libc::semop(id, ops.as_mut_ptr(), ops.len()) } < 0 {
            let e = last_error();
            return Err(if e.raw_os_error() == Some(libc::EAGAIN) {
                RegisterError::AlreadyRunning
            } else {
                RegisterError::Io(e)
            });
        }
        Ok(Semaphores { id })
    }

    /// Readers subscribed now.
    pub fn readers(&self) -> io::Result<u32> {
        // SAFETY: GETVAL on a set we opened.
        let v = unsafe { libc::semctl(self.id, 1, libc::GETVAL) };
        if v < 0 {
            Err(last_error())
        } else {
            Ok(readers_from(v))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_count_down_from_100() {
        assert_eq!(readers_from(100), 0);
        assert_eq!(readers_from(99), 1);
        assert_eq!(readers_from(97), 3);
        // Someone incremented without decrementing first.
        assert_eq!(readers_from(101), 0);
    }
}
