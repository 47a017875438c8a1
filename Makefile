# SPDX-License-Identifier: GPL-2.0
#
# kvmlite: build the module and the selftests, run the rigs.
#
#   make             kvmlite.ko and the selftests
#   make check       every test, inside the emulated hosts (installs packages)
#   make check-svm   only the SVM stage (QEMU); make check-vmx: only VMX (Bochs)
#   make run         boot a guest (on the host with VT-x/AMD-V, else emulated)
#   make bench       kvmlite vs KVM benchmarks in the SVM rig (HOST=1: on this
#                    host); make bench-vmx: in the Bochs VMX rig.  See
#                    Documentation/performance.rst

# The kernel tree to build against: the running kernel's build tree when it
# exists, else the installed Debian linux-headers-amd64 tree.
KDIR ?= $(shell if [ -d /lib/modules/$$(uname -r)/build ]; then \
		echo /lib/modules/$$(uname -r)/build; \
	else \
		ls -d /lib/modules/*-amd64/build 2>/dev/null | sort -V | tail -n 1; \
	fi)

.PHONY: all module selftests clean check check-svm check-vmx run bench bench-vmx

all: module selftests

module:
	@test -n "$(KDIR)" || { echo "no kernel build tree: install linux-headers-amd64 or set KDIR" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

selftests:
	$(MAKE) -C selftests

check:
	bash rig/check.sh

check-svm:
	bash rig/check.sh svm

check-vmx:
	bash rig/check.sh vmx

bench:
	bash bench/run.sh svm

bench-vmx:
	bash bench/run.sh vmx

# Boot a Linux guest with the kvmlite client (userspace-client/run.sh).
run:
	bash userspace-client/run.sh

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C selftests clean
	rm -rf rig/out
