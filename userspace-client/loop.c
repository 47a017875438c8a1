// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlite client: the epoll event loop.  A source that epoll cannot watch
 * (stdin redirected from a regular file) is "always ready": the loop then
 * polls without sleeping and calls it every round.
 */
#include <errno.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "loop.h"

#define LOOP_MAX_SOURCES 16

struct loop_source {
	bool used;
	int fd;
	loop_cb cb;
	void *arg;
	bool watched;
	bool always_ready;	/* epoll refused it (EPERM) */
};

static struct {
	int epfd;
	struct loop_source src[LOOP_MAX_SOURCES];
} loop = { .epfd = -1 };

void loop__init(void)
{
	loop.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop.epfd < 0)
		die_errno("epoll_create1");
}

static struct loop_source *loop__find(int fd)
{
	int i;

	for (i = 0; i < LOOP_MAX_SOURCES; i++)
		if (loop.src[i].used && loop.src[i].fd == fd)
			return &loop.src[i];
	return NULL;
}

void loop__add(int fd, loop_cb cb, void *arg)
{
	int i;

	for (i = 0; i < LOOP_MAX_SOURCES; i++)
		if (!loop.src[i].used)
			break;
	if (i == LOOP_MAX_SOURCES)
		die("event loop: too many sources");
	loop.src[i] = (struct loop_source){ .used = true, .fd = fd, .cb = cb, .arg = arg };
	loop__watch(fd, true);
}

void loop__watch(int fd, bool on)
{
	struct loop_source *s = loop__find(fd);
	struct epoll_event ev = { .events = EPOLLIN };

	if (!s || s->watched == on)
		return;
	s->watched = on;
	if (s->always_ready)
		return;
	ev.data.ptr = s;
	if (epoll_ctl(loop.epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &ev) < 0) {
		if (on && errno == EPERM) {
			s->always_ready = true;
			return;
		}
		die_errno("epoll_ctl");
	}
}

void loop__remove(int fd)
{
	struct loop_source *s = loop__find(fd);

	if (!s)
		return;
	loop__watch(fd, false);
	s->used = false;
}

void loop__run(const atomic_bool *done)
{
	struct epoll_event ev[LOOP_MAX_SOURCES];
	int i, n, timeout;

	while (!atomic_load(done)) {
		timeout = 1000;
		for (i = 0; i < LOOP_MAX_SOURCES; i++)
			if (loop.src[i].used && loop.src[i].watched && loop.src[i].always_ready)
				timeout = 10;
		n = epoll_wait(loop.epfd, ev, LOOP_MAX_SOURCES, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die_errno("epoll_wait");
		}
		for (i = 0; i < n; i++) {
			struct loop_source *s = ev[i].data.ptr;

			if (s->used && s->watched)
				s->cb(s->arg);
		}
		for (i = 0; i < LOOP_MAX_SOURCES; i++) {
			struct loop_source *s = &loop.src[i];

			if (s->used && s->watched && s->always_ready)
				s->cb(s->arg);
		}
	}
}
