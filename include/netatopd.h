/* SPDX-License-Identifier: GPL-2.0 */
/*
 * netatopd: the log of exited processes that atop reads.
 *
 * The file NETEXITFILE starts with a struct naheader, followed by one
 * record per exited process: one byte N, then N bytes holding a zlib
 * stream (as made by zlib's compress()) of one struct netpertask.
 * The header is shared with readers through mmap; curseq counts the
 * records written.
 *
 * A SysV semaphore set with key SEMAKEY coordinates daemon and readers:
 * semaphore 0 is the number of running daemons (0 or 1), semaphore 1 is
 * 100 minus the number of subscribed readers.
 */
#ifndef NETATOPD_H
#define NETATOPD_H

#include <sys/types.h>
#include <stdint.h>

#define SEMAKEY		1541961

#define NETEXITFILE	"/run/netatop.log"
#define MYMAGIC		(unsigned int) 0xfeedb0b0

struct naheader {
	uint32_t	magic;	/* magic number MYMAGIC */
	uint32_t	curseq;	/* number of records written */
	uint16_t	hdrlen;	/* length of this header */
	uint16_t	ntplen;	/* length of struct netpertask */
	pid_t		mypid;	/* pid of netatopd itself */
};

#endif /* NETATOPD_H */
