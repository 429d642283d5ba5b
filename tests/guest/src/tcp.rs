//! TCP: each side's sent packets are the peer's received packets, and the
//! module's totals add up with the kernel's own counters.

use crate::child::{Child, Ctl};
use crate::netatop::*;
use crate::sys::Check;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
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

fn tcp_pair(listen: &str, up: usize, down: usize) -> Result<(Child, Child), String> {
    let listen: SocketAddr = listen.parse().unwrap();
    let mut server = Child::spawn("tcp-server", move |ctl: &mut Ctl| {
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
    let client = Child::spawn("tcp-client", move |ctl: &mut Ctl| {
        let mut c = TcpStream::connect(to).expect("connect");
        c.write_all(&vec![0x72; up]).expect("write");
        let got = read_up_to(&mut c, down);
        drop(c);
        ctl.report(&format!("done {got}"));
        ctl.wait();
    });
    Ok((server, client))
}

fn tcp_conservation(listen: &str) -> Check {
    const UP: usize = 300_000;
    const DOWN: usize = 50_000;
    let snmp0 = snmp()?;
    let proc0 = proc_values()?;
    let (mut server, mut client) = tcp_pair(listen, UP, DOWN)?;
    let (s, c) = (server.read(), client.read());
    if s != format!("done {UP}") || c != format!("done {DOWN}") {
        return Err(format!("transfer incomplete: server {s:?}, client {c:?}"));
    }
    // Let the closing handshake finish.
    std::thread::sleep(Duration::from_millis(500));
    let srv = process(server.pid)?;
    let cli = process(client.pid)?;
    let snmp1 = snmp()?;
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
    let d =
        |m: &std::collections::HashMap<String, u64>,
         n: &std::collections::HashMap<String, u64>,
         k: &str| { n.get(k).copied().unwrap_or(0) - m.get(k).copied().unwrap_or(0) };
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

pub fn tcp_v4_conservation() -> Check {
    tcp_conservation("127.0.0.1:0")
}

pub fn tcp_v6_conservation() -> Check {
    tcp_conservation("[::1]:0")
}
