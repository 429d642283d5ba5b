//! TCP: each side's sent packets are the peer's received packets, and the
//! module's totals add up with the kernel's own counters.

use crate::child::{Child, Ctl};
use crate::netatop::*;
use crate::sys::Check;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::Duration;

/// Reads until `want` bytes came or the peer closed; returns the count.
fn read_up_to(c: &mut TcpStream, want: usize) -> usize {
    let mut buf = vec![0u8; 65536];
    let mut got = 0;
    while got < want {
        match c.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    got
}

/// A server that accepts one connection, reads `up` bytes and answers
/// `down` bytes, in network namespace `netns` (ours if `None`); returns
/// it and its address.
fn tcp_server(
    listen: &str,
    netns: Option<&'static str>,
    up: usize,
    down: usize,
) -> Result<(Child, SocketAddr), String> {
    let listen: SocketAddr = listen.parse().unwrap();
    let mut server = Child::spawn("tcp-server", move |ctl: &mut Ctl| {
        if let Some(ns) = netns {
            crate::accounting::enter_netns(ns).expect("netns");
        }
        let l = TcpListener::bind(listen).expect("listen");
        ctl.report(&l.local_addr().expect("addr").port().to_string());
        let (mut c, _) = l.accept().expect("accept");
        let got = read_up_to(&mut c, up);
        c.write_all(&vec![0x71; down]).expect("write");
        drop(c);
        ctl.report(&format!("done {got}"));
        ctl.wait();
    });
    let port: u16 = server.read().parse().map_err(|_| "server did not start")?;
    let mut to = listen;
    to.set_port(port);
    Ok((server, to))
}

/// A client that sends `up` bytes to `to` and reads `down` bytes.
fn tcp_client(to: SocketAddr, up: usize, down: usize) -> Child {
    Child::spawn("tcp-client", move |ctl: &mut Ctl| {
        let mut c = TcpStream::connect(to).expect("connect");
        c.write_all(&vec![0x72; up]).expect("write");
        let got = read_up_to(&mut c, down);
        drop(c);
        ctl.report(&format!("done {got}"));
        ctl.wait();
    })
}

/// The kernel's counters of our namespace and, if the server is in
/// another, of the server's.
fn snmp_both(server: &Child, netns: Option<&str>) -> Result<HashMap<String, u64>, String> {
    let mut m = snmp()?;
    if netns.is_some() {
        for (k, v) in snmp_of(&server.pid.to_string())? {
            *m.entry(k).or_insert(0) += v;
        }
    }
    Ok(m)
}

fn tcp_conservation(listen: &str, netns: Option<&'static str>) -> Check {
    const UP: usize = 300_000;
    const DOWN: usize = 50_000;
    let (mut server, to) = tcp_server(listen, netns, UP, DOWN)?;
    let snmp0 = snmp_both(&server, netns)?;
    let proc0 = proc_values()?;
    let mut client = tcp_client(to, UP, DOWN);
    let (s, c) = (server.read(), client.read());
    if s != format!("done {UP}") || c != format!("done {DOWN}") {
        return Err(format!("transfer incomplete: server {s:?}, client {c:?}"));
    }
    // Let the closing handshake finish.
    std::thread::sleep(Duration::from_millis(500));
    let srv = process(server.pid)?;
    let cli = process(client.pid)?;
    let snmp1 = snmp_both(&server, netns)?;
    let proc1 = proc_values()?;

    // Per connection: what one side sent, the other received.
    let (st, ct) = (&srv.tc, &cli.tc);
    let pairs = [
        (
            "client sent / server received packets",
            ct.tcpsndpacks,
            st.tcprcvpacks,
        ),
        (
            "client sent / server received bytes",
            ct.tcpsndbytes,
            st.tcprcvbytes,
        ),
        (
            "server sent / client received packets",
            st.tcpsndpacks,
            ct.tcprcvpacks,
        ),
        (
            "server sent / client received bytes",
            st.tcpsndbytes,
            ct.tcprcvbytes,
        ),
    ];
    for (what, a, b) in pairs {
        if a != b || a == 0 {
            return Err(format!(
                "{what}: {a} vs {b}\nclient {:?}\nserver {:?}\nproc before {proc0:?}\nproc after {:?}",
                counters(&cli),
                counters(&srv),
                proc_values()?
            ));
        }
    }
    // Payload plus at least one header per packet went each way.
    if ct.tcpsndbytes < UP as u64 + 54 * ct.tcpsndpacks || st.tcpsndbytes < DOWN as u64 {
        return Err(format!(
            "bytes too small: client sent {}, server sent {}",
            ct.tcpsndbytes, st.tcpsndbytes
        ));
    }

    // Conservation: tasks + unidentified + parked = module totals = kernel.
    let d = |m: &HashMap<String, u64>, n: &HashMap<String, u64>, k: &str| {
        n.get(k).copied().unwrap_or(0) - m.get(k).copied().unwrap_or(0)
    };
    let tasks_snd = ct.tcpsndpacks + st.tcpsndpacks;
    let tasks_rcv = ct.tcprcvpacks + st.tcprcvpacks;
    let mod_snd = d(&proc0, &proc1, "tcpsndpacks:");
    let mod_rcv = d(&proc0, &proc1, "tcprcvpacks:");
    let unident_snd = d(&proc0, &proc1, "tcpsndpacks:unident");
    let unident_rcv = d(&proc0, &proc1, "tcprcvpacks:unident");
    let parked = d(&proc0, &proc1, "parkedpacks:");
    // The kernel counts segments sent in Tcp OutSegs (new) and RetransSegs
    // (again); its InSegs counts received packets before any GSO split, so
    // it is not comparable. All traffic is local: what was sent was
    // received.
    let kernel_snd = d(&snmp0, &snmp1, "Tcp:OutSegs") + d(&snmp0, &snmp1, "Tcp:RetransSegs");
    let got = [
        ("parked at the end", parked),
        ("sent: tasks+unident", tasks_snd + unident_snd),
        ("received: tasks+unident", tasks_rcv + unident_rcv),
        ("module sent", mod_snd),
        ("module received", mod_rcv),
    ];
    let want = [
        ("parked at the end", 0),
        ("sent: tasks+unident", mod_snd),
        ("received: tasks+unident", mod_rcv),
        ("module sent", kernel_snd),
        ("module received", kernel_snd),
    ];
    expect_eq("TCP conservation", &got, &want)?;
    if tasks_snd + tasks_rcv < kernel_snd * 2 * 9 / 10 {
        return Err(format!(
            "only {tasks_snd}+{tasks_rcv} of 2x{kernel_snd} packets charged to the two processes"
        ));
    }
    server.finish();
    client.finish();
    Ok(())
}

pub fn tcp_v4_each_side_sends_what_the_peer_receives_and_totals_match_snmp() -> Check {
    tcp_conservation("127.0.0.1:0", None)
}

pub fn tcp_v6_each_side_sends_what_the_peer_receives_and_totals_match_snmp() -> Check {
    tcp_conservation("[::1]:0", None)
}

/// The tasks whose name starts with `prefix`, as (tid, name).
fn threads_named(prefix: &str) -> Vec<(i32, String)> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.starts_with(prefix) {
            found.push((pid, comm.trim_end().to_string()));
        }
    }
    found
}

