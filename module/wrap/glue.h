/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C helpers of the netatop module (glue.c), called from Rust; their
 * Rust declarations are in wrap/ffi.rs and must match these.
 */
#ifndef NETATOP_GLUE_H
#define NETATOP_GLUE_H

#include <linux/atomic.h>
#include <linux/netfilter.h>
#include <linux/skbuff.h>
#include <linux/spinlock.h>
#include <linux/types.h>

struct nf_sockopt_ops *netatop_sockopt_ops_new(u8 pf, int get_optmin, int get_optmax,
		int (*get)(struct sock *, int, void __user *, int *),
		void *owner);
int netatop_hooks_register(nf_hookfn *hook, void *priv, int priority);
void netatop_hooks_unregister(void);

/*
 * The current task: ids in the initial pid namespace, start times of its
 * thread group leader and of itself (module/wrap/task.rs).
 */
struct netatop_task_ids {
	u64 process_start;
	u64 thread_start;
	pid_t tgid;
	pid_t tid;
};

const void *netatop_skb_header_pointer(const struct sk_buff *skb, int offset,
		int len, void *buffer);
bool netatop_in_process_context(void);
bool netatop_skb_has_socket(const struct sk_buff *skb, const struct nf_hook_state *state);

void netatop_add_pairs(atomic64_t *a, atomic64_t *b, u64 packets, u64 bytes);

u64 __percpu *netatop_percpu_alloc(unsigned int n);
void netatop_percpu_free(u64 __percpu *c);
#if !(defined(CONFIG_X86_64) && defined(CONFIG_SMP))
void netatop_percpu_add(u64 __percpu *c, unsigned int i, u64 n);
#endif
u64 netatop_percpu_sum(u64 __percpu *c, unsigned int i);

/* A socket as its packets identify it (module/wrap/recv_probe.rs). */
struct netatop_sock_id {
	u64 net;
	u8 local[16];
	u8 remote[16];
	__be16 local_port;
	__be16 remote_port;
	bool tcp;
	bool ipv6;
	/* An IPv6 UDP socket that also receives IPv4. */
	bool v4_too;
};

struct task_struct;
struct tracepoint;
struct tracepoint *netatop_tracepoint_register(const char *name, void *probe, void *data);
void netatop_tracepoint_unregister(struct tracepoint *tp, void *probe, void *data);
void netatop_exit_ids(const struct task_struct *p, pid_t *tgid, u64 *start);
u16 netatop_sock_local_port(const struct sock *sk);
bool netatop_sock_id(const struct sock *sk, struct netatop_sock_id *id);

bool netatop_bh_off(void);
void netatop_bh_on(void);

void netatop_current_ids(struct netatop_task_ids *ids);
void netatop_current_comm(char *buf, size_t len, bool leader);
int netatop_task_probe(pid_t nr, u64 *start, bool *group_dead, bool *exiting);
time64_t netatop_boottime_seconds(void);

#endif /* NETATOP_GLUE_H */
