// SPDX-License-Identifier: GPL-2.0

//! The exit protocol's rules: which exited processes a collection run
//! leaves to a later one after a `NETATOP_FORCE_GC` request, how long
//! exited processes are kept, and what `NETATOP_EMPTY_EXIT` waits for.

/// Exited processes not taken within this time are freed.
pub const EXIT_KEEP_SECS: u64 = 15;

/// How long after a `NETATOP_FORCE_GC` request (ms) collection runs leave
/// the processes that exited after it to a later run.
pub const EXIT_DEFER_MS: u64 = 1000;

/// A `NETATOP_FORCE_GC` request: the number of process exits seen by then,
/// and when it came (ms).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GcRequest {
    pub exits_seen: u64,
    pub at_ms: u64,
}

/// The exit number after which a collection run at `now` (ms) leaves
/// exited processes to a later run, given the latest `NETATOP_FORCE_GC`
/// request; `None` to collect them all.
///
/// atop reads the process accounting before it asks for a collection
/// and matches the log with the accounting within one sample: a process
/// that exits after it has read the accounting is in the accounting of
/// its next sample, so its counters must reach the log in that sample,
/// not in this one. Left to the next request's run, they do.
pub fn exit_bound(request: Option<GcRequest>, now: u64) -> Option<u64> {
    request
        .filter(|r| now.saturating_sub(r.at_ms) < EXIT_DEFER_MS)
        .map(|r| r.exits_seen)
}

/// Whether a process whose exit was numbered `exit` (0: its exit was not
/// seen) is left to a later run under `bound` ([`exit_bound`]).
pub fn exit_deferred(exit: u64, bound: Option<u64>) -> bool {
    exit != 0 && bound.is_some_and(|b| exit > b)
}

/// Tracks what `NETATOP_EMPTY_EXIT` waits for besides an empty exit list:
/// the record most recently handed out by `NETATOP_GETCNT_EXIT`, until
/// its taker comes back (acknowledging it) or a grace period passes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Handout {
    /// The record handed out whose taker has not come back.
    pending: Option<Pending>,
}

/// A record handed out and not yet acknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pending {
    /// The thread group that took it.
    taker: i32,
    /// When it took it (jiffies).
    since: u64,
}

impl Handout {
    /// `taker` takes a record at `now`.
    pub fn taken(&mut self, taker: i32, now: u64) {
        self.pending = Some(Pending { taker, since: now });
    }

    /// `taker` calls GETCNT_EXIT again: whatever it took is written.
    pub fn returned(&mut self, taker: i32) {
        if self.pending.is_some_and(|p| p.taker == taker) {
            self.pending = None;
        }
    }

    /// Whether every exited process is accounted for: none queued, and the
    /// last one handed out acknowledged or older than `grace` jiffies.
    pub fn drained(&self, queued: usize, now: u64, grace: u64) -> bool {
        queued == 0
            && match self.pending {
                None => true,
                Some(p) => now.wrapping_sub(p.since) >= grace,
            }
    }

    /// Jiffies until `drained` may turn true by the grace period alone.
    pub fn wait_left(&self, now: u64, grace: u64) -> u64 {
        match self.pending {
            None => 0,
            Some(p) => grace.saturating_sub(now.wrapping_sub(p.since)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exits_after_a_recent_request_wait_for_the_next() {
        // A request at 1000 ms, when 7 exits had been seen.
        let request = Some(GcRequest {
            exits_seen: 7,
            at_ms: 1000,
        });
        // 300 ms later.
        let bound = exit_bound(request, 1300);
        assert_eq!(bound, Some(7));
        assert!(!exit_deferred(7, bound), "exited before the request");
        assert!(exit_deferred(8, bound), "exited after the request");
        assert!(!exit_deferred(0, bound), "exit not seen: collected");
        // The request is a second old, or there was none: all collected.
        assert_eq!(exit_bound(request, 2000), None);
        assert_eq!(exit_bound(None, 2000), None);
        assert!(!exit_deferred(8, None));
    }

    #[test]
    fn empty_exit_waits_for_the_taker_to_come_back() {
        let mut h = Handout::default();
        assert!(h.drained(0, 0, 100));
        assert!(!h.drained(1, 0, 100));
        h.taken(42, 1000);
        assert!(!h.drained(0, 1050, 100));
        assert_eq!(h.wait_left(1050, 100), 50);
        h.returned(7); // someone else
        assert!(!h.drained(0, 1050, 100));
        h.returned(42);
        assert!(h.drained(0, 1050, 100));
    }

    #[test]
    fn empty_exit_stops_waiting_for_a_taker_that_died() {
        let mut h = Handout::default();
        h.taken(42, u64::MAX - 10); // across jiffies wrap
        assert!(!h.drained(0, u64::MAX, 100));
        assert!(h.drained(0, 89, 100));
        assert_eq!(h.wait_left(89, 100), 0);
    }
}
