// SPDX-License-Identifier: GPL-2.0
/*
 * Writing into a VMM's memory from an op's worker without waiting on the
 * VMM (exec.c).
 *
 * A plain copy_to_user() that faults sleeps in handle_userfault() for as
 * long as the VMM leaves a userfaultfd-registered page unserved (missing or
 * write-protected), and a kworker cannot be woken by a signal.  So the copy
 * runs with page faults disabled; a page that is not there writable is
 * faulted in with get_user_pages(FOLL_WRITE | FOLL_NOWAIT), which returns
 * instead of waiting (on a userfaultfd, or on I/O it has started), and the
 * copy is tried again a little later, until the op's deadline.  What KVM
 * itself copies is not covered here (see exec.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/uaccess.h>

#include "nck.h"

#define NCK_FAULT_RETRY_MS	2

int nck_copy_to_vmm(unsigned long hva, const void *data, size_t len)
{
	unsigned long deadline = nck_op_deadline();
	void __user *dst = (void __user *)hva;
	struct page *page;
	long n;

	for (;;) {
		if (!copy_to_user_nofault(dst, data, len))
			return 0;
		n = get_user_pages_unlocked(hva & PAGE_MASK, 1, &page,
					    FOLL_WRITE | FOLL_NOWAIT);
		if (n < 0)
			return -EFAULT;
		if (n > 0)
			put_page(page);
		if (time_after(jiffies, deadline)) {
			pr_warn_ratelimited("VMM memory at %#lx not writable in time (held by a userfaultfd?)\n",
					    hva);
			return -ETIMEDOUT;
		}
		if (!n)
			msleep(NCK_FAULT_RETRY_MS);
	}
}
