// SPDX-License-Identifier: GPL-2.0

//! The packet path: every packet the netfilter hooks see is counted,
//! given its socket record (made if a local socket sends or takes it)
//! and charged to the socket's owner, or parked on the record until the
//! socket has one.

#![forbid(unsafe_code)]

use super::State;
use crate::logic::key::{Dir, Proto, SockKey};
use crate::logic::packet::{self, Family, HeaderSource};
use crate::logic::record::{self, Charge, Owner, Seen, SockRecord};
use crate::logic::wire::{self, wire_amount};
use crate::owners::{Cells, SockShared};
use crate::quota::{QuotaFull, Unowned};
use crate::table::Bucket;
use crate::tasks;
use crate::wrap::clock;
use crate::wrap::nf_hook::{self, Hook, Observer, Packet};
use crate::wrap::rcu::{RcuPtr, ReadSide};
use crate::wrap::sync::{self, BhOff};
use kernel::sync::atomic::Relaxed;

/// A new record without an owner that finds its quota full looks for one
/// to take the place of in this many buckets, or more until it finds one.
const REPLACE_SAMPLE: usize = 8;

/// The segments of a GSO packet whose segments the stack has not counted
/// ([`wire::wire_segments`]): seldom, so out of the common path.
#[cold]
#[inline(never)]
fn uncounted_segments(gso_size: u32, len: u32, header_len: u32) -> u32 {
    wire::wire_segments(0, gso_size, len, header_len)
}

/// Extra bytes on the wire for each additional fragment's network header.
const IPV4_FRAG_HDR: u32 = 20;
const IPV6_FRAG_HDR: u32 = 40 + 8;

impl HeaderSource for Packet<'_> {
    #[inline(always)]
    fn read<const N: usize, R>(&self, offset: usize, f: impl FnOnce(&[u8; N]) -> R) -> Option<R> {
        self.header(offset, f)
    }
}

impl Observer for State {
    #[inline(always)]
    fn observe(&self, p: &Packet<'_>) {
        self.account(p);
    }
}

impl State {
    /// Counts and charges one packet.
    #[inline(always)]
    fn account(&self, p: &Packet<'_>) {
        let dir = match p.hook() {
            Hook::LocalIn => Dir::In,
            Hook::LocalOut => Dir::Out,
        };
        let family = match p.family() {
            nf_hook::Family::Ipv4 => Family::Ipv4,
            nf_hook::Family::Ipv6 => Family::Ipv6,
        };
        let headers = match family {
            Family::Ipv4 => packet::parse_ipv4(p),
            Family::Ipv6 => packet::parse_ipv6(p),
        };
        let segs = match p.counted_segments() {
            Some(segs) => segs,
            None => uncounted_segments(p.gso_size(), p.len(), headers.header_len),
        };
        self.stats
            .packet(family, dir, headers.transport, u64::from(segs));
        let Some(key) = SockKey::of(&headers, dir, p.net_cookie(), family) else {
            // TCP or UDP without ports (a later fragment): nobody to charge.
            self.stats
                .unidentified(dir, headers.transport, u64::from(segs));
            return;
        };
        let dev = p.device();
        let amount = wire_amount(
            p.len(),
            segs,
            headers.header_len,
            dev.map_or(0, |d| d.mtu),
            dev.map_or(0, |d| d.hard_header_len),
            match family {
                Family::Ipv4 => IPV4_FRAG_HDR,
                Family::Ipv6 => IPV6_FRAG_HDR,
            },
        );
        let sender = p.sender().map(tasks::owner);
        let seen = Seen {
            dir,
            amount,
            sk_state: p.socket_state(),
            now: clock::now_ms(),
        };

        let hash = self.hash_key.hash(key.words());
        if self.on_steady_record(hash, &key, &seen, sender, p.read_side()) {
            return;
        }
        // The socket bucket, twice for a new record, and a task bucket for
        // a new owner: with bottom halves off.
        let bh = &sync::bh_off();
        if self.on_record(
            &mut self.socks.lock_within(hash, bh),
            &key,
            &seen,
            sender,
            bh,
        ) {
            return;
        }
        // The socket lookup runs without the bucket lock; another CPU may
        // add the record meanwhile.
        let socket_takes = || p.has_socket();
        if !record::creates_record(dir, sender.is_some(), socket_takes) {
            self.stats
                .unidentified(dir, headers.transport, amount.packets);
            return;
        }
        let mut bucket = self.socks.lock_within(hash, bh);
        if self.on_record(&mut bucket, &key, &seen, sender, bh) {
            return;
        }
        let mut record = SockRecord::new(key, seen.now);
        let charge = record.on_packet(&seen, sender);
        let shared = SockShared::new(&record);
        if charge.is_some() {
            // Charged whether or not the record finds room.
            self.settle(
                &shared.cells,
                key.proto(),
                charge,
                amount.packets,
                sender,
                &bh.read_side(),
            );
            self.add(&mut bucket, hash, shared, record, bh);
        } else if self.add(&mut bucket, hash, shared, record, bh) {
            self.stats.park(amount.packets);
        } else {
            // Neither recorded nor charged.
            drop(bucket);
            self.stats
                .unidentified(dir, headers.transport, amount.packets);
        }
    }

