//! atop's parseable PRN lines: the netatop counters of each process and
//! thread in each sample.

/// One PRN line: pid, tgid, is-process, and the eight counters.
pub struct Prn {
    pub pid: i32,
    pub tgid: i32,
    pub is_process: bool,
    pub counters: [u64; 8],
}

/// Parses atop's PRN lines: `PRN host epoch date time interval pid (name)
/// state y tcpsnd tcpsndbytes tcprcv tcprcvbytes udpsnd udpsndbytes udprcv
/// udprcvbytes rawsnd rawrcv tgid isproc`.
pub fn parse_prn(out: &str) -> Result<Vec<Prn>, String> {
    let mut lines = Vec::new();
    for l in out.lines().filter(|l| l.starts_with("PRN ")) {
        let pid = l
            .split_whitespace()
            .nth(6)
            .and_then(|p| p.parse().ok())
            .ok_or(l.to_string())?;
        let rest: Vec<&str> = l[l.rfind(')').ok_or(l.to_string())? + 1..]
            .split_whitespace()
            .collect();
        if rest.len() != 14 || rest[1] != "y" {
            return Err(format!("unexpected PRN line (netatop inactive?): {l}"));
        }
        let num = |i: usize| rest[i].parse::<u64>().map_err(|_| l.to_string());
        let mut counters = [0; 8];
        for (i, c) in counters.iter_mut().enumerate() {
            *c = num(2 + i)?;
        }
        lines.push(Prn {
            pid,
            tgid: num(12)? as i32,
            is_process: rest[13] == "y",
            counters,
        });
    }
    Ok(lines)
}

pub fn sum(lines: &[Prn], pick: impl Fn(&Prn) -> bool) -> [u64; 8] {
    let mut total = [0; 8];
    for l in lines.iter().filter(|l| pick(l)) {
        for (t, c) in total.iter_mut().zip(l.counters) {
            *t += c;
        }
    }
    total
}
