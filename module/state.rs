// SPDX-License-Identifier: GPL-2.0

//! The module's state and what happens to it: per-packet accounting (from
//! the netfilter hooks), lookups for getsockopt, and garbage collection
//! (from `knetatop` and `NETATOP_FORCE_GC`).
//!
//! Locking: a socket bucket, then a task bucket; both are BH spinlocks,
//! plain spinlocks inside the one section without bottom halves that a
//! packet or a read takes. A packet on a socket that has been charged
//! before takes its socket bucket only: its owner's two records count in
//! atomics (see `owners`), and the task table is searched only when a
//! socket gets a new owner. The exit list has a mutex and is only used in
//! process context.

#![forbid(unsafe_code)]

use crate::exits::ExitList;
use crate::hash_key::HashKey;
use crate::logic::account::{
    self, wire_amount, Charge, Dir, ForcedGc, GcRequest, Owner, Proto, Seen, SockKey, SockRecord,
    SockVerdict, SocketId, TaskKind, TaskRecord, GC_INTERVAL_SECS,
};
use crate::logic::packet::{self, HeaderSource, Transport};
use crate::logic::procfs::Snapshot;
use crate::owners::{Cells, SockEntry, TaskCell};
use crate::quota::{QuotaFull, Unowned};
use crate::stats::Stats;
use crate::table::{Bucket, Budget, Chain, Table};
use crate::tasks;
use crate::wrap::clock;
use crate::wrap::exit_probe::ExitObserver;
use crate::wrap::kthread::{self, ThreadMain};
use crate::wrap::nf_hook::{self, Family, Hook, Observer, Packet};
use crate::wrap::proc_entry;
use crate::wrap::recv_probe::{self, InetSocket, ReadObserver};
use crate::wrap::sync::{self, BhOff};
use crate::wrap::task;
use core::mem::size_of;
use kernel::alloc::KVVec;
use kernel::prelude::*;
use kernel::seq_file::SeqFile;
use kernel::sync::atomic::{Atomic, Full, Relaxed};
use kernel::sync::{new_mutex, Arc, Mutex};
use kernel::time::{delay::fsleep, Delta};

/// Garbage collection runs start at least this far apart (milliseconds),
/// unless the 15-second run comes sooner.
const GC_MIN_INTERVAL_MS: u64 = 500;

// The logic keeps its own copies of the TCP states it tests; they must be
// the kernel's.
const _: () = assert!(account::TCP_ESTABLISHED == nf_hook::TCP_ESTABLISHED);
const _: () = assert!(account::TCP_LISTEN == nf_hook::TCP_LISTEN);

/// A new record without an owner that finds its quota full looks for one
/// to take the place of in this many buckets, or more until it finds one.
const REPLACE_SAMPLE: usize = 8;

/// Extra bytes on the wire for each additional fragment's network header.
const IPV4_FRAG_HDR: u32 = 20;
const IPV6_FRAG_HDR: u32 = 40 + 8;

/// Memory bounds (bytes) and bucket counts of the socket and task tables.
pub(crate) struct TableSizes {
    pub(crate) sock_bytes: usize,
    pub(crate) sock_buckets: usize,
    pub(crate) task_bytes: usize,
    pub(crate) task_buckets: usize,
}

/// Everything the hooks, the getsockopt handler, `/proc/netatop` and the
/// garbage collector share.
#[pin_data]
pub(crate) struct State {
    pub(crate) stats: Stats,
    socks: Table<SockEntry>,
    /// Quotas of socket records without an owner.
    unowned: Unowned,
    /// The bucket where the next search for a record without an owner to
    /// replace starts.
    replace_from: Atomic<usize>,
    tasks: Table<Arc<TaskCell>>,
    #[pin]
    pub(crate) exits: ExitList,
    /// Serialises garbage collection; holds the time the last run started
    /// (ms).
    #[pin]
    gc: Mutex<Option<u64>>,
    /// Garbage collection runs started.
    gc_started: Atomic<u64>,
    /// Process exits the exit probe saw; each one's number marks its
    /// process record.
    exits_seen: Atomic<u64>,
    /// The latest `NETATOP_FORCE_GC` request.
    #[pin]
    request: Mutex<Option<GcRequest>>,
    /// Key of the tables' hash.
    hash_key: HashKey,
    /// Epoch second of boot, for `btime`.
    boot_secs: u64,
}

