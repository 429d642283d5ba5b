// SPDX-License-Identifier: GPL-2.0

//! Sockets nobody owns yet bound to the task that reads from them, which
//! is charged what they parked.

#![forbid(unsafe_code)]

use super::State;
use crate::logic::key::SocketId;
use crate::logic::packet::Family;
use crate::tasks;
use crate::wrap::recv_probe::{InetSocket, ReadObserver};
use crate::wrap::sync::{self, BhOff};
use crate::wrap::task;

impl ReadObserver for State {
    /// Whether a read may bind a socket: only a socket without an owner
    /// binds, so with none in the table a read costs nothing more than
    /// this test.
    #[inline(always)]
    fn wants_reads(&self) -> bool {
        self.unowned.count() > 0
    }

    /// Whether a read from a socket of `local_port` may bind it: not if
    /// no socket without an owner has that port, nor if the read is not
    /// the task's own.
    fn wants_read(&self, local_port: impl FnOnce() -> u16) -> bool {
        self.unowned.may_have_port(local_port()) && task::in_process_context()
    }

    /// A task read from a socket: a socket without an owner binds to it,
    /// and what was parked on it is charged to it.
    fn read(&self, sk: &InetSocket) {
        let id = SocketId {
            net: sk.net,
            tcp: sk.tcp,
            family: if sk.ipv6 { Family::Ipv6 } else { Family::Ipv4 },
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
            let mut bucket = self.socks.lock_within(self.hash_key.hash(key.words()), bh);
            let Some((shared, record)) = bucket.find_mut(|s, _| s.key == key) else {
                continue;
            };
            if let Some(c) = record.bind(reader) {
                self.unowned.release(&key);
                self.stats.unpark(c.parked.packets());
                self.charge(&shared.cells, key.proto(), &c, true, &bh.read_side());
            }
        }
    }
}
