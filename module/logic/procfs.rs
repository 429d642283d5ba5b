// SPDX-License-Identifier: GPL-2.0

//! The text of `/proc/netatop`.
//!
//! Pure logic, shared with the host tests. The first block of lines is the
//! original netatop layout, which scripts parse; lines added since come
//! after it.

use core::fmt;

/// Version shown in the `modversion` line.
pub const MODVERSION: &str = "4.0";

/// Packet counters of one protocol in one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counted {
    /// All packets seen.
    pub packets: u64,
    /// Packets that could not be charged to a task.
    pub unident: u64,
}

/// Everything `/proc/netatop` shows, read at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub tcp_snd: Counted,
    pub tcp_rcv: Counted,
    pub udp_snd: Counted,
    pub udp_rcv: Counted,
    pub icmp_snd: u64,
    pub icmp_rcv: u64,
    /// Packets of other protocols, or with headers that did not parse.
    pub unknown: u64,
    /// Of all packets above, those that were IPv6.
    pub ipv6_packets: u64,
    /// TCP and UDP packets held on sockets that have no owner yet: later
    /// charged to the first task that sends on the socket, or counted as
    /// unidentified when the socket record expires.
    pub parked: u64,
    pub sockinfo: u64,
    pub sockinfo_overflow: u64,
    pub taskinfo: u64,
    pub taskinfo_overflow: u64,
    pub taskexit: u64,
    /// Socket records without an owner, those refused by their quota, and
    /// those that gave way to new ones.
    pub unowned: u64,
    pub unowned_refused: u64,
    pub unowned_replaced: u64,
    /// Bytes the socket records hold, and their bound.
    pub sockmem: u64,
    pub sockmem_bound: u64,
    /// Bytes the task records and exited processes hold, and their bound.
    pub taskmem: u64,
    pub taskmem_bound: u64,
}

impl fmt::Display for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let proto = |f: &mut fmt::Formatter<'_>, name: &str, c: &Counted| {
            writeln!(
                f,
                "{:<14}{:>12} (unident: {:>9})",
                name, c.packets, c.unident
            )
        };
        proto(f, "tcpsndpacks:", &self.tcp_snd)?;
        proto(f, "tcprcvpacks:", &self.tcp_rcv)?;
        proto(f, "udpsndpacks:", &self.udp_snd)?;
        proto(f, "udprcvpacks:", &self.udp_rcv)?;
        writeln!(f)?;
        writeln!(f, "{:<14}{:>12}", "icmpsndpacks:", self.icmp_snd)?;
        writeln!(f, "{:<14}{:>12}", "icmprcvpacks:", self.icmp_rcv)?;
        writeln!(f)?;
        let table = |f: &mut fmt::Formatter<'_>, name: &str, n: u64, ovf: u64| {
            writeln!(f, "{:<14}{:>12} (overflow: {:>8})", name, n, ovf)
        };
        table(f, "#sockinfo:", self.sockinfo, self.sockinfo_overflow)?;
        table(f, "#taskinfo:", self.taskinfo, self.taskinfo_overflow)?;
        writeln!(f, "{:<14}{:>12}", "#taskexit:", self.taskexit)?;
        writeln!(f)?;
        writeln!(f, "{:<14}{:>14}", "modversion:", MODVERSION)?;
        // Additions to the original layout.
        writeln!(f)?;
        writeln!(f, "{:<14}{:>12}", "unknownpacks:", self.unknown)?;
        writeln!(f, "{:<14}{:>12}", "ipv6packs:", self.ipv6_packets)?;
        writeln!(f, "{:<14}{:>12}", "parkedpacks:", self.parked)?;
        let mem = |f: &mut fmt::Formatter<'_>, name: &str, n: u64, bound: u64| {
            writeln!(f, "{:<14}{:>12} (bound: {:>11})", name, n, bound)
        };
        writeln!(
            f,
            "{:<14}{:>12} (refused: {:>9}, replaced: {:>9})",
            "unownedsocks:", self.unowned, self.unowned_refused, self.unowned_replaced
        )?;
        mem(f, "sockmem:", self.sockmem, self.sockmem_bound)?;
        mem(f, "taskmem:", self.taskmem, self.taskmem_bound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::format;

    #[test]
    fn layout_matches_the_original_then_extends_it() {
        let s = Snapshot {
            tcp_snd: Counted {
                packets: 10,
                unident: 1,
            },
            tcp_rcv: Counted {
                packets: 20,
                unident: 2,
            },
            udp_snd: Counted {
                packets: 30,
                unident: 3,
            },
            udp_rcv: Counted {
                packets: 40,
                unident: 4,
            },
            icmp_snd: 5,
            icmp_rcv: 6,
            unknown: 7,
            ipv6_packets: 8,
            parked: 15,
            sockinfo: 9,
            sockinfo_overflow: 11,
            taskinfo: 12,
            taskinfo_overflow: 13,
            taskexit: 14,
            unowned: 16,
            unowned_refused: 17,
            unowned_replaced: 18,
            sockmem: 4096,
            sockmem_bound: 4194304,
            taskmem: 0,
            taskmem_bound: 2097152,
        };
        let expect = "\
tcpsndpacks:            10 (unident:         1)
tcprcvpacks:            20 (unident:         2)
udpsndpacks:            30 (unident:         3)
udprcvpacks:            40 (unident:         4)

icmpsndpacks:            5
icmprcvpacks:            6

#sockinfo:               9 (overflow:       11)
#taskinfo:              12 (overflow:       13)
#taskexit:              14

modversion:              4.0

unknownpacks:            7
ipv6packs:               8
parkedpacks:            15
unownedsocks:           16 (refused:        17, replaced:        18)
sockmem:              4096 (bound:     4194304)
taskmem:                 0 (bound:     2097152)
";
        assert_eq!(format!("{s}"), expect);
    }
}
