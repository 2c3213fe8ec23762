/* SPDX-License-Identifier: GPL-2.0 */
#ifndef NESTVMM_EXIT_NAMES_H
#define NESTVMM_EXIT_NAMES_H

#include "layout.h"

/* Name of histogram slot @slot (an exit code/reason) for stats keys. */
const char *exit_slot_name(enum vendor v, unsigned int slot, char *buf,
			   unsigned int len);

#endif
