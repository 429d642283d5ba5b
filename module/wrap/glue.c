// SPDX-License-Identifier: GPL-2.0
/*
 * C glue for the netatop Rust module: only what Rust cannot reach through
 * the kernel crate's bindings (static inline functions, macros, and C
 * structures that have no Rust binding). No logic lives here; the Rust
 * side declares these functions in module/wrap/ffi.rs.
 */

#include <linux/atomic.h>
#include <linux/bottom_half.h>
#include <linux/netdevice.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/preempt.h>
#include <linux/percpu.h>
#include <linux/pid_namespace.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/timekeeping.h>
#include <linux/tracepoint.h>
#include <net/inet_sock.h>
#include <net/ipv6.h>
#include <net/net_namespace.h>
#include <net/netfilter/nf_socket.h>
#include <net/sock.h>

#include "../../include/netatop.h"
#include "glue.h"

/* The ABI the Rust side asserts in module/logic/abi.rs, checked on the C side. */
static_assert(sizeof(struct taskcount) == 64);
static_assert(sizeof(struct netpertask) == 96);
static_assert(offsetof(struct netpertask, btime) == 8);
static_assert(offsetof(struct netpertask, command) == 16);
static_assert(offsetof(struct netpertask, tc) == 32);
/* atop's command field holds a whole comm. */
static_assert(COMLEN == TASK_COMM_LEN);
/* The layouts module/wrap/ffi.rs asserts. */
static_assert(sizeof(struct netatop_task_ids) == 24);
static_assert(offsetof(struct netatop_task_ids, tgid) == 16);
static_assert(sizeof(struct netatop_sock_id) == 48);
static_assert(offsetof(struct netatop_sock_id, local_port) == 40);
static_assert(offsetof(struct netatop_sock_id, v4_too) == 46);

/* --- getsockopt registration (module/wrap/nf_sockopt.rs) --- */

struct nf_sockopt_ops *netatop_sockopt_ops_new(u8 pf, int get_optmin, int get_optmax,
		int (*get)(struct sock *, int, void __user *, int *),
		void *owner)
{
	struct nf_sockopt_ops *ops = kzalloc(sizeof(*ops), GFP_KERNEL);

	if (!ops)
		return NULL;
	ops->pf = pf;
	ops->get_optmin = get_optmin;
	ops->get_optmax = get_optmax;
	ops->get = get;
	ops->owner = owner;
	return ops;
}

/* --- netfilter hooks in every network namespace (module/wrap/nf_hook.rs) --- */

/*
 * pernet_operations callbacks get no context pointer, so the hook set is
 * a single static instance; module/wrap/nf_hook.rs allows one registration.
 */
static struct nf_hook_ops netatop_hook_ops[4];

static int netatop_net_init(struct net *net)
{
	return nf_register_net_hooks(net, netatop_hook_ops, ARRAY_SIZE(netatop_hook_ops));
}

static void netatop_net_exit(struct net *net)
{
	nf_unregister_net_hooks(net, netatop_hook_ops, ARRAY_SIZE(netatop_hook_ops));
}

static struct pernet_operations netatop_net_ops = {
	.init = netatop_net_init,
	.exit = netatop_net_exit,
};

int netatop_hooks_register(nf_hookfn *hook, void *priv, int priority)
{
	static const struct { u8 pf; unsigned int hooknum; } slots[] = {
		{ NFPROTO_IPV4, NF_INET_LOCAL_IN },
		{ NFPROTO_IPV4, NF_INET_LOCAL_OUT },
		{ NFPROTO_IPV6, NF_INET_LOCAL_IN },
		{ NFPROTO_IPV6, NF_INET_LOCAL_OUT },
	};
	int i;

	BUILD_BUG_ON(ARRAY_SIZE(slots) != ARRAY_SIZE(netatop_hook_ops));
	for (i = 0; i < ARRAY_SIZE(slots); i++) {
		netatop_hook_ops[i] = (struct nf_hook_ops) {
			.hook = hook,
			.priv = priv,
			.pf = slots[i].pf,
			.hooknum = slots[i].hooknum,
			.priority = priority,
		};
	}
	return register_pernet_subsys(&netatop_net_ops);
}

void netatop_hooks_unregister(void)
{
	unregister_pernet_subsys(&netatop_net_ops);
}

/* --- the context of a hook call (module/wrap/task.rs) --- */

/* On x86-64 the Rust side reads the preempt count and current inline. */
#if !(defined(CONFIG_X86_64) && defined(CONFIG_SMP) && !defined(CONFIG_PREEMPT_RT))
/*
 * Whether the caller runs on behalf of the current task: not in hardirq or
 * softirq, and not in a section with bottom halves disabled either, where
 * threaded NAPI, backlog threads and busy polling handle other sockets'
 * packets (in_task() is true there). The hooks ask it of a sent packet,
 * the read probe of a read that may bind a socket.
 */
