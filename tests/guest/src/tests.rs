//! The tests, in the order they run. Later tests rely on the module state
//! earlier ones leave (loaded or not), which each test states.

use crate::sys::*;
use netatop_logic::abi::{self, NetPerTask};
use std::collections::HashMap;
use std::net::UdpSocket;
use std::time::Duration;

pub type Test = (&'static str, fn() -> Check);

pub fn all() -> Vec<Test> {
    vec![
        ("probe_without_module_is_enoprotoopt", probe_without_module_is_enoprotoopt),
        ("module_loads_and_creates_proc_netatop", module_loads_and_creates_proc_netatop),
        ("proc_netatop_has_the_original_layout", proc_netatop_has_the_original_layout),
        ("proc_counts_udp_v4_and_v6_loopback_packets_exactly", proc_counts_udp_loopback_exactly),
        ("probe_as_root_succeeds", probe_as_root_succeeds),
        ("probe_without_cap_net_admin_is_eperm", probe_without_cap_net_admin_is_eperm),
        ("probe_as_unprivileged_user_is_eperm", probe_as_unprivileged_user_is_eperm),
        ("load_unload_20_times_without_leak", load_unload_20_times_without_leak),
        ("module_unloads_cleanly", module_unloads_cleanly),
    ]
}

fn expect_errno<T>(what: &str, r: std::io::Result<T>, want: i32) -> Check {
    match errno(&r) {
        Some(e) if e == want => Ok(()),
        Some(e) => Err(format!("{what}: errno {e}, expected {want}")),
        None => Err(format!("{what}: succeeded, expected errno {want}")),
    }
}

/// Module not loaded: atop's PROBE must fail with ENOPROTOOPT, which is how
/// atop learns that netatop is absent.
fn probe_without_module_is_enoprotoopt() -> Check {
    if module_loaded() {
        return Err("module already loaded".into());
    }
    let s = control_socket().map_err(|e| e.to_string())?;
    expect_errno("PROBE", netatop_cmd(&s, abi::NETATOP_PROBE), libc::ENOPROTOOPT)
}

fn module_loads_and_creates_proc_netatop() -> Check {
    load_module("")?;
    if !module_loaded() {
        return Err("netatop not in /proc/modules after insmod".into());
    }
    std::fs::metadata("/proc/netatop").map_err(|e| format!("/proc/netatop: {e}"))?;
    Ok(())
}

/// The labels of /proc/netatop in their original order, then ours.
const PROC_LABELS: [&str; 13] = [
    "tcpsndpacks:",
    "tcprcvpacks:",
    "udpsndpacks:",
    "udprcvpacks:",
    "icmpsndpacks:",
    "icmprcvpacks:",
    "#sockinfo:",
    "#taskinfo:",
    "#taskexit:",
    "modversion:",
    "unknownpacks:",
    "ipv6packs:",
    "",
];

fn read_proc() -> Result<String, String> {
    std::fs::read_to_string("/proc/netatop").map_err(|e| format!("/proc/netatop: {e}"))
}

/// The first number after each label, and the one after `(unident:`.
fn proc_values() -> Result<HashMap<String, u64>, String> {
    let mut v = HashMap::new();
    for line in read_proc()?.lines() {
        let tok: Vec<&str> = line.split_whitespace().collect();
        if tok.len() >= 2 {
            if let Ok(n) = tok[1].parse() {
                v.insert(tok[0].to_string(), n);
            }
        }
        if tok.len() >= 4 && tok[2] == "(unident:" {
            let n = tok[3].trim_end_matches(')').parse().map_err(|_| line.to_string())?;
            v.insert(format!("{}unident", tok[0]), n);
        }
    }
    Ok(v)
}

fn proc_netatop_has_the_original_layout() -> Check {
    let text = read_proc()?;
    let lines: Vec<&str> = text.lines().collect();
    let labels: Vec<&str> = lines.iter().filter_map(|l| l.split_whitespace().next()).collect();
    if labels != PROC_LABELS[..12] {
        return Err(format!("labels {labels:?}\n{text}"));
    }
    // Blank lines separate the groups exactly as in the original.
    let blanks: Vec<usize> = lines.iter().enumerate().filter(|l| l.1.is_empty()).map(|l| l.0).collect();
    if blanks != [4, 7, 11, 13] {
        return Err(format!("blank lines at {blanks:?}\n{text}"));
    }
    if lines[0].len() != "tcpsndpacks:  ".len() + 12 + " (unident: ".len() + 9 + 1 {
        return Err(format!("first line {:?} is not 14+12 columns wide", lines[0]));
    }
    if lines[12] != "modversion:              4.0" {
        return Err(format!("modversion line {:?}", lines[12]));
    }
    Ok(())
}

/// Sends `n` datagrams from one loopback socket to another and reads them.
fn udp_exchange(local: &str, n: usize, size: usize) -> Check {
    let rx = UdpSocket::bind(local).map_err(|e| format!("bind {local}: {e}"))?;
    let tx = UdpSocket::bind(local).map_err(|e| format!("bind {local}: {e}"))?;
    rx.set_read_timeout(Some(Duration::from_secs(5))).map_err(|e| e.to_string())?;
    let to = rx.local_addr().map_err(|e| e.to_string())?;
    let payload = vec![0x5a; size];
    let mut buf = vec![0; size + 1];
    for i in 0..n {
        tx.send_to(&payload, to).map_err(|e| format!("send {i}: {e}"))?;
        let got = rx.recv(&mut buf).map_err(|e| format!("recv {i}: {e}"))?;
        if got != size {
            return Err(format!("datagram {i}: {got} bytes, expected {size}"));
        }
    }
    Ok(())
}

fn proc_counts_udp_loopback_exactly() -> Check {
    let before = proc_values()?;
    udp_exchange("127.0.0.1:0", 10, 100)?;
    udp_exchange("[::1]:0", 7, 1200)?;
    let after = proc_values()?;
    let delta = |k: &str| after[k] - before[k];
    let got = [
        ("udpsndpacks:", delta("udpsndpacks:")),
        ("udprcvpacks:", delta("udprcvpacks:")),
        ("ipv6packs:", delta("ipv6packs:")),
        ("tcpsndpacks:", delta("tcpsndpacks:")),
    ];
    let want = [
        ("udpsndpacks:", 17),
        ("udprcvpacks:", 17),
        ("ipv6packs:", 14),
        ("tcpsndpacks:", 0),
    ];
    if got != want {
        return Err(format!("deltas {got:?}, expected {want:?}"));
    }
    Ok(())
}

fn probe_as_root_succeeds() -> Check {
    let s = control_socket().map_err(|e| e.to_string())?;
    netatop_cmd(&s, abi::NETATOP_PROBE).map_err(|e| format!("PROBE: {e}"))?;
    // A buffer, as some callers pass one, does not matter to PROBE.
    let mut npt = NetPerTask::default();
    netatop_get(&s, abi::NETATOP_PROBE, &mut npt, 96).map_err(|e| format!("PROBE with buffer: {e}"))?;
    Ok(())
}

/// Root without CAP_NET_ADMIN in its effective set is refused.
fn probe_without_cap_net_admin_is_eperm() -> Check {
    const CAP_NET_RAW: u32 = 13;
    in_child(|| {
        let s = control_socket().map_err(|e| e.to_string())?;
        drop_effective_capabilities(&[CAP_NET_RAW])?;
        expect_errno("PROBE", netatop_cmd(&s, abi::NETATOP_PROBE), libc::EPERM)?;
        let mut npt = NetPerTask { id: 1, ..Default::default() };
        expect_errno(
            "GETCNT_TGID",
            netatop_get(&s, abi::NETATOP_GETCNT_TGID, &mut npt, 96),
            libc::EPERM,
        )
    })
}

fn probe_as_unprivileged_user_is_eperm() -> Check {
    in_child(|| {
        setuid_nobody()?;
        let s = control_socket().map_err(|e| e.to_string())?;
        expect_errno("PROBE", netatop_cmd(&s, abi::NETATOP_PROBE), libc::EPERM)
    })
}

const KMEMLEAK: &str = "/sys/kernel/debug/kmemleak";

/// Reports what kmemleak finds after a full scan. Objects must be older
/// than kmemleak's minimum age (5 s) to be reported.
fn kmemleak_report() -> Result<String, String> {
    std::thread::sleep(Duration::from_secs(6));
    write_file(KMEMLEAK, "scan")?;
    write_file(KMEMLEAK, "scan")?;
    std::fs::read_to_string(KMEMLEAK).map_err(|e| format!("{KMEMLEAK}: {e}"))
}

/// Loads and unloads the module 20 times with traffic in between; the
/// kernel must report no leak (the host also checks the log for splats).
fn load_unload_20_times_without_leak() -> Check {
    // Forget what was allocated before, including during boot.
    let _ = kmemleak_report()?;
    write_file(KMEMLEAK, "clear")?;
    for i in 0..20 {
        unload_module().map_err(|e| format!("round {i}: {e}"))?;
        udp_exchange("127.0.0.1:0", 2, 10)?;
        load_module("").map_err(|e| format!("round {i}: {e}"))?;
        udp_exchange("[::1]:0", 2, 10)?;
        let s = control_socket().map_err(|e| e.to_string())?;
        netatop_cmd(&s, abi::NETATOP_PROBE).map_err(|e| format!("round {i}: PROBE {e}"))?;
        read_proc()?;
    }
    let leaks = kmemleak_report()?;
    if !leaks.trim().is_empty() {
        return Err(format!("kmemleak reports:\n{leaks}"));
    }
    Ok(())
}

fn module_unloads_cleanly() -> Check {
    unload_module()?;
    if module_loaded() {
        return Err("still in /proc/modules".into());
    }
    if std::fs::metadata("/proc/netatop").is_ok() {
        return Err("/proc/netatop still exists".into());
    }
    probe_without_module_is_enoprotoopt()
}
