//! Exact per-process and per-thread counters for known traffic.

use crate::child::{Child, Ctl};
use crate::netatop::*;
use crate::sys::Check;
use nix::sched::{setns, CloneFlags};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::Duration;

/// A UDP echo server named `name` on `bind`: answers each of `count`
/// datagrams with `reply` bytes, then waits.
fn udp_echo(
    name: &str,
    bind: SocketAddr,
    count: usize,
    reply: usize,
    netns: Option<&str>,
) -> Child {
    let netns = netns.map(str::to_string);
    Child::spawn(name, move |ctl: &mut Ctl| {
        if let Some(ns) = netns {
            if let Err(e) = enter_netns(&ns) {
                ctl.report(&format!("error {e}"));
                return;
            }
        }
        let s = UdpSocket::bind(bind).expect("bind");
        ctl.report(&s.local_addr().expect("addr").port().to_string());
        let mut buf = [0u8; 65536];
        let answer = vec![0x61; reply];
        for _ in 0..count {
            let (_, from) = s.recv_from(&mut buf).expect("recv");
            s.send_to(&answer, from).expect("send");
        }
        ctl.report("done");
        ctl.wait();
    })
}

/// A UDP client named `name` that, when told, sends `count` datagrams of
/// `size` bytes to `to`, reading the answer to each. They carry `dstopts`
/// as their IPv6 destination options header, if not empty.
fn udp_client(
    name: &str,
    bind: SocketAddr,
    to: SocketAddr,
    count: usize,
    size: usize,
    dstopts: &[u8],
) -> Child {
    let dstopts = dstopts.to_vec();
    Child::spawn(name, move |ctl: &mut Ctl| {
        let s = UdpSocket::bind(bind).expect("bind");
        if !dstopts.is_empty() {
            // SAFETY: A valid socket and a buffer of the length passed.
            let ret = unsafe {
                libc::setsockopt(
                    s.as_raw_fd(),
                    libc::IPPROTO_IPV6,
                    libc::IPV6_DSTOPTS,
                    dstopts.as_ptr().cast(),
                    dstopts.len() as libc::socklen_t,
                )
            };
            if ret < 0 {
                let e = std::io::Error::last_os_error();
                ctl.report(&format!("error IPV6_DSTOPTS: {e}"));
                return;
            }
        }
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        ctl.report("ready");
        ctl.wait();
        let payload = vec![0x62; size];
        let mut buf = [0u8; 65536];
        for _ in 0..count {
            s.send_to(&payload, to).expect("send");
            s.recv(&mut buf).expect("recv");
        }
        ctl.report("done");
        ctl.wait();
    })
}

/// Joins the network namespace /run/netns/NAME (made by `ip netns add`).
pub fn enter_netns(name: &str) -> Result<(), String> {
    let f =
        std::fs::File::open(format!("/run/netns/{name}")).map_err(|e| format!("{name}: {e}"))?;
    setns(&f, CloneFlags::CLONE_NEWNET).map_err(|e| format!("setns {name}: {e}"))
}

