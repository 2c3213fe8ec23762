/* The VMCB fields the nested-svm guest uses, by offset (AMD APM vol. 2,
 * appendix B): the control area at 0, the state save area at 0x400. */
#ifndef QG_SVM_H
#define QG_SVM_H

#define MSR_EFER 0xc0000080
#define EFER_SVME (1u << 12)
#define MSR_VM_HSAVE_PA 0xc0010117

#define VMCB_INTERCEPT_EXC 0x008
#define VMCB_INTERCEPT_VEC3 0x00c /* bit 31: SHUTDOWN */
#define VMCB_INTERCEPT_VEC4 0x010 /* bit 0: VMRUN, bit 1: VMMCALL */
#define VMCB_IOPM_PA 0x040
#define VMCB_MSRPM_PA 0x048
#define VMCB_ASID 0x058
#define VMCB_EXIT_CODE 0x070
#define VMCB_EXIT_INFO1 0x078
#define VMCB_EXIT_INFO2 0x080

#define VMCB_SAVE 0x400
#define VMCB_ES (VMCB_SAVE + 0x000) /* segments: 16 bytes each, ES..TR */
#define VMCB_CS (VMCB_SAVE + 0x010)
#define VMCB_SS (VMCB_SAVE + 0x020)
#define VMCB_DS (VMCB_SAVE + 0x030)
#define VMCB_FS (VMCB_SAVE + 0x040)
#define VMCB_GS (VMCB_SAVE + 0x050)
#define VMCB_GDTR (VMCB_SAVE + 0x060)
#define VMCB_LDTR (VMCB_SAVE + 0x070)
#define VMCB_IDTR (VMCB_SAVE + 0x080)
#define VMCB_TR (VMCB_SAVE + 0x090)
#define VMCB_CPL (VMCB_SAVE + 0x0cb)
#define VMCB_EFER (VMCB_SAVE + 0x0d0)
#define VMCB_CR4 (VMCB_SAVE + 0x148)
#define VMCB_CR3 (VMCB_SAVE + 0x150)
#define VMCB_CR0 (VMCB_SAVE + 0x158)
#define VMCB_DR7 (VMCB_SAVE + 0x160)
#define VMCB_DR6 (VMCB_SAVE + 0x168)
#define VMCB_RFLAGS (VMCB_SAVE + 0x170)
#define VMCB_RIP (VMCB_SAVE + 0x178)
#define VMCB_RSP (VMCB_SAVE + 0x1d8)
#define VMCB_RAX (VMCB_SAVE + 0x1f8)
#define VMCB_G_PAT (VMCB_SAVE + 0x268)

#define SVM_EXIT_VMMCALL 0x81
#define VMMCALL_LEN 3 /* TCG offers no NRIPS: L1 steps over it itself */

#endif
