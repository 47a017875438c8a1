// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlite: a thin VMM on the KVM ioctl ABI.  It boots an unmodified Linux
 * bzImage on /dev/kvmlite (or /dev/kvm) with a handful of legacy PC devices
 * emulated here; see Documentation/client.rst.
 *
 *   kvmlite run -k bzImage [-i initrd] [-p "cmdline"] [-m 512M] [-c 1]
 *               [--dev /dev/kvmlite] [--display none|vga] [--vga-dump FILE]
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "boot.h"
#include "hw/devices.h"
#include "ioport.h"
#include "irq.h"
#include "loop.h"
#include "term.h"
#include "vm.h"

#define DEFAULT_DEVICE		"/dev/kvmlite"
#define DEFAULT_RAM		(512 * MiB)
#define MIN_RAM			(16 * MiB)
#define MAX_RAM			(64 * GiB)
#define VGA_REFRESH_NS		100000000	/* 10 frames a second */
#define VCPU_STOP_TIMEOUT_S	5

enum display { DISPLAY_NONE, DISPLAY_VGA };

struct options {
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	uint64_t ram;
	int cpus;
	const char *dev;
	enum display display;
	const char *vga_dump;
	bool debug;
	bool raw_cmdline;	/* pass -p as it is */
};

static struct vm the_vm;
static struct options opts;
static int stdin_room_efd = -1;
static bool stdin_open = true;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kvmlite run -k BZIMAGE [options]\n"
		"\n"
		"Boot a Linux kernel in a VM on /dev/kvmlite (or any KVM device).\n"
		"\n"
		"  -k, --kernel FILE     the kernel (bzImage with a 64-bit entry point)\n"
		"  -i, --initrd FILE     initial ramdisk\n"
		"  -p, --params CMDLINE  kernel command line (default \"console=ttyS0\",\n"
		"                        \"console=tty0\" with --display vga)\n"
		"  -m, --mem SIZE        guest memory, K/M/G suffix, MiB without (default 512M)\n"
		"  -c, --cpus N          vCPUs; only 1 (no APIC: see Documentation/client.rst)\n"
		"      --dev PATH        the KVM device (default " DEFAULT_DEVICE ")\n"
		"      --display MODE    none: the serial console on the terminal (default);\n"
		"                        vga: the VGA text screen on the terminal, typing goes\n"
		"                        to the PS/2 keyboard\n"
		"      --vga-dump FILE   write the VGA text screen to FILE at exit\n"
		"      --raw-cmdline     do not add the TSC rate (tsc_early_khz=, tsc=reliable)\n"
		"      --debug           report accesses to ports and memory no device owns,\n"
		"                        print the guest's CPUID; SIGUSR2 prints device state\n"
		"\n"
		"Ctrl-A x quits (when stdin is a terminal).  Exit status: 0 when the guest\n"
		"powers off, reboots or halts or on Ctrl-A x, 1 on a setup error, 2 when\n"
		"the guest crashes (triple fault, internal error), 128+N on signal N.\n");
}

static uint64_t parse_size(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		die("bad memory size '%s' (examples: 512M, 2G)", s);
	switch (*end) {
	case 'k': case 'K':
		v *= KiB;
		end++;
		break;
	case 'g': case 'G':
		v *= GiB;
		end++;
		break;
	case 'm': case 'M':
		end++;
		/* fall through */
	case '\0':
		v *= MiB;
		break;
	default:
		die("bad memory size '%s' (examples: 512M, 2G)", s);
	}
	if (*end == 'i' || *end == 'B')
		end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
	if (*end)
		die("bad memory size '%s' (examples: 512M, 2G)", s);
	if (v < MIN_RAM || v > MAX_RAM)
		die("memory size %s out of range (%llu MiB to %llu GiB)", s,
		    (unsigned long long)(MIN_RAM / MiB), (unsigned long long)(MAX_RAM / GiB));
	return v & ~(2 * MiB - 1);
}

