// SPDX-License-Identifier: GPL-2.0
/*
 * Concurrency and teardown: several VMs at once, several vCPU threads in
 * one VM sharing memory, closing fds while a vCPU runs, SIGKILL of a
 * process in KVM_RUN, and the fds a forked child inherits.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vm.h"

#define NR_THREADS	4

/* Sum 1..RBX, report it, again and again. */
GUEST_CODE(sum_guest, ".code64",
	"1: xor %eax, %eax\n"
	"mov %rbx, %rcx\n"
	"2: add %ecx, %eax\n"
	"loop 2b\n"
	G_REPORT
	"jmp 1b\n");

static void *vm_thread(void *arg)
{
	long id = (long)arg;
	struct vcpu *v = GUEST_VM(sum_guest, MODE_LONG);
	uint32_t n = 1000 * (id + 1);
	struct kvm_regs r;
	int i;

	vcpu_get_regs(v, &r);
	r.rbx = n;
	vcpu_set_regs(v, &r);
	for (i = 0; i < 50; i++)
		CHECK_EQ(run_ucall(v, UC_REPORT), n * (n + 1) / 2,
			 "VM %ld, round %d", id, i);
	return NULL;
}

static void several_vms(void)
{
	pthread_t t[NR_THREADS];
	long i;

	supported_cpuid();
	for (i = 0; i < NR_THREADS; i++)
		CHECK(!pthread_create(&t[i], NULL, vm_thread, (void *)i),
		      "pthread_create");
	for (i = 0; i < NR_THREADS; i++)
		pthread_join(t[i], NULL);
}

/*
 * vCPU RDI counts COUNT times in its own dword at DATA_GPA + 64 * RDI and
 * with lock inc in a shared one at DATA_GPA + 0x1000, reporting every
 * 1000 rounds; then it is done.
 */
#define COUNT 20000
GUEST_CODE(count_guest, ".code64",
	"mov %rdi, %rsi\n"
	"shl $6, %rsi\n"
	"add $" STR(DATA_GPA) ", %rsi\n"
	"mov $" STR(COUNT) ", %ecx\n"
	"1: incl (%rsi)\n"
	"lock incl (" STR(DATA_GPA) " + 0x1000)\n"
	"mov %ecx, %eax\n"
	"and $1023, %eax\n"
	"jnz 2f\n"
	"mov %edi, %eax\n"
	G_REPORT
	"2: loop 1b\n"
	G_DONE);

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	uint32_t val;
	int reports = 0;

	for (;;) {
		vcpu_run(v);
		switch (vcpu_ucall(v, &val)) {
		case UC_REPORT:
			CHECK_EQ(val, v->id, "report of another vCPU");
			reports++;
			break;
		case UC_DONE:
			CHECK(reports > 0, "vCPU %d never reported", v->id);
			return NULL;
		default:
			vcpu_dump(v);
			fail("vCPU %d: unexpected exit", v->id);
		}
	}
}

static void vcpu_threads(void)
{
	struct vm *vm = vm_create(RAM_SIZE);
	struct vcpu *v[NR_THREADS];
	pthread_t t[NR_THREADS];
	uint32_t *data = gpa2hva(vm, DATA_GPA);
	int i;

	vm_load_code(vm, count_guest);
	for (i = 0; i < NR_THREADS; i++) {
		struct kvm_regs r;

		v[i] = vcpu_add(vm, i);
		vcpu_long_mode(v[i]);
		vcpu_get_regs(v[i], &r);
		r.rdi = i;
		r.rsp = STACK_TOP - 0x800 * i;
		vcpu_set_regs(v[i], &r);
	}
	for (i = 0; i < NR_THREADS; i++)
		CHECK(!pthread_create(&t[i], NULL, vcpu_thread, v[i]),
		      "pthread_create");
	for (i = 0; i < NR_THREADS; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < NR_THREADS; i++)
		CHECK_EQ(data[16 * i], COUNT, "vCPU %d's own counter", i);
	CHECK_EQ(data[0x1000 / 4], NR_THREADS * COUNT, "shared lock inc counter");
}

GUEST_CODE(spin, ".code64", "1: jmp 1b\n");

GUEST_CODE(quick, ".code64",
	"mov $0x1234, %eax\n"
	G_REPORT
	G_DONE);

static void on_usr1(int sig)
{
	(void)sig;
}

struct runner {
	struct vcpu *v;
	volatile int entered, r1, e1, r2, e2, done;
};

