/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmlite client: the terminal.  When stdin is a terminal it is put in raw
 * mode (restored at exit) and Ctrl-A is the escape key: Ctrl-A x quits,
 * Ctrl-A Ctrl-A sends one Ctrl-A, Ctrl-A h prints the keys.
 */
#ifndef KVMLITE_CLIENT_TERM_H
#define KVMLITE_CLIENT_TERM_H

#include "util.h"

#define TERM_ESCAPE_KEY 0x01	/* Ctrl-A */

void term__init(void);
bool term__is_tty(void);
void term__restore(void);
/* Guest output to stdout. */
void term__write(const void *buf, size_t len);
/* Start a new line on the terminal unless the cursor is at column 0. */
void term__fresh_line(void);
/* Line end for messages: "\r\n" while the terminal is raw. */
const char *term__eol(void);

enum term_action { TERM_NONE, TERM_QUIT };
/*
 * Filter bytes read from stdin through the escape key: what is for the guest
 * goes to OUT (at most LEN bytes), *OUT_LEN says how many.
 */
enum term_action term__filter_input(const uint8_t *in, size_t len, uint8_t *out, size_t *out_len);

#endif
