//! netatopd's side of the semaphore set it shares with atop
//! (`netatop_client::sem`): registering as the one running daemon.

use netatop_client::sem::{self, SetInfo, DAEMONS, READERS, READERS_BASE};
use std::io;

pub use netatop_client::sem::SEMAKEY;

/// The semaphore set, with this process registered as the running daemon.
pub struct Semaphores {
    set: sem::Semaphores,
}

/// Why the daemon cannot register.
#[derive(Debug)]
pub enum RegisterError {
    /// Another netatopd holds semaphore 0.
    AlreadyRunning,
    Io(io::Error),
}

impl Semaphores {
    /// Whether a netatopd is registered now (checked before daemonising,
    /// so the person starting a second one sees the refusal). A set that
    /// is not netatopd's own says nothing: `register` replaces it.
    pub fn running() -> bool {
        sem::Semaphores::open().is_ok_and(|s| {
            s.info().is_ok_and(|i| i.is_netatopds()) && s.value(DAEMONS).is_ok_and(|v| v > 0)
        })
    }

    /// Opens (creating if needed) the set and registers this process as
    /// the running daemon; the kernel undoes the registration when the
    /// process ends, however it ends (SEM_UNDO). A set of the key that is
    /// not netatopd's (someone else made it, to fake a running daemon or
    /// to control atop's readers) is removed and made anew; its
    /// description is returned for a warning.
    pub fn register() -> Result<(Semaphores, Option<SetInfo>), RegisterError> {
        let mut replaced = None;
        let set = loop {
            // SAFETY: A plain system call.
            let id = unsafe { libc::semget(SEMAKEY, 2, libc::IPC_CREAT | libc::IPC_EXCL | 0o600) };
            if id >= 0 {
                // New set: no readers yet.
                // SAFETY: SETVAL with an int argument on the set just made.
                if unsafe { libc::semctl(id, i32::from(READERS), libc::SETVAL, READERS_BASE) } < 0 {
                    return Err(RegisterError::Io(io::Error::last_os_error()));
                }
                break sem::Semaphores::from_id(id);
            }
            let existing = sem::Semaphores::open().map_err(RegisterError::Io)?;
            let info = existing.info().map_err(RegisterError::Io)?;
            if info.is_netatopds() {
                break existing;
            }
            if replaced.is_some() {
                // Made again by someone else while we replaced it.
                return Err(RegisterError::Io(io::Error::other(format!(
                    "the semaphore set is not netatopd's: {info:?}"
                ))));
            }
            existing.remove().map_err(RegisterError::Io)?;
            replaced = Some(info);
        };
        // Atomically: semaphore 0 must be zero, then becomes one.
        set.apply(&[(DAEMONS, 0, libc::IPC_NOWAIT), (DAEMONS, 1, libc::SEM_UNDO)])
            .map_err(|e| {
                if e.raw_os_error() == Some(libc::EAGAIN) {
                    RegisterError::AlreadyRunning
                } else {
                    RegisterError::Io(e)
                }
            })?;
        Ok((Semaphores { set }, replaced))
    }

    /// Readers subscribed now.
    pub fn readers(&self) -> io::Result<u32> {
        self.set.readers()
    }
}