static void *run_twice(void *arg)
{
	struct runner *x = arg;

	x->entered = 1;
	x->r1 = ioctl(x->v->fd, KVM_RUN, 0);
	x->e1 = errno;
	x->r2 = ioctl(x->v->fd, KVM_RUN, 0);
	x->e2 = errno;
	x->done = 1;
	return NULL;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Close the vCPU and VM fds while the vCPU is in KVM_RUN. */
static void close_while_running(void)
{
	struct vcpu *v = GUEST_VM(spin, MODE_LONG), *w;
	struct sigaction sa;
	struct runner x = { .v = v };
	pthread_t t;
	int i;

	vcpu_spin_interruptible(v);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	CHECK(!pthread_create(&t, NULL, run_twice, &x), "pthread_create");
	while (!x.entered)
		sleep_ms(1);
	sleep_ms(100);
	CHECK_OK(close(v->fd), "close vCPU fd");
	CHECK_OK(close(v->vm->fd), "close VM fd");
	/* The running vCPU holds its file: it goes on until signalled. */
	for (i = 0; i < 5000 && !x.done; i++) {
		pthread_kill(t, SIGUSR1);
		sleep_ms(10);
	}
	CHECK(x.done, "KVM_RUN did not return");
	pthread_join(t, NULL);
	CHECK(x.r1 == -1 && x.e1 == EINTR, "KVM_RUN: %d %s", x.r1,
	      strerrorname(x.e1));
	CHECK(x.r2 == -1 && x.e2 == EBADF, "KVM_RUN on the closed fd: %d %s",
	      x.r2, strerrorname(x.e2));
	/* Everything still works. */
	w = GUEST_VM(quick, MODE_LONG);
	CHECK_EQ(run_ucall(w, UC_REPORT), 0x1234);
}

/* The vCPU keeps its VM alive after the VM fd is closed. */
static void vm_fd_closed(void)
{
	struct vcpu *v = GUEST_VM(quick, MODE_LONG);
	struct kvm_regs r;

	CHECK_OK(close(v->vm->fd));
	vcpu_get_regs(v, &r);
	CHECK_EQ(r.rip, CODE_GPA);
	CHECK_EQ(run_ucall(v, UC_REPORT), 0x1234);
	run_to_done(v);
	CHECK_OK(close(v->fd));
}

static void *spin_thread(void *arg)
{
	struct vcpu *v = arg;

	ioctl(v->fd, KVM_RUN, 0);
	return NULL;
}

/* In a child: a VM with two vCPU threads spinning in the guest. */
static void child_spin(int wfd)
{
	struct vm *vm = vm_create(RAM_SIZE);
	struct vcpu *v[2];
	pthread_t t;
	int i;

	vm_load_code(vm, spin);
	for (i = 0; i < 2; i++) {
		v[i] = vcpu_add(vm, i);
		vcpu_long_mode(v[i]);
		vcpu_spin_interruptible(v[i]);
	}
	pthread_create(&t, NULL, spin_thread, v[1]);
	if (write(wfd, "r", 1) != 1)
		_exit(3);
	ioctl(v[0]->fd, KVM_RUN, 0);
	_exit(2);
}

static int wait_child(pid_t pid, int seconds)
{
	int status, i;

	for (i = 0; i < seconds * 100; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		sleep_ms(10);
	}
	fail("child %d did not go away in %d s", pid, seconds);
}

static void sigkill_in_run(void)
{
	struct vcpu *w;
	int round;

	supported_cpuid();
	for (round = 0; round < 3; round++) {
		int p[2], status;
		char c;
		pid_t pid;

		CHECK_OK(pipe(p));
		pid = fork();
		CHECK(pid >= 0, "fork");
		if (pid == 0) {
			close(p[0]);
			child_spin(p[1]);
		}
		close(p[1]);
		CHECK_EQ(read(p[0], &c, 1), 1, "child did not start");
		close(p[0]);
		sleep_ms(200);
		CHECK_OK(kill(pid, SIGKILL));
		status = wait_child(pid, 20);
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		      "child status 0x%x", status);
	}
	w = GUEST_VM(quick, MODE_LONG);
	CHECK_EQ(run_ucall(w, UC_REPORT), 0x1234, "a new VM after the kills");
}

/* A forked child may not use its parent's VM, but may make its own. */
static void fork_inherits(void)
{
	struct vcpu *v = GUEST_VM(quick, MODE_LONG);
	int status;
	pid_t pid;

	pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		struct kvm_regs r;
		struct vcpu *w;

		CHECK_ERR(ioctl(v->fd, KVM_RUN, 0), EIO, "KVM_RUN in the child");
		CHECK_ERR(ioctl(v->fd, KVM_GET_REGS, &r), EIO, "GET_REGS in the child");
		CHECK_ERR(ioctl(v->vm->fd, KVM_CREATE_VCPU, 1), EIO,
			  "CREATE_VCPU in the child");
		CHECK_ERR(vm_set_mem_raw(v->vm, 1, 0, 0x400000, PAGE_SIZE,
					 v->vm->ram), EIO,
			  "SET_USER_MEMORY_REGION in the child");
		/* Its own VM, through the inherited system fd, works. */
		w = GUEST_VM(quick, MODE_LONG);
		CHECK_EQ(run_ucall(w, UC_REPORT), 0x1234, "the child's own VM");
		_exit(0);
	}
	status = wait_child(pid, 30);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "child status 0x%x", status);
	CHECK_EQ(run_ucall(v, UC_REPORT), 0x1234, "the parent's VM");
	run_to_done(v);
}

