//! The log of exited processes that atop reads (`include/netatopd.h`).
//!
//! The file starts with a `struct naheader`, mapped shared so readers see
//! `curseq` change; each record is one length byte followed by that many
//! bytes of a zlib stream (what zlib's `compress()` makes) of one
//! `struct netpertask`. A record is appended with a single `write()` and
//! counted in `curseq` only once it is whole.

use netatop_client::log::{Header, HEADER_LEN};
use nix::sys::mman::{mmap, munmap, MapFlags, ProtFlags};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::num::NonZeroUsize;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;

/// An open log file with its header mapped.
///
/// # Invariants
///
/// `header` maps the first `HEADER_LEN` bytes of `file` shared and
/// writable for as long as this value lives.
pub struct LogFile {
    path: PathBuf,
    file: File,
    header: NonNull<libc::c_void>,
    /// Records written and counted in `curseq`.
    records: u32,
    /// Size of the file: header and whole records.
    size: u64,
}

impl LogFile {
    /// A new log at `path` with a fresh header. A file already there is
    /// removed first, never truncated or rewritten: a reader (atop) that
    /// has it open notices the removal and opens the new file, where a
    /// log reset in place would make it read across the reset. The new
    /// file is created exclusively and a symbolic link there is not
    /// followed.
    pub fn create(path: &Path, pid: i32) -> io::Result<LogFile> {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW)
            .mode(0o600)
            .open(path)?;
        (&file).write_all(&Header::new(pid).to_bytes())?;
        // SAFETY: Mapping the first bytes of a file we own; the mapping is
        // only used through `header` while `file` is open.
        let header = unsafe {
            mmap(
                None,
                NonZeroUsize::new(HEADER_LEN).unwrap(),
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
                &file,
                0,
            )
        }?;
        Ok(LogFile {
            path: path.to_path_buf(),
            file,
            header,
            records: 0,
            size: HEADER_LEN as u64,
        })
    }

    /// Records in the file.
    pub fn records(&self) -> u32 {
        self.records
    }

    /// Bytes in the file: the header and the records.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether `path` still names this file (not removed or replaced).
    pub fn is_current(&self) -> bool {
        match (std::fs::metadata(&self.path), self.file.metadata()) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }

    /// Appends one record with a single write; on a short or failed write
    /// the file is cut back, so it only ever holds whole records.
    pub fn append(&mut self, record: &[u8]) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        let r = self.file.write_at(record, self.size);
        match r {
            Ok(n) if n == record.len() => {
                self.size += n as u64;
                self.records += 1;
                self.set_curseq(self.records);
                Ok(())
            }
            other => {
                let _ = self.file.set_len(self.size);
                Err(match other {
                    Ok(n) => io::Error::new(
                        io::ErrorKind::WriteZero,
                        format!("wrote {n} of {} bytes", record.len()),
                    ),
                    Err(e) => e,
                })
            }
        }
    }

    fn set_curseq(&mut self, n: u32) {
        // SAFETY: By the type invariant `header` maps at least HEADER_LEN
        // writable bytes; `curseq` is the aligned u32 at offset 4. Readers
        // map the same page and read it as a plain u32.
        unsafe { self.header.as_ptr().cast::<u32>().add(1).write_volatile(n) };
    }
}

impl Drop for LogFile {
    fn drop(&mut self) {
        // SAFETY: `header` was mapped in `create` with this length and is
        // not used after this.
        let _ = unsafe { munmap(self.header, HEADER_LEN) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netatop_client::log::{decode, encode_record};
    use netatop_client::NetPerTask;

    /// Any record: the format itself is tested in netatop-client.
    fn sample() -> NetPerTask {
        NetPerTask {
            id: 4321,
            ..Default::default()
        }
    }

    #[test]
    fn appending_counts_whole_records_in_the_mapped_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("netatop.log");
        let mut log = LogFile::create(&path, 99).unwrap();
        let rec = encode_record(&sample()).unwrap();
        log.append(&rec).unwrap();
        log.append(&rec).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[4..8], &2u32.to_ne_bytes(), "curseq");
        assert_eq!(bytes.len(), HEADER_LEN + 2 * rec.len());
        assert_eq!(&bytes[HEADER_LEN..HEADER_LEN + rec.len()], &rec[..]);
        let (header, records) = decode(&bytes).unwrap();
        assert_eq!((header.curseq, header.mypid), (2, 99));
        assert_eq!(records, vec![sample(), sample()]);
        assert!(log.is_current());
    }

    #[test]
    fn a_new_log_replaces_the_old_file_and_never_truncates_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("netatop.log");
        let mut old = LogFile::create(&path, 7).unwrap();
        old.append(&encode_record(&sample()).unwrap()).unwrap();
        // A reader's view of the old file.
        let reader = std::fs::File::open(&path).unwrap();
        let new = LogFile::create(&path, 8).unwrap();
        let seen = reader.metadata().unwrap();
        assert_eq!(seen.nlink(), 0, "the old file is removed");
        let old_len = seen.len();
        assert!(old_len > HEADER_LEN as u64, "the old file keeps its record");
        let (header, records) = decode(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!((header.mypid, header.curseq, records.len()), (8, 0, 0));
        assert!(new.is_current() && !old.is_current());
    }

    #[test]
    fn a_symbolic_link_at_the_path_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("precious");
        std::fs::write(&target, b"not a log").unwrap();
        let path = dir.path().join("netatop.log");
        std::os::unix::fs::symlink(&target, &path).unwrap();
        let log = LogFile::create(&path, 9).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"not a log");
        assert!(!std::fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(log.is_current());
    }

    #[test]
    fn a_removed_or_replaced_file_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("netatop.log");
        let log = LogFile::create(&path, 1).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(!log.is_current());
        std::fs::write(&path, b"someone else's").unwrap();
        assert!(!log.is_current());
    }
}
