/* Constants shared by the QEMU test guests' C and assembly. */
#ifndef QG_LAYOUT_H
#define QG_LAYOUT_H

#define MB_MAGIC 0x1badb002
#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define GDT_LIMIT (3 * 8 - 1)

/* nested-svm: L2 calls VMMCALL every 2^L2_EXIT_SHIFT iterations. */
#define L2_EXIT_SHIFT 16

/* plain with 2 vCPUs: the AP's real-mode entry, page-aligned below 1 MiB. */
#define AP_TRAMPOLINE 0x8000

#endif
