//! The System V semaphore set atop and netatopd share
//! (`include/netatopd.h`): semaphore 0 counts running daemons (0 or 1),
//! semaphore 1 is 100 minus the number of subscribed readers.

use std::io;

/// `SEMAKEY`.
pub const SEMAKEY: libc::key_t = 1541961;
/// Initial value of semaphore 1: no readers.
pub const READERS_BASE: i32 = 100;
/// Semaphore 0: running daemons.
pub const DAEMONS: u16 = 0;
/// Semaphore 1: `READERS_BASE` minus the subscribed readers.
pub const READERS: u16 = 1;

/// Readers subscribed, from the value of semaphore 1.
pub fn readers_from(value: i32) -> u32 {
    u32::try_from(READERS_BASE - value).unwrap_or(0)
}

/// Who owns a semaphore set, and how it is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetInfo {
    pub uid: u32,
    /// The creator.
    pub cuid: u32,
    /// Permission bits.
    pub mode: u16,
    pub nsems: libc::c_ulong,
}

impl SetInfo {
    /// Whether this is a set netatopd made: root's, two semaphores, and no
    /// access for group and others. Any other set of the key was made by
    /// someone else to control atop and netatopd.
    pub fn is_netatopds(&self) -> bool {
        self.uid == 0 && self.cuid == 0 && self.mode & 0o077 == 0 && self.nsems == 2
    }
}

/// An existing semaphore set of `SEMAKEY`.
#[derive(Clone, Copy, Debug)]
pub struct Semaphores {
    id: i32,
}

impl Semaphores {
    /// The set as it is now; `ENOENT` if no daemon ever created it.
    pub fn open() -> io::Result<Semaphores> {
        // SAFETY: A plain system call.
        let id = unsafe { libc::semget(SEMAKEY, 0, 0) };
        if id < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(Semaphores { id })
        }
    }

    /// The set identified by `id` (from `semget`).
    pub fn from_id(id: i32) -> Semaphores {
        Semaphores { id }
    }

    /// The value of semaphore `n`.
    pub fn value(&self, n: u16) -> io::Result<i32> {
        // SAFETY: GETVAL takes no further argument.
        let v = unsafe { libc::semctl(self.id, i32::from(n), libc::GETVAL) };
        if v < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(v)
        }
    }

    /// Owner, permissions and size of the set.
    pub fn info(&self) -> io::Result<SetInfo> {
        let mut ds = std::mem::MaybeUninit::<libc::semid_ds>::zeroed();
        // SAFETY: IPC_STAT fills in the `semid_ds` it is given.
        if unsafe { libc::semctl(self.id, 0, libc::IPC_STAT, ds.as_mut_ptr()) } < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: Zeroed, then filled in by the kernel: every field is
        // initialised.
        let ds = unsafe { ds.assume_init() };
        Ok(SetInfo {
            uid: ds.sem_perm.uid,
            cuid: ds.sem_perm.cuid,
            mode: ds.sem_perm.mode & 0o777,
            nsems: ds.sem_nsems,
        })
    }

    /// Removes the set (its owner, its creator or root may).
    pub fn remove(self) -> io::Result<()> {
        // SAFETY: IPC_RMID takes no further argument.
        if unsafe { libc::semctl(self.id, 0, libc::IPC_RMID) } < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// Readers subscribed now.
    pub fn readers(&self) -> io::Result<u32> {
        self.value(READERS).map(readers_from)
    }

    /// Applies `ops` (semaphore, change, flags) atomically.
    pub fn apply(&self, ops: &[(u16, i16, i32)]) -> io::Result<()> {
        let mut bufs: Vec<libc::sembuf> = ops
            .iter()
            .map(|&(sem_num, sem_op, flags)| libc::sembuf {
                sem_num,
                sem_op,
                sem_flg: flags as i16,
            })
            .collect();
        // SAFETY: `bufs` holds `bufs.len()` valid operations.
        if unsafe { libc::semop(self.id, bufs.as_mut_ptr(), bufs.len()) } < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// Subscribes the calling process as a reader, the way atop does: the
    /// kernel undoes it when the process ends.
    pub fn subscribe(&self) -> io::Result<()> {
        self.apply(&[(READERS, -1, libc::SEM_UNDO)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_roots_private_set_of_two_is_netatopds() {
        let ours = SetInfo {
            uid: 0,
            cuid: 0,
            mode: 0o600,
            nsems: 2,
        };
        assert!(ours.is_netatopds());
        assert!(!SetInfo { uid: 65534, ..ours }.is_netatopds());
        assert!(!SetInfo {
            cuid: 65534,
            ..ours
        }
        .is_netatopds());
        assert!(!SetInfo {
            mode: 0o666,
            ..ours
        }
        .is_netatopds());
        assert!(!SetInfo {
            mode: 0o640,
            ..ours
        }
        .is_netatopds());
        assert!(!SetInfo { nsems: 1, ..ours }.is_netatopds());
    }

    #[test]
    fn readers_count_down_from_100() {
        assert_eq!(readers_from(100), 0);
        assert_eq!(readers_from(99), 1);
        assert_eq!(readers_from(97), 3);
        // Someone incremented without decrementing first.
        assert_eq!(readers_from(101), 0);
    }
}