fn check_record(who: &str, pid: i32, name: &str, want: Vec<(&'static str, u64)>) -> Check {
    let p = process(pid)?;
    expect_eq(&format!("{who} process {pid}"), &counters(&p), &want)?;
    let t = thread(pid)?;
    expect_eq(&format!("{who} main thread {pid}"), &counters(&t), &want)?;
    if command(&p) != name || p.id != pid {
        return Err(format!(
            "{who}: id {} command {:?}, expected {pid} {name:?}",
            p.id,
            command(&p)
        ));
    }
    let bt = btime_of(pid)?;
    if p.btime != bt {
        return Err(format!("{who}: btime {} but /proc says {bt}", p.btime));
    }
    Ok(())
}

/// K datagrams of S bytes from a client to an echo server answering R
/// bytes; both sides must show exactly K packets each way and the wire
/// bytes of the formula. The client's datagrams carry `dstopts` as their
/// IPv6 destination options header, if not empty.
fn udp_exchange_exact(
    client_bind: &str,
    server_bind: &str,
    server_ns: Option<&str>,
    ipv6: bool,
    dstopts: &[u8],
) -> Check {
    const K: usize = 25;
    const S: usize = 300;
    const R: usize = 120;
    let to = unused_udp_addr(server_bind)?;
    let mut echo = udp_echo("udp-echo", to, K, R, server_ns);
    bound_at(&mut echo, to, "echo server")?;
    let bind = client_bind.parse().unwrap();
    let mut client = udp_client("udp-client", bind, to, K, S, dstopts);
    let ready = client.read();
    if ready != "ready" {
        return Err(format!("client did not start: {ready}"));
    }
    client.go();
    if client.read() != "done" || echo.read() != "done" {
        return Err("exchange did not complete".into());
    }
    let k = K as u64;
    let s = udp_wire((S + dstopts.len()) as u64, ipv6);
    let r = udp_wire(R as u64, ipv6);
    check_record(
        "client",
        client.pid,
        "udp-client",
        udp_only(k, k * s, k, k * r),
    )?;
    check_record("server", echo.pid, "udp-echo", udp_only(k, k * r, k, k * s))?;
    client.finish();
    echo.finish();
    Ok(())
}

pub fn udp_v4_loopback_counts_exact_per_process_and_thread() -> Check {
    udp_exchange_exact("127.0.0.1:0", "127.0.0.1:0", None, false, &[])
}

pub fn udp_v6_loopback_counts_exact_per_process_and_thread() -> Check {
    udp_exchange_exact("[::1]:0", "[::1]:0", None, true, &[])
}

/// The client's datagrams carry an 80-byte destination options header, so
/// their UDP header lies 120 bytes into the packet: beyond what the hooks
/// read in place, reached through `skb_header_pointer()`. Both sides are
/// still charged exactly, the options' bytes included.
pub fn udp_v6_behind_a_long_extension_header_counts_exact() -> Check {
    const OPTS: usize = 80;
    // Next header (the kernel fills it in), length in 8-byte units after
    // the first, then one option covering the rest: of the experimental
    // type 0x1e (RFC 4727), which a receiver skips. (Padding that long is
    // dropped.)
    let mut dstopts = vec![0u8; OPTS];
    dstopts[1] = (OPTS / 8 - 1) as u8;
    dstopts[2] = 0x1e;
    dstopts[3] = (OPTS - 4) as u8;
    udp_exchange_exact("[::1]:0", "[::1]:0", None, true, &dstopts)
}

/// Two namespaces joined by a veth pair; addresses from the documentation
/// ranges, which exist only inside this VM.
pub fn veth_setup() -> Check {
    crate::sys::sh(
        "set -e; ip=/usr/sbin/ip; $ip netns del natb 2>/dev/null || true; $ip link del nat-a 2>/dev/null || true
         $ip netns add natb
         $ip link add nat-a type veth peer name nat-b netns natb
         $ip addr add 192.0.2.1/24 dev nat-a; $ip -6 addr add 2001:db8::1/64 dev nat-a nodad
         $ip link set nat-a up
         $ip -n natb addr add 192.0.2.2/24 dev nat-b; $ip -n natb -6 addr add 2001:db8::2/64 dev nat-b nodad
         $ip -n natb link set nat-b up; $ip -n natb link set lo up",
    )
    .map(|_| ())
}

pub fn veth_teardown() {
    let _ = crate::sys::sh("/usr/sbin/ip link del nat-a; /usr/sbin/ip netns del natb");
}

pub fn udp_v4_veth_between_namespaces_counts_exact() -> Check {
    veth_setup()?;
    let r = udp_exchange_exact("192.0.2.1:0", "192.0.2.2:0", Some("natb"), false, &[]);
    veth_teardown();
    r
}

pub fn udp_v6_veth_between_namespaces_counts_exact() -> Check {
    veth_setup()?;
    let r = udp_exchange_exact(
        "[2001:db8::1]:0",
        "[2001:db8::2]:0",
        Some("natb"),
        true,
        &[],
    );
    veth_teardown();
    r
}

/// A UDP socket named `name` that reads nothing until told: reports its
/// port, waits, then sends `reply` (bytes to an address) if given, reads
/// `then_reads` datagrams, and reports "answered".
fn quiet_udp_socket(
    name: &str,
    bind: SocketAddr,
    reply: Option<(SocketAddr, usize)>,
    then_reads: usize,
) -> Child {
    Child::spawn(name, move |ctl: &mut Ctl| {
        let s = UdpSocket::bind(bind).expect("bind");
        ctl.report(&s.local_addr().expect("addr").port().to_string());
        if !ctl.wait() {
            return;
        }
        if let Some((to, size)) = reply {
            s.send_to(&vec![0x63; size], to).expect("send");
        }
        let mut buf = [0u8; 65536];
        for _ in 0..then_reads {
            s.recv(&mut buf).expect("recv");
        }
        ctl.report("answered");
        ctl.wait();
    })
}

/// Sends `count` datagrams of `size` bytes to `to` from a fresh socket.
fn send_datagrams(to: SocketAddr, count: usize, size: usize) -> Result<SocketAddr, String> {
    let s = UdpSocket::bind(if to.is_ipv6() {
        "[::1]:0"
    } else {
        "127.0.0.1:0"
    })
    .map_err(|e| e.to_string())?;
    for _ in 0..count {
        s.send_to(&vec![0x64; size], to)
            .map_err(|e| e.to_string())?;
    }
    s.local_addr().map_err(|e| e.to_string())
}

/// Datagrams received before the socket's first send or read are parked
/// on the socket, then charged to the process when it first sends.
pub fn received_before_sent_is_charged_at_first_send() -> Check {
    late_sender_is_charged_its_parked_datagrams()
}

/// The parked datagrams that records without an owner held when they gave
/// way to new ones, so far: the floods of the tests send one datagram to
/// each socket, so one per record replaced. 0 for a module that replaces
/// none.
fn parked_given_way(v: &std::collections::HashMap<String, u64>) -> u64 {
    v.get("unownedsocks:replaced").copied().unwrap_or(0)
}

/// `bind` (an address with port 0) with a UDP port that no socket has had in
/// this boot, for a socket whose counts a test checks and which receives
/// before it sends: the module knows a UDP socket by its local port alone and
/// keeps the record of a closed one, owner and all, until the collector drops
/// it, so a socket on a port that `bind` picks could find an earlier socket's
/// owner there and its datagrams charged to that. The ports are handed out
/// once per boot (the next one is kept in /run) from 25000 up, which neither
/// the kernel's ephemeral range nor another test uses.
pub fn unused_udp_addr(bind: &str) -> Result<SocketAddr, String> {
    const NEXT: &str = "/run/netatop-guest-test.next-udp-port";
    let mut addr: SocketAddr = bind.parse().map_err(|_| format!("address {bind:?}"))?;
    let port = match std::fs::read_to_string(NEXT) {
        Ok(s) => s.trim().parse().map_err(|_| format!("{NEXT}: {s:?}"))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 25000,
        Err(e) => return Err(format!("{NEXT}: {e}")),
    };
    if port >= 26000 {
        return Err(format!("{NEXT}: all ports up to {port} handed out"));
    }
    std::fs::write(NEXT, format!("{}\n", port + 1)).map_err(|e| format!("{NEXT}: {e}"))?;
    addr.set_port(port);
    Ok(addr)
}

/// Waits for `c`, which binds `addr`, to report the port: an error naming
/// `who` if it reports anything else (it did not start).
pub fn bound_at(c: &mut Child, addr: SocketAddr, who: &str) -> Check {
    if c.read() == addr.port().to_string() {
        Ok(())
    } else {
        Err(format!("{who} did not start"))
    }
}

/// A receiver gets 9 datagrams before its first send: they are parked (but
/// for those of records that gave way to its record), and charged to it
/// exactly when it sends.
fn late_sender_is_charged_its_parked_datagrams() -> Check {
    const M: usize = 9;
    let before = proc_values()?;
    let tx = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let reply_to = tx.local_addr().map_err(|e| e.to_string())?;
    let bind = unused_udp_addr("127.0.0.1:0")?;
    let mut rx = quiet_udp_socket("late-sender", bind, Some((reply_to, 50)), M);
    bound_at(&mut rx, bind, "receiver")?;
    for _ in 0..M {
        tx.send_to(&[0x64; 200], bind).map_err(|e| e.to_string())?;
    }
    std::thread::sleep(Duration::from_millis(100));
    match process(rx.pid) {
        Err(_) => {}
        Ok(p) => {
            return Err(format!(
                "receiver has counters before sending: {:?}",
                counters(&p)
            ))
        }
    }
    let mid = proc_values()?;
    let gave_way = parked_given_way(&mid) - parked_given_way(&before);
    if mid["parkedpacks:"] + gave_way - before["parkedpacks:"] != M as u64 {
        return Err(format!(
            "parked {} -> {} with {gave_way} given way, expected +{M}",
            before["parkedpacks:"], mid["parkedpacks:"]
        ));
    }
    rx.go();
    if rx.read() != "answered" {
        return Err("receiver did not answer".into());
    }
    let m = M as u64;
    check_record(
        "receiver",
        rx.pid,
        "late-sender",
        udp_only(1, udp_wire(50, false), m, m * udp_wire(200, false)),
    )?;
    let after = proc_values()?;
    if after["parkedpacks:"] + gave_way != before["parkedpacks:"] {
        return Err(format!(
            "parked {} after the first send with {gave_way} given way, expected {}",
            after["parkedpacks:"], before["parkedpacks:"]
        ));
    }
    rx.finish();
    Ok(())
}

/// A socket on the port of a closed one whose record the collector has not
/// dropped yet is taken for it until it first sends, as the man page says:
/// the datagrams it receives meanwhile are charged to the closed socket's
/// owner (this process), those after its first send to it.
pub fn a_socket_on_a_closed_sockets_port_is_taken_for_it_until_it_sends() -> Check {
    const M: u64 = 6;
    const K: u64 = 4;
    let me = std::process::id() as i32;
    let addr = unused_udp_addr("127.0.0.1:0")?;
    let closed = UdpSocket::bind(addr).map_err(|e| e.to_string())?;
    closed
        .send_to(&[0x77; 20], "127.0.0.1:9")
        .map_err(|e| e.to_string())?;
    drop(closed);
    let tx = UdpSocket::bind(unused_udp_addr("127.0.0.1:0")?).map_err(|e| e.to_string())?;
    tx.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    let reply_to = tx.local_addr().map_err(|e| e.to_string())?;
    let before = counters(&process(me)?);
    let mut rx = quiet_udp_socket(
        "takes-the-port",
        addr,
        Some((reply_to, 50)),
        (M + K) as usize,
    );
    bound_at(&mut rx, addr, "receiver")?;
    for _ in 0..M {
        tx.send_to(&[0x78; 200], addr).map_err(|e| e.to_string())?;
    }
    std::thread::sleep(Duration::from_millis(100));
    if let Ok(p) = process(rx.pid) {
        return Err(format!(
            "the new socket's process has counters: {:?}",
            counters(&p)
        ));
    }
    rx.go();
    tx.recv(&mut [0u8; 100])
        .map_err(|e| format!("no reply: {e}"))?;
    for _ in 0..K {
        tx.send_to(&[0x78; 200], addr).map_err(|e| e.to_string())?;
    }
    if rx.read() != "answered" {
        return Err("receiver did not read them all".into());
    }
    let (w50, w200) = (udp_wire(50, false), udp_wire(200, false));
    check_record(
        "receiver",
        rx.pid,
        "takes-the-port",
        udp_only(1, w50, K, K * w200),
    )?;
    let after = counters(&process(me)?);
    let delta: Vec<(&str, u64)> = after
        .iter()
        .zip(&before)
        .map(|(&(name, a), &(_, b))| (name, a - b))
        .collect();
    let sent = M + K;
    expect_eq(
        "this process",
        &delta,
        &udp_only(sent, sent * w200, M + 1, M * w200 + w50),
    )?;
    rx.finish();
    Ok(())
}

/// A socket that nobody reads and that never sends stays unidentified:
/// parked, and after 60 s counted as unident by the garbage collector.
pub fn unread_socket_becomes_unident_after_60_seconds() -> Check {
    const M: usize = 6;
    let before = proc_values()?;
    let bind = unused_udp_addr("[::1]:0")?;
    let mut rx = quiet_udp_socket("never-reads", bind, None, 0);
    bound_at(&mut rx, bind, "receiver")?;
    send_datagrams(bind, M, 10)?;
    std::thread::sleep(Duration::from_millis(100));
    if process(rx.pid).is_ok() {
        return Err("a process that never read or sent has a record".into());
    }
    let parked = proc_values()?["parkedpacks:"] - before["parkedpacks:"];
    if parked != M as u64 {
        return Err(format!("{parked} parked, expected {M}"));
    }
    // Every socket without an owner is older than 60 s then, this one and
    // those earlier tests left: all their packets become unidentified.
    let parked_before = before["parkedpacks:"] + M as u64;
    std::thread::sleep(Duration::from_secs(61));
    force_gc()?;
    let after = proc_values()?;
    let unident: u64 = [
        "udprcvpacks:unident",
        "udpsndpacks:unident",
        "tcprcvpacks:unident",
        "tcpsndpacks:unident",
    ]
    .iter()
    .map(|k| after[*k] - before[*k])
    .sum();
    if unident != parked_before || after["parkedpacks:"] != 0 {
        return Err(format!(
            "after 61 s: unident +{unident}, parked {}, expected +{parked_before} and 0",
            after["parkedpacks:"]
        ));
    }
    rx.finish();
    Ok(())
}

/// A child that only reads: it binds a UDP socket to `bind` (in network
/// namespace `netns` if given), reports its port, blocks in `recv` for
/// `k` datagrams, reports its thread id and waits to be finished.
pub fn udp_reader(
    name: &'static str,
    bind: SocketAddr,
    netns: Option<&'static str>,
    k: usize,
) -> Child {
    Child::spawn(name, move |ctl: &mut Ctl| {
        if let Some(ns) = netns {
            enter_netns(ns).expect("netns");
        }
        let s = UdpSocket::bind(bind).expect("bind");
        ctl.report(&s.local_addr().expect("addr").port().to_string());
        let mut buf = [0u8; 2048];
        for _ in 0..k {
            s.recv(&mut buf).expect("recv");
        }
        ctl.report(&gettid().to_string());
        ctl.wait();
    })
}

/// Once the `udp_reader` `rx`, named `name`, has read its datagrams: its
/// process and its reading thread are charged `k` received packets of
/// `wire` bytes each, and nothing sent.
fn reader_charged(rx: &mut Child, name: &str, k: u64, wire: u64) -> Check {
    let tid: i32 = rx
        .read()
        .parse()
        .map_err(|_| "receiver did not read them all")?;
    check_record("reader", rx.pid, name, udp_only(0, 0, k, k * wire))?;
    expect_eq(
        "reading thread",
        &counters(&thread(tid)?),
        &udp_only(0, 0, k, k * wire),
    )
}

/// A process that only reads: a UDP socket (in namespace `netns`, or
/// ours) reads K datagrams that arrive from `from`, blocking in `recv`;
/// it is charged exactly K received packets and their wire bytes, nothing
/// sent, in its process and its thread; nothing stays parked.
fn receive_only_exact(bind: &str, from: &str, netns: Option<&'static str>) -> Check {
    const K: usize = 25;
    const S: usize = 120;
    let before = proc_values()?;
    let to = unused_udp_addr(bind)?;
    let mut rx = udp_reader("only-reads", to, netns, K);
    bound_at(&mut rx, to, "receiver")?;
    let tx = UdpSocket::bind(from).map_err(|e| e.to_string())?;
    for _ in 0..K {
        tx.send_to(&[0x75; S], to).map_err(|e| e.to_string())?;
        // Not faster than a reader under emulation takes them.
        std::thread::sleep(Duration::from_millis(2));
    }
    reader_charged(
        &mut rx,
        "only-reads",
        K as u64,
        udp_wire(S as u64, to.is_ipv6()),
    )?;
    let after = proc_values()?;
    if after["parkedpacks:"] != before["parkedpacks:"] {
        return Err(format!(
            "parked {} -> {}",
            before["parkedpacks:"], after["parkedpacks:"]
        ));
    }
    rx.finish();
    Ok(())
}

pub fn receive_only_udp_v4_loopback_is_charged_to_the_reader() -> Check {
    receive_only_exact("127.0.0.1:0", "127.0.0.1:0", None)
}

pub fn receive_only_udp_v6_loopback_is_charged_to_the_reader() -> Check {
    receive_only_exact("[::1]:0", "[::1]:0", None)
}

pub fn receive_only_udp_v4_veth_is_charged_to_the_reader() -> Check {
    veth_setup()?;
    let r = receive_only_exact("192.0.2.2:0", "192.0.2.1:0", Some("natb"));
    veth_teardown();
    r
}

pub fn receive_only_udp_v6_veth_is_charged_to_the_reader() -> Check {
    veth_setup()?;
    let r = receive_only_exact("[2001:db8::2]:0", "[2001:db8::1]:0", Some("natb"));
    veth_teardown();
    r
}

/// With `readers=0` reading binds nothing: a process that only reads K
/// datagrams has no record, and the K stay parked on its socket (they
/// become unidentified after 60 s, as `unread_socket_becomes_unident_after_60_seconds`
/// shows for a socket nobody reads).
pub fn readers_0_leaves_receive_only_sockets_parked() -> Check {
    const K: usize = 7;
    with_module("readers=0", || {
        let before = proc_values()?;
        let bind = unused_udp_addr("127.0.0.1:0")?;
        let mut rx = udp_reader("reads-unbound", bind, None, K);
        bound_at(&mut rx, bind, "receiver")?;
        send_datagrams(bind, K, 50)?;
        rx.read()
            .parse::<i32>()
            .map_err(|_| "receiver did not read them all")?;
        if let Ok(t) = process(rx.pid) {
            return Err(format!("the reader has a record: {:?}", counters(&t)));
        }
        let parked = value(&proc_values()?, "parkedpacks:")? - value(&before, "parkedpacks:")?;
        rx.finish();
        if parked != K as u64 {
            return Err(format!("{parked} parked, expected {K}"));
        }
        Ok(())
    })
}

/// Two threads of one process only read: the main thread with
/// `recvmmsg` on one socket, a second thread with blocking `recv` on
/// another. Each thread is charged what it read; the process the sum.
pub fn reading_threads_sum_into_their_process() -> Check {
    const K1: usize = 8;
    const K2: usize = 13;
    let (a, b) = (
        unused_udp_addr("127.0.0.1:0")?,
        unused_udp_addr("127.0.0.1:0")?,
    );
    let mut rx = Child::spawn("two-readers", |ctl: &mut Ctl| {
        use std::os::fd::AsRawFd;
        let a = UdpSocket::bind(a).expect("bind");
        let b = UdpSocket::bind(b).expect("bind");
        ctl.report(&format!(
            "{} {}",
            a.local_addr().expect("addr").port(),
            b.local_addr().expect("addr").port()
        ));
        let second = std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            for _ in 0..K2 {
                b.recv(&mut buf).expect("recv");
            }
            gettid()
        });
        let mut bufs = vec![[0u8; 2048]; K1];
        let mut iov: Vec<libc::iovec> = bufs
            .iter_mut()
            .map(|b| libc::iovec {
                iov_base: b.as_mut_ptr().cast(),
                iov_len: b.len(),
            })
            .collect();
        // SAFETY: mmsghdr is plain data; all-zero is a valid empty header.
        let mut msgs: Vec<libc::mmsghdr> = (0..K1).map(|_| unsafe { std::mem::zeroed() }).collect();
        for (m, v) in msgs.iter_mut().zip(iov.iter_mut()) {
            m.msg_hdr.msg_iov = v;
            m.msg_hdr.msg_iovlen = 1;
        }
        let mut got = 0;
        while got < K1 {
            // SAFETY: `msgs[got..]` are valid headers pointing to buffers
            // that outlive the call.
            let n = unsafe {
                libc::recvmmsg(
                    a.as_raw_fd(),
                    msgs[got..].as_mut_ptr(),
                    (K1 - got) as u32,
                    0,
                    std::ptr::null_mut(),
                )
            };
            assert!(n > 0, "recvmmsg: {}", std::io::Error::last_os_error());
            got += n as usize;
        }
        let tid2 = second.join().expect("thread");
        ctl.report(&format!("{} {tid2}", gettid()));
        ctl.wait();
    });
    let ports: Vec<u16> = rx
        .read()
        .split(' ')
        .filter_map(|p| p.parse().ok())
        .collect();
    let [pa, pb] = ports[..] else {
        return Err("readers did not start".into());
    };
    let tx = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    for (port, n) in [(pa, K1), (pb, K2)] {
        for _ in 0..n {
            tx.send_to(&[0x76; 100], ("127.0.0.1", port))
                .map_err(|e| e.to_string())?;
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    let tids: Vec<i32> = rx
        .read()
        .split(' ')
        .filter_map(|t| t.parse().ok())
        .collect();
    let [t1, t2] = tids[..] else {
        return Err("readers did not read them all".into());
    };
    let w = udp_wire(100, false);
    let (k1, k2) = (K1 as u64, K2 as u64);
    expect_eq(
        "recvmmsg thread",
        &counters(&thread(t1)?),
        &udp_only(0, 0, k1, k1 * w),
    )?;
    expect_eq(
        "recv thread",
        &counters(&thread(t2)?),
        &udp_only(0, 0, k2, k2 * w),
    )?;
    expect_eq(
        "process",
        &counters(&process(rx.pid)?),
        &udp_only(0, 0, k1 + k2, (k1 + k2) * w),
    )?;
    rx.finish();
    Ok(())
}

/// The per-thread counters of a three-threaded sender add up to its
/// process counters.
pub fn thread_counters_sum_to_process() -> Check {
    const SENDS: [usize; 3] = [5, 11, 17];
    let mut sink = quiet_udp_socket(
        "udp-sink",
        "127.0.0.1:0".parse().unwrap(),
        None,
        SENDS.iter().sum(),
    );
    let port: u16 = sink.read().parse().map_err(|_| "sink did not start")?;
    let to = SocketAddr::new("127.0.0.1".parse().unwrap(), port);
    let mut sender = Child::spawn("threaded", move |ctl: &mut Ctl| {
        let handles: Vec<_> = SENDS
            .iter()
            .map(|&n| {
                std::thread::spawn(move || {
                    let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
                    for _ in 0..n {
                        s.send_to(&[0x65; 64], to).expect("send");
                    }
                    gettid()
                })
            })
            .collect();
        let tids: Vec<String> = handles
            .into_iter()
            .map(|h| h.join().expect("thread").to_string())
            .collect();
        // Threads have exited now; their records stay until the next GC.
        ctl.report(&tids.join(" "));
        ctl.wait();
    });
    let tids: Vec<i32> = sender
        .read()
        .split_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect();
    if tids.len() != 3 {
        return Err(format!("threads did not run: {tids:?}"));
    }
    sink.go();
    if sink.read() != "answered" {
        return Err("the sink did not get the datagrams".into());
    }
    let w = udp_wire(64, false);
    let mut sum = 0;
    for (tid, &n) in tids.iter().zip(SENDS.iter()) {
        let t = thread(*tid)?;
        expect_eq(
            &format!("thread {tid}"),
            &counters(&t),
            &udp_only(n as u64, n as u64 * w, 0, 0),
        )?;
        sum += n as u64;
    }
    let p = process(sender.pid)?;
    expect_eq("process", &counters(&p), &udp_only(sum, sum * w, 0, 0))?;
    if thread(sender.pid).is_ok() {
        return Err("the main thread, which sent nothing, has a record".into());
    }
    sender.finish();
    sink.finish();
    Ok(())
}

/// A socket used by a parent and then by its forked child (as inetd
/// does) is charged to whoever sends on it now.
pub fn socket_handover_to_forked_child() -> Check {
    const K: usize = 7;
    let mut echo = udp_echo("udp-echo", "127.0.0.1:0".parse().unwrap(), K + 1, 40, None);
    let port: u16 = echo.read().parse().map_err(|_| "echo did not start")?;
    let to = SocketAddr::new("127.0.0.1".parse().unwrap(), port);
    let mut parent = Child::spawn("hand-parent", move |ctl: &mut Ctl| {
        let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let mut buf = [0u8; 100];
        s.send_to(&[1; 30], to).expect("send");
        s.recv(&mut buf).expect("recv");
        let mut kid = Child::spawn("hand-kid", |kctl: &mut Ctl| {
            let mut buf = [0u8; 100];
            for _ in 0..K {
                s.send_to(&[2; 30], to).expect("send");
                s.recv(&mut buf).expect("recv");
            }
            kctl.report("done");
            kctl.wait();
        });
        let done = kid.read();
        ctl.report(&format!("{} {done}", kid.pid));
        ctl.wait();
        kid.finish();
    });
    let line = parent.read();
    let kid: i32 = line
        .split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .ok_or(format!("parent said {line:?}"))?;
    let (s, r) = (udp_wire(30, false), udp_wire(40, false));
    check_record("parent", parent.pid, "hand-parent", udp_only(1, s, 1, r))?;
    let k = K as u64;
    check_record("child", kid, "hand-kid", udp_only(k, k * s, k, k * r))?;
    parent.finish();
    echo.read();
    echo.finish();
    Ok(())
}

/// Runs `f` with the module loaded with `params`, then reloads it with
/// the defaults.
pub fn with_module(params: &str, f: impl FnOnce() -> Check) -> Check {
    crate::sys::unload_module()?;
    crate::sys::load_module(params)?;
    let r = f();
    crate::sys::unload_module()?;
    crate::sys::load_module("")?;
    r
}

fn value(v: &std::collections::HashMap<String, u64>, k: &str) -> Result<u64, String> {
    v.get(k).copied().ok_or(format!("no {k} in /proc/netatop"))
}

/// A flood of packets to closed ports (3000 UDP datagrams, 200 TCP
/// connection attempts answered by resets) makes no socket records: a
/// packet no socket takes, and a reply the stack makes for it, are
/// counted as unidentified. A server started afterwards, under a bound the
/// flood would have filled many times, has its parked datagrams charged
/// exactly.
pub fn closed_port_flood_makes_no_records() -> Check {
    with_module("sockmem=65536", || {
        let before = proc_values()?;
        let flooder = Child::spawn("flooder", |ctl: &mut Ctl| {
            let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
            for port in 20000..23000u16 {
                s.send_to(&[0x70; 8], ("127.0.0.1", port)).expect("send");
            }
            // Below the ephemeral range: a connect to a port in it can pick
            // that very port as its source and connect to itself.
            for port in 10000..10200u16 {
                let refused = std::net::TcpStream::connect(("127.0.0.1", port))
                    .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionRefused);
                assert!(refused, "port {port} answered");
            }
            ctl.report("flooded");
            ctl.wait();
        });
        let mut flooder = flooder;
        if flooder.read() != "flooded" {
            return Err("the flood did not complete".into());
        }
        let after = proc_values()?;
        received_before_sent_is_charged_at_first_send()?;
        // The flooder's own sockets only: one UDP, 200 TCP.
        let made = value(&after, "#sockinfo:")? - value(&before, "#sockinfo:")?;
        let unowned = value(&after, "unownedsocks:")?;
        if made > 201 || unowned != 0 || value(&after, "#sockinfo:overflow")? != 0 {
            return Err(format!(
                "{made} records made, {unowned} unowned, overflow {}",
                value(&after, "#sockinfo:overflow")?
            ));
        }
        let unident =
            value(&after, "udprcvpacks:unident")? - value(&before, "udprcvpacks:unident")?;
        if unident != 3000 {
            return Err(format!(
                "{unident} received datagrams unidentified, expected 3000"
            ));
        }
        flooder.finish();
        Ok(())
    })
}

