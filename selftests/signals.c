// SPDX-License-Identifier: GPL-2.0
/*
 * Signals and KVM_RUN: a signal to the thread in KVM_RUN ends the ioctl
 * with EINTR and KVM_EXIT_INTR (with or without SA_RESTART), immediate_exit
 * returns at once, and the guest goes on where it was afterwards.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <unistd.h>

#include "vm.h"

/* Spin until the host writes nonzero to DATA_GPA, then report it. */
GUEST_CODE(spin_guest, ".code64",
	"spin_loop: mov (" STR(DATA_GPA) "), %eax\n"
	"test %eax, %eax\n"
	"jz spin_loop\n"
	"spin_out:\n"
	G_REPORT
	G_DONE);

/* A VM running spin_guest, interruptible by the host (see lib/vm.c). */
static struct vcpu *spin_vm(void)
{
	struct vcpu *v = GUEST_VM(spin_guest, MODE_LONG);

	vcpu_spin_interruptible(v);
	return v;
}

static volatile sig_atomic_t handled;
static struct kvm_run *handler_run;

static void on_signal(int sig)
{
	(void)sig;
	handled++;
	if (handler_run)
		handler_run->immediate_exit = 1;
}

static void install(int sig, int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = flags;
	sigaction(sig, &sa, NULL);
}

struct kicker {
	pthread_t target;
	volatile int stop;
	pthread_t thread;
};

static void *kick(void *arg)
{
	struct kicker *k = arg;

	while (!k->stop) {
		pthread_kill(k->target, SIGUSR1);
		usleep(20000);
	}
	return NULL;
}

static void kicker_start(struct kicker *k)
{
	k->target = pthread_self();
	k->stop = 0;
	if (pthread_create(&k->thread, NULL, kick, k))
		fail("pthread_create");
}

static void kicker_stop(struct kicker *k)
{
	k->stop = 1;
	pthread_join(k->thread, NULL);
}

/* RIP must still be in the spin loop: the guest was interrupted there. */
static void check_in_loop(struct vcpu *v)
{
	extern const char spin_loop[], spin_out[];
	struct kvm_regs r;

	vcpu_get_regs(v, &r);
	CHECK(r.rip >= guest_addr(spin_guest, spin_loop) &&
	      r.rip <= guest_addr(spin_guest, spin_out),
	      "RIP 0x%llx outside the loop", r.rip);
}

static void finish(struct vcpu *v)
{
	*(uint32_t *)gpa2hva(v->vm, DATA_GPA) = 0x51;
	CHECK_EQ(run_ucall(v, UC_REPORT), 0x51, "the guest goes on");
	run_to_done(v);
}

static void immediate_exit(void)
{
	struct vcpu *v = spin_vm();
	struct kvm_regs before, after;
	int r;

	vcpu_get_regs(v, &before);
	v->run->immediate_exit = 1;
	r = ioctl(v->fd, KVM_RUN, 0);
	CHECK(r == -1 && errno == EINTR, "KVM_RUN: %d %s", r, strerrorname(errno));
	vcpu_get_regs(v, &after);
	CHECK_EQ(after.rip, before.rip, "the guest did not run");
	/* Still set: again at once. */
	r = ioctl(v->fd, KVM_RUN, 0);
	CHECK(r == -1 && errno == EINTR, "again: %d %s", r, strerrorname(errno));
	v->run->immediate_exit = 0;
	finish(v);
}

static void signal_interrupts(long flags)
{
	struct vcpu *v = spin_vm();
	struct kicker k;
	int r, err;

	install(SIGUSR1, flags);
	kicker_start(&k);
	r = ioctl(v->fd, KVM_RUN, 0);
	err = errno;
	kicker_stop(&k);
	CHECK(r == -1 && err == EINTR, "KVM_RUN: %d %s, want EINTR", r,
	      strerrorname(err));
	CHECK_EQ(v->run->exit_reason, KVM_EXIT_INTR, "exit reason %s",
		 exit_name(v->run->exit_reason));
	CHECK(handled > 0, "handler not run");
	check_in_loop(v);
	/* Interrupted again, then released. */
	kicker_start(&k);
	r = ioctl(v->fd, KVM_RUN, 0);
	err = errno;
	kicker_stop(&k);
	CHECK(r == -1 && err == EINTR, "second KVM_RUN: %d %s", r,
	      strerrorname(err));
	check_in_loop(v);
	finish(v);
}

/* The documented race-free pattern: the handler sets immediate_exit. */
static void handler_sets_immediate_exit(void)
{
	struct vcpu *v = spin_vm();
	struct kicker k;
	int r, err;

	handler_run = v->run;
	install(SIGUSR1, 0);
	kicker_start(&k);
	r = ioctl(v->fd, KVM_RUN, 0);
	err = errno;
	kicker_stop(&k);
	CHECK(r == -1 && err == EINTR, "KVM_RUN: %d %s", r, strerrorname(err));
	CHECK_EQ(v->run->immediate_exit, 1, "set by the handler");
	r = ioctl(v->fd, KVM_RUN, 0);
	CHECK(r == -1 && errno == EINTR, "with immediate_exit: %d %s", r,
	      strerrorname(errno));
	handler_run = NULL;
	v->run->immediate_exit = 0;
	check_in_loop(v);
	finish(v);
}

/* A process-directed signal (SIGALRM from a timer), single thread. */
static void timer_signal(void)
{
	struct vcpu *v = spin_vm();
	struct itimerval it = { { 0, 50000 }, { 0, 50000 } };
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	int r, err;

	install(SIGALRM, 0);
	setitimer(ITIMER_REAL, &it, NULL);
	r = ioctl(v->fd, KVM_RUN, 0);
	err = errno;
	setitimer(ITIMER_REAL, &off, NULL);
	CHECK(r == -1 && err == EINTR, "KVM_RUN: %d %s", r, strerrorname(err));
	CHECK_EQ(v->run->exit_reason, KVM_EXIT_INTR);
	check_in_loop(v);
	finish(v);
}

/*
 * A blocked signal must not stop the guest: it runs to its next exit and
 * the signal stays pending.
 */
static void blocked_signal(void)
{
	struct vcpu *v = spin_vm();
	sigset_t set, pending;

	install(SIGUSR1, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_kill(pthread_self(), SIGUSR1);
	*(uint32_t *)gpa2hva(v->vm, DATA_GPA) = 0x77;
	CHECK_EQ(run_ucall(v, UC_REPORT), 0x77, "runs with a blocked signal");
	sigpending(&pending);
	CHECK(sigismember(&pending, SIGUSR1), "signal no longer pending");
	CHECK_EQ(handled, 0);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	CHECK_EQ(handled, 1, "delivered once unblocked");
}

static const struct tcase cases[] = {
	CASE(immediate_exit, "immediate_exit: EINTR at once, guest not run"),
	CASE_ARG(signal_interrupts, 0, "a signal ends KVM_RUN: EINTR, KVM_EXIT_INTR"),
	CASE_ARG(signal_interrupts, SA_RESTART, "with SA_RESTART too"),
	CASE(handler_sets_immediate_exit, "the signal handler sets immediate_exit"),
	CASE(timer_signal, "SIGALRM from a timer interrupts KVM_RUN"),
	CASE(blocked_signal, "a blocked signal does not stop the guest"),
};

int main(int argc, char **argv)
{
	return run_cases(argc, argv, cases, ARRAY_SIZE(cases));
}
