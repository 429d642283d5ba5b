/* SPDX-License-Identifier: GPL-2.0 */
/*
 * netatop: per-task TCP/UDP counters, kernel/user interface.
 *
 * A program with CAP_NET_ADMIN opens any IPv4 socket and issues
 * getsockopt(fd, SOL_IP, NETATOP_*, &npt, &len) with one of the commands
 * below.  The layout of the structures is a fixed ABI shared with atop;
 * it must never change.
 */
#ifndef NETATOP_H
#define NETATOP_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <sys/types.h>
#endif

#define COMLEN	16

struct taskcount {
	unsigned long long	tcpsndpacks;
	unsigned long long	tcpsndbytes;
	unsigned long long	tcprcvpacks;
	unsigned long long	tcprcvbytes;

	unsigned long long	udpsndpacks;
	unsigned long long	udpsndbytes;
	unsigned long long	udprcvpacks;
	unsigned long long	udprcvbytes;

	/* space for future extensions */
};

struct netpertask {
	pid_t			id;	/* tgid or tid (depending on command) */
	unsigned long		btime;	/* start time, seconds since the epoch */
	char			command[COMLEN];
	struct taskcount	tc;
};

/* getsockopt() commands, level SOL_IP */
#define NETATOP_BASE_CTL	15661

/* succeed if the netatop module is active */
#define NETATOP_PROBE		(NETATOP_BASE_CTL)
/* run the garbage collector: make exited processes available */
#define NETATOP_FORCE_GC	(NETATOP_BASE_CTL+1)
/* block until every exited process has been taken and acknowledged */
#define NETATOP_EMPTY_EXIT	(NETATOP_BASE_CTL+2)
/* take the oldest exited process (blocks until one is available) */
#define NETATOP_GETCNT_EXIT	(NETATOP_BASE_CTL+3)
/* counters of a thread group (process); in: id = pid */
#define NETATOP_GETCNT_TGID	(NETATOP_BASE_CTL+4)
/* counters of a single thread; in: id = tid */
#define NETATOP_GETCNT_PID	(NETATOP_BASE_CTL+5)

#endif /* NETATOP_H */
