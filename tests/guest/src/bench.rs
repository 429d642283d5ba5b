//! netatop-bench: what a netfilter accounting module costs per packet,
//! measured side by side in one boot. A measurement, never a test.
//!
//!   netatop-bench [--rounds N] [--seconds S] [--records N] CONFIG...
//!   netatop-bench --profile N [--records N] CONFIG...
//!
//! A CONFIG is `LABEL=MODULE` (a module file, loaded with insmod for the
//! configuration's turn and removed after it), `LABEL=-` (no module), or
//! `LABEL=MODULE@records`: the module while it holds a record for each of
//! the `--records` idle UDP sockets (half IPv4, half IPv6; each sends one
//! datagram before every workload, so that the records stay). A module
//! may be followed by `:PARAM=VALUE,...`, its parameters for insmod. The
//! first CONFIG is the baseline every other is divided by.
//!
//! Each round runs every configuration once, in an order that rotates from
//! round to round, and each configuration runs every workload for
//! `--seconds`: UDP and TCP request/reply (64 bytes each way, one
//! transaction in flight) over IPv4 and IPv6 loopback, and a TCP bulk
//! transfer over IPv4, each with both ends in one thread, so that the
//! figures are those of the packet path rather than of waking threads on
//! other CPUs (which under emulation varies by a factor of ten). For each workload and configuration the program
//! prints the median and the range of the per-round ratios to the
//! baseline of the same round.
//!
//! With `--profile N` it times nothing: for each configuration once, it
//! prints the addresses of the module's symbols, then runs each
//! request/reply workload for exactly N transactions between two `sync`
//! calls, the marks at which the QEMU plugin of `scripts/bench.sh --profile` starts and
//! stops counting the instructions the kernel executes.

use nix::sys::resource::{setrlimit, Resource};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::process::Command;
use std::time::{Duration, Instant};

struct Config {
    label: String,
    module: Option<String>,
    /// The module's parameters, as insmod takes them.
    params: String,
    records: bool,
}

struct Args {
    profile: Option<u64>,
    rounds: usize,
    seconds: f64,
    records: usize,
    configs: Vec<Config>,
}

fn usage() -> ! {
    eprintln!(
        "usage: netatop-bench [--rounds N] [--seconds S] [--profile N] [--records N] LABEL=MODULE[@records][:PARAM=VALUE,...]|LABEL=- ..."
    );
    std::process::exit(2);
}

fn args() -> Args {
    let mut a = Args {
        profile: None,
        rounds: 5,
        seconds: 3.0,
        records: 100_000,
        configs: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--rounds" => a.rounds = value().parse().unwrap_or_else(|_| usage()),
            "--seconds" => a.seconds = value().parse().unwrap_or_else(|_| usage()),
            "--profile" => a.profile = Some(value().parse().unwrap_or_else(|_| usage())),
            "--records" => a.records = value().parse().unwrap_or_else(|_| usage()),
            spec => {
                let Some((label, module)) = spec.split_once('=') else {
                    usage()
                };
                let (module, params) = module.split_once(':').unwrap_or((module, ""));
                let (module, records) = match module.strip_suffix("@records") {
                    Some(m) => (m, true),
                    None => (module, false),
                };
                a.configs.push(Config {
                    label: label.to_string(),
                    module: (module != "-").then(|| module.to_string()),
                    params: params.replace(',', " "),
                    records,
                });
            }
        }
    }
    let configs = if a.profile.is_some() { 1 } else { 2 };
    if a.configs.len() < configs || a.rounds == 0 || a.seconds <= 0.0 {
        usage();
    }
    a
}