static void parse_args(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "params", required_argument, NULL, 'p' },
		{ "mem", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "dev", required_argument, NULL, 'D' },
		{ "display", required_argument, NULL, 'V' },
		{ "vga-dump", required_argument, NULL, 'd' },
		{ "debug", no_argument, NULL, 'g' },
		{ "raw-cmdline", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	long n;
	int c;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		usage(argc < 2 ? stderr : stdout);
		exit(argc < 2 ? 1 : 0);
	}
	if (strcmp(argv[1], "run"))
		die("unknown command '%s' (try: kvmlite run -k BZIMAGE; kvmlite --help)", argv[1]);

	opts.ram = DEFAULT_RAM;
	opts.cpus = 1;
	opts.dev = DEFAULT_DEVICE;
	optind = 2;
	while ((c = getopt_long(argc, argv, "k:i:p:m:c:h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			opts.kernel = optarg;
			break;
		case 'i':
			opts.initrd = optarg;
			break;
		case 'p':
			opts.cmdline = optarg;
			break;
		case 'm':
			opts.ram = parse_size(optarg);
			break;
		case 'c':
			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno || *end || n < 1 || n > 255)
				die("bad vCPU count '%s'", optarg);
			if (n != 1)
				die("-c %ld: only 1 vCPU is supported (the VM has no local APIC "
				    "to start others; see Documentation/client.rst)", n);
			opts.cpus = n;
			break;
		case 'D':
			opts.dev = optarg;
			break;
		case 'V':
			if (!strcmp(optarg, "none"))
				opts.display = DISPLAY_NONE;
			else if (!strcmp(optarg, "vga"))
				opts.display = DISPLAY_VGA;
			else
				die("bad --display '%s' (none or vga)", optarg);
			break;
		case 'd':
			opts.vga_dump = optarg;
			break;
		case 'g':
			opts.debug = true;
			break;
		case 'r':
			opts.raw_cmdline = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			fprintf(stderr, "(kvmlite --help for the options)\n");
			exit(1);
		}
	}
	if (optind < argc)
		die("unexpected argument '%s'", argv[optind]);
	if (!opts.kernel)
		die("no kernel: kvmlite run -k BZIMAGE (kvmlite --help)");
	if (access(opts.kernel, R_OK) < 0)
		die_errno("cannot read kernel %s", opts.kernel);
	if (opts.initrd && access(opts.initrd, R_OK) < 0)
		die_errno("cannot read initrd %s", opts.initrd);
	if (!opts.cmdline)
		opts.cmdline = opts.display == DISPLAY_VGA ? "console=tty0" : "console=ttyS0";
}

/*
 * The command line the kernel gets: the user's, plus "tsc_early_khz=RATE
 * tsc=reliable" unless the user said something about the TSC.  Linux
 * calibrates the TSC against the PIT or the PM timer with timing that a
 * trapped port read cannot meet when exits are slow (nested virtualization),
 * and then falls back to slow clocks and periodic ticks.  The guest's TSC
 * runs at a constant rate that the client knows, so it says so, as
 * firmware or a paravirtual clock would.
 */
static const char *full_cmdline(struct vm *vm)
{
	static char buf[4096];
	unsigned long khz;

	if (strstr(opts.cmdline, "tsc_early_khz=") || strstr(opts.cmdline, "tsc=") ||
	    strstr(opts.cmdline, "notsc") || opts.raw_cmdline)
		return opts.cmdline;
	khz = vcpu__tsc_khz(&vm->vcpus[0]);
	if (!khz)
		return opts.cmdline;
	snprintf(buf, sizeof(buf), "%s tsc_early_khz=%lu tsc=reliable", opts.cmdline, khz);
	return buf;
}

/* ------------------------------------------------------------ event loop */

static void on_stdin(void *arg)
{
	uint8_t in[256], out[256];
	size_t room, len;
	ssize_t n;

	(void)arg;
	room = opts.display == DISPLAY_VGA ? sizeof(in) : serial8250__rx_room();
	if (room == 0) {
		/* The UART is full: leave the rest in the terminal until it drains. */
		loop__watch(STDIN_FILENO, false);
		return;
	}
	if (room > sizeof(in))
		room = sizeof(in);
	n = read(STDIN_FILENO, in, room);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* End of input: the guest runs on without it. */
		loop__remove(STDIN_FILENO);
		stdin_open = false;
		return;
	}
	if (term__filter_input(in, n, out, &len) == TERM_QUIT) {
		vm__stop(&the_vm, EXIT_GUEST_DONE, "quit (Ctrl-A x)");
		return;
	}
	if (opts.display == DISPLAY_VGA)
		i8042__type(out, len);
	else
		serial8250__receive(out, len);
}

/* vCPU thread: the UART has room again. */
static void stdin_room_notify(void)
{
	uint64_t one = 1;

	if (write(stdin_room_efd, &one, sizeof(one)) < 0) {
		/* counter full: a wakeup is pending anyway */
	}
}

static void on_stdin_room(void *arg)
{
	uint64_t v;

	(void)arg;
	if (read(stdin_room_efd, &v, sizeof(v)) < 0) {
		/* spurious */
	}
	if (stdin_open)
		loop__watch(STDIN_FILENO, true);
}

