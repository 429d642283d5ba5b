// SPDX-License-Identifier: GPL-2.0
/*
 * The benchmark's floor: netfilter hooks at the places netatop hooks
 * (LOCAL_IN and LOCAL_OUT, IPv4 and IPv6, every network namespace) that
 * do nothing but accept the packet. What netatop costs beyond this is the
 * cost of its accounting; this is the cost of having hooks at all.
 */

#include <linux/module.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <net/net_namespace.h>

static unsigned int floor_hook(void *priv, struct sk_buff *skb,
			       const struct nf_hook_state *state)
{
	return NF_ACCEPT;
}

static const struct nf_hook_ops floor_ops[] = {
	{ .hook = floor_hook, .pf = NFPROTO_IPV4, .hooknum = NF_INET_LOCAL_IN,
	  .priority = NF_IP_PRI_CONNTRACK_DEFRAG + 1 },
	{ .hook = floor_hook, .pf = NFPROTO_IPV4, .hooknum = NF_INET_LOCAL_OUT,
	  .priority = NF_IP_PRI_CONNTRACK_DEFRAG + 1 },
	{ .hook = floor_hook, .pf = NFPROTO_IPV6, .hooknum = NF_INET_LOCAL_IN,
	  .priority = NF_IP6_PRI_CONNTRACK_DEFRAG + 1 },
	{ .hook = floor_hook, .pf = NFPROTO_IPV6, .hooknum = NF_INET_LOCAL_OUT,
	  .priority = NF_IP6_PRI_CONNTRACK_DEFRAG + 1 },
};

static int __net_init floor_net_init(struct net *net)
{
	return nf_register_net_hooks(net, floor_ops, ARRAY_SIZE(floor_ops));
}

static void __net_exit floor_net_exit(struct net *net)
{
	nf_unregister_net_hooks(net, floor_ops, ARRAY_SIZE(floor_ops));
}

static struct pernet_operations floor_net_ops = {
	.init = floor_net_init,
	.exit = floor_net_exit,
};

static int __init floor_init(void)
{
	return register_pernet_subsys(&floor_net_ops);
}

static void __exit floor_exit(void)
{
	unregister_pernet_subsys(&floor_net_ops);
}

module_init(floor_init);
module_exit(floor_exit);
MODULE_DESCRIPTION("netatop benchmark floor: empty netfilter hooks");
MODULE_LICENSE("GPL");
