// SPDX-License-Identifier: GPL-2.0

//! The module's KUnit suites: the record table under real BH locks and
//! RCU, the hash key, the quota of records without an owner, and the
//! current task as the packet path reads it.
//!
//! Built only into a test build of the module (`make module
//! NETATOP_KUNIT=1`); KUnit runs the suites when that module is loaded
//! into a kernel with `CONFIG_KUNIT=y`, and prints KTAP to the kernel log.

#[cfg(not(CONFIG_KUNIT))]
compile_error!("NETATOP_KUNIT=1 needs a kernel built with CONFIG_KUNIT=y");

#[kernel::macros::kunit_tests(netatop_table)]
mod table {
    use crate::table::{Budget, Table};
    use crate::wrap::rcu::{RcuList, ReadSide};
    use kernel::prelude::*;
    use kernel::sync::{rcu, Arc};

    const R: usize = RcuList::<u64, ()>::NODE_BYTES;

    fn table(records: usize) -> Result<Table<u64, ()>> {
        Table::new(
            Arc::new(Budget::new(records * R), GFP_KERNEL)?,
            0,
            0,
            c"netatop_test_bucket",
            kernel::static_lock_class!(),
        )
    }

    #[test]
    fn sizes_buckets_from_the_bound() -> Result {
        let t = table(1000)?;
        assert_eq!((t.budget().limit(), t.capacity()), (1000 * R, 1000));
        assert_eq!(t.buckets(), 256);
        assert_eq!(table(10)?.buckets(), 64);
        Ok(())
    }

    #[test]
    fn refuses_records_beyond_the_memory_bound() -> Result {
        let t = table(100)?;
        for i in 0..150u64 {
            let mut bucket = t.lock(i);
            assert_eq!(t.insert(&mut bucket, i, ()), i < 100);
        }
        assert_eq!((t.count(), t.overflow()), (100, 50));
        assert_eq!(t.budget().held(), 100 * R);
        Ok(())
    }

    /// Filled, emptied and filled again, the table holds what its records
    /// need, not what it once held.
    #[test]
    fn gives_memory_back_when_records_go() -> Result {
        let t = table(1000)?;
        for round in 0..3 {
            for i in 0..1000u64 {
                let mut bucket = t.lock(i % 7);
                assert!(t.insert(&mut bucket, i, ()));
            }
            assert_eq!(
                (round, t.count(), t.budget().held()),
                (round, 1000, 1000 * R)
            );
            for b in 0..7 {
                let mut bucket = t.lock(b);
                t.retain(&mut bucket, |&r, ()| r % 2 == 0);
            }
            assert_eq!((round, t.count()), (round, 500));
            for b in 0..7 {
                let mut bucket = t.lock(b);
                t.retain(&mut bucket, |_, ()| false);
            }
            assert_eq!((round, t.count(), t.budget().held()), (round, 0, 0));
        }
        Ok(())
    }

    #[test]
    fn finds_and_removes_records_under_the_bucket_lock() -> Result {
        let t = table(100)?;
        for i in 0..64u64 {
            let mut bucket = t.lock(i * 7);
            t.insert(&mut bucket, i * 7, ());
        }
        let mut bucket = t.lock(21);
        assert!(bucket.iter().any(|(&r, ())| r == 21));
        assert!(t.remove_first(&mut bucket, |&r, ()| r == 21));
        assert!(!bucket.iter().any(|(&r, ())| r == 21));
        assert!(!t.remove_first(&mut bucket, |&r, ()| r == 99));
        drop(bucket);
        assert_eq!(t.count(), 63);
        Ok(())
    }

    /// Readers see the records' shared parts under RCU alone, newest
    /// first, and no longer those removed.
    #[test]
    fn readers_see_the_records_without_the_lock() -> Result {
        let t = table(100)?;
        for i in [3u64, 67, 131] {
            let mut bucket = t.lock(3);
            t.insert(&mut bucket, i, ());
        }
        let guard = rcu::read_lock();
        let rcu = ReadSide::of(&guard);
        let mut seen = [0u64; 3];
        for (slot, r) in seen.iter_mut().zip(t.read(3, &rcu)) {
            *slot = *r;
        }
        assert_eq!(seen, [131, 67, 3]);
        drop(guard);
        let mut bucket = t.lock(3);
        t.remove_first(&mut bucket, |&r, ()| r == 67);
        drop(bucket);
        let guard = rcu::read_lock();
        let rcu = ReadSide::of(&guard);
        assert_eq!(t.read(3, &rcu).count(), 2);
        assert!(!t.read(3, &rcu).any(|&r| r == 67));
        Ok(())
    }
}

#[kernel::macros::kunit_tests(netatop_rcu)]
mod rcu_ptr {
    use crate::wrap::rcu::{self, RcuBox, RcuPtr, ReadSide};
    use kernel::prelude::*;
    use kernel::sync::atomic::{Atomic, Relaxed};

