//! The log of exited processes (`include/netatopd.h`).
//!
//! The file starts with a `struct naheader`; each record is one length
//! byte followed by that many bytes of a zlib stream (what zlib's
//! `compress()` makes) of one `struct netpertask`.

use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;
use netatop_logic::abi::{NetPerTask, NETPERTASK_SIZE};
use std::fmt;
use std::io::{self, Read, Write};

/// `MYMAGIC`.
pub const MAGIC: u32 = 0xfeed_b0b0;
/// `sizeof(struct naheader)`.
pub const HEADER_LEN: usize = 16;

/// `struct naheader`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub magic: u32,
    /// Records in the file.
    pub curseq: u32,
    pub hdrlen: u16,
    pub ntplen: u16,
    /// The daemon's pid.
    pub mypid: i32,
}

impl Header {
    /// A fresh header (no records) for daemon `pid`.
    pub fn new(pid: i32) -> Header {
        Header {
            magic: MAGIC,
            curseq: 0,
            hdrlen: HEADER_LEN as u16,
            ntplen: NETPERTASK_SIZE as u16,
            mypid: pid,
        }
    }

    /// The header's bytes, in the machine's byte order.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[0..4].copy_from_slice(&self.magic.to_ne_bytes());
        h[4..8].copy_from_slice(&self.curseq.to_ne_bytes());
        h[8..10].copy_from_slice(&self.hdrlen.to_ne_bytes());
        h[10..12].copy_from_slice(&self.ntplen.to_ne_bytes());
        h[12..16].copy_from_slice(&self.mypid.to_ne_bytes());
        h
    }

    /// Reads a header from the start of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Header, LogError> {
        let h: &[u8; HEADER_LEN] = bytes
            .get(..HEADER_LEN)
            .and_then(|b| b.try_into().ok())
            .ok_or(LogError::ShortHeader(bytes.len()))?;
        let u32_at = |o: usize| u32::from_ne_bytes([h[o], h[o + 1], h[o + 2], h[o + 3]]);
        let header = Header {
            magic: u32_at(0),
            curseq: u32_at(4),
            hdrlen: u16::from_ne_bytes([h[8], h[9]]),
            ntplen: u16::from_ne_bytes([h[10], h[11]]),
            mypid: u32_at(12) as i32,
        };
        if header.magic != MAGIC {
            return Err(LogError::Magic(header.magic));
        }
        if (header.hdrlen as usize, header.ntplen as usize) != (HEADER_LEN, NETPERTASK_SIZE) {
            return Err(LogError::Lengths(header.hdrlen, header.ntplen));
        }
        Ok(header)
    }
}

/// One record: the length byte and the zlib stream of `npt`.
pub fn encode_record(npt: &NetPerTask) -> io::Result<Vec<u8>> {
    let mut z = ZlibEncoder::new(Vec::with_capacity(128), Compression::default());
    z.write_all(&npt.to_bytes())?;
    let stream = z.finish()?;
    let len = u8::try_from(stream.len())
        .map_err(|_| io::Error::other(format!("compressed record of {} bytes", stream.len())))?;
    let mut rec = Vec::with_capacity(1 + stream.len());
    rec.push(len);
    rec.extend_from_slice(&stream);
    Ok(rec)
}

/// Why a log does not read back.
#[derive(Debug, PartialEq, Eq)]
pub enum LogError {
    /// Fewer bytes than a header.
    ShortHeader(usize),
    /// Not netatopd's magic number.
    Magic(u32),
    /// Header or record length other than this ABI's.
    Lengths(u16, u16),
    /// The record at this offset runs past the end of the file.
    Truncated(usize),
    /// The record at this offset is not a zlib stream of one record.
    BadRecord(usize),
}

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogError::ShortHeader(n) => write!(f, "{n} bytes, no header"),
            LogError::Magic(m) => write!(f, "magic {m:#x}, not netatopd's log"),
            LogError::Lengths(h, n) => write!(f, "header lengths {h} and {n}"),
            LogError::Truncated(off) => write!(f, "truncated record at offset {off}"),
            LogError::BadRecord(off) => write!(f, "bad record at offset {off}"),
        }
    }
}

impl std::error::Error for LogError {}

