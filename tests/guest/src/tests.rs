//! The tests, in the order they run. Later tests rely on the module state
//! earlier ones leave (loaded or not), which each test states.

use crate::netatop::proc_values;
use crate::sys::*;
use netatop_client::{abi, NetPerTask};
use std::net::UdpSocket;
use std::time::Duration;

/// A test: its name, which is its function's, and the function.
pub type Test = (&'static str, fn() -> Check);

/// Registers a test function under its own name.
macro_rules! test {
    ($name:ident) => {
        (stringify!($name), $name as fn() -> Check)
    };
    ($module:ident :: $name:ident) => {
        (stringify!($name), $module::$name as fn() -> Check)
    };
}

pub fn all() -> Vec<Test> {
    use crate::{
        accounting as a, atop, badinput as b, daemon as d, exits as e, fuzz, lifecycle as l,
        tcp as t,
    };
    vec![
        test!(probe_without_module_is_enoprotoopt),
        test!(module_loads_and_creates_proc_netatop),
        test!(default_build_runs_no_kunit_suite),
        test!(kunit_suites_of_the_module_pass),
        test!(proc_netatop_has_the_original_layout),
        test!(proc_counts_udp_v4_and_v6_loopback_packets_exactly),
        test!(probe_as_root_succeeds),
        test!(probe_without_cap_net_admin_is_eperm),
        test!(probe_as_unprivileged_user_is_eperm),
        test!(a::udp_v4_loopback_counts_exact_per_process_and_thread),
        test!(a::udp_v6_loopback_counts_exact_per_process_and_thread),
        test!(a::udp_v6_behind_a_long_extension_header_counts_exact),
        test!(a::udp_v4_veth_between_namespaces_counts_exact),
        test!(a::udp_v6_veth_between_namespaces_counts_exact),
        test!(a::received_before_sent_is_charged_at_first_send),
        test!(a::a_socket_on_a_closed_sockets_port_is_taken_for_it_until_it_sends),
        test!(a::closed_port_flood_makes_no_records),
        test!(a::a_flood_gives_way_to_a_later_server),
        test!(a::one_namespace_cannot_fill_the_table_with_unowned_records),
        test!(a::receive_only_udp_v4_loopback_is_charged_to_the_reader),
        test!(a::receive_only_udp_v6_loopback_is_charged_to_the_reader),
        test!(a::receive_only_udp_v4_veth_is_charged_to_the_reader),
        test!(a::receive_only_udp_v6_veth_is_charged_to_the_reader),
        test!(a::readers_0_leaves_receive_only_sockets_parked),
        test!(l::readers_other_than_0_or_1_refuse_the_load),
        test!(a::uncounted_gso_udp_v4_counts_its_segments),
        test!(a::uncounted_gso_udp_v6_counts_its_segments),
        test!(a::reading_threads_sum_into_their_process),
        test!(a::thread_counters_sum_to_process),
        test!(a::socket_handover_to_forked_child),
        test!(t::tcp_v4_each_side_sends_what_the_peer_receives_and_totals_match_snmp),
        test!(t::tcp_v6_each_side_sends_what_the_peer_receives_and_totals_match_snmp),
        test!(t::tcp_over_threaded_napi_is_charged_to_the_processes),
        test!(t::tcp_connect_in_progress_keeps_its_record_through_a_gc),
        test!(e::exited_process_is_returned_once),
        test!(e::force_gc_soon_after_another_is_not_skipped),
        test!(e::empty_exit_waits_until_the_taker_acknowledges),
        test!(e::empty_exit_gives_up_on_a_dead_taker),
        test!(e::empty_exit_outlasts_a_caught_signal),
        test!(e::exit_after_a_force_gc_request_waits_for_the_next),
        test!(e::unread_exits_vanish_after_15_seconds),
        test!(e::reused_pid_is_a_new_process),
        test!(b::short_and_negative_lengths_are_einval),
        test!(b::long_lengths_are_clamped_and_reported),
        test!(b::bad_pointers_are_efault),
        test!(b::getcnt_exit_with_bad_buffer_loses_nothing),
        test!(b::stalled_getcnt_exit_copy_blocks_nobody),
        test!(b::unknown_task_is_esrch),
        test!(b::commands_outside_the_range_are_not_netatops),
        test!(b::every_command_needs_cap_net_admin),
        test!(a::unread_socket_becomes_unident_after_60_seconds),
        test!(atop::atop_shows_exact_process_and_thread_counters),
        test!(d::netatopd_second_instance_is_refused_with_status_2),
        test!(d::netatopd_no_exited_process_is_missed),
        test!(d::netatopd_log_is_recreated_when_readers_leave),
        test!(d::netatopd_recreates_a_removed_log),
        test!(d::netatopd_refuses_to_run_as_non_root),
        test!(d::netatopd_replaces_a_squatted_semaphore_set),
        test!(d::netatopd_restarts_after_kill_9),
        test!(d::netatopd_waits_for_the_module),
        test!(d::netatopd_full_file_system_skips_then_recovers),
        test!(d::netatopd_log_is_readable_by_root_only),
        test!(d::netatopd_detaches_fully_and_keeps_no_inherited_descriptor),
        test!(d::netatopd_reports_a_persistent_failure_once),
        test!(d::netatopd_starts_a_new_log_at_its_size_limit),
        test!(atop::atop_shows_a_receive_only_process),
        test!(atop::atop_shows_exited_process_counters_via_netatopd),
        test!(atop::atop_survives_a_netatopd_restart),
        test!(d::netatopd_stops_on_sigterm),
        test!(d::netatopd_relative_log_path_is_taken_from_the_working_directory),
        test!(l::unload_refused_while_a_caller_is_blocked),
        test!(l::unload_while_traffic_flows),
        test!(l::large_tables_are_freed_where_that_may_sleep),
        test!(l::tiny_limits_overflow_but_known_sockets_stay_exact),
        test!(l::memory_stays_within_the_bound_and_is_given_back),
        test!(l::exit_list_stays_within_the_task_memory_bound),
        test!(fuzz::interface_fuzz_under_load),
        test!(load_unload_100_times_under_load_without_leak),
        test!(module_unloads_cleanly),
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
    expect_errno("PROBE", s.command(abi::NETATOP_PROBE), libc::ENOPROTOOPT)
}

fn module_loads_and_creates_proc_netatop() -> Check {
    load_module("")?;
    if !module_loaded() {
        return Err("netatop not in /proc/modules after insmod".into());
    }
    std::fs::metadata("/proc/netatop").map_err(|e| format!("/proc/netatop: {e}"))?;
    Ok(())
}

/// The KTAP summary lines of netatop's KUnit suites in the kernel log.
fn kunit_summaries() -> Result<Vec<String>, String> {
    Ok(sh("dmesg")?
        .lines()
        .filter(|l| l.contains("# netatop_") && l.contains("pass:"))
        .map(str::to_string)
        .collect())
}

/// Loading the module as it is shipped runs no KUnit suite, whatever the
/// kernel's KUnit configuration (the suites are only in the test build).
/// Expects the module loaded once since boot.
fn default_build_runs_no_kunit_suite() -> Check {
    let log = sh("dmesg")?;
    match log.lines().find(|l| l.contains("netatop_table")) {
        Some(line) => Err(format!("a KUnit suite ran on a plain insmod: {line}")),
        None => Ok(()),
    }
}

/// The test build of the module (`make module NETATOP_KUNIT=1`) runs its
/// KUnit suites when loaded, and every one passes. Leaves the shipped
/// module loaded, as it found it.
fn kunit_suites_of_the_module_pass() -> Check {
    unload_module()?;
    sh("insmod /lib/modules/netatop-kunit.ko")?;
    let summaries = kunit_summaries();
    unload_module()?;
    load_module("")?;
    let summaries = summaries?;
    if summaries.is_empty() {
        return Err("no netatop KUnit summary in the kernel log".into());
    }
    match summaries.iter().find(|l| !l.contains("fail:0")) {
        Some(line) => Err(format!("KUnit: {line}")),
        None => Ok(()),
    }
}

/// The labels of /proc/netatop in their original order, then ours.
const PROC_LABELS: [&str; 16] = [
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
    "parkedpacks:",
    "unownedsocks:",
    "sockmem:",
    "taskmem:",
];

fn read_proc() -> Result<String, String> {
    std::fs::read_to_string("/proc/netatop").map_err(|e| format!("/proc/netatop: {e}"))
}

fn proc_netatop_has_the_original_layout() -> Check {
    let text = read_proc()?;
    let lines: Vec<&str> = text.lines().collect();
    let labels: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    if labels != PROC_LABELS {
        return Err(format!("labels {labels:?}\n{text}"));
    }
    // Blank lines separate the groups exactly as in the original.
    let blanks: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|l| l.1.is_empty())
        .map(|l| l.0)
        .collect();
    if blanks != [4, 7, 11, 13] {
        return Err(format!("blank lines at {blanks:?}\n{text}"));
    }
    if lines[0].len() != "tcpsndpacks:  ".len() + 12 + " (unident: ".len() + 9 + 1 {
        return Err(format!(
            "first line {:?} is not 14+12 columns wide",
            lines[0]
        ));
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
    rx.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    let to = rx.local_addr().map_err(|e| e.to_string())?;
    let payload = vec![0x5a; size];
    let mut buf = vec![0; size + 1];
    for i in 0..n {
        tx.send_to(&payload, to)
            .map_err(|e| format!("send {i}: {e}"))?;
        let got = rx.recv(&mut buf).map_err(|e| format!("recv {i}: {e}"))?;
        if got != size {
            return Err(format!("datagram {i}: {got} bytes, expected {size}"));
        }
    }
    Ok(())
}

fn proc_counts_udp_v4_and_v6_loopback_packets_exactly() -> Check {
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
    s.command(abi::NETATOP_PROBE)
        .map_err(|e| format!("PROBE: {e}"))?;
    // A buffer, as some callers pass one, does not matter to PROBE.
    let mut npt = NetPerTask::default();
    s.get(abi::NETATOP_PROBE, &mut npt, 96)
        .map_err(|e| format!("PROBE with buffer: {e}"))?;
    Ok(())
}

/// Root without CAP_NET_ADMIN in its effective set is refused.
fn probe_without_cap_net_admin_is_eperm() -> Check {
    const CAP_NET_RAW: u32 = 13;
    in_child(|| {
        let s = control_socket().map_err(|e| e.to_string())?;
        drop_effective_capabilities(&[CAP_NET_RAW])?;
        expect_errno("PROBE", s.command(abi::NETATOP_PROBE), libc::EPERM)?;
        let mut npt = NetPerTask {
            id: 1,
            ..Default::default()
        };
        expect_errno(
            "GETCNT_TGID",
            s.get(abi::NETATOP_GETCNT_TGID, &mut npt, 96),
            libc::EPERM,
        )
    })
}

fn probe_as_unprivileged_user_is_eperm() -> Check {
    in_child(|| {
        setuid_nobody()?;
        let s = control_socket().map_err(|e| e.to_string())?;
        expect_errno("PROBE", s.command(abi::NETATOP_PROBE), libc::EPERM)
    })
}

pub(crate) const KMEMLEAK: &str = "/sys/kernel/debug/kmemleak";

/// Reports what kmemleak finds after a full scan. Objects must be older
/// than kmemleak's minimum age (5 s) to be reported.
pub(crate) fn kmemleak_report() -> Result<String, String> {
    std::thread::sleep(Duration::from_secs(6));
    write_file(KMEMLEAK, "scan")?;
    write_file(KMEMLEAK, "scan")?;
    std::fs::read_to_string(KMEMLEAK).map_err(|e| format!("{KMEMLEAK}: {e}"))
}

/// 100 unload/load cycles while UDP flows both ways (IPv4 and IPv6) and a
/// process keeps calling into the module; every tenth cycle a caller
/// blocked in GETCNT_EXIT holds the module first (rmmod is refused) and is
/// then killed. The kernel must report no leak (the host also checks the
/// log for splats).
fn load_unload_100_times_under_load_without_leak() -> Check {
    use crate::child::{Child, Ctl};
    crate::netatop::drain_exits()?;
    // Forget what was allocated before, including during boot.
    let _ = kmemleak_report()?;
    write_file(KMEMLEAK, "clear")?;
    let mut flow = Child::spawn("cycle-traffic", crate::fuzz::traffic);
    flow.read();
    let mut callers = Child::spawn("cycle-callers", |ctl: &mut Ctl| {
        ctl.report("started");
        let me = std::process::id() as i32;
        loop {
            if let Ok(s) = control_socket() {
                let _ = s.command(abi::NETATOP_PROBE);
                let mut npt = NetPerTask {
                    id: me,
                    ..Default::default()
                };
                let _ = s.get(abi::NETATOP_GETCNT_TGID, &mut npt, 96);
            }
        }
    });
    callers.read();
    let t0 = std::time::Instant::now();
    for i in 0..100 {
        if i % 10 == 0 {
            let mut blocked = Child::spawn("cycle-blocked", |ctl: &mut Ctl| {
                let s = control_socket().expect("socket");
                ctl.report("calling");
                let mut npt = NetPerTask::default();
                let _ = s.get(abi::NETATOP_GETCNT_EXIT, &mut npt, 96);
            });
            blocked.read();
            std::thread::sleep(Duration::from_millis(200));
            if unload_module().is_ok() {
                return Err(format!("round {i}: rmmod succeeded under a blocked caller"));
            }
            drop(blocked);
        }
        // A call in progress holds the module for a moment: try again.
        let mut unloaded = false;
        for _ in 0..100 {
            if unload_module().is_ok() {
                unloaded = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        if !unloaded {
            return Err(format!("round {i}: rmmod kept failing"));
        }
        load_module("").map_err(|e| format!("round {i}: {e}"))?;
    }
    let took = t0.elapsed();
    drop(callers);
    drop(flow);
    udp_exchange("[::1]:0", 2, 10)?;
    read_proc()?;
    let leaks = kmemleak_report()?;
    if !leaks.trim().is_empty() {
        return Err(format!("kmemleak reports:\n{leaks}"));
    }
    println!("# 100 cycles in {:.1} s", took.as_secs_f64());
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
