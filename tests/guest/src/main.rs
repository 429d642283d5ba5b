//! The in-guest tests of netatop, run by scripts/test.sh inside the test
//! VM as root. Each test prints `ok NAME` or `FAIL NAME: why`; the last
//! line is `N passed, N failed`.
//!
//! Usage: netatop-guest-test [NAME...]   (no name: all, in order)
//!        netatop-guest-test --list

mod accounting;
mod atop;
mod badinput;
mod child;
mod daemon;
mod exits;
mod fuzz;
mod lifecycle;
mod netatop;
mod prn;
mod sys;
mod tcp;
mod tests;

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let all = tests::all();
    if args.iter().any(|a| a == "--list") {
        for t in &all {
            println!("{}", t.0);
        }
        return;
    }
    let selected: Vec<_> = all
        .iter()
        .filter(|t| args.is_empty() || args.iter().any(|a| a == t.0))
        .collect();
    if selected.is_empty() {
        eprintln!("no test matches {args:?}");
        std::process::exit(2);
    }
    let (mut passed, mut failed) = (0, 0);
    for (name, test) in selected {
        let start = Instant::now();
        match test() {
            Ok(()) => {
                passed += 1;
                println!("ok {name} ({:.1} s)", start.elapsed().as_secs_f64());
            }
            Err(why) => {
                failed += 1;
                println!("FAIL {name}: {why}");
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    std::process::exit(if failed == 0 { 0 } else { 1 });
}