bool netatop_in_process_context(void)
{
	return !in_interrupt();
}

void netatop_current_ids(struct netatop_task_ids *ids)
{
	ids->tgid = current->tgid;
	ids->tid = current->pid;
	ids->process_start = current->group_leader->start_boottime;
	ids->thread_start = current->start_boottime;
}
#endif

/*
 * Bytes beyond those the hook reads in place (IPv6 extension headers,
 * headers outside the linear data).
 */
const void *netatop_skb_header_pointer(const struct sk_buff *skb, int offset,
		int len, void *buffer)
{
	return skb_header_pointer(skb, offset, len, buffer);
}

/*
 * Whether a local socket takes the received packet: one the stack attached
 * already (early demux), or one the netfilter socket lookup finds, as the
 * socket match does. Without the lookup in this kernel, every packet
 * counts as taken.
 */
bool netatop_skb_has_socket(const struct sk_buff *skb, const struct nf_hook_state *state)
{
	struct sock *sk = NULL;

	if (skb->sk)
		return true;
	switch (state->pf) {
	case NFPROTO_IPV4:
#if IS_ENABLED(CONFIG_NF_SOCKET_IPV4)
		sk = nf_sk_lookup_slow_v4(state->net, skb, state->in);
		break;
#else
		return true;
#endif
	case NFPROTO_IPV6:
#if IS_ENABLED(CONFIG_NF_SOCKET_IPV6)
		sk = nf_sk_lookup_slow_v6(state->net, skb, state->in);
		break;
#else
		return true;
#endif
	default:
		return true;
	}
	if (!sk)
		return false;
	sock_gen_put(sk);
	return true;
}

/* --- reads from sockets (module/wrap/recv_probe.rs) --- */

/* --- probes on the kernel's tracepoints (module/wrap/tracepoint.rs) --- */

#ifdef CONFIG_TRACEPOINTS
struct netatop_tp_search {
	const char *name;
	struct tracepoint *tp;
};

static void netatop_match_tp(struct tracepoint *tp, void *priv)
{
	struct netatop_tp_search *s = priv;

	if (!strcmp(tp->name, s->name))
		s->tp = tp;
}

/*
 * Registers @probe, with @data, on the kernel's tracepoint @name. The
 * tracepoints' symbols are not exported; the tracepoint is found by name,
 * and the probe registered on it, with what is. @probe must have the
 * tracepoint's prototype. Returns the tracepoint, or an ERR_PTR (-ENOENT
 * without one of that name).
 */
struct tracepoint *netatop_tracepoint_register(const char *name, void *probe, void *data)
{
	struct netatop_tp_search s = { .name = name };
	int ret;

	for_each_kernel_tracepoint(netatop_match_tp, &s);
	if (!s.tp)
		return ERR_PTR(-ENOENT);
	ret = tracepoint_probe_register(s.tp, probe, data);
	return ret ? ERR_PTR(ret) : s.tp;
}

/* Unregisters the probe and waits until no call of it runs any more. */
void netatop_tracepoint_unregister(struct tracepoint *tp, void *probe, void *data)
{
	tracepoint_probe_unregister(tp, probe, data);
	tracepoint_synchronize_unregister();
}
#else
/* A kernel without CONFIG_TRACEPOINTS has none to register on. */
struct tracepoint *netatop_tracepoint_register(const char *name, void *probe, void *data)
{
	return ERR_PTR(-ENOENT);
}

void netatop_tracepoint_unregister(struct tracepoint *tp, void *probe, void *data)
{
}
#endif

/* The process of the exiting task @p: its tgid and its leader's start time. */
void netatop_exit_ids(const struct task_struct *p, pid_t *tgid, u64 *start)
{
	*tgid = p->tgid;
	*start = p->group_leader->start_boottime;
}

/* The local port of the TCP or UDP socket @sk (host order); 0 for any other. */
u16 netatop_sock_local_port(const struct sock *sk)
{
	if (sk->sk_family != AF_INET && sk->sk_family != AF_INET6)
		return 0;
	if (sk->sk_protocol != IPPROTO_TCP && sk->sk_protocol != IPPROTO_UDP)
		return 0;
	return READ_ONCE(inet_sk(sk)->inet_num);
}

/*
 * What identifies the TCP or UDP socket @sk as its packets do; false for
 * any other socket. Addresses and ports are in network order; an IPv4
 * address is in the first four bytes. A socket of AF_INET6 connected to
 * an IPv4-mapped address carries IPv4 packets and is described as IPv4.
 */