/// With GRO on a veth pair (and TSO off, or veth takes TCP past NAPI),
/// received packets are processed by NAPI; with
/// threaded NAPI that happens in a kernel thread with bottom halves
/// disabled, and the ACKs that arrive there make TCP send more data (and
/// ACKs) right there. Those packets are the two processes' own, not the
/// NAPI threads': each side still sends exactly what the peer receives,
/// and no NAPI thread has counters.
pub fn tcp_over_threaded_napi_is_charged_to_the_processes() -> Check {
    crate::accounting::veth_setup()?;
    let r = (|| {
        crate::sys::sh(
            "set -e; ethtool -K nat-a gro on tso off; echo 1 >/sys/class/net/nat-a/threaded
             /usr/sbin/ip netns exec natb ethtool -K nat-b gro on tso off
             /usr/sbin/ip netns exec natb sh -c 'echo 1 >/sys/class/net/nat-b/threaded'",
        )?;
        let napi = threads_named("napi/");
        if napi.len() < 2 {
            return Err(format!(
                "expected NAPI threads of both ends, found {napi:?}"
            ));
        }
        for v6 in [false, true] {
            tcp_conservation(
                if v6 { "[2001:db8::2]:0" } else { "192.0.2.2:0" },
                Some("natb"),
            )?;
        }
        for (tid, name) in threads_named("napi/") {
            for (what, r) in [("thread", thread(tid)), ("process", process(tid))] {
                if let Ok(npt) = r {
                    return Err(format!(
                        "{name} (tid {tid}) has {what} counters: {:?}",
                        counters(&npt)
                    ));
                }
            }
        }
        Ok(())
    })();
    crate::accounting::veth_teardown();
    r
}