/// Records without an owner that fill their quota give way, the least
/// recently active first, to those of sockets that come later. 600
/// sockets that never read get a datagram each, and 3000 datagrams go to
/// closed ports (which make records too on a kernel without the netfilter
/// socket lookup), under a bound of about 200 unowned records for this
/// namespace; a server started afterwards still has its parked datagrams
/// charged exactly, its first one included.
pub fn a_flood_gives_way_to_a_later_server() -> Check {
    const QUIET: u16 = 600;
    with_module("sockmem=65536", || {
        let mut flooder = Child::spawn("flooder", |ctl: &mut Ctl| {
            let quiet: Vec<UdpSocket> = (0..QUIET)
                .map(|i| UdpSocket::bind(("127.0.0.1", 30000 + i)).expect("bind"))
                .collect();
            let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
            for i in 0..QUIET {
                s.send_to(&[0x72; 8], ("127.0.0.1", 30000 + i))
                    .expect("send");
            }
            for port in 20000..23000u16 {
                s.send_to(&[0x72; 8], ("127.0.0.1", port)).expect("send");
            }
            ctl.report("flooded");
            ctl.wait();
            drop(quiet);
        });
        if flooder.read() != "flooded" {
            return Err("the flood did not complete".into());
        }
        let flooded = proc_values()?;
        if value(&flooded, "unownedsocks:refused")? + parked_given_way(&flooded) == 0 {
            return Err(format!("the flood did not fill the quota: {flooded:?}"));
        }
        std::thread::sleep(Duration::from_millis(50));
        late_sender_is_charged_its_parked_datagrams()?;
        let after = proc_values()?;
        if value(&after, "unownedsocks:replaced")? <= value(&flooded, "unownedsocks:replaced")? {
            return Err(format!(
                "the server's record replaced none of the flood's: {after:?}"
            ));
        }
        flooder.finish();
        Ok(())
    })
}