    /// Counts its drops in the counter it points to.
    struct Counted(&'static Atomic<usize>, u32);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.add(1, Relaxed);
        }
    }

    /// A value replaced is dropped once, after a grace period; the one
    /// held when the pointer goes, with it.
    #[test]
    fn replaced_values_are_dropped_after_a_grace_period() -> Result {
        static DROPS: Atomic<usize> = Atomic::new(0);
        let p = RcuPtr::new();
        p.replace(Some(RcuBox::new(Counted(&DROPS, 1), GFP_KERNEL)?));
        let guard = kernel::sync::rcu::read_lock();
        let rcu = ReadSide::of(&guard);
        assert_eq!(p.get(&rcu).map(|c| c.1), Some(1));
        drop(guard);
        p.replace(Some(RcuBox::new(Counted(&DROPS, 2), GFP_KERNEL)?));
        rcu::barrier();
        assert_eq!(DROPS.load(Relaxed), 1);
        p.replace(None);
        let guard = kernel::sync::rcu::read_lock();
        assert!(p.get(&ReadSide::of(&guard)).is_none());
        drop(guard);
        rcu::barrier();
        assert_eq!(DROPS.load(Relaxed), 2);
        p.replace(Some(RcuBox::new(Counted(&DROPS, 3), GFP_KERNEL)?));
        drop(p);
        assert_eq!(DROPS.load(Relaxed), 3);
        Ok(())
    }
}

#[kernel::macros::kunit_tests(netatop_hash)]
mod hash {
    use crate::hash_key::HashKey;

    #[test]
    fn random_keys_differ() {
        let words = [1u64, 2, 3];
        let hashes: [u64; 4] = core::array::from_fn(|_| HashKey::random().hash(&words));
        assert!(hashes.iter().any(|&h| h != hashes[0]));
    }
}

#[kernel::macros::kunit_tests(netatop_quota)]
mod quota {
    use crate::logic::key::{KeyParts, Proto, SockKey};
    use crate::logic::packet::Family;
    use crate::quota::{QuotaFull, Unowned, PORT_SLOTS, SLOTS};

    fn key(net: u64, local_port: u16) -> SockKey {
        KeyParts {
            net,
            proto: Proto::Udp,
            family: Family::Ipv4,
            local_port,
            remote_port: 0,
            local: [0; 16],
            remote: [0; 16],
        }
        .into()
    }

    #[test]
    fn a_namespace_gets_a_quarter_and_all_together_half() {
        let (a, b, c) = (key(1, 7), key(2, 7), key(3, 7));
        let q = Unowned::new(400);
        assert!((0..100).all(|_| q.admit(&a).is_ok()));
        assert_eq!(q.admit(&a), Err(QuotaFull::Namespace));
        // Cookies equal modulo SLOTS share a counter.
        assert_eq!(
            q.admit(&key(1 + SLOTS as u64, 7)),
            Err(QuotaFull::Namespace)
        );
        assert!((0..100).all(|_| q.admit(&b).is_ok()));
        assert_eq!(q.count(), 200);
        // Half the table is unowned: nobody gets more.
        assert_eq!(q.admit(&c), Err(QuotaFull::Table));
        q.release(&a);
        assert!(q.admit(&c).is_ok());
        assert_eq!(q.admit(&a), Err(QuotaFull::Table));
        assert_eq!(q.count(), 200);
    }

    #[test]
    fn who_may_give_way() {
        let (a, b) = (key(1, 7), key(2, 7));
        // A full namespace share: only a record of the same counter.
        assert!(Unowned::may_replace(
            QuotaFull::Namespace,
            &a,
            &key(1 + SLOTS as u64, 9)
        ));
        assert!(!Unowned::may_replace(QuotaFull::Namespace, &b, &a));
        // A full table: any record.
        assert!(Unowned::may_replace(QuotaFull::Table, &b, &a));
    }

    #[test]
    fn tells_the_ports_that_have_unowned_records() {
        let q = Unowned::new(400);
        let port = 5353;
        assert!(!q.may_have_port(port));
        assert!(q.admit(&key(1, port)).is_ok());
        assert!(q.admit(&key(2, port)).is_ok());
        assert!(q.may_have_port(port));
        assert!(!q.may_have_port(port + 1));
        // Ports equal modulo PORT_SLOTS share a counter.
        assert!(q.may_have_port(port + PORT_SLOTS as u16));
        q.release(&key(1, port));
        assert!(q.may_have_port(port));
        q.release(&key(2, port));
        assert!(!q.may_have_port(port));
        // A refused record is not counted.
        let full = Unowned::new(4);
        assert!(full.admit(&key(1, 1)).is_ok());
        assert!(full.admit(&key(1, 2)).is_err());
        assert!(!full.may_have_port(2));
    }
}

#[kernel::macros::kunit_tests(netatop_task)]
mod task {
    use crate::wrap::{sync, task};

    /// The current task as `task` reads it (inline, on x86-64) is the one
    /// the kernel crate knows.
    #[test]
    fn current_ids_are_the_running_tasks() {
        let ids = task::current_ids();
        let me = kernel::current!();
        assert_eq!(ids.tid, me.pid());
        assert_eq!(ids.tgid, me.group_leader().pid());
        // KUnit runs each case in a kernel thread of its own, which leads
        // its group.
        assert_eq!(ids.tid, ids.tgid);
        assert_eq!(ids.process_start, ids.thread_start);
        assert!(ids.thread_start > 0);
    }

    /// A task with bottom halves off does not run on its own behalf
    /// (`in_interrupt()`), with them on again it does.
    #[test]
    fn bottom_halves_off_is_not_process_context() {
        assert!(task::in_process_context());
        assert!(task::current_in_process_context().is_some());
        {
            let _bh = sync::bh_off();
            assert!(!task::in_process_context());
            assert!(task::current_in_process_context().is_none());
        }
        assert!(task::in_process_context());
    }
}