/// The header and every record of a whole log file's bytes.
pub fn decode(bytes: &[u8]) -> Result<(Header, Vec<NetPerTask>), LogError> {
    let header = Header::parse(bytes)?;
    let mut records = Vec::new();
    let mut off = HEADER_LEN;
    while off < bytes.len() {
        let n = bytes[off] as usize;
        let stream = bytes
            .get(off + 1..off + 1 + n)
            .ok_or(LogError::Truncated(off))?;
        let mut out = Vec::with_capacity(NETPERTASK_SIZE);
        ZlibDecoder::new(stream)
            .read_to_end(&mut out)
            .map_err(|_| LogError::BadRecord(off))?;
        if out.len() != NETPERTASK_SIZE {
            return Err(LogError::BadRecord(off));
        }
        records.push(NetPerTask::from_bytes(&out));
        off += 1 + n;
    }
    Ok((header, records))
}

#[cfg(test)]
mod tests {
    use super::*;
    use netatop_logic::abi::TaskCount;

    fn sample() -> NetPerTask {
        let mut n = NetPerTask {
            id: 4321,
            btime: 1_764_000_123,
            tc: TaskCount::from_array([1, 200, 3, 400, 5, 600, 7, 800]),
            ..Default::default()
        };
        n.set_command(b"curl");
        n
    }

    #[test]
    fn header_is_the_c_struct() {
        let h = Header::new(77).to_bytes();
        assert_eq!(&h[0..4], &0xfeedb0b0u32.to_ne_bytes());
        assert_eq!(&h[4..8], &[0, 0, 0, 0]);
        assert_eq!(&h[8..10], &16u16.to_ne_bytes());
        assert_eq!(&h[10..12], &96u16.to_ne_bytes());
        assert_eq!(&h[12..16], &77i32.to_ne_bytes());
        assert_eq!(Header::parse(&h), Ok(Header::new(77)));
    }

    #[test]
    fn record_is_a_length_byte_and_a_zlib_stream_of_the_struct() {
        let rec = encode_record(&sample()).unwrap();
        assert_eq!(rec[0] as usize, rec.len() - 1);
        // A zlib header (deflate, 32K window) as compress() writes it.
        assert_eq!(rec[1] & 0x0f, 8);
        assert_eq!((u16::from(rec[1]) << 8 | u16::from(rec[2])) % 31, 0);
        let mut out = Vec::new();
        ZlibDecoder::new(&rec[1..]).read_to_end(&mut out).unwrap();
        assert_eq!(out, sample().to_bytes());
    }

    proptest::proptest! {
        /// Whatever the 96 bytes of a record (random bytes do not
        /// compress), its zlib stream stays within zlib's bound for 96
        /// bytes of input (compressBound: 96 + 13), so it always fits the
        /// length byte, and it reads back as the same record.
        #[test]
        fn every_record_fits_the_length_byte_and_reads_back(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, NETPERTASK_SIZE)
        ) {
            let n = NetPerTask::from_bytes(&bytes);
            let rec = encode_record(&n).unwrap();
            proptest::prop_assert!(rec.len() - 1 <= NETPERTASK_SIZE + 13, "{} bytes", rec.len());
            proptest::prop_assert_eq!(usize::from(rec[0]), rec.len() - 1);
            let mut log = Header { curseq: 1, ..Header::new(1) }.to_bytes().to_vec();
            log.extend(&rec);
            let (_, records) = decode(&log).unwrap();
            proptest::prop_assert_eq!(records.len(), 1);
            proptest::prop_assert_eq!(records[0].to_bytes(), n.to_bytes());
        }
    }

    #[test]
    fn a_log_decodes_to_its_header_and_records() {
        let mut bytes = Header {
            curseq: 2,
            ..Header::new(5)
        }
        .to_bytes()
        .to_vec();
        let other = NetPerTask { id: 99, ..sample() };
        bytes.extend(encode_record(&sample()).unwrap());
        bytes.extend(encode_record(&other).unwrap());
        let (h, records) = decode(&bytes).unwrap();
        assert_eq!((h.curseq, h.mypid), (2, 5));
        assert_eq!(records, vec![sample(), other]);
    }

    #[test]
    fn a_damaged_log_is_refused_with_where() {
        let header = Header::new(5).to_bytes();
        assert_eq!(decode(&header[..10]), Err(LogError::ShortHeader(10)));
        let mut bad = header;
        bad[0] ^= 1;
        assert_eq!(decode(&bad), Err(LogError::Magic(MAGIC ^ 1)));
        let rec = encode_record(&sample()).unwrap();
        let mut cut = header.to_vec();
        cut.extend_from_slice(&rec[..rec.len() - 1]);
        assert_eq!(decode(&cut), Err(LogError::Truncated(HEADER_LEN)));
        let mut garbage = header.to_vec();
        garbage.extend_from_slice(&[3, 1, 2, 3]);
        assert_eq!(decode(&garbage), Err(LogError::BadRecord(HEADER_LEN)));
    }
}
