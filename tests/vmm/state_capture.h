/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --capture DIR: on SIGHUP every vCPU thread reads its own KVM state at its
 * next EINTR return from KVM_RUN and holds; the main thread writes the VM-wide
 * state and DIR/done. The next SIGHUP releases the vCPUs. See state_capture.c.
 */
#ifndef NESTVMM_STATE_CAPTURE_H
#define NESTVMM_STATE_CAPTURE_H

struct vmm;
struct vcpu_ctx;

/* Remember DIR; capture stays off unless this was called. */
void capture_init(const char *dir);
/* Main thread, on SIGHUP: capture (and hold) or release. */
void capture_on_sighup(struct vmm *m);
/* True while vCPUs are held: that time is not running time. */
int capture_holding(void);
/* Failures seen while holding; one line each on @f.  Returns their number. */
int capture_check(FILE *f);
/* vCPU thread, after every return from KVM_RUN (@run_rc: its result). */
void capture_vcpu_point(struct vcpu_ctx *c, int run_rc);
/* Main thread, before stopping: let held vCPU threads go so they can exit. */
void capture_release_all(struct vmm *m);

#endif