bool netatop_sock_id(const struct sock *sk, struct netatop_sock_id *id)
{
	const struct inet_sock *inet = inet_sk(sk);

	if (sk->sk_family != AF_INET && sk->sk_family != AF_INET6)
		return false;
	if (sk->sk_protocol != IPPROTO_TCP && sk->sk_protocol != IPPROTO_UDP)
		return false;
	memset(id, 0, sizeof(*id));
	id->net = sock_net(sk)->net_cookie;
	id->tcp = sk->sk_protocol == IPPROTO_TCP;
	id->local_port = READ_ONCE(inet->inet_sport);
	id->remote_port = READ_ONCE(inet->inet_dport);
#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6 && !ipv6_addr_v4mapped(&sk->sk_v6_daddr)) {
		id->ipv6 = true;
		id->v4_too = !sk->sk_ipv6only && ipv6_addr_any(&sk->sk_v6_daddr);
		memcpy(id->local, &sk->sk_v6_rcv_saddr, 16);
		memcpy(id->remote, &sk->sk_v6_daddr, 16);
		return true;
	}
#endif
	memcpy(id->local, &inet->inet_rcv_saddr, 4);
	memcpy(id->remote, &inet->inet_daddr, 4);
	return true;
}

/* --- bottom halves (module/wrap/sync.rs) --- */

/*
 * Bottom halves off on this CPU, unless they are already (or it runs in a
 * hardirq or NMI, where no bottom half runs either): whether they were
 * turned off, which is whether the caller runs in process context as
 * in_interrupt() says.
 */
bool netatop_bh_off(void)
{
	if (in_interrupt())
		return false;
	local_bh_disable();
	return true;
}

void netatop_bh_on(void)
{
	local_bh_enable();
}

/* --- pairs of atomic counters (module/wrap/counters.rs) --- */

/* On x86-64 the Rust side adds inline. */
#ifndef CONFIG_X86_64
/*
 * Adds @packets and @bytes to the pair @a and, unless it is NULL, to the
 * pair @b: the four relaxed additions of one packet in one call.
 */
void netatop_add_pairs(atomic64_t *a, atomic64_t *b, u64 packets, u64 bytes)
{
	atomic64_add(packets, &a[0]);
	atomic64_add(bytes, &a[1]);
	if (b) {
		atomic64_add(packets, &b[0]);
		atomic64_add(bytes, &b[1]);
	}
}
#endif

/* --- per-CPU counters (module/wrap/percpu.rs) --- */

u64 __percpu *netatop_percpu_alloc(unsigned int n)
{
	return __alloc_percpu(n * sizeof(u64), __alignof__(u64));
}

void netatop_percpu_free(u64 __percpu *c)
{
	free_percpu(c);
}

/* On x86-64 the Rust side adds inline. */
#if !(defined(CONFIG_X86_64) && defined(CONFIG_SMP))
/* Adds @n to counter @i on this CPU; safe in any context. */
void netatop_percpu_add(u64 __percpu *c, unsigned int i, u64 n)
{
	this_cpu_add(c[i], n);
}
#endif

/* Counter @i summed over all CPUs (wrapping: a CPU may hold a negative share). */
u64 netatop_percpu_sum(u64 __percpu *c, unsigned int i)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(*per_cpu_ptr(&c[i], cpu));
	return sum;
}

/* --- tasks (module/wrap/task.rs) --- */

/*
 * The comm of the current thread, or of its thread group leader, in @len
 * bytes of @buf, NUL-padded.
 */
void netatop_current_comm(char *buf, size_t len, bool leader)
{
	strscpy_pad(buf, (leader ? current->group_leader : current)->comm, len);
}

/*
 * Looks up the task with id @nr in the initial pid namespace. Returns
 * -ESRCH if there is none; otherwise its start time, whether its thread
 * group has no live thread left, and whether the task itself is exiting.
 */
int netatop_task_probe(pid_t nr, u64 *start, bool *group_dead, bool *exiting)
{
	struct task_struct *t;
	int ret = -ESRCH;

	rcu_read_lock();
	t = pid_task(find_pid_ns(nr, &init_pid_ns), PIDTYPE_PID);
	if (t) {
		*start = t->start_boottime;
		*group_dead = atomic_read(&t->signal->live) == 0;
		*exiting = t->flags & PF_EXITING;
		ret = 0;
	}
	rcu_read_unlock();
	return ret;
}

time64_t netatop_boottime_seconds(void)
{
	struct timespec64 ts;

	getboottime64(&ts);
	return ts.tv_sec;
}