impl State {
    pub(crate) fn new(sock_bytes: usize, task_bytes: usize) -> Result<impl PinInit<Self, Error>> {
        let sock_budget = Arc::new(Budget::new(sock_bytes), GFP_KERNEL)?;
        // Task records and exited processes share one bound.
        let task_budget = Arc::new(Budget::new(task_bytes), GFP_KERNEL)?;
        let stats = Stats::new()?;
        Ok(try_pin_init!(State {
            stats,
            // Two lock classes: the garbage collector nests a task bucket
            // inside a socket bucket.
            unowned: Unowned::new(sock_bytes / core::mem::size_of::<SockRecord>()),
            replace_from: Atomic::new(0),
            socks: Table::new(
                sock_budget,
                size_of::<SockEntry>(),
                c"netatop_sock_bucket",
                kernel::static_lock_class!()
            )?,
            tasks: Table::new(
                task_budget.clone(),
                size_of::<Arc<TaskCell>>() + size_of::<TaskCell>(),
                c"netatop_task_bucket",
                kernel::static_lock_class!()
            )?,
            exits <- ExitList::new(task_budget),
            gc <- new_mutex!(None, "netatop_gc"),
            gc_started: Atomic::new(0),
            exits_seen: Atomic::new(0),
            request <- new_mutex!(None, "netatop_gc_request"),
            hash_key: HashKey::random(),
            boot_secs: task::boot_seconds(),
        }? Error))
    }

    /// Bounds and bucket counts of the tables, for the load message.
    pub(crate) fn sizes(&self) -> TableSizes {
        TableSizes {
            sock_bytes: self.socks.budget().limit(),
            sock_buckets: self.socks.buckets(),
            task_bytes: self.tasks.budget().limit(),
            task_buckets: self.tasks.buckets(),
        }
    }

    fn task_hash(&self, id: i32, kind: TaskKind) -> u64 {
        self.hash_key.hash(&[account::task_word(id, kind)])
    }

    /// The counters of task `id`: of the task that has that id now, never
    /// those of an earlier one that had it (a reused pid); of the newest
    /// record if no task has it any more.
    pub(crate) fn lookup(&self, id: i32, kind: TaskKind) -> Option<TaskRecord> {
        let now = tasks::start_of(id);
        let chain = self.tasks.lock(self.task_hash(id, kind));
        chain
            .iter()
            .filter(|t| t.id == id && t.kind == kind && now.is_none_or(|s| t.start == s))
            .max_by_key(|t| t.start)
            .map(|t| t.get())
    }

    /// Charges `c` to its owner's process and thread records, through the
    /// socket's `cells`. Those are looked up (and made, if the owner is the
    /// sender: `creator`) when the socket has none for this owner, or when
    /// the sender finds its thread record missing. Without a process
    /// record the packet is unidentified and the thread is not charged
    /// either.
    #[inline(always)]
    fn charge(&self, cells: &mut Option<Cells>, proto: Proto, c: &Charge, creator: bool) {
        let stale = cells.as_ref().is_none_or(|k| !k.hold(&c.owner, creator));
        if stale {
            *cells = self.cells_of(c.owner, creator);
        }
        match cells {
            Some(k) => k.charge(proto, c),
            None => {
                self.count_unidentified(proto, c.packet.0, c.packet.1.packets);
                self.count_unidentified(proto, Dir::Out, c.parked.sent.packets);
                self.count_unidentified(proto, Dir::In, c.parked.received.packets);
            }
        }
    }

    /// The records of `o` from the task table, made if missing when
    /// `create`; `None` without a process record. (`o` by value: a
    /// reference would keep the whole charge in memory on the packet path.)
    #[cold]
    #[inline(never)]
    fn cells_of(&self, o: Owner, create: bool) -> Option<Cells> {
        Some(Cells {
            owner: o,
            process: self.task_cell(o.tgid, TaskKind::Process, o.process_start, create)?,
            thread: self.task_cell(o.tid, TaskKind::Thread, o.thread_start, create),
        })
    }

    /// The record of task `id` started at `start`, made (for the current
    /// task) if missing when `create`.
    fn task_cell(
        &self,
        id: i32,
        kind: TaskKind,
        start: u64,
        create: bool,
    ) -> Option<Arc<TaskCell>> {
        let mut chain = self.tasks.lock(self.task_hash(id, kind));
        if let Some(t) = chain.iter().find(|t| t.is(id, kind, start)) {
            return Some(t.clone());
        }
        if !create {
            return None;
        }
        let record = TaskRecord::new(id, kind, start, self.boot_secs, &tasks::current_comm(kind));
        let Some(cell) = TaskCell::new(record, self.tasks.shared_budget()) else {
            self.tasks.refuse();
            return None;
        };
        self.tasks.insert(&mut chain, cell.clone())?;
        Some(cell)
    }

