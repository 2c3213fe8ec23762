/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --signal-every-us MIN-MAX: a thread sends a real-time signal to every
 * vCPU thread at random intervals in [MIN, MAX] microseconds, as VMMs kick
 * their vCPU threads; the vCPU threads count what arrives and at exit
 * sent == received per vCPU.  See signaler.c.
 */
#ifndef NESTVMM_SIGNALER_H
#define NESTVMM_SIGNALER_H

#include <stdio.h>

struct vmm;
struct vcpu_ctx;

/* Parse "MIN-MAX" and the mode ("handler" or "blocked"); 0 or -1. */
int signaler_parse(const char *range, const char *mode);
/* Main thread, before the vCPU threads start: install the handler. */
void signaler_setup(void);
/* Main thread, after the vCPU threads started: start sending. */
void signaler_start(struct vmm *m);
/* Main thread, before stopping the vCPUs: stop sending, let all arrive. */
void signaler_stop(struct vmm *m);
/* Failed checks, one line each on @f.  Returns their number. */
int signaler_check(struct vmm *m, FILE *f);

/* vCPU thread: once at its start. */
void signaler_vcpu_init(struct vcpu_ctx *c);
/* vCPU thread: after every return from KVM_RUN. */
void signaler_vcpu_point(struct vcpu_ctx *c);

#endif
