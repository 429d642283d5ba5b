// SPDX-License-Identifier: GPL-2.0

//! Compiles and runs a tiny C program against `include/netatop.h` and
//! writes what the C compiler says about the layout to `c_layout.rs`, so
//! the Rust definitions are checked against the real header at compile
//! time.

use std::env;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

const PROBE: &str = r#"
#include <stdio.h>
#include <stddef.h>
#include "netatop.h"
int main(void)
{
	printf("pub const COMLEN: usize = %d;\n", COMLEN);
	printf("pub const SIZEOF_TASKCOUNT: usize = %zu;\n", sizeof(struct taskcount));
	printf("pub const SIZEOF_NETPERTASK: usize = %zu;\n", sizeof(struct netpertask));
	printf("pub const OFFSETOF_ID: usize = %zu;\n", offsetof(struct netpertask, id));
	printf("pub const OFFSETOF_BTIME: usize = %zu;\n", offsetof(struct netpertask, btime));
	printf("pub const OFFSETOF_COMMAND: usize = %zu;\n", offsetof(struct netpertask, command));
	printf("pub const OFFSETOF_TC: usize = %zu;\n", offsetof(struct netpertask, tc));
	printf("pub const OFFSETOF_UDPRCVBYTES: usize = %zu;\n", offsetof(struct taskcount, udprcvbytes));
	printf("pub const NETATOP_BASE_CTL: i64 = %d;\n", NETATOP_BASE_CTL);
	printf("pub const NETATOP_GETCNT_PID: i64 = %d;\n", NETATOP_GETCNT_PID);
	return 0;
}
"#;

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let include = manifest.join("../../include");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    println!(
        "cargo:rerun-if-changed={}",
        include.join("netatop.h").display()
    );
    println!("cargo:rerun-if-changed=build.rs");

    let src = out.join("c_layout.c");
    let exe = out.join("c_layout");
    fs::write(&src, PROBE).unwrap();
    let cc = env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .arg("-I")
        .arg(&include)
        .arg("-o")
        .arg(&exe)
        .arg(&src)
        .status()
        .unwrap_or_else(|e| panic!("cannot run the C compiler '{cc}': {e}"));
    assert!(
        status.success(),
        "compiling the netatop.h layout probe failed"
    );
    let output = Command::new(&exe)
        .output()
        .expect("running the layout probe");
    assert!(output.status.success(), "the layout probe failed");
    fs::write(out.join("c_layout.rs"), output.stdout).unwrap();
}
