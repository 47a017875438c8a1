// SPDX-License-Identifier: GPL-2.0
/* kvmlite client: terminal raw mode, guest output, the Ctrl-A escape key. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "term.h"

static struct {
	bool is_tty;
	bool raw;
	struct termios saved;
	bool escape;		/* Ctrl-A seen */
	bool at_line_start;
} term = { .at_line_start = true };

void term__init(void)
{
	struct termios t;

	term.is_tty = isatty(STDIN_FILENO);
	if (!term.is_tty || tcgetattr(STDIN_FILENO, &term.saved) < 0) {
		term.is_tty = false;
		return;
	}
	t = term.saved;
	cfmakeraw(&t);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0)
		term.raw = true;
	atexit(term__restore);
}

bool term__is_tty(void)
{
	return term.is_tty;
}

void term__restore(void)
{
	if (!term.raw)
		return;
	tcsetattr(STDIN_FILENO, TCSANOW, &term.saved);
	term.raw = false;
}

const char *term__eol(void)
{
	return term.raw ? "\r\n" : "\n";
}

void term__write(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t done = 0;

	if (!len)
		return;
	while (done < len) {
		ssize_t n = write(STDOUT_FILENO, p + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;		/* stdout gone: the guest runs on */
		done += n;
	}
	term.at_line_start = p[len - 1] == '\n';
}

void term__fresh_line(void)
{
	if (!term.at_line_start)
		term__write(term.raw ? "\r\n" : "\n", term.raw ? 2 : 1);
}

static void term__help(void)
{
	static const char help[] =
		"\r\nkvmlite escape keys:\r\n"
		"  Ctrl-A x    quit (the guest is stopped)\r\n"
		"  Ctrl-A h    this help\r\n"
		"  Ctrl-A Ctrl-A  send Ctrl-A to the guest\r\n";

	term__write(help, sizeof(help) - 1);
}

enum term_action term__filter_input(const uint8_t *in, size_t len, uint8_t *out, size_t *out_len)
{
	size_t i, n = 0;

	if (!term.is_tty) {
		memcpy(out, in, len);
		*out_len = len;
		return TERM_NONE;
	}
	for (i = 0; i < len; i++) {
		uint8_t c = in[i];

		if (!term.escape) {
			if (c == TERM_ESCAPE_KEY)
				term.escape = true;
			else
				out[n++] = c;
			continue;
		}
		term.escape = false;
		switch (c) {
		case 'x':
		case 'X':
			*out_len = n;
			return TERM_QUIT;
		case 'h':
		case 'H':
		case '?':
			term__help();
			break;
		case TERM_ESCAPE_KEY:
			out[n++] = c;
			break;
		default:	/* unknown: dropped */
			break;
		}
	}
	*out_len = n;
	return TERM_NONE;
}