static void on_pit_timer(void *arg)
{
	(void)arg;
	pit8254__timer_expired();
}

static void on_signal(void *arg)
{
	struct signalfd_siginfo si;
	int fd = *(int *)arg;

	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGUSR2) {
		char a[256], b[1024], c[256];
		struct kvm_run *run = the_vm.vcpus[0].run;

		pic__describe(a, sizeof(a));
		serial8250__describe(b, sizeof(b));
		pit8254__describe(c, sizeof(c));
		report("state: %s; %s; %s; vcpu0 exit %u if %u ready %u window %u", a, b, c,
		       run->exit_reason, run->if_flag, run->ready_for_interrupt_injection,
		       run->request_interrupt_window);
		the_vm.vcpus[0].dump_requested = 1;
		vcpu__kick(&the_vm.vcpus[0]);
		return;
	}
	vm__stop(&the_vm, 128 + si.ssi_signo, "terminated by %s", strsignal(si.ssi_signo));
}

static void on_stop(void *arg)
{
	uint64_t v;

	(void)arg;
	if (read(the_vm.stop_efd, &v, sizeof(v)) < 0) {
		/* already read */
	}
}

static void on_vga_refresh(void *arg)
{
	uint64_t v;
	int fd = *(int *)arg;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return;
	vga__render(false);
}

static int setup_signals(void)
{
	sigset_t set;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	vcpu__setup_kick_signal();
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGUSR2);	/* state dump (debugging) */
	sigaddset(&set, SIGUSR1);	/* only vCPU threads take the kick */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		die("pthread_sigmask failed");
	sigdelset(&set, SIGUSR1);
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		die_errno("signalfd");
	return fd;
}

static int setup_vga_refresh(void)
{
	struct itimerspec its = {
		.it_value = { 0, VGA_REFRESH_NS },
		.it_interval = { 0, VGA_REFRESH_NS },
	};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

	if (fd < 0 || timerfd_settime(fd, 0, &its, NULL) < 0)
		die_errno("timerfd");
	return fd;
}

/* Wait for the vCPU threads; a thread stuck in KVM_RUN is reported, not waited for. */
static void join_vcpus(struct vm *vm)
{
	struct timespec deadline;
	int i;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += VCPU_STOP_TIMEOUT_S;
	for (i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (!v->started)
			continue;
		vcpu__kick(v);
		if (pthread_timedjoin_np(v->thread, NULL, &deadline))
			report("vCPU %d did not leave KVM_RUN within %d s", i, VCPU_STOP_TIMEOUT_S);
	}
}

int main(int argc, char **argv)
{
	struct vm *vm = &the_vm;
	int sig_fd, vga_fd = -1, i;

	parse_args(argc, argv);
	ioport__debug = opts.debug;
	sig_fd = setup_signals();

	vm__init(vm, opts.dev, opts.ram, opts.cpus);
	pic__init(vm);
	pit8254__init(vm);
	serial8250__init(vm, opts.display == DISPLAY_NONE);
	rtc__init(vm, opts.ram);
	i8042__init(vm);
	pci__init(vm);
	port80__init(vm);
	acpi_pm__init(vm);
	vga__init(vm);
	linux__load(vm, opts.kernel, opts.initrd, full_cmdline(vm));

	stdin_room_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (stdin_room_efd < 0)
		die_errno("eventfd");
	serial8250__on_rx_room = stdin_room_notify;

	loop__init();
	loop__add(vm->stop_efd, on_stop, NULL);
	loop__add(sig_fd, on_signal, &sig_fd);
	loop__add(pit8254__timer_fd(), on_pit_timer, NULL);
	loop__add(stdin_room_efd, on_stdin_room, NULL);
	loop__add(STDIN_FILENO, on_stdin, NULL);
	if (opts.display == DISPLAY_VGA) {
		vga_fd = setup_vga_refresh();
		loop__add(vga_fd, on_vga_refresh, &vga_fd);
	}

	term__init();
	for (i = 0; i < vm->nr_vcpus; i++)
		vcpu__start(&vm->vcpus[i]);
	loop__run(&vm->stopping);
	join_vcpus(vm);

	if (opts.display == DISPLAY_VGA) {
		vga__render(true);
		vga__render_end();
	}
	term__restore();
	if (opts.vga_dump && !vga__dump(opts.vga_dump))
		report("cannot write the VGA dump to %s: %s", opts.vga_dump, strerror(errno));
	if (vm->crash_dump) {
		term__fresh_line();
		fputs(vm->crash_dump, stderr);
	}
	report("%s", vm->exit_msg);
	return vm->exit_status;
}