/// The network namespace cookie of a socket (SO_NETNS_COOKIE).
fn netns_cookie(s: &UdpSocket) -> Result<u64, String> {
    use std::os::fd::AsRawFd;
    let mut cookie = 0u64;
    let mut len = 8 as libc::socklen_t;
    // SAFETY: An 8-byte buffer and its length for a u64 option.
    let r = unsafe {
        libc::getsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_NETNS_COOKIE,
            (&raw mut cookie).cast(),
            &mut len,
        )
    };
    if r != 0 {
        return Err(format!(
            "SO_NETNS_COOKIE: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(cookie)
}

/// Sockets that only receive make records without an owner; those of one
/// namespace may take a quarter of the table, not all of it. 700 sockets
/// in another namespace receive a datagram each, under a bound of about
/// 500 records; a server here still has its parked datagrams charged.
pub fn one_namespace_cannot_fill_the_table_with_unowned_records() -> Check {
    const N: u16 = 700;
    with_module("sockmem=65536", || {
        let here = netns_cookie(&UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?)?;
        // A namespace whose cookie is not ours modulo the module's 64
        // counters (it would share our quota, by design).
        let mut tries = 0;
        loop {
            veth_setup()?;
            let mut probe = Child::spawn("cookie", |ctl: &mut Ctl| {
                enter_netns("natb").expect("netns");
                let s = UdpSocket::bind("0.0.0.0:0").expect("bind");
                ctl.report(&netns_cookie(&s).expect("cookie").to_string());
            });
            let there: u64 = probe.read().parse().map_err(|_| "no cookie")?;
            probe.finish();
            if there % 64 != here % 64 {
                break;
            }
            veth_teardown();
            tries += 1;
            if tries > 3 {
                return Err("no namespace with a counter of its own".into());
            }
        }
        let r = (|| -> Check {
            let mut quiet = Child::spawn("quiet-receivers", |ctl: &mut Ctl| {
                enter_netns("natb").expect("netns");
                let socks: Vec<UdpSocket> = (0..N)
                    .map(|i| UdpSocket::bind(("192.0.2.2", 30000 + i)).expect("bind"))
                    .collect();
                ctl.report("bound");
                ctl.wait();
                drop(socks);
            });
            if quiet.read() != "bound" {
                return Err("receivers did not start".into());
            }
            let s = UdpSocket::bind("192.0.2.1:0").map_err(|e| e.to_string())?;
            for i in 0..N {
                s.send_to(&[0x71; 8], ("192.0.2.2", 30000 + i))
                    .map_err(|e| e.to_string())?;
            }
            std::thread::sleep(Duration::from_millis(300));
            received_before_sent_is_charged_at_first_send()?;
            let v = proc_values()?;
            if value(&v, "unownedsocks:refused")? + value(&v, "unownedsocks:replaced")? == 0 {
                return Err(format!("the other namespace's quota was never full: {v:?}"));
            }
            quiet.finish();
            Ok(())
        })();
        veth_teardown();
        r
    })
}

/// A tap device `ntap0` with virtio-net headers: a frame written to it
/// arrives as a received packet, and one written with a GSO header as one
/// GSO packet whose segments the stack has not counted (`gso_segs` 0), as
/// from a virtio-net device with receive offloads.
fn tap_open() -> Result<std::fs::File, String> {
    use std::os::fd::AsRawFd;
    const TUNSETIFF: libc::c_ulong = 0x4004_54ca; // _IOW('T', 202, int)
    const IFF_TAP: i16 = 0x0002;
    const IFF_NO_PI: i16 = 0x1000;
    const IFF_VNET_HDR: i16 = 0x4000;
    #[repr(C)]
    struct IfReq {
        name: [u8; 16],
        flags: i16,
        _pad: [u8; 22],
    }
    // Built in on the test kernel; a module on distribution kernels, whose
    // device node appears when it is loaded.
    if !std::path::Path::new("/dev/net/tun").exists() {
        crate::sys::sh("modprobe tun")?;
    }
    let tun = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/net/tun")
        .map_err(|e| format!("/dev/net/tun: {e}"))?;
    let mut req = IfReq {
        name: [0; 16],
        flags: IFF_TAP | IFF_NO_PI | IFF_VNET_HDR,
        _pad: [0; 22],
    };
    req.name[..5].copy_from_slice(b"ntap0");
    // SAFETY: TUNSETIFF reads and writes a `struct ifreq`, which `IfReq`
    // lays out (40 bytes, flags at 16).
    if unsafe { libc::ioctl(tun.as_raw_fd(), TUNSETIFF, &mut req) } < 0 {
        return Err(format!("TUNSETIFF: {}", std::io::Error::last_os_error()));
    }
    crate::sys::sh(
        "set -e; ip=/usr/sbin/ip
         $ip addr add 198.51.100.1/24 dev ntap0; $ip -6 addr add 2001:db8:1::1/64 dev ntap0 nodad
         $ip link set ntap0 up",
    )?;
    Ok(tun)
}

fn checksum_fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

fn ones_sum(bytes: &[u8]) -> u32 {
    bytes
        .chunks(2)
        .map(|c| u32::from(c[0]) << 8 | u32::from(*c.get(1).unwrap_or(&0)))
        .sum()
}

/// One frame for the tap: a virtio-net header asking for UDP segmentation
/// at `size` bytes, then one UDP datagram of `segs * size` payload bytes
/// from `src` to `dst`.
fn gso_udp_frame(
    dst_mac: [u8; 6],
    src: IpAddr,
    dst: SocketAddr,
    segs: usize,
    size: usize,
) -> Vec<u8> {
    let v6 = dst.is_ipv6();
    let ip_len = if v6 { 40 } else { 20 };
    let udp_len = 8 + segs * size;
    let mut f = Vec::new();
    // struct virtio_net_hdr: NEEDS_CSUM, GSO_UDP_L4, header length,
    // segment size, checksum start and offset (native byte order).
    f.extend_from_slice(&[1, 5]);
    for v in [14 + ip_len + 8, size, 14 + ip_len, 6] {
        f.extend_from_slice(&(v as u16).to_ne_bytes());
    }
    f.extend_from_slice(&dst_mac);
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x02]);
    f.extend_from_slice(if v6 { &[0x86, 0xdd] } else { &[0x08, 0x00] });
    let (s, d): (Vec<u8>, Vec<u8>) = match (src, dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => (s.octets().to_vec(), d.octets().to_vec()),
        (IpAddr::V6(s), IpAddr::V6(d)) => (s.octets().to_vec(), d.octets().to_vec()),
        _ => panic!("mixed families"),
    };
    let ip_start = f.len();
    if v6 {
        f.extend_from_slice(&[0x60, 0, 0, 0]);
        f.extend_from_slice(&(udp_len as u16).to_be_bytes());
        f.extend_from_slice(&[17, 64]);
        f.extend_from_slice(&s);
        f.extend_from_slice(&d);
    } else {
        f.extend_from_slice(&[0x45, 0]);
        f.extend_from_slice(&((20 + udp_len) as u16).to_be_bytes());
        f.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0]);
        f.extend_from_slice(&s);
        f.extend_from_slice(&d);
        let sum = !checksum_fold(ones_sum(&f[ip_start..]));
        f[ip_start + 10..ip_start + 12].copy_from_slice(&sum.to_be_bytes());
    }
    // The UDP checksum field holds the pseudo-header sum, which the
    // segments complete (CHECKSUM_PARTIAL).
    let pseudo = ones_sum(&s) + ones_sum(&d) + 17 + udp_len as u32;
    f.extend_from_slice(&40000u16.to_be_bytes());
    f.extend_from_slice(&dst.port().to_be_bytes());
    f.extend_from_slice(&(udp_len as u16).to_be_bytes());
    f.extend_from_slice(&checksum_fold(pseudo).to_be_bytes());
    f.resize(f.len() + segs * size, 0x67);
    f
}

