// SPDX-License-Identifier: GPL-2.0
/*
 * The values of the C constants the Rust side of the module needs and
 * cannot get from the kernel crate's bindings. Never linked: Kbuild
 * compiles this file to assembly and turns each marker into a Rust
 * constant in constants.gen.rs (see the top-level Kbuild), the way the
 * kernel makes asm-offsets.h. So the values always are those of the
 * headers of the kernel the module is built for.
 */

#include <linux/netdevice.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/skbuff.h>
#include <net/net_namespace.h>
#include <net/sock.h>
#include <net/tcp_states.h>

#define RUST_CONST(name, type, value) \
	asm volatile("\n.ascii \"->" #name " " #type " %0\"" : : "i" (value))

/*
 * The offset of a field the packet path reads in place (fields.rs), as
 * NAME, and a check that the field is as wide as the Rust type it is
 * read as.
 */
#define RUST_FIELD(name, type, rust_type, field) \
	static_assert(sizeof_field(type, field) == sizeof(rust_type)); \
	RUST_CONST(name, usize, offsetof(type, field))

/* skb->end is an offset from skb->head exactly on 64-bit kernels. */
static_assert(IS_ENABLED(CONFIG_64BIT) == IS_ENABLED(NET_SKBUFF_DATA_USES_OFFSET));

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
	RUST_CONST(NF_INET_LOCAL_IN, u8, NF_INET_LOCAL_IN);
	/* What in_interrupt() tests of the preempt count (not on PREEMPT_RT). */
	RUST_CONST(IN_INTERRUPT_MASK, u32, NMI_MASK | HARDIRQ_MASK | SOFTIRQ_MASK);

	RUST_FIELD(SKB_LEN, struct sk_buff, u32, len);
	RUST_FIELD(SKB_DATA_LEN, struct sk_buff, u32, data_len);
	RUST_FIELD(SKB_HEAD, struct sk_buff, void *, head);
	RUST_FIELD(SKB_DATA, struct sk_buff, void *, data);
	RUST_FIELD(SKB_NETWORK_HEADER, struct sk_buff, u16, network_header);
	RUST_FIELD(SKB_END, struct sk_buff, sk_buff_data_t, end);
	RUST_FIELD(SKB_SK, struct sk_buff, void *, sk);
	RUST_FIELD(SHINFO_GSO_SIZE, struct skb_shared_info, u16, gso_size);
	RUST_FIELD(SHINFO_GSO_SEGS, struct skb_shared_info, u16, gso_segs);
	RUST_FIELD(HOOK_STATE_HOOK, struct nf_hook_state, u8, hook);
	RUST_FIELD(HOOK_STATE_PF, struct nf_hook_state, u8, pf);
	RUST_FIELD(HOOK_STATE_IN, struct nf_hook_state, void *, in);
	RUST_FIELD(HOOK_STATE_OUT, struct nf_hook_state, void *, out);
	RUST_FIELD(HOOK_STATE_NET, struct nf_hook_state, void *, net);
	RUST_FIELD(NET_COOKIE, struct net, u64, net_cookie);
	RUST_FIELD(DEV_MTU, struct net_device, u32, mtu);
	RUST_FIELD(DEV_HARD_HEADER_LEN, struct net_device, u16, hard_header_len);
	RUST_FIELD(SK_STATE, struct sock, u8, sk_state);
	RUST_FIELD(TASK_PID, struct task_struct, pid_t, pid);
	RUST_FIELD(TASK_TGID, struct task_struct, pid_t, tgid);
	RUST_FIELD(TASK_GROUP_LEADER, struct task_struct, void *, group_leader);
	RUST_FIELD(TASK_START_BOOTTIME, struct task_struct, u64, start_boottime);
}
