/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmlite client: the event loop (epoll) of the main thread: the terminal,
 * the PIT's timerfd, the display refresh, signals and the end of the run.
 */
#ifndef KVMLITE_CLIENT_LOOP_H
#define KVMLITE_CLIENT_LOOP_H

#include <stdatomic.h>

#include "util.h"

typedef void (*loop_cb)(void *arg);

void loop__init(void);
/* Call CB(ARG) whenever FD is readable. */
void loop__add(int fd, loop_cb cb, void *arg);
/* Stop (false) or resume (true) watching FD. */
void loop__watch(int fd, bool on);
void loop__remove(int fd);
/* Dispatch until *DONE becomes true. */
void loop__run(const atomic_bool *done);

#endif
