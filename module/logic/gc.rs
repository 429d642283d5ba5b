// SPDX-License-Identifier: GPL-2.0

//! Garbage collection policy: when a socket record has outlived its use,
//! and when a run that user space forces (`NETATOP_FORCE_GC`) runs.

use super::key::Proto;
use super::record::{SockRecord, TCP_ESTABLISHED, TCP_LISTEN};

/// Garbage collection timings, in seconds.
pub const GC_INTERVAL_SECS: u64 = 15;
/// UDP records on ports above 1024 idle this long are dropped.
pub const GC_MAX_UDP_IDLE_SECS: u64 = 16;
/// TCP records idle this long are dropped.
pub const GC_MAX_TCP_IDLE_SECS: u64 = 1800;
/// TCP records last seen neither established nor listening (a connection
/// opening or closing) are dropped once idle this long: the replies to
/// their last packets (a SYN-ACK, a reset, the peer's FIN) find them, and
/// are charged with them, if they come within it.
pub const GC_MAX_TCP_TRANSIENT_IDLE_SECS: u64 = 2;
/// Records never bound to a task are dropped after this long, their
/// packets counted as unidentified.
pub const GC_MAX_UNBOUND_SECS: u64 = 60;

/// What the garbage collector does with a socket record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SockVerdict {
    Keep,
    Drop,
    /// Drop it and count its parked packets as unidentified.
    DropUnident,
}

impl SockRecord {
    /// The garbage collector's verdict on this record at time `now` (ms);
    /// `owner_alive` says whether the owner's process still exists.
    pub fn verdict(&self, now: u64, owner_alive: bool) -> SockVerdict {
        let idle = now.saturating_sub(self.last_active);
        if self.owner.is_none() {
            return if idle > GC_MAX_UNBOUND_SECS * 1000 {
                SockVerdict::DropUnident
            } else {
                SockVerdict::Keep
            };
        }
        if !owner_alive {
            return SockVerdict::Drop;
        }
        match self.key.proto() {
            Proto::Tcp => {
                let open = matches!(
                    self.last_state,
                    None | Some(TCP_ESTABLISHED) | Some(TCP_LISTEN)
                );
                let max_idle = if open {
                    GC_MAX_TCP_IDLE_SECS
                } else {
                    GC_MAX_TCP_TRANSIENT_IDLE_SECS
                };
                if idle > max_idle * 1000 {
                    SockVerdict::Drop
                } else {
                    SockVerdict::Keep
                }
            }
            Proto::Udp => {
                if self.key.local_port() > 1024 && idle > GC_MAX_UDP_IDLE_SECS * 1000 {
                    SockVerdict::Drop
                } else {
                    SockVerdict::Keep
                }
            }
        }
    }
}

/// What a `NETATOP_FORCE_GC` request does once it holds the collector's
/// lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForcedGc {
    /// A run that started after the request has completed: nothing to do.
    Covered,
    /// Run now.
    Run,
    /// Run after waiting this many milliseconds (at most two runs a
    /// second).
    RunAfter(u64),
}

/// Decides a FORCE_GC request that saw `seen` runs started when it was made,
/// now that `started` runs have started and the last began at `last_start`
/// (ms), at `now` (ms), with runs at least `min_interval_ms` apart.
///
/// A request is never skipped: it returns only after a run that started after
/// it.
pub fn forced_gc(
    seen: u64,
    started: u64,
    last_start: Option<u64>,
    now: u64,
    min_interval_ms: u64,
) -> ForcedGc {
    if started > seen {
        return ForcedGc::Covered;
    }
    match last_start {
        Some(t) if now.saturating_sub(t) < min_interval_ms => {
            ForcedGc::RunAfter(min_interval_ms - now.saturating_sub(t))
        }
        _ => ForcedGc::Run,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::fixtures::{key, A};

    #[test]
    fn gc_verdicts() {
        let s = |secs: u64| secs * 1000;
        let mut udp = SockRecord::new(key(Proto::Udp, 5000), s(100));
        assert_eq!(udp.verdict(s(160), true), SockVerdict::Keep);
        assert_eq!(udp.verdict(s(160) + 1, true), SockVerdict::DropUnident);
        udp.owner = Some(A);
        assert_eq!(udp.verdict(s(116), true), SockVerdict::Keep);
        assert_eq!(udp.verdict(s(116) + 1, true), SockVerdict::Drop);
        assert_eq!(udp.verdict(s(101), false), SockVerdict::Drop);
        let mut dns = SockRecord::new(key(Proto::Udp, 53), s(100));
        dns.owner = Some(A);
        assert_eq!(dns.verdict(s(100_000), true), SockVerdict::Keep);

        let mut tcp = SockRecord::new(key(Proto::Tcp, 40000), s(100));
        tcp.owner = Some(A);
        tcp.last_state = Some(TCP_ESTABLISHED);
        assert_eq!(tcp.verdict(s(1900), true), SockVerdict::Keep);
        assert_eq!(tcp.verdict(s(1900) + 1, true), SockVerdict::Drop);
        tcp.last_state = Some(TCP_LISTEN);
        assert_eq!(tcp.verdict(s(200), true), SockVerdict::Keep);
        // Opening or closing: kept while a reply may still come.
        for state in [2, 4, 7] {
            // TCP_SYN_SENT, TCP_FIN_WAIT1, TCP_CLOSE
            tcp.last_state = Some(state);
            assert_eq!(tcp.verdict(s(100), true), SockVerdict::Keep);
            assert_eq!(tcp.verdict(s(102), true), SockVerdict::Keep);
            assert_eq!(tcp.verdict(s(102) + 1, true), SockVerdict::Drop);
        }
    }

    #[test]
    fn forced_gc_coalesces_with_a_later_run_and_never_skips() {
        // A run began after the request (while it waited for the lock).
        assert_eq!(forced_gc(4, 5, Some(1_000), 1_100, 500), ForcedGc::Covered);
        // The last run began before the request, 100 ms ago: wait 400 ms
        // and run, rather than return without a run.
        assert_eq!(
            forced_gc(5, 5, Some(1_000), 1_100, 500),
            ForcedGc::RunAfter(400)
        );
        assert_eq!(
            forced_gc(5, 5, Some(1_000), 1_499, 500),
            ForcedGc::RunAfter(1)
        );
        assert_eq!(forced_gc(5, 5, Some(1_000), 1_500, 500), ForcedGc::Run);
        assert_eq!(forced_gc(0, 0, None, 0, 500), ForcedGc::Run);
        // A clock that went backwards cannot make it wait longer.
        assert_eq!(
            forced_gc(5, 5, Some(2_000), 1_000, 500),
            ForcedGc::RunAfter(500)
        );
    }
}
