// SPDX-License-Identifier: GPL-2.0
/*
 * The values of the C constants the Rust side of the module needs and
 * cannot get from the kernel crate's bindings. Never linked: Kbuild
 * compiles this file to assembly and turns each marker into a Rust
 * constant in constants.gen.rs (see the top-level Kbuild), the way the
 * kernel makes asm-offsets.h. So the values always are those of the
 * headers of the kernel the module is built for.
 */

#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/sched.h>
#include <net/tcp_states.h>

#define RUST_CONST(name, type, value) \
	asm volatile("\n.ascii \"->" #name " " #type " %0\"" : : "i" (value))

void netatop_rust_constants(void);

void netatop_rust_constants(void)
{
	RUST_CONST(NF_ACCEPT, u32, NF_ACCEPT);
	RUST_CONST(NFPROTO_IPV6, u8, NFPROTO_IPV6);
	RUST_CONST(NF_IP_PRI_CONNTRACK_DEFRAG, i32, NF_IP_PRI_CONNTRACK_DEFRAG);
	RUST_CONST(NF_IP6_PRI_CONNTRACK_DEFRAG, i32, NF_IP6_PRI_CONNTRACK_DEFRAG);
	RUST_CONST(TCP_ESTABLISHED, u8, TCP_ESTABLISHED);
	RUST_CONST(TCP_LISTEN, u8, TCP_LISTEN);
	RUST_CONST(TASK_COMM_LEN, usize, TASK_COMM_LEN);
}