/// Sends `byte` on each of `conns`, reads one from each, and closes them.
fn trade_a_byte(conns: Vec<TcpStream>, byte: u8) {
    for mut c in conns {
        c.write_all(&[byte]).expect("write");
        let mut b = [0u8; 1];
        c.read_exact(&mut b).expect("read");
    }
}

/// A connection still opening keeps its record through a garbage
/// collection: the listener's queue is full (backlog 1, two connections
/// waiting), so it drops the client's first SYN; a collection runs; the
/// listener takes the waiting connections, and the SYN the client's timer
/// sends again a second later, with the answers to it, are charged to the
/// client like the rest. What each side sent, the other received, and
/// no TCP packet is unidentified or left parked.
pub fn tcp_connect_in_progress_keeps_its_record_through_a_gc() -> Check {
    // A fresh module: no earlier test's records expire meanwhile.
    crate::accounting::with_module("", connect_through_a_gc)
}

fn connect_through_a_gc() -> Check {
    const CONNS: usize = 3;
    let mut server = Child::spawn("tcp-server", |ctl: &mut Ctl| {
        let l = TcpListener::bind("127.0.0.1:0").expect("listen");
        // SAFETY: `l` owns the descriptor, a bound, listening TCP socket;
        // listening again only sets its backlog.
        let rc = unsafe { libc::listen(l.as_raw_fd(), 1) };
        assert_eq!(rc, 0, "listen");
        ctl.report(&l.local_addr().expect("addr").port().to_string());
        ctl.wait();
        let conns: Vec<TcpStream> = (0..CONNS).map(|_| l.accept().expect("accept").0).collect();
        trade_a_byte(conns, b's');
        ctl.report("done");
        ctl.wait();
    });
    let port: u16 = server.read().parse().map_err(|_| "server did not start")?;
    let to = SocketAddr::from(([127, 0, 0, 1], port));
    let overflows = || -> Result<u64, String> {
        Ok(netstat()?
            .get("TcpExt:ListenOverflows")
            .copied()
            .unwrap_or(0))
    };
    let overflows0 = overflows()?;
    let proc0 = proc_values()?;
    let mut client = Child::spawn("tcp-client", move |ctl: &mut Ctl| {
        // The last connect waits for its SYN to be sent again.
        let conns: Vec<TcpStream> = (0..CONNS)
            .map(|_| TcpStream::connect(to).expect("connect"))
            .collect();
        trade_a_byte(conns, b'c');
        ctl.report("done");
        ctl.wait();
    });
    let t0 = std::time::Instant::now();
    while overflows()? == overflows0 {
        if t0.elapsed() > Duration::from_secs(10) {
            return Err("the listener dropped no SYN".into());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    force_gc()?;
    server.go();
    let (s, c) = (server.read(), client.read());
    if s != "done" || c != "done" {
        return Err(format!("exchange incomplete: server {s:?}, client {c:?}"));
    }
    // Let the closing handshakes finish.
    std::thread::sleep(Duration::from_millis(500));
    let srv = process(server.pid)?;
    let cli = process(client.pid)?;
    let proc1 = proc_values()?;
    let (st, ct) = (&srv.tc, &cli.tc);
    let d = |k: &str| proc1[k] - proc0[k];
    let got = [
        ("server received packets", st.tcprcvpacks),
        ("server received bytes", st.tcprcvbytes),
        ("client received packets", ct.tcprcvpacks),
        ("client received bytes", ct.tcprcvbytes),
        ("sent unidentified", d("tcpsndpacks:unident")),
        ("received unidentified", d("tcprcvpacks:unident")),
        ("parked", d("parkedpacks:")),
    ];
    let want = [
        ("server received packets", ct.tcpsndpacks),
        ("server received bytes", ct.tcpsndbytes),
        ("client received packets", st.tcpsndpacks),
        ("client received bytes", st.tcpsndbytes),
        ("sent unidentified", 0),
        ("received unidentified", 0),
        ("parked", 0),
    ];
    expect_eq("a connect through a collection", &got, &want)?;
    // Three handshakes, one SYN again, a byte and a close each way.
    if ct.tcpsndpacks < 3 * CONNS as u64 + 1 {
        return Err(format!("client sent only {} packets", ct.tcpsndpacks));
    }
    server.finish();
    client.finish();
    Ok(())
}