    fn count_unidentified(&self, proto: Proto, dir: Dir, packets: u64) {
        let t = match proto {
            Proto::Tcp => Transport::Tcp,
            Proto::Udp => Transport::Udp,
        };
        self.stats.unidentified(dir, t, packets);
    }

    /// Whether the process `o` belongs to still has a record: an open
    /// one among the socket's `cells`, or one in the table.
    fn process_known(&self, o: &Owner, cells: Option<&Cells>) -> bool {
        if let Some(k) = cells.filter(|k| k.serve(o)) {
            return !k.process.is_closed();
        }
        let chain = self.tasks.lock(self.task_hash(o.tgid, TaskKind::Process));
        chain
            .iter()
            .any(|t| t.is(o.tgid, TaskKind::Process, o.process_start))
    }

    /// Runs the garbage collector. A forced run (`NETATOP_FORCE_GC`)
    /// returns once a run that started after the call has completed: it
    /// runs itself, after waiting for the half second between two runs if
    /// need be, unless another run started meanwhile.
    ///
    /// A run leaves processes that exited after a request of the last
    /// second to a later run ([`account::exit_bound`]).
    pub(crate) fn collect_garbage(&self, forced: bool) {
        if forced {
            // Every exit counted here came before this request.
            let exits = self.exits_seen.fetch_add(0, Full);
            *self.request.lock() = Some(GcRequest {
                exits_seen: exits,
                at_ms: clock::now_ms(),
            });
        }
        // A read-modify-write reads the newest count: every run counted
        // here started before this request.
        let seen = self.gc_started.fetch_add(0, Full);
        let mut last = self.gc.lock();
        if forced {
            let started = self.gc_started.load(Relaxed);
            match account::forced_gc(seen, started, *last, clock::now_ms(), GC_MIN_INTERVAL_MS) {
                ForcedGc::Covered => return,
                ForcedGc::RunAfter(ms) => fsleep(Delta::from_millis(ms as i64)),
                ForcedGc::Run => {}
            }
        }
        let now = clock::now_ms();
        *last = Some(now);
        // Under the lock: a run starts.
        self.gc_started.fetch_add(1, Full);

        self.exits.expire();
        let bound = account::exit_bound(*self.request.lock(), now);
        let (ended, mut lost) = self.collect_tasks(bound);
        // The socket records let go of the closed task records (and those
        // of ended processes go), under their bucket locks: after this
        // pass no packet charges a closed record any more, and what the
        // ended processes counted is final.
        self.collect_sockets(now);
        let mut exited = KVVec::new();
        if exited
            .reserve(ended.len(), GFP_KERNEL | __GFP_NOWARN)
            .is_err()
        {
            lost += ended.len();
        } else {
            for cell in ended.iter() {
                // Reserved above: cannot fail.
                let _ = exited.push_within_capacity(cell.get());
            }
        }
        // The last references to the records of ended processes go here,
        // before the exit list takes their memory from the budget.
        drop(ended);
        lost += self.exits.append(&mut exited);
        if lost > 0 {
            pr_warn!(
                "{} exited processes dropped: task memory bound (taskmem) reached or memory short\n",
                lost
            );
        }
    }

    /// Takes the records of tasks that ended out of the task table and
    /// closes them; returns those of processes, for the exit list once no
    /// socket record holds them, and how many did not fit.
    fn collect_tasks(&self, bound: Option<u64>) -> (KVVec<Arc<TaskCell>>, usize) {
        let mut ended: KVVec<Arc<TaskCell>> = KVVec::new();
        let mut lost = 0;
        for b in 0..self.tasks.buckets() {
            let mut chain = self.tasks.lock_index(b);
            // Room for the whole chain, made without the bucket lock.
            while ended.capacity() - ended.len() < chain.len() {
                let need = chain.len();
                drop(chain);
                let grown = ended.reserve(need, GFP_KERNEL | __GFP_NOWARN).is_ok();
                chain = self.tasks.lock_index(b);
                if !grown {
                    break;
                }
            }
            let mut i = 0;
            while i < chain.len() {
                let t = &chain[i];
                if tasks::alive(t.id, t.kind, t.start) || t.deferred(bound) {
                    i += 1;
                    continue;
                }
                if let Some(cell) = self.tasks.remove(&mut chain, i) {
                    // Closed: the socket records let go of it next.
                    cell.close();
                    if cell.kind == TaskKind::Process && ended.push_within_capacity(cell).is_err() {
                        lost += 1;
                    }
                }
            }
        }
        (ended, lost)
    }