    /// A packet that leaves the record of `key` as it is but for its times,
    /// as most packets do ([`record::steady`]), charged to the owner without
    /// a lock, if the record has one and holds its records; whether it was.
    #[inline(always)]
    fn on_steady_record(
        &self,
        hash: u64,
        key: &SockKey,
        seen: &Seen,
        sender: Option<Owner>,
        rcu: &ReadSide<'_>,
    ) -> bool {
        let Some(shared) = self.socks.read(hash, rcu).find(|s| s.key == *key) else {
            return false;
        };
        // The records of the record's owner (`SockShared`).
        let Some(cells) = shared.cells.get(rcu) else {
            return false;
        };
        match record::steady(cells.owner, seen.dir, sender) {
            Some(by_owner) if cells.complete_for(by_owner) => {
                shared.touch(seen);
                cells.charge_packet(key.proto(), seen.dir, seen.amount);
                true
            }
            _ => false,
        }
    }

    /// A packet on the record of `key` in a locked bucket, if it has one:
    /// updates it and charges or parks the packet; whether it had one.
    #[inline(always)]
    fn on_record(
        &self,
        bucket: &mut Bucket<'_, SockShared, SockRecord>,
        key: &SockKey,
        seen: &Seen,
        sender: Option<Owner>,
        bh: &BhOff,
    ) -> bool {
        let Some((shared, record)) = bucket.find_mut(|s, _| s.key == *key) else {
            return false;
        };
        shared.touch(seen);
        let charge = self.update(record, seen, sender);
        self.settle(
            &shared.cells,
            key.proto(),
            charge,
            seen.amount.packets,
            sender,
            &bh.read_side(),
        );
        true
    }

    /// A packet on an existing record; an unowned record that gets an
    /// owner leaves the unowned quota.
    #[inline(always)]
    fn update(
        &self,
        record: &mut SockRecord,
        seen: &Seen,
        sender: Option<Owner>,
    ) -> Option<Charge> {
        let unowned = record.owner.is_none();
        let charge = record.on_packet(seen, sender);
        if unowned && record.owner.is_some() {
            self.unowned.release(&record.key);
        }
        charge
    }

    /// Charges what a packet on a socket record left to charge, or counts
    /// its `packets` as parked there.
    #[inline(always)]
    fn settle(
        &self,
        cells: &RcuPtr<Cells>,
        proto: Proto,
        charge: Option<Charge>,
        packets: u64,
        sender: Option<Owner>,
        rcu: &ReadSide<'_>,
    ) {
        match charge {
            None => self.stats.park(packets),
            Some(c) => {
                self.stats.unpark(c.parked.packets());
                self.charge(cells, proto, &c, sender == Some(c.owner), rcu);
            }
        }
    }

    /// Adds a new record to its locked bucket, that of `hash`, within the
    /// unowned quota if it has no owner; whether it was added.
    fn add(
        &self,
        bucket: &mut Bucket<'_, SockShared, SockRecord>,
        hash: u64,
        shared: SockShared,
        record: SockRecord,
        bh: &BhOff,
    ) -> bool {
        let key = record.key;
        let unowned = record.owner.is_none();
        if unowned {
            if let Err(full) = self.unowned.admit(&key) {
                if !self.replace_unowned(bucket, hash, &key, full, bh)
                    || self.unowned.admit(&key).is_err()
                {
                    self.unowned.refuse();
                    return false;
                }
            }
        }
        let added = self.socks.insert(bucket, shared, record);
        if unowned && !added {
            self.unowned.release(&key);
        }
        added
    }

    /// Removes the least recently active record without an owner that may give
    /// way to a new one of `key`, which found the quota `full`: of those in
    /// [`REPLACE_SAMPLE`] buckets, or in more until there is one, never waiting
    /// for a bucket lock.
    ///
    /// `bucket` is the locked bucket of `hash`. Whether one was removed.
    #[cold]
    #[inline(never)]
    fn replace_unowned(
        &self,
        bucket: &mut Bucket<'_, SockShared, SockRecord>,
        hash: u64,
        key: &SockKey,
        full: QuotaFull,
        bh: &BhOff,
    ) -> bool {
        /// Where the oldest candidate so far is, and its record.
        enum Found<'a> {
            None,
            Here(SockRecord),
            There(Bucket<'a, SockShared, SockRecord>, SockRecord),
        }
        let oldest = |b: &Bucket<'_, SockShared, SockRecord>| {
            b.iter()
                .filter(|(s, r)| r.owner.is_none() && Unowned::may_replace(full, &s.key, key))
                .map(|(s, r)| (*r, s.last_active()))
                .min_by_key(|&(_, active)| active)
        };
        let buckets = self.socks.buckets();
        let here = self.socks.index(hash);
        let start = self.replace_from.fetch_add(REPLACE_SAMPLE, Relaxed);
        let mut found = Found::None;
        let mut found_active = u64::MAX;
        for step in 0..buckets {
            if step >= REPLACE_SAMPLE && !matches!(found, Found::None) {
                break;
            }
            let b = start.wrapping_add(step) % buckets;
            if b == here {
                if let Some((r, active)) = oldest(bucket).filter(|c| c.1 < found_active) {
                    (found, found_active) = (Found::Here(r), active);
                }
                continue;
            }
            let Some(other) = self.socks.try_lock_index_within(b, bh) else {
                continue;
            };
            if let Some((r, active)) = oldest(&other).filter(|c| c.1 < found_active) {
                // The bucket of an older candidate, if any, is unlocked.
                (found, found_active) = (Found::There(other, r), active);
            }
        }
        let (removed, gone) = match found {
            Found::None => return false,
            Found::Here(r) => (self.socks.remove_first(bucket, |s, _| s.key == r.key), r),
            Found::There(mut other, r) => (
                self.socks.remove_first(&mut other, |s, _| s.key == r.key),
                r,
            ),
        };
        if !removed {
            return false;
        }
        self.forget_unowned(&gone);
        self.unowned.replace();
        true
    }
}
