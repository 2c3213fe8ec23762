/* SPDX-License-Identifier: GPL-2.0 */
/* Minimal TAP output for the unit tests: "ok N - name" / "not ok N - name". */
#ifndef NC_TAP_H
#define NC_TAP_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

static inline int tap_ok(int cond, const char *file, int line, const char *name)
{
	tap_n++;
	printf("%sok %d - %s\n", cond ? "" : "not ", tap_n, name);
	if (!cond) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	return cond;
}

#define ok(cond, name) tap_ok(!!(cond), __FILE__, __LINE__, (name))

#define is_int(got, want, name) do {					\
	long long g_ = (long long)(got), w_ = (long long)(want);	\
	if (!ok(g_ == w_, (name)))					\
		printf("#   got %lld, want %lld\n", g_, w_);		\
} while (0)

#define is_str(got, want, name) do {					\
	const char *g_ = (got), *w_ = (want);				\
	if (!ok(g_ && w_ && !strcmp(g_, w_), (name)))			\
		printf("#   got \"%s\", want \"%s\"\n",			\
		       g_ ? g_ : "(null)", w_ ? w_ : "(null)");		\
} while (0)

#define has_str(hay, needle, name) do {					\
	const char *h_ = (hay), *n_ = (needle);				\
	if (!ok(h_ && strstr(h_, n_), (name)))				\
		printf("#   \"%s\" not found in:\n#   %s\n", n_,		\
		       h_ ? h_ : "(null)");				\
} while (0)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	if (tap_failed)
		printf("# %d of %d failed\n", tap_failed, tap_n);
	return tap_failed ? 1 : 0;
}

#endif /* NC_TAP_H */
