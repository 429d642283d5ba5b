//! netatop-traffic: generates known TCP and UDP traffic inside the test VM.
//!
//!   netatop-traffic udp HOST COUNT SIZE [HOLD]
//!                                         COUNT datagrams of SIZE bytes from
//!                                         one local socket to another, then
//!                                         stay alive HOLD seconds
//!   netatop-traffic tcp HOST BYTES        one TCP connection carrying BYTES
//!
//! HOST is a local address such as 127.0.0.1 or ::1.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::exit;
use std::thread;

fn usage() -> ! {
    eprintln!("usage: netatop-traffic udp HOST COUNT SIZE [HOLD] | tcp HOST BYTES");
    exit(2);
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize) -> T {
    args.get(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| usage())
}

fn udp(host: IpAddr, count: usize, size: usize) -> std::io::Result<()> {
    let rx = UdpSocket::bind(SocketAddr::new(host, 0))?;
    let tx = UdpSocket::bind(SocketAddr::new(host, 0))?;
    let to = rx.local_addr()?;
    let payload = vec![0x42; size];
    let mut buf = vec![0; size + 1];
    for _ in 0..count {
        tx.send_to(&payload, to)?;
        rx.recv(&mut buf)?;
    }
    println!(
        "udp: {count} datagrams of {size} bytes {} -> {to}",
        tx.local_addr()?
    );
    Ok(())
}

fn tcp(host: IpAddr, bytes: usize) -> std::io::Result<()> {
    let listener = TcpListener::bind(SocketAddr::new(host, 0))?;
    let addr = listener.local_addr()?;
    let server = thread::spawn(move || -> std::io::Result<usize> {
        let (mut conn, _) = listener.accept()?;
        let mut total = 0;
        let mut buf = [0u8; 65536];
        loop {
            let n = conn.read(&mut buf)?;
            if n == 0 {
                return Ok(total);
            }
            total += n;
        }
    });
    let mut client = TcpStream::connect(addr)?;
    let chunk = vec![0x17; 65536];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len());
        client.write_all(&chunk[..n])?;
        left -= n;
    }
    drop(client);
    let got = server.join().expect("server thread")?;
    println!("tcp: {got} bytes over {addr}");
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let host: IpAddr = arg(&args, 1);
    let r = match args.first().map(String::as_str) {
        Some("udp") => udp(host, arg(&args, 2), arg(&args, 3)).map(|()| {
            let hold: u64 = args.get(4).and_then(|h| h.parse().ok()).unwrap_or(0);
            thread::sleep(std::time::Duration::from_secs(hold));
        }),
        Some("tcp") => tcp(host, arg(&args, 2)),
        _ => usage(),
    };
    if let Err(e) = r {
        eprintln!("netatop-traffic: {e}");
        exit(1);
    }
}