/// A receive-only process gets a datagram of N segments as one GSO packet
/// whose segments the stack has not counted (from a tap device with a
/// virtio-net header, as from a virtio-net device): it is charged N
/// received packets and the wire bytes of N datagrams, and the module's
/// received-packet total rises by N.
fn uncounted_gso_exact(bind: &str, from: IpAddr) -> Check {
    use std::io::Write;
    const N: usize = 10;
    const S: usize = 100;
    // The device goes when `tap` is closed, on every return.
    let mut tap = tap_open()?;
    let mac = std::fs::read_to_string("/sys/class/net/ntap0/address")
        .map_err(|e| format!("tap address: {e}"))?;
    let mac: Vec<u8> = mac
        .trim()
        .split(':')
        .map(|b| u8::from_str_radix(b, 16).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let before = proc_values()?;
    let to = unused_udp_addr(bind)?;
    let mut rx = udp_reader("reads-gso", to, None, N);
    bound_at(&mut rx, to, "receiver")?;
    let frame = gso_udp_frame(mac.try_into().unwrap(), from, to, N, S);
    tap.write_all(&frame)
        .map_err(|e| format!("tap write: {e}"))?;
    let n = N as u64;
    reader_charged(&mut rx, "reads-gso", n, udp_wire(S as u64, to.is_ipv6()))?;
    let after = proc_values()?;
    let got = after["udprcvpacks:"] - before["udprcvpacks:"];
    if got != n {
        return Err(format!("udprcvpacks rose by {got}, not {n}"));
    }
    rx.finish();
    Ok(())
}

pub fn uncounted_gso_udp_v4_counts_its_segments() -> Check {
    uncounted_gso_exact("198.51.100.1:0", "198.51.100.2".parse().unwrap())
}

pub fn uncounted_gso_udp_v6_counts_its_segments() -> Check {
    uncounted_gso_exact("[2001:db8:1::1]:0", "2001:db8:1::2".parse().unwrap())
}
