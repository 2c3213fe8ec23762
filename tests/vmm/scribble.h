/* SPDX-License-Identifier: GPL-2.0 */
/* --scribble: a non-vCPU thread writing random bytes over the module's bounce buffers. */
#ifndef NESTVMM_SCRIBBLE_H
#define NESTVMM_SCRIBBLE_H

#include <stdio.h>

void scribble_start(void);
void scribble_report(FILE *f);

#endif
