// SPDX-License-Identifier: GPL-2.0
/*
 * insnprof: a QEMU TCG plugin that counts how often each guest instruction
 * address executes, for bench/profile.sh.  At exit it writes "pc count"
 * lines (hex, decimal) to the file given as out=FILE.
 *
 * Written against the plugin API of QEMU 7.2 (Debian 12), declared here
 * because Debian ships no qemu-plugin.h; only calls that exist in every
 * plugin API version since 1 are used.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
struct qemu_info_t;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };

typedef void (*tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*udata_cb_t)(qemu_plugin_id_t id, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, tb_trans_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb,
						 size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn,
						enum qemu_plugin_op op,
						void *ptr, uint64_t imm);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, udata_cb_t cb,
				    void *userdata);

EXPORT int qemu_plugin_version = 1;

/* Open addressing, never resized: counters must not move once in use. */
#define TABLE_BITS	23
#define TABLE_SIZE	(1UL << TABLE_BITS)

struct slot {
	uint64_t pc;
	uint64_t count;
};

static struct slot *table;
static unsigned long used;
static char *out_path;

static struct slot *lookup(uint64_t pc)
{
	unsigned long i = (pc * 0x9e3779b97f4a7c15ULL) >> (64 - TABLE_BITS);

	for (;;) {
		struct slot *s = &table[i];

		if (s->pc == pc && (pc || s->count))
			return s;
		if (!s->pc && !s->count) {
			if (used + 1 >= TABLE_SIZE / 2) {
				fprintf(stderr, "insnprof: table full\n");
				abort();
			}
			used++;
			s->pc = pc;
			return s;
		}
		i = (i + 1) & (TABLE_SIZE - 1);
	}
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t i, n = qemu_plugin_tb_n_insns(tb);

	(void)id;
	for (i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		struct slot *s = lookup(qemu_plugin_insn_vaddr(insn));

		qemu_plugin_register_vcpu_insn_exec_inline(
			insn, QEMU_PLUGIN_INLINE_ADD_U64, &s->count, 1);
	}
}

static void at_exit(qemu_plugin_id_t id, void *p)
{
	FILE *f = fopen(out_path, "w");
	unsigned long i;

	(void)id;
	(void)p;
	if (!f) {
		perror(out_path);
		return;
	}
	for (i = 0; i < TABLE_SIZE; i++)
		if (table[i].count)
			fprintf(f, "%llx %llu\n", (unsigned long long)table[i].pc,
				(unsigned long long)table[i].count);
	fclose(f);
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
			       const struct qemu_info_t *info, int argc,
			       char **argv)
{
	int i;

	(void)info;
	for (i = 0; i < argc; i++)
		if (!strncmp(argv[i], "out=", 4))
			out_path = strdup(argv[i] + 4);
	if (!out_path) {
		fprintf(stderr, "insnprof: give out=FILE\n");
		return -1;
	}
	table = calloc(TABLE_SIZE, sizeof(*table));
	if (!table)
		return -1;
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}
