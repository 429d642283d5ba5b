//! Talking to the module the way atop and netatopd do, and reading what
//! the kernel says about tasks and traffic.

use crate::sys::*;
use netatop_client::{abi, NetPerTask};
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::unistd::{alarm, sysconf, SysconfVar};
use std::collections::HashMap;

/// GETCNT_TGID or GETCNT_PID for `id` with a full buffer.
pub fn getcnt(cmd: i32, id: i32) -> std::io::Result<NetPerTask> {
    let s = control_socket()?;
    let mut npt = NetPerTask {
        id,
        ..Default::default()
    };
    let len = s.get(cmd, &mut npt, 96)?;
    assert_eq!(len, 96, "returned length");
    Ok(npt)
}

/// The counters of process `pid`, or why not.
pub fn process(pid: i32) -> Result<NetPerTask, String> {
    getcnt(abi::NETATOP_GETCNT_TGID, pid).map_err(|e| format!("GETCNT_TGID {pid}: {e}"))
}

/// The counters of thread `tid`, or why not.
pub fn thread(tid: i32) -> Result<NetPerTask, String> {
    getcnt(abi::NETATOP_GETCNT_PID, tid).map_err(|e| format!("GETCNT_PID {tid}: {e}"))
}

/// FORCE_GC: returns once a garbage collection that started after the
/// call has completed.
pub fn force_gc() -> Check {
    let s = control_socket().map_err(|e| e.to_string())?;
    s.command(abi::NETATOP_FORCE_GC)
        .map_err(|e| format!("FORCE_GC: {e}"))
}

extern "C" fn on_alarm(_: libc::c_int) {}

