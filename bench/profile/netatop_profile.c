// SPDX-License-Identifier: GPL-2.0
/*
 * netatop_profile: a QEMU TCG plugin that counts the guest instructions
 * executed in each translation block between two marks, for
 * scripts/profile.sh. Instruction counts, unlike times under emulation,
 * are the same from run to run, so a difference of a few instructions per
 * packet between two module builds is visible.
 *
 * The environment tells it:
 *   NETATOP_PROFILE_MARK  guest address (hex) whose executions mark the
 *                         start and the end of each window, in turn (the
 *                         kernel's sync system call)
 *   NETATOP_PROFILE_OUT   at the end of window K (from 1), the file
 *                         NETATOP_PROFILE_OUT.K is written: one line per
 *                         translation block that ran in the window,
 *                         "ADDRESS INSTRUCTIONS EXECUTIONS"
 *
 * Only kernel addresses are counted. The inline counters are not atomic:
 * run QEMU with one thread for all vCPUs (accel tcg,thread=single).
 *
 * QEMU installs no header for its plugin interface; the declarations
 * below are those of plugin API version 1 (QEMU 4.2 to 8.1), the one the
 * QEMU of these machines (7.2) implements.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_info_t;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
		void (*cb)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb));
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb,
		void (*cb)(unsigned int vcpu, void *data),
		enum qemu_plugin_cb_flags flags, void *data);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb,
		enum qemu_plugin_op op, void *ptr, uint64_t imm);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* One per translation; translated code holds its address, so slots never move. */
struct slot {
	uint64_t vaddr;
	uint64_t insns;
	uint64_t runs;
};

#define CHUNK_SLOTS 65536

struct chunk {
	struct chunk *next;
	size_t used;
	struct slot slots[CHUNK_SLOTS];
};

static struct chunk *chunks;
static uint64_t mark;
static const char *out_path;
static int marks_seen;

static struct slot *new_slot(void)
{
	if (!chunks || chunks->used == CHUNK_SLOTS) {
		struct chunk *c = calloc(1, sizeof(*c));

		if (!c) {
			fprintf(stderr, "netatop_profile: out of memory\n");
			abort();
		}
		c->next = chunks;
		chunks = c;
	}
	return &chunks->slots[chunks->used++];
}

static void write_profile(int window)
{
	char path[4096];
	struct chunk *c;
	size_t i;
	FILE *f;

	snprintf(path, sizeof(path), "%s.%d", out_path, window);
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		return;
	}
	for (c = chunks; c; c = c->next)
		for (i = 0; i < c->used; i++)
			if (c->slots[i].runs)
				fprintf(f, "%llx %llu %llu\n",
					(unsigned long long)c->slots[i].vaddr,
					(unsigned long long)c->slots[i].insns,
					(unsigned long long)c->slots[i].runs);
	fclose(f);
}

static void on_mark(unsigned int vcpu, void *data)
{
	struct chunk *c;
	size_t i;

	(void)vcpu;
	(void)data;
	if (++marks_seen % 2) {
		for (c = chunks; c; c = c->next)
			for (i = 0; i < c->used; i++)
				c->slots[i].runs = 0;
	} else {
		write_profile(marks_seen / 2);
	}
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	uint64_t vaddr = qemu_plugin_tb_vaddr(tb);
	struct slot *s;

	(void)id;
	if (vaddr < 0xffff800000000000ULL)
		return;
	if (vaddr == mark)
		qemu_plugin_register_vcpu_tb_exec_cb(tb, on_mark, QEMU_PLUGIN_CB_NO_REGS, NULL);
	s = new_slot();
	s->vaddr = vaddr;
	s->insns = qemu_plugin_tb_n_insns(tb);
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &s->runs, 1);
}

__attribute__((visibility("default")))
int qemu_plugin_install(qemu_plugin_id_t id, const struct qemu_info_t *info,
		int argc, char **argv)
{
	const char *m = getenv("NETATOP_PROFILE_MARK");

	(void)info;
	(void)argc;
	(void)argv;
	out_path = getenv("NETATOP_PROFILE_OUT");
	if (!m || !out_path) {
		fprintf(stderr, "netatop_profile: NETATOP_PROFILE_MARK and NETATOP_PROFILE_OUT must be set\n");
		return -1;
	}
	mark = strtoull(m, NULL, 16);
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	return 0;
}