    fn collect_sockets(&self, now: u64) {
        for b in 0..self.socks.buckets() {
            let mut chain = self.socks.lock_index(b);
            let mut i = 0;
            while i < chain.len() {
                let e = &chain[i];
                let r = e.record;
                let owner_alive = r
                    .owner
                    .is_none_or(|o| self.process_known(&o, e.cells.as_ref()));
                match r.verdict(now, owner_alive) {
                    SockVerdict::Keep => {
                        // Closed records are charged no more: let them go
                        // (a sender looks its records up anew).
                        let e = &mut chain[i];
                        if let Some(k) = &mut e.cells {
                            if k.process.is_closed() {
                                e.cells = None;
                            } else if k.thread.as_ref().is_some_and(|t| t.is_closed()) {
                                k.thread = None;
                            }
                        }
                        i += 1;
                    }
                    SockVerdict::Drop => {
                        self.socks.remove(&mut chain, i);
                    }
                    SockVerdict::DropUnident => {
                        self.socks.remove(&mut chain, i);
                        self.forget_unowned(&r);
                    }
                }
            }
        }
    }
}

impl State {
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
        cells: &mut Option<Cells>,
        proto: Proto,
        charge: Option<Charge>,
        packets: u64,
        sender: Option<Owner>,
    ) {
        match charge {
            None => self.stats.park(packets),
            Some(c) => {
                self.stats.unpark(c.parked.packets());
                self.charge(cells, proto, &c, sender == Some(c.owner));
            }
        }
    }

    /// A packet on the record of `key` in a locked bucket, if it has one:
    /// updates it and charges or parks the packet; whether it had one.
    #[inline(always)]
    fn on_record(
        &self,
        chain: &mut Chain<SockEntry>,
        key: &SockKey,
        seen: &Seen,
        sender: Option<Owner>,
    ) -> bool {
        let Some(e) = chain.iter_mut().find(|e| e.record.key == *key) else {
            return false;
        };
        // Most packets: the owner stays, and the entry holds its records.
        if let Some(st) = e.record.steady_owner(seen, sender) {
            // The entry's records are its owner's (`SockEntry`).
            if let Some(k) = e.cells.as_ref().filter(|k| k.take(st.by_owner)) {
                e.record.touch(seen);
                k.charge_packet(key.proto, seen.dir, seen.amount);
                return true;
            }
        }
        let charge = self.update(&mut e.record, seen, sender);
        self.settle(&mut e.cells, key.proto, charge, seen.amount.packets, sender);
        true
    }

    /// Adds a new record to its locked bucket, that of `hash`, within the
    /// unowned quota if it has no owner; whether it was added.
    fn add(&self, chain: &mut Chain<SockEntry>, hash: u64, entry: SockEntry, bh: &BhOff) -> bool {
        let key = entry.record.key;
        let unowned = entry.record.owner.is_none();
        if unowned {
            if let Err(full) = self.unowned.admit(&key) {
                if !self.replace_unowned(chain, hash, &key, full, bh)
                    || self.unowned.admit(&key).is_err()
                {
                    self.unowned.refuse();
                    return false;
                }
            }
        }
        let added = self.socks.insert(chain, entry).is_some();
        if unowned && !added {
            self.unowned.release(&key);
        }
        added
    }

    /// Removes the least recently active record without an owner that may
    /// give way to a new one of `key`, which found the quota `full`: of
    /// those in [`REPLACE_SAMPLE`] buckets, or in more until there is one,
    /// never waiting for a bucket lock. `chain` is the locked bucket of
    /// `hash`. Whether one was removed.
    #[cold]
    #[inline(never)]
    fn replace_unowned(
        &self,
        chain: &mut Chain<SockEntry>,
        hash: u64,
        key: &SockKey,
        full: QuotaFull,
        bh: &BhOff,
    ) -> bool {
        /// Where the oldest candidate so far is.
        enum Found<'a> {
            None,
            Here(usize),
            There(Bucket<'a, SockEntry>, usize),
        }
        let oldest = |c: &Chain<SockEntry>| {
            c.iter()
                .enumerate()
                .filter(|(_, e)| {
                    e.record.owner.is_none() && Unowned::may_replace(full, &e.record.key, key)
                })
                .min_by_key(|(_, e)| e.record.last_active)
                .map(|(i, e)| (i, e.record.last_active))
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
                if let Some((i, active)) = oldest(chain).filter(|c| c.1 < found_active) {
                    (found, found_active) = (Found::Here(i), active);
                }
                continue;
            }
            let Some(bucket) = self.socks.try_lock_index_within(b, bh) else {
                continue;
            };
            if let Some((i, active)) = oldest(&bucket).filter(|c| c.1 < found_active) {
                // The bucket of an older candidate, if any, is unlocked.
                (found, found_active) = (Found::There(bucket, i), active);
            }
        }
        let gone = match found {
            Found::None => return false,
            Found::Here(i) => self.socks.remove(chain, i),
            Found::There(mut bucket, i) => self.socks.remove(&mut bucket, i),
        };
        let Some(gone) = gone else {
            return false;
        };
        self.forget_unowned(&gone.record);
        self.unowned.replace();
        true
    }

    /// What a record without an owner that is gone held: it leaves the
    /// unowned quota, and its parked packets are unidentified.
    fn forget_unowned(&self, r: &SockRecord) {
        self.unowned.release(&r.key);
        self.stats.unpark(r.parked.packets());
        self.count_unidentified(r.key.proto, Dir::Out, r.parked.sent.packets);
        self.count_unidentified(r.key.proto, Dir::In, r.parked.received.packets);
    }
}

