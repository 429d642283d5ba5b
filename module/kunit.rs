// SPDX-License-Identifier: GPL-2.0

//! The module's KUnit suites: the record table under real BH locks.
//!
//! Built only into a test build of the module (`make module
//! NETATOP_KUNIT=1`); KUnit runs the suites when that module is loaded
//! into a kernel with `CONFIG_KUNIT=y`, and prints KTAP to the kernel log.

#[cfg(not(CONFIG_KUNIT))]
compile_error!("NETATOP_KUNIT=1 needs a kernel built with CONFIG_KUNIT=y");

#[kernel::macros::kunit_tests(netatop_table)]
mod table {
    use crate::table::{Budget, Table};
    use kernel::prelude::*;
    use kernel::sync::Arc;

    const R: usize = core::mem::size_of::<u64>();

    fn table(records: usize) -> Result<Table<u64>> {
        Table::new(
            Arc::new(Budget::new(records * R), GFP_KERNEL)?,
            R,
            c"netatop_test_bucket",
            kernel::static_lock_class!(),
        )
    }

    #[test]
    fn sizes_buckets_from_the_bound() -> Result {
        let t = table(1000)?;
        assert_eq!(t.budget().limit(), 1000 * R);
        assert_eq!(t.buckets(), 256);
        assert_eq!(table(10)?.buckets(), 64);
        Ok(())
    }

    /// 64 buckets: the first 64 records make chains of one, the next ones
    /// double chains to two until the memory bound is spent.
    #[test]
    fn refuses_records_beyond_the_memory_bound() -> Result {
        let t = table(100)?;
        for i in 0..150u64 {
            let mut chain = t.lock(i);
            let placed = t.insert(&mut chain, i).is_some();
            assert_eq!(placed, i < 100);
        }
        assert_eq!((t.count(), t.overflow()), (100, 50));
        assert_eq!(t.budget().held(), 100 * R);
        Ok(())
    }

    /// Filled, emptied and filled again, the table holds what its records
    /// need, not what it once held.
    #[test]
    fn gives_memory_back_when_records_go() -> Result {
        let t = table(2000)?;
        for round in 0..3 {
            for i in 0..1000u64 {
                let mut chain = t.lock(i % 7);
                t.insert(&mut chain, i);
            }
            // Seven chains of about 143 records: doubling gives 256 each.
            assert_eq!((round, t.count()), (round, 1000));
            assert!(t.budget().held() <= 7 * 256 * R);
            for b in 0..7 {
                let mut chain = t.lock(b);
                while !chain.is_empty() {
                    t.remove(&mut chain, 0);
                }
            }
            assert_eq!((round, t.count(), t.budget().held()), (round, 0, 0));
        }
        // A chain shrinks only once three quarters of it are unused.
        let mut chain = t.lock(3);
        for i in 0..8 {
            t.insert(&mut chain, i);
        }
        assert_eq!(chain.capacity(), 8);
        for _ in 0..5 {
            t.remove(&mut chain, 0);
        }
        assert_eq!(chain.capacity(), 8);
        t.remove(&mut chain, 0);
        assert_eq!((chain.len(), chain.capacity()), (2, 2));
        drop(chain);
        assert_eq!(t.budget().held(), 2 * R);
        Ok(())
    }

    #[test]
    fn finds_and_removes_records_under_the_bucket_lock() -> Result {
        let t = table(100)?;
        for i in 0..64u64 {
            let mut chain = t.lock(i * 7);
            t.insert(&mut chain, i * 7);
        }
        let mut chain = t.lock(21);
        let at = chain.iter().position(|&r| r == 21);
        assert!(at.is_some());
        assert_eq!(at.and_then(|i| t.remove(&mut chain, i)), Some(21));
        assert!(!chain.contains(&21));
        assert_eq!(t.remove(&mut chain, 99), None);
        drop(chain);
        assert_eq!(t.count(), 63);
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
