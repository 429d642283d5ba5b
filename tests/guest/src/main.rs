//! The in-guest tests of netatop, run by scripts/test.sh inside the test
//! VM as root. They report in KTAP (the kernel's
//! Documentation/dev-tools/ktap.rst): `ok N NAME`, or the reason as
//! diagnostic lines and `not ok N NAME`. A last line after the KTAP
//! document says `N passed, N failed`.
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
    println!("KTAP version 1");
    println!("1..{}", selected.len());
    let (mut passed, mut failed) = (0, 0);
    for (number, (name, test)) in (1..).zip(selected) {
        let start = Instant::now();
        let result = test();
        println!("# {name}: {:.1} s", start.elapsed().as_secs_f64());
        match result {
            Ok(()) => {
                passed += 1;
                println!("ok {number} {name}");
            }
            Err(why) => {
                failed += 1;
                for line in why.lines() {
                    println!("# {line}");
                }
                println!("not ok {number} {name}");
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    std::process::exit(if failed == 0 { 0 } else { 1 });
}