impl HeaderSource for Packet<'_> {
    #[inline(always)]
    fn bytes<const N: usize>(&self, offset: usize) -> Option<[u8; N]> {
        self.header::<N>(offset)
    }
}

impl Observer for State {
    #[inline(always)]
    fn observe(&self, p: &Packet<'_>) {
        // The socket bucket, twice for a new record, and a task bucket for
        // a new owner: bottom halves off once for all.
        let bh = p.bh_off();
        self.account(p, &bh);
    }
}

impl State {
    /// Counts and charges one packet, while `bh` keeps bottom halves off.
    #[inline(always)]
    fn account(&self, p: &Packet<'_>, bh: &BhOff) {
        match p.counted_segments() {
            Some(segs) => self.account_segments(p, bh, |_| segs),
            None => self.account_uncounted(p, bh),
        }
    }

    /// [`State::account`] of a GSO packet whose segments the stack has not
    /// counted: seldom, so a copy of the path out of line, which leaves the
    /// common one as it would be without such packets.
    #[cold]
    #[inline(never)]
    fn account_uncounted(&self, p: &Packet<'_>, bh: &BhOff) {
        self.account_segments(p, bh, |h| {
            account::wire_segments(0, p.gso_size(), p.len(), h.header_len)
        });
    }

    /// [`State::account`] with the packet's `segments` on the wire, given
    /// its headers.
    #[inline(always)]
    fn account_segments(
        &self,
        p: &Packet<'_>,
        bh: &BhOff,
        segments: impl FnOnce(&packet::Headers) -> u32,
    ) {
        let family = p.family();
        let dir = match p.hook() {
            Hook::LocalIn => Dir::In,
            Hook::LocalOut => Dir::Out,
        };
        let h = match family {
            Family::Ipv4 => packet::parse_ipv4(p),
            Family::Ipv6 => packet::parse_ipv6(p),
        };
        let segs = segments(&h);
        self.stats.packet(family, dir, h.transport, u64::from(segs));
        let Some(key) = SockKey::of(&h, dir, p.net_cookie(), family == Family::Ipv6) else {
            // TCP or UDP without ports (a later fragment): nobody to charge.
            self.stats.unidentified(dir, h.transport, u64::from(segs));
            return;
        };
        let dev = p.device();
        let amount = wire_amount(
            p.len(),
            segs,
            h.header_len,
            dev.map_or(0, |d| d.mtu),
            dev.map_or(0, |d| d.hard_header_len),
            if family == Family::Ipv6 {
                IPV6_FRAG_HDR
            } else {
                IPV4_FRAG_HDR
            },
        );
        let sender = p.sender().map(tasks::owner);
        let seen = Seen {
            dir,
            amount,
            sk_state: p.socket_state(),
            now: clock::now_ms(),
        };

        let hash = self.hash_key.hash(key.words().as_slice());
        if self.on_record(&mut self.socks.lock_within(hash, bh), &key, &seen, sender) {
            return;
        }
        // The socket lookup runs without the bucket lock; another CPU may
        // add the record meanwhile.
        let socket_takes = || p.has_socket();
        if !account::creates_record(dir, sender.is_some(), socket_takes) {
            self.stats.unidentified(dir, h.transport, amount.packets);
            return;
        }
        let mut chain = self.socks.lock_within(hash, bh);
        if self.on_record(&mut chain, &key, &seen, sender) {
            return;
        }
        let mut record = SockRecord::new(key, seen.now);
        let charge = record.on_packet(&seen, sender);
        let mut entry = SockEntry {
            record,
            cells: None,
        };
        if charge.is_some() {
            // Charged whether or not the record finds room.
            self.settle(&mut entry.cells, key.proto, charge, amount.packets, sender);
            self.add(&mut chain, hash, entry, bh);
        } else if self.add(&mut chain, hash, entry, bh) {
            self.stats.park(amount.packets);
        } else {
            // Neither recorded nor charged.
            drop(chain);
            self.stats.unidentified(dir, h.transport, amount.packets);
        }
    }
}

