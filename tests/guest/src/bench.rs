//! netatop-bench: loopback packet rate and throughput, without netatop,
//! with netatop, and with netatop holding 100 000 socket records, over
//! IPv4 and IPv6, measured side by side in one boot. Prints a table with
//! the ratios to the run without the module. A measurement, never a test.
//!
//!   netatop-bench [--udp-packets N] [--tcp-bytes N] [--rounds N]

use nix::sys::resource::{setrlimit, Resource};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::Command;
use std::time::Instant;

struct Args {
    udp_packets: usize,
    tcp_bytes: usize,
    rounds: usize,
}

fn args() -> Args {
    let mut a = Args {
        udp_packets: 200_000,
        tcp_bytes: 1 << 30,
        rounds: 3,
    };
    let v: Vec<String> = std::env::args().skip(1).collect();
    for pair in v.chunks(2) {
        let n = pair
            .get(1)
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| usage());
        match pair[0].as_str() {
            "--udp-packets" => a.udp_packets = n,
            "--tcp-bytes" => a.tcp_bytes = n,
            "--rounds" => a.rounds = n,
            _ => usage(),
        }
    }
    a
}

fn usage() -> ! {
    eprintln!("usage: netatop-bench [--udp-packets N] [--tcp-bytes N] [--rounds N]");
    std::process::exit(2);
}

/// Datagrams per second from one socket to another (64-byte payload),
/// receiver in its own thread.
fn udp_rate(host: &str, n: usize) -> f64 {
    let rx = UdpSocket::bind(format!("{host}:0")).expect("bind");
    let to = rx.local_addr().expect("addr");
    let tx = UdpSocket::bind(format!("{host}:0")).expect("bind");
    // Flow control: the receiver acknowledges every 64 datagrams so the
    // sender cannot overrun the socket buffer (drops would skew the rate).
    let ack = UdpSocket::bind(format!("{host}:0")).expect("bind");
    let ack_to = ack.local_addr().expect("addr");
    let receiver = std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        let back = UdpSocket::bind(SocketAddr::new(to.ip(), 0)).expect("bind");
        for i in 1..=n {
            rx.recv(&mut buf).expect("recv");
            if i % 64 == 0 {
                back.send_to(&[1], ack_to).expect("ack");
            }
        }
    });
    let start = Instant::now();
    let mut buf = [0u8; 8];
    for i in 1..=n {
        tx.send_to(&[0x42; 64], to).expect("send");
        if i % 64 == 0 {
            ack.recv(&mut buf).expect("ack");
        }
    }
    receiver.join().expect("receiver");
    n as f64 / start.elapsed().as_secs_f64()
}

/// Bytes per second over one TCP connection.
fn tcp_rate(host: &str, bytes: usize) -> f64 {
    let l = TcpListener::bind(format!("{host}:0")).expect("listen");
    let addr = l.local_addr().expect("addr");
    let reader = std::thread::spawn(move || {
        let (mut c, _) = l.accept().expect("accept");
        let mut buf = vec![0u8; 1 << 16];
        let mut got = 0;
        while got < bytes {
            match c.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
    });
    let mut c = TcpStream::connect(addr).expect("connect");
    let chunk = vec![0x17u8; 1 << 16];
    let start = Instant::now();
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len());
        c.write_all(&chunk[..n]).expect("write");
        left -= n;
    }
    drop(c);
    reader.join().expect("reader");
    bytes as f64 / start.elapsed().as_secs_f64()
}

/// Opens `n` UDP sockets (half IPv4, half IPv6) that each send one
/// datagram, so the module holds a record for each; they stay open.
fn idle_sockets(n: usize) -> Vec<UdpSocket> {
    let sink4 = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let sink6 = UdpSocket::bind("[::1]:0").expect("bind");
    let mut v = Vec::with_capacity(n);
    for i in 0..n {
        let (host, sink) = if i % 2 == 0 {
            ("127.0.0.1:0", &sink4)
        } else {
            ("[::1]:0", &sink6)
        };
        let s = UdpSocket::bind(host).expect("bind (raise the open-file limit?)");
        s.send_to(&[0], sink.local_addr().expect("addr"))
            .expect("send");
        v.push(s);
    }
    v
}

/// The best of `rounds` measurements (least disturbed by the emulator).
fn best(rounds: usize, f: impl Fn() -> f64) -> f64 {
    (0..rounds).map(|_| f()).fold(0.0, f64::max)
}

fn sh(cmd: &str) {
    let ok = Command::new("/bin/sh")
        .arg("-c")
        .arg(cmd)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "'{cmd}' failed");
}

fn main() {
    let a = args();
    if let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, 200_000, 200_000) {
        eprintln!("cannot raise the open-file limit: {e}");
    }
    let cases: [(&str, &str, bool); 4] = [
        ("UDP IPv4 datagrams/s", "127.0.0.1", true),
        ("UDP IPv6 datagrams/s", "[::1]", true),
        ("TCP IPv4 MB/s", "127.0.0.1", false),
        ("TCP IPv6 MB/s", "[::1]", false),
    ];
    let measure = |label: &str| -> Vec<f64> {
        eprintln!("measuring: {label}");
        cases
            .iter()
            .map(|&(_, host, udp)| {
                if udp {
                    best(a.rounds, || udp_rate(host, a.udp_packets))
                } else {
                    best(a.rounds, || tcp_rate(host, a.tcp_bytes)) / 1e6
                }
            })
            .collect()
    };
    let without = measure("without netatop");
    sh("insmod /lib/modules/netatop.ko sockmem=16777216");
    let with = measure("with netatop");
    // Enough ephemeral ports for 50 000 sockets per address family.
    sh("echo 1025 65535 > /proc/sys/net/ipv4/ip_local_port_range");
    let sockets = idle_sockets(100_000);
    let table = std::fs::read_to_string("/proc/netatop").unwrap_or_default();
    let records = table
        .lines()
        .find(|l| l.starts_with("#sockinfo:"))
        .unwrap_or("")
        .to_string();
    let loaded = measure("with netatop and 100 000 idle sockets");
    drop(sockets);
    sh("rmmod netatop");

    println!(
        "netatop-bench: best of {} rounds; {} UDP datagrams of 64 bytes, {} MiB of TCP per round",
        a.rounds,
        a.udp_packets,
        a.tcp_bytes >> 20
    );
    println!("module loaded with sockmem=16777216; {records}");
    println!(
        "{:<24}{:>14}{:>14}{:>8}{:>18}{:>8}",
        "", "without", "with", "ratio", "with 100k socks", "ratio"
    );
    for (i, (label, _, _)) in cases.iter().enumerate() {
        println!(
            "{:<24}{:>14.1}{:>14.1}{:>8.3}{:>18.1}{:>8.3}",
            label,
            without[i],
            with[i],
            with[i] / without[i],
            loaded[i],
            loaded[i] / without[i]
        );
    }
    let v6_over_v4 = |r: &Vec<f64>, i: usize| r[i + 1] / r[i];
    println!(
        "IPv6/IPv4 ratio with netatop: UDP {:.3} (without: {:.3}), TCP {:.3} (without: {:.3})",
        v6_over_v4(&with, 0),
        v6_over_v4(&without, 0),
        v6_over_v4(&with, 2),
        v6_over_v4(&without, 2)
    );
}
