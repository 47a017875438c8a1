/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmlite client: interrupt lines.  Devices drive ISA IRQ lines 0-15; the
 * 8259 pair (hw/pic8259.c) turns them into vectors for KVM_INTERRUPT.
 */
#ifndef KVMLITE_CLIENT_IRQ_H
#define KVMLITE_CLIENT_IRQ_H

#include "util.h"

struct vm;

void pic__init(struct vm *vm);
/* Drive ISA line IRQ to LEVEL (edge-triggered: a rising edge requests). */
void pic__set_irq(int irq, bool level);
/* A rising then falling edge. */
void pic__pulse_irq(int irq);
/* Does the PIC pair assert its output to the CPU? */
bool pic__has_interrupt(void);
/* The CPU acknowledges: the vector to inject, or -1 if nothing is pending. */
int pic__acknowledge(void);
/* Is IRQ latched in the request register (raised, not yet acknowledged)? */
bool pic__irq_requested(int irq);
/* Call FN (without the PIC's lock) each time the CPU acknowledges IRQ. */
void pic__set_ack_notifier(int irq, void (*fn)(void));

/* One line of state for SIGUSR2 dumps. */
void pic__describe(char *buf, size_t len);

#endif