#[derive(Clone, Copy)]
enum Workload {
    UdpRr(&'static str),
    TcpRr(&'static str),
    TcpBulk(&'static str),
}

const WORKLOADS: [(&str, Workload); 5] = [
    ("UDP IPv4 req/reply /s", Workload::UdpRr("127.0.0.1")),
    ("UDP IPv6 req/reply /s", Workload::UdpRr("[::1]")),
    ("TCP IPv4 req/reply /s", Workload::TcpRr("127.0.0.1")),
    ("TCP IPv6 req/reply /s", Workload::TcpRr("[::1]")),
    ("TCP IPv4 bulk MB/s", Workload::TcpBulk("127.0.0.1")),
];

/// How long a workload runs.
#[derive(Clone, Copy)]
enum Span {
    Seconds(f64),
    /// Exactly this many steps between two `sync` calls, after a warm-up.
    Marked(u64),
}

/// Calls `step` for `span`; how many calls per second (for a marked span,
/// how many calls).
fn timed(span: Span, mut step: impl FnMut()) -> f64 {
    let seconds = match span {
        Span::Seconds(s) => s,
        Span::Marked(n) => {
            for _ in 0..256 {
                step();
            }
            nix::unistd::sync();
            for _ in 0..n {
                step();
            }
            nix::unistd::sync();
            return n as f64;
        }
    };
    let start = Instant::now();
    let mut n = 0u64;
    loop {
        for _ in 0..64 {
            step();
        }
        n += 64;
        let t = start.elapsed().as_secs_f64();
        if t >= seconds {
            return n as f64 / t;
        }
    }
}

/// UDP transactions per second: 64 bytes from one socket to another and
/// back, both ends in this thread. Loopback delivers a datagram before
/// the send returns, so every step finds its data waiting: what is
/// measured is the packet path, not the scheduler.
fn udp_rr(host: &str, span: Span) -> f64 {
    let a = UdpSocket::bind(format!("{host}:0")).expect("bind");
    let b = UdpSocket::bind(format!("{host}:0")).expect("bind");
    a.connect(b.local_addr().expect("addr")).expect("connect");
    b.connect(a.local_addr().expect("addr")).expect("connect");
    for s in [&a, &b] {
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
    }
    let mut buf = [0u8; 64];
    timed(span, || {
        a.send(&[0x42; 64]).expect("send");
        b.recv(&mut buf).expect("request (a datagram lost?)");
        b.send(&buf).expect("reply");
        a.recv(&mut buf).expect("reply (a datagram lost?)");
    })
}

/// A connected pair of TCP sockets, Nagle off.
fn tcp_pair(host: &str) -> (TcpStream, TcpStream) {
    let l = TcpListener::bind(format!("{host}:0")).expect("listen");
    let a = TcpStream::connect(l.local_addr().expect("addr")).expect("connect");
    let (b, _) = l.accept().expect("accept");
    for s in [&a, &b] {
        s.set_nodelay(true).expect("nodelay");
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        s.set_write_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
    }
    (a, b)
}

/// TCP transactions per second: 64 bytes one way and back over one
/// connection, both ends in this thread (as for UDP).
fn tcp_rr(host: &str, span: Span) -> f64 {
    let (mut a, mut b) = tcp_pair(host);
    let mut buf = [0u8; 64];
    timed(span, || {
        a.write_all(&[0x42; 64]).expect("write");
        b.read_exact(&mut buf).expect("request");
        b.write_all(&buf).expect("reply");
        a.read_exact(&mut buf).expect("reply");
    })
}

/// MB/s over one TCP connection: 32 KiB written, then read at the other
/// end, in this thread (less than the receive window, so the write never
/// waits for the read).
fn tcp_bulk(host: &str, span: Span) -> f64 {
    const CHUNK: usize = 1 << 15;
    let (mut a, mut b) = tcp_pair(host);
    let chunk = vec![0x17u8; CHUNK];
    let mut buf = vec![0u8; CHUNK];
    let writes = timed(span, || {
        a.write_all(&chunk).expect("write");
        b.read_exact(&mut buf).expect("read");
    });
    writes * CHUNK as f64 / 1e6
}

fn run(w: Workload, span: Span) -> f64 {
    match w {
        Workload::UdpRr(host) => udp_rr(host, span),
        Workload::TcpRr(host) => tcp_rr(host, span),
        Workload::TcpBulk(host) => tcp_bulk(host, span),
    }
}

/// `n` idle UDP sockets, half IPv4, half IPv6, and the sockets they send
/// to.
struct Idle {
    sockets: Vec<UdpSocket>,
    sink4: UdpSocket,
    sink6: UdpSocket,
}

impl Idle {
    fn open(n: usize) -> Idle {
        let sink4 = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let sink6 = UdpSocket::bind("[::1]:0").expect("bind");
        let sockets = (0..n)
            .map(|i| {
                let host = if i % 2 == 0 { "127.0.0.1:0" } else { "[::1]:0" };
                UdpSocket::bind(host).expect("bind (open-file limit, port range?)")
            })
            .collect();
        Idle {
            sockets,
            sink4,
            sink6,
        }
    }

    /// Every socket sends one datagram, so that a loaded module makes a
    /// record of it.
    fn touch(&self) {
        let to4 = self.sink4.local_addr().expect("addr");
        let to6 = self.sink6.local_addr().expect("addr");
        for (i, s) in self.sockets.iter().enumerate() {
            s.send_to(&[0], if i % 2 == 0 { to4 } else { to6 })
                .expect("send");
        }
    }
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

/// The `#sockinfo` line of `/proc/netatop`: how many records the module
/// holds.
fn records_line() -> String {
    std::fs::read_to_string("/proc/netatop")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("#sockinfo:"))
        .unwrap_or("#sockinfo: (no /proc/netatop)")
        .to_string()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

fn module_name(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.trim_end_matches(".ko").replace('-', "_")
}

/// The `--profile` run: for each configuration, the module's symbols
/// (`@@profile-symbol LABEL ADDRESS NAME`), then one marked window per
/// request/reply workload (`@@profile-window LABEL WORKLOAD`), in order.
fn profile(a: &Args, n: u64, idle: Option<&Idle>) {
    for c in &a.configs {
        if let Some(m) = &c.module {
            sh(&format!("insmod {m} {}", c.params));
            let tag = format!("[{}]", module_name(m));
            let syms = std::fs::read_to_string("/proc/kallsyms").expect("/proc/kallsyms");
            for l in syms.lines().filter(|l| l.ends_with(&tag)) {
                let f: Vec<&str> = l.split_whitespace().collect();
                println!("@@profile-symbol {} {} {}", c.label, f[0], f[2]);
            }
        }
        for &(label, w) in WORKLOADS
            .iter()
            .filter(|(_, w)| !matches!(w, Workload::TcpBulk(_)))
        {
            if let Some(idle) = idle.filter(|_| c.records) {
                idle.touch();
            }
            println!("@@profile-window {} {label}", c.label);
            run(w, Span::Marked(n));
        }
        if let Some(m) = &c.module {
            sh(&format!("rmmod {}", module_name(m)));
        }
    }
}

fn main() {
    let a = args();
    if let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, 200_000, 200_000) {
        eprintln!("cannot raise the open-file limit: {e}");
    }
    let idle = a.configs.iter().any(|c| c.records).then(|| {
        // Enough ephemeral ports for the sockets of each address family.
        sh("echo 1025 65535 > /proc/sys/net/ipv4/ip_local_port_range");
        Idle::open(a.records)
    });

    if let Some(n) = a.profile {
        profile(&a, n, idle.as_ref());
        return;
    }

    // rates[round][config][workload]
    let mut rates = vec![vec![vec![0.0; WORKLOADS.len()]; a.configs.len()]; a.rounds];
    let mut held = vec![String::new(); a.configs.len()];
    for (round, row) in rates.iter_mut().enumerate() {
        for k in 0..a.configs.len() {
            let ci = (round + k) % a.configs.len();
            let c = &a.configs[ci];
            eprintln!("round {}/{}: {}", round + 1, a.rounds, c.label);
            if let Some(m) = &c.module {
                sh(&format!("insmod {m} {}", c.params));
            }
            for (wi, &(_, w)) in WORKLOADS.iter().enumerate() {
                // Before every workload: the garbage collector drops UDP
                // records idle for 16 s.
                if let Some(idle) = idle.as_ref().filter(|_| c.records) {
                    idle.touch();
                }
                row[ci][wi] = run(w, Span::Seconds(a.seconds));
            }
            if c.records {
                held[ci] = records_line();
            }
            if let Some(m) = &c.module {
                sh(&format!("rmmod {}", module_name(m)));
            }
        }
    }

    println!(
        "netatop-bench: {} rounds, {} s per workload and configuration, configurations interleaved",
        a.rounds, a.seconds
    );
    for (ci, c) in a.configs.iter().enumerate() {
        let module = format!(
            "{} {}",
            c.module.as_deref().unwrap_or("no module"),
            c.params
        );
        let module = module.trim_end();
        let extra = if c.records {
            format!(
                " with {} idle sockets (after the last workload: {})",
                a.records, held[ci]
            )
        } else {
            String::new()
        };
        println!("  {:<12} {module}{extra}", c.label);
    }
    println!(
        "ratio to '{}' in the same round: median [min-max]",
        a.configs[0].label
    );
    print!("{:<24}{:>12}", "", a.configs[0].label);
    for c in &a.configs[1..] {
        print!("{:>22}", c.label);
    }
    println!();
    for (wi, (label, _)) in WORKLOADS.iter().enumerate() {
        let mut base: Vec<f64> = rates.iter().map(|row| row[0][wi]).collect();
        print!("{:<24}{:>12.0}", label, median(&mut base));
        for ci in 1..a.configs.len() {
            let mut ratios: Vec<f64> = rates.iter().map(|row| row[ci][wi] / row[0][wi]).collect();
            let m = median(&mut ratios);
            let cell = format!("{m:.3} [{:.3}-{:.3}]", ratios[0], ratios[ratios.len() - 1]);
            print!("{cell:>22}");
        }
        println!();
    }
    drop(idle);
}