/*
 * The guest reads GPA 0x400000 in a loop: it must only ever see the value
 * of one of the two memories the host swaps in and out of slot 1, or the
 * host's MMIO answer while the slot is gone.  It reports every 256 reads.
 */
#define RACE_GPA 0x400000
GUEST_CODE(race_guest, ".code64",
	"mov $" STR(RACE_GPA) ", %esi\n"
	"xor %ebx, %ebx\n"
	"1: mov (%rsi), %eax\n"
	"cmp $0xaaaa0001, %eax\n"
	"je 2f\n"
	"cmp $0xbbbb0002, %eax\n"
	"je 2f\n"
	"cmp $0xcccc0003, %eax\n"
	"je 2f\n"
	G_FAIL
	"2: inc %ebx\n"
	"test $255, %ebx\n"
	"jnz 1b\n"
	"mov %ebx, %eax\n"
	G_REPORT
	"jmp 1b\n");

struct race {
	struct vcpu *v;
	volatile int done;
	int mmio;
};

static void *race_vcpu(void *arg)
{
	struct race *x = arg;
	struct vcpu *v = x->v;
	uint32_t val, reports = 0;

	while (reports < 200) {
		vcpu_run(v);
		if (v->run->exit_reason == KVM_EXIT_MMIO &&
		    v->run->mmio.phys_addr == RACE_GPA &&
		    !v->run->mmio.is_write && v->run->mmio.len == 4) {
			val = 0xcccc0003;
			memcpy(v->run->mmio.data, &val, 4);
			x->mmio++;
			continue;
		}
		switch (vcpu_ucall(v, &val)) {
		case UC_REPORT:
			reports++;
			break;
		case UC_FAIL:
			fail("the guest read 0x%x", val);
		default:
			vcpu_dump(v);
			fail("unexpected exit");
		}
	}
	x->done = 1;
	return NULL;
}

static void memslot_race(void)
{
	struct race x = { .v = GUEST_VM(race_guest, MODE_LONG) };
	uint32_t *a = alloc_mem(PAGE_SIZE), *b = alloc_mem(PAGE_SIZE);
	pthread_t t;
	int changes = 0;

	a[0] = 0xaaaa0001;
	b[0] = 0xbbbb0002;
	vm_set_mem(x.v->vm, 1, 0, RACE_GPA, PAGE_SIZE, a);
	CHECK(!pthread_create(&t, NULL, race_vcpu, &x), "pthread_create");
	while (!x.done) {
		vm_set_mem(x.v->vm, 1, 0, RACE_GPA, 0, NULL);
		vm_set_mem(x.v->vm, 1, 0, RACE_GPA, PAGE_SIZE,
			   changes & 1 ? a : b);
		changes++;
		if (changes % 8 == 0) {
			/* A move away and back. */
			vm_set_mem(x.v->vm, 1, 0, RACE_GPA + PAGE_SIZE,
				   PAGE_SIZE, changes & 1 ? b : a);
			vm_set_mem(x.v->vm, 1, 0, RACE_GPA, PAGE_SIZE,
				   changes & 1 ? b : a);
		}
	}
	pthread_join(t, NULL);
	diag("%d slot changes, %d MMIO exits while the slot was gone",
	     changes, x.mmio);
	CHECK(changes > 0, "no change happened");
}

static const struct tcase cases[] = {
	CASE_TIMEOUT(several_vms, 60, "four VMs running at once"),
	CASE_TIMEOUT(vcpu_threads, 60, "four vCPU threads in one VM, shared memory"),
	CASE_TIMEOUT(close_while_running, 90, "close the fds while a vCPU runs"),
	CASE(vm_fd_closed, "a vCPU runs after its VM fd is closed"),
	CASE_TIMEOUT(sigkill_in_run, 90, "SIGKILL of a process in KVM_RUN"),
	CASE(fork_inherits, "a forked child gets EIO on its parent's VM"),
	CASE_TIMEOUT(memslot_race, 90, "memslots change while a vCPU reads them"),
};

int main(int argc, char **argv)
{
	return run_cases(argc, argv, cases, ARRAY_SIZE(cases));
}