/// Makes SIGALRM interrupt system calls (no SA_RESTART) without killing.
pub fn catch_alarm() {
    let action = SigAction::new(
        SigHandler::Handler(on_alarm),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: The handler does nothing, so it is async-signal-safe.
    unsafe { sigaction(Signal::SIGALRM, &action) }.expect("sigaction");
}

/// GETCNT_EXIT with a timeout: `Ok(None)` if nothing came within `secs`
/// (the call was interrupted with EINTR, as it must be).
pub fn getcnt_exit(secs: u32) -> Result<Option<NetPerTask>, String> {
    catch_alarm();
    let s = control_socket().map_err(|e| e.to_string())?;
    let mut npt = NetPerTask::default();
    alarm::set(secs);
    let r = s.get(abi::NETATOP_GETCNT_EXIT, &mut npt, 96);
    alarm::cancel();
    match r {
        Ok(96) => Ok(Some(npt)),
        Ok(n) => Err(format!("GETCNT_EXIT returned length {n}")),
        Err(e) if e.raw_os_error() == Some(libc::EINTR) => Ok(None),
        Err(e) => Err(format!("GETCNT_EXIT: {e}")),
    }
}

/// Takes every exited process the module holds (after a GC), so a test
/// starts from an empty exit list; returns them.
pub fn drain_exits() -> Result<Vec<NetPerTask>, String> {
    force_gc()?;
    let mut all = Vec::new();
    while let Some(npt) = getcnt_exit(1)? {
        all.push(npt);
    }
    Ok(all)
}

/// The command of a record as text.
pub fn command(npt: &NetPerTask) -> String {
    let bytes: Vec<u8> = npt
        .command
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The start time of `pid` in seconds since the epoch, computed from
/// /proc the way atop does: boot time from /proc/stat plus the start time
/// in clock ticks from /proc/PID/stat divided by the tick rate.
pub fn btime_of(pid: i32) -> Result<u64, String> {
    let stat = std::fs::read_to_string("/proc/stat").map_err(|e| e.to_string())?;
    let boot: u64 = stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
        .ok_or("no btime in /proc/stat")?;
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| e.to_string())?;
    let after = &s[s.rfind(')').ok_or("bad stat")? + 2..];
    let ticks: u64 = after
        .split_whitespace()
        .nth(19)
        .and_then(|v| v.parse().ok())
        .ok_or("no starttime")?;
    let hz = sysconf(SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .ok_or("no clock tick rate")? as u64;
    Ok(boot + ticks / hz)
}

/// Fields of /proc/net/snmp (and snmp6) as "Tcp:InSegs" -> value.
pub fn snmp() -> Result<HashMap<String, u64>, String> {
    snmp_of("self")
}

/// The same for the network namespace of process `pid` ("self": ours).
pub fn snmp_of(pid: &str) -> Result<HashMap<String, u64>, String> {
    let mut m = HashMap::new();
    let text =
        std::fs::read_to_string(format!("/proc/{pid}/net/snmp")).map_err(|e| e.to_string())?;
    add_pairs(&text, &mut m);
    let text6 =
        std::fs::read_to_string(format!("/proc/{pid}/net/snmp6")).map_err(|e| e.to_string())?;
    for l in text6.lines() {
        let mut it = l.split_whitespace();
        if let (Some(k), Some(v)) = (it.next(), it.next()) {
            if let Ok(x) = v.parse() {
                m.insert(k.to_string(), x);
            }
        }
    }
    Ok(m)
}

/// Fields of /proc/net/netstat as "TcpExt:ListenOverflows" -> value.
pub fn netstat() -> Result<HashMap<String, u64>, String> {
    let mut m = HashMap::new();
    let text = std::fs::read_to_string("/proc/self/net/netstat").map_err(|e| e.to_string())?;
    add_pairs(&text, &mut m);
    Ok(m)
}

/// Adds the values of a file of line pairs, names then values, each line
/// led by its group ("Tcp:"), to `m` as "Tcp:InSegs" -> value.
fn add_pairs(text: &str, m: &mut HashMap<String, u64>) {
    let lines: Vec<&str> = text.lines().collect();
    for pair in lines.chunks(2) {
        if let [names, values] = pair {
            let mut n = names.split_whitespace();
            let mut v = values.split_whitespace();
            let proto = n.next().unwrap_or("");
            v.next();
            for (name, value) in n.zip(v) {
                if let Ok(x) = value.parse() {
                    m.insert(format!("{proto}{name}"), x);
                }
            }
        }
    }
}

/// The first number after each label of /proc/netatop, and those in the
/// parentheses after it by their names: `#sockinfo: 3 (overflow: 0)` gives
/// "#sockinfo:" 3 and "#sockinfo:overflow" 0.
pub fn proc_values() -> Result<HashMap<String, u64>, String> {
    let text =
        std::fs::read_to_string("/proc/netatop").map_err(|e| format!("/proc/netatop: {e}"))?;
    let mut v = HashMap::new();
    for line in text.lines() {
        let tok: Vec<&str> = line.split_whitespace().collect();
        if tok.len() >= 2 {
            if let Ok(n) = tok[1].parse() {
                v.insert(tok[0].to_string(), n);
            }
        }
        // "(unident: N)", "(refused: N, replaced: N)".
        if !tok.get(2).is_some_and(|t| t.starts_with('(')) {
            continue;
        }
        for pair in tok[2..].chunks_exact(2) {
            let name = pair[0].trim_start_matches('(').trim_end_matches(':');
            let n = pair[1]
                .trim_end_matches([')', ','])
                .parse()
                .map_err(|_| line.to_string())?;
            v.insert(format!("{}{}", tok[0], name), n);
        }
    }
    Ok(v)
}

/// Compares named values and says which differ.
pub fn expect_eq(what: &str, got: &[(&str, u64)], want: &[(&str, u64)]) -> Check {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, expected {want:?}"))
    }
}

/// The eight counters of a record, named.
pub fn counters(npt: &NetPerTask) -> Vec<(&'static str, u64)> {
    let t = &npt.tc;
    vec![
        ("tcpsndpacks", t.tcpsndpacks),
        ("tcpsndbytes", t.tcpsndbytes),
        ("tcprcvpacks", t.tcprcvpacks),
        ("tcprcvbytes", t.tcprcvbytes),
        ("udpsndpacks", t.udpsndpacks),
        ("udpsndbytes", t.udpsndbytes),
        ("udprcvpacks", t.udprcvpacks),
        ("udprcvbytes", t.udprcvbytes),
    ]
}

/// Expected counters: only UDP.
pub fn udp_only(snd: u64, snd_bytes: u64, rcv: u64, rcv_bytes: u64) -> Vec<(&'static str, u64)> {
    vec![
        ("tcpsndpacks", 0),
        ("tcpsndbytes", 0),
        ("tcprcvpacks", 0),
        ("tcprcvbytes", 0),
        ("udpsndpacks", snd),
        ("udpsndbytes", snd_bytes),
        ("udprcvpacks", rcv),
        ("udprcvbytes", rcv_bytes),
    ]
}

/// Wire bytes of one UDP datagram with `payload` bytes on loopback or
/// veth (both Ethernet-sized link headers: 14 bytes, plus 4 of FCS).
pub fn udp_wire(payload: u64, ipv6: bool) -> u64 {
    payload + 8 + if ipv6 { 40 } else { 20 } + 14 + 4
}

/// The calling thread's id.
pub fn gettid() -> i32 {
    nix::unistd::gettid().as_raw()
}