impl ExitObserver for State {
    /// Numbers the exit and marks the process's record with it, if it has
    /// one.
    fn exited(&self, tgid: i32, start: u64) {
        let n = self.exits_seen.fetch_add(1, Full) + 1;
        let chain = self.tasks.lock(self.task_hash(tgid, TaskKind::Process));
        if let Some(t) = chain.iter().find(|t| t.is(tgid, TaskKind::Process, start)) {
            t.exited(n);
        }
    }
}

impl ReadObserver for State {
    /// A task read from a socket: a socket without an owner binds to it,
    /// and what was parked on it is charged to it.
    /// Only a socket without an owner binds: with none in the table, or
    /// none of the reader's local port, a read costs nothing more than
    /// this test.
    fn wants_read(&self, local_port: impl FnOnce() -> u16) -> bool {
        self.unowned.count() > 0
            && self.unowned.may_have_port(local_port())
            && recv_probe::in_process_context()
    }

    fn read(&self, sk: &InetSocket) {
        let id = SocketId {
            net: sk.net,
            tcp: sk.tcp,
            ipv6: sk.ipv6,
            v4_too: sk.v4_too,
            local_port: sk.local_port,
            remote_port: sk.remote_port,
            local: sk.local,
            remote: sk.remote,
        };
        let bh = sync::bh_off();
        self.bind_reader(&id, &bh);
    }
}

impl State {
    /// A read from socket `id`, while `bh` keeps bottom halves off.
    fn bind_reader(&self, id: &SocketId, bh: &BhOff) {
        let reader = tasks::current_owner();
        for key in id.keys().into_iter().flatten() {
            let mut chain = self
                .socks
                .lock_within(self.hash_key.hash(key.words().as_slice()), bh);
            let Some(e) = chain.iter_mut().find(|e| e.record.key == key) else {
                continue;
            };
            if let Some(c) = e.record.bind(reader) {
                self.unowned.release(&key);
                self.stats.unpark(c.parked.packets());
                self.charge(&mut e.cells, key.proto, &c, true);
            }
        }
    }
}

impl proc_entry::Show for State {
    fn show(&self, m: &SeqFile) {
        let snapshot = Snapshot {
            sockinfo: self.socks.count() as u64,
            sockinfo_overflow: self.socks.overflow(),
            taskinfo: self.tasks.count() as u64,
            taskinfo_overflow: self.tasks.overflow(),
            taskexit: self.exits.len() as u64,
            unowned: self.unowned.count() as u64,
            unowned_refused: self.unowned.refused(),
            unowned_replaced: self.unowned.replaced(),
            sockmem: self.socks.budget().held() as u64,
            sockmem_bound: self.socks.budget().limit() as u64,
            taskmem: self.tasks.budget().held() as u64,
            taskmem_bound: self.tasks.budget().limit() as u64,
            ..self.stats.snapshot()
        };
        m.call_printf(format_args!("{}", snapshot));
    }
}

impl ThreadMain for State {
    fn run(&self, me: &kthread::Running) {
        while !me.should_stop() {
            self.collect_garbage(false);
            kthread::sleep_interruptible((GC_INTERVAL_SECS * 1000) as u32);
        }
    }
}
