//! netatop-prn-sum: what atop showed of one process.
//!
//!   atop -K -P PRN ... | netatop-prn-sum PID
//!
//! Prints the sums over all samples of the eight netatop counters of
//! process PID's PRN lines (TCP sent packets, bytes, received packets,
//! bytes, then the same for UDP), separated by spaces. Lines of other
//! processes are not read: a log may hold samples taken before atop used
//! netatop.

// The tool reads no thread group ids.
#[allow(dead_code)]
mod prn;

use std::io::Read;
use std::process::exit;

fn main() {
    let pid: i32 = match std::env::args().nth(1).map(|a| a.parse()) {
        Some(Ok(pid)) => pid,
        _ => {
            eprintln!("usage: netatop-prn-sum PID < atop-output");
            exit(2);
        }
    };
    let mut text = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut text) {
        eprintln!("netatop-prn-sum: {e}");
        exit(1);
    }
    let own: String = text
        .lines()
        .filter(|l| l.split_whitespace().nth(6) == Some(&pid.to_string()))
        .map(|l| format!("{l}\n"))
        .collect();
    match prn::parse_prn(&own) {
        Ok(lines) => {
            let total = prn::sum(&lines, |l| l.pid == pid && l.is_process);
            let words: Vec<String> = total.iter().map(u64::to_string).collect();
            println!("{}", words.join(" "));
        }
        Err(e) => {
            eprintln!("netatop-prn-sum: {e}");
            exit(1);
        }
    }
}
