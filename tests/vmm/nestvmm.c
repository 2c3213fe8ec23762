// SPDX-License-Identifier: GPL-2.0
/*
 * nestvmm - a nested-virtualization test VMM in the KVM selftests model.
 *
 * The guest runs this binary's own code (see vm.c). Each vCPU is one of:
 *   plain   a guest counting in a loop (plus PIO/MMIO round trips);
 *   l1      an L1 that enabled SVM (EFER.SVME, VM_HSAVE_PA) or entered VMX
 *           operation (VMXON, a current VMCS) and then counts, without L2;
 *   l2      an L1 running an L2 in its own address space without nested
 *           paging; L2 runs the workloads, L1 accounts for every exit.
 *
 * Usage: nestvmm [--stats FILE] [--duration SEC] [--vcpu SPEC]...
 *                [--fault l2-stall|regs-clobber] [--hc-every N] [--io-every N]
 *                [--irq-every K] [--no-irqchip] [--capture DIR] [--io-pause-ms MS] [--verbose]
 *                [--scribble] [--qemu-msrs]
 *                [--signal-every-us MIN-MAX [--signal-mode handler|blocked]]
 *                [--leader-exit-on SIG] [--exec-on SIG] [--uffd-vmcb-on SIG]
 *
 * SPEC is MODE, MODE:LIST (exactly these workloads) or MODE+LIST (the
 * defaults plus these); LIST is '+'-separated from count, regs, irq, pio,
 * mmio. Defaults: plain and l1 count+pio, l2 count+regs+pio+mmio.
 * Example: --vcpu l2 --vcpu l2+irq --vcpu l1 --vcpu plain
 *
 * Runs until SIGTERM/SIGINT or --duration (running time: pauses such as a
 * checkpoint are not counted), then prints the counters and a
 * verdict: exit 0 if every check passed, 1 if one failed (each failure is
 * named on stderr), 2 on usage or setup errors, 4 if a nested mode was asked
 * for and KVM offers neither SVM nor VMX to guests. SIGUSR1 dumps the
 * counters to stderr. The stats file keys are listed in stats.c.
 * --scribble adds a thread that writes random bytes over nestckpt's bounce
 * buffers in this process (scribble.c); the verdict then means nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "boot.h"
#include "lifecycle.h"
#include "nestvmm.h"
#include "scribble.h"
#include "signaler.h"
#include "state_capture.h"

#define DEFAULT_PLAIN_WL	(WL_COUNT | WL_PIO)
#define DEFAULT_L2_WL		(WL_COUNT | WL_REGS | WL_PIO | WL_MMIO)
#define TICK_MS			250

struct vmm vmm;

static const struct {
	const char *name;
	uint32_t bit;
} wl_names[] = {
	{ "count", WL_COUNT }, { "regs", WL_REGS }, { "irq", WL_IRQ },
	{ "pio", WL_PIO }, { "mmio", WL_MMIO }, { "msr", WL_MSR },
};

const char *mode_name(enum vcpu_mode mode)
{
	return mode == MODE_PLAIN ? "plain" : mode == MODE_L1 ? "l1" : "l2";
}

const char *workloads_str(uint32_t wl, char *buf, size_t len)
{
	size_t i, n = 0;

	buf[0] = 0;
	for (i = 0; i < sizeof(wl_names) / sizeof(wl_names[0]); i++)
		if (wl & wl_names[i].bit)
			n += snprintf(buf + n, len - n, "%s%s", n ? "+" : "",
				      wl_names[i].name);
	if (!n)
		snprintf(buf, len, "none");
	return buf;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: nestvmm [options]\n"
"  --vcpu SPEC       add a vCPU (repeatable, at most %d; default one plain)\n"
"                    SPEC: plain | l1 | l2, optionally :LIST (exactly these\n"
"                    workloads) or +LIST (defaults plus these), LIST being\n"
"                    '+'-separated count,regs,irq,pio,mmio,msr (plain/l1:\n"
"                    RDMSR 0x35, MCG_CAP, MCG_CTL; needs --qemu-msrs).\n"
"                    defaults: plain/l1 count+pio; l2 count+regs+pio+mmio\n"
"  --duration SEC    stop after SEC seconds (default: until SIGTERM/SIGINT)\n"
"  --stats FILE      rewrite FILE (tmp + rename) every %d ms with counters\n"
"  --fault l2-stall  test only: L2 stops counting; the verdict must fail\n"
"  --fault regs-clobber  test only: L1 corrupts an L2 register; must fail\n"
"  --hc-every N      L2 hypercall every N loop iterations (power of 2, 1024)\n"
"  --io-every N      PIO/MMIO round trip every N iterations (power of 2, 4096)\n"
"  --irq-every K     with irq: L1 injects on every K-th hypercall exit (4)\n"
"  --no-irqchip      no in-kernel PIC/IOAPIC/LAPIC/PIT (default: created)\n"
"  --qemu-msrs       MSR state as QEMU sets it: KVM_CAP_X86_USER_SPACE_MSR and\n"
"                    an MSR filter sending RDMSR 0x35 to the VMM, which\n"
"                    answers it; KVM_X86_SETUP_MCE (10 banks, MCG_CTL all ones)\n"
"  --io-pause-ms MS  sleep MS before re-entering KVM_RUN after a PIO IN exit,\n"
"                    its completion pending (a VMM pausing mid-exit)\n"
"  --signal-every-us MIN-MAX  a thread sends SIGRTMIN to every vCPU thread\n"
"                    at random intervals of MIN-MAX us; at exit each vCPU\n"
"                    must have received exactly as many as it was sent\n"
"  --signal-mode M   handler (default: a counting handler runs) or blocked\n"
"                    (blocked but for KVM_RUN, taken with sigtimedwait)\n"
"  --capture DIR     SIGHUP: every vCPU saves its KVM state into DIR and holds;\n"
"                    the next SIGHUP releases them (see tests/vmm/README.md)\n"
"  --scribble        a thread writes random bytes over nestckpt's bounce\n"
"                    buffers in this process (the verdict then means nothing)\n"
"  --leader-exit-on SIG  on SIG the main thread calls pthread_exit; the rest\n"
"                    of the VMM (stats, verdict) runs on in another thread\n"
"  --exec-on SIG     on SIG a thread that runs no vCPU exec()s 'sleep 60'\n"
"  --uffd-vmcb-on SIG  on SIG write-protect vCPU 0's vmcb12/vmcs12 page with\n"
"                    a userfaultfd nobody serves; the next SIG undoes it\n"
"  --verbose         log guest readiness\n"
"  --help\n"
"Exit: 0 all checks passed, 1 a check failed (named on stderr), 2 usage or\n"
"setup error, 4 nested virtualization not available. SIGUSR1 dumps stats\n"
"to stderr. Stats keys: vcpuI.{mode,workloads,state,l1_count,l2_count,\n"
"l2_hypercalls,l1_exits,l1_exit.<reason>,l1_hypercall_exits,unexpected_exits,\n"
"first_unexpected,missed_exits,pattern_failures,first_pattern_reg,\n"
"irq_injected,irq_received,irq_reinjected,irq_mismatch,pio,pio_guest,\n"
"pio_errors,mmio,mmio_guest,mmio_errors,kvm_exits,kvm_eintr,sig_sent,\n"
"sig_full,sig_handled,sig_taken}\n"
"plus vendor, vcpus, elapsed_ms, pid.\n", MAX_VCPUS, TICK_MS);
}

static int parse_list(const char *s, uint32_t *wl)
{
	char *copy = strdup(s), *tok, *save = NULL;
	size_t i;

	for (tok = strtok_r(copy, "+", &save); tok;
	     tok = strtok_r(NULL, "+", &save)) {
		for (i = 0; i < sizeof(wl_names) / sizeof(wl_names[0]); i++)
			if (!strcmp(tok, wl_names[i].name))
				break;
		if (i == sizeof(wl_names) / sizeof(wl_names[0])) {
			free(copy);
			return -1;
		}
		*wl |= wl_names[i].bit;
	}
	free(copy);
	return 0;
}

static int parse_spec(const char *spec, struct vcpu_ctx *c)
{
	size_t n = strcspn(spec, ":+");

	if (n == 5 && !strncmp(spec, "plain", n))
		c->mode = MODE_PLAIN;
	else if (n == 2 && !strncmp(spec, "l1", n))
		c->mode = MODE_L1;
	else if (n == 2 && !strncmp(spec, "l2", n))
		c->mode = MODE_L2;
	else
		return -1;
	c->workloads = c->mode == MODE_L2 ? DEFAULT_L2_WL : DEFAULT_PLAIN_WL;
	if (spec[n] == ':')
		c->workloads = 0;
	if (spec[n] && parse_list(spec + n + 1, &c->workloads))
		return -1;
	/* regs and irq need an L2 to run in; msr runs in plain/L1 code */
	if (c->mode != MODE_L2 && (c->workloads & (WL_REGS | WL_IRQ)))
		return -1;
	if (c->mode == MODE_L2 && (c->workloads & WL_MSR))
		return -1;
	return 0;
}

static int power_of_2(unsigned long v)
{
	return v && !(v & (v - 1));
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void kick_handler(int sig)
{
	(void)sig;	/* only there to make KVM_RUN return EINTR */
}

static void stop_vcpus(struct vmm *m)
{
	int i;

	m->stop = 1;
	for (i = 0; i < m->nr_vcpus; i++) {
		/* covers a thread that is just about to enter KVM_RUN */
		m->vcpus[i].run->immediate_exit = 1;
		pthread_kill(m->vcpus[i].thread, SIGUSR2);
	}
	capture_release_all(m);
	for (i = 0; i < m->nr_vcpus; i++)
		pthread_join(m->vcpus[i].thread, NULL);
}

/* Guest-side settings shared by all vCPUs. */
struct guest_cfg {
	uint32_t faults;
	unsigned long hc_every, io_every, irq_every;
};

static void setup_vcpu(struct vcpu_ctx *c, int id, const struct guest_cfg *cfg)
{
	struct vcpu_shared *sh = gva(&vmm.vm, &vcpu_areas[id].sh);

	c->id = id;
	c->sh = sh;
	sh->id = id;
	sh->mode = c->mode;
	sh->vendor = vmm.vm.vendor;
	sh->workloads = c->workloads;
	sh->faults = cfg->faults;
	sh->hc_every = cfg->hc_every;
	sh->io_every = cfg->io_every;
	sh->irq_every = cfg->irq_every;
	c->fd = vcpu_create(&vmm.vm, id, &c->run);
	if (vmm.vm.mcg_cap)
		vcpu_setup_qemu_msrs(&vmm.vm, c->fd);
	sh->mcg_cap_want = vmm.vm.mcg_cap_seen;
	/* VMXON needs IA32_FEATURE_CONTROL locked with "VMXON outside SMX" */
	if (vmm.vm.vendor == VENDOR_VMX)
		vcpu_set_msr(c->fd, 0x3a, 5);
	boot_setup_vcpu(&vmm.vm, c->fd, id);
}

/*
 * Only the main thread takes SIGTERM/SIGINT/SIGUSR1/SIGHUP (in @waitset on return);
 * vCPU threads take only SIGUSR2, the kick out of KVM_RUN.
 */
static void start_vcpus(struct vmm *m, sigset_t *waitset)
{
	struct sigaction sa;
	sigset_t kickset;
	int i;

	sigemptyset(waitset);
	sigaddset(waitset, SIGTERM);
	sigaddset(waitset, SIGINT);
	sigaddset(waitset, SIGUSR1);
	sigaddset(waitset, SIGHUP);
	sigaddset(waitset, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, waitset, NULL);
	sigdelset(waitset, SIGUSR2);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigaction(SIGUSR2, &sa, NULL);
	sigemptyset(&kickset);
	sigaddset(&kickset, SIGUSR2);

	for (i = 0; i < m->nr_vcpus; i++) {
		pthread_sigmask(SIG_UNBLOCK, &kickset, NULL);
		if (pthread_create(&m->vcpus[i].thread, NULL, vcpu_thread,
				   &m->vcpus[i]))
			die("pthread_create failed");
		pthread_sigmask(SIG_BLOCK, &kickset, NULL);
	}
}

/* The main thread: stats, signals, the clock; returns when it is time to stop. */
static void run_until_stop(struct vmm *m, const sigset_t *waitset,
			   double duration)
{
	double last = now(), last_snap = 0;

	while (!m->stop) {
		struct timespec ts = { 0, TICK_MS * 1000000L };
		int sig = sigtimedwait(waitset, NULL, &ts);
		double t = now();

		/*
		 * Count running time only: a pause (a checkpoint, a stopped
		 * process) or a clock that jumped across a restore must not
		 * use up --duration or the progress window; nor does the
		 * time vCPUs are held after a --capture.
		 */
		if (t > last && !capture_holding())
			m->elapsed += t - last < 1.0 ? t - last : TICK_MS / 1000.0;
		last = t;
		if (sig == SIGUSR1)
			stats_print(m, stderr);
		else if (sig == SIGHUP)
			capture_on_sighup(m);
		else if (sig == SIGTERM || sig == SIGINT)
			break;
		else if (sig < 0 && errno != EAGAIN && errno != EINTR)
			die("sigtimedwait: %s", strerror(errno));
		if (m->elapsed - last_snap >= 1.0) {
			stats_snapshot(m);
			last_snap = m->elapsed;
		}
		stats_write_file(m);
		if (m->failed || (duration && m->elapsed >= duration))
			break;
	}
}

struct run_args {
	sigset_t waitset;
	double duration;
	int scribbling;
};

/* Run until it is time to stop, then judge; exits the process with the verdict. */
static void *run_and_judge(void *arg)
{
	struct run_args *r = arg;
	int fails;

	run_until_stop(&vmm, &r->waitset, r->duration);
	if (r->scribbling)
		scribble_report(stderr);

	signaler_stop(&vmm);
	stop_vcpus(&vmm);
	stats_write_file(&vmm);
	stats_print(&vmm, stdout);
	fflush(stdout);
	fails = stats_check(&vmm, stderr) + capture_check(stderr) +
		signaler_check(&vmm, stderr);
	if (fails) {
		fprintf(stderr, "nestvmm: FAILED: %d check(s) failed\n", fails);
		exit(1);
	}
	fprintf(stderr, "nestvmm: PASSED: %d vCPU(s), %.1f s\n", vmm.nr_vcpus,
		vmm.elapsed);
	exit(0);
}

int main(int argc, char **argv)
{
	static struct run_args run;
	static const struct option opts[] = {
		{ "vcpu", required_argument, NULL, 'v' },
		{ "duration", required_argument, NULL, 'd' },
		{ "stats", required_argument, NULL, 's' },
		{ "fault", required_argument, NULL, 'f' },
		{ "hc-every", required_argument, NULL, 'H' },
		{ "io-every", required_argument, NULL, 'I' },
		{ "irq-every", required_argument, NULL, 'Q' },
		{ "verbose", no_argument, NULL, 'V' },
		{ "no-irqchip", no_argument, NULL, 'N' },
		{ "capture", required_argument, NULL, 'C' },
		{ "io-pause-ms", required_argument, NULL, 'P' },
		{ "scribble", no_argument, NULL, 'S' },
		{ "qemu-msrs", no_argument, NULL, 'M' },
		{ "signal-every-us", required_argument, NULL, 'g' },
		{ "signal-mode", required_argument, NULL, 'G' },
		{ "leader-exit-on", required_argument, NULL, 'L' },
		{ "exec-on", required_argument, NULL, 'E' },
		{ "uffd-vmcb-on", required_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	struct guest_cfg cfg = { 0, 1024, 4096, 4 };
	double duration = 0;
	sigset_t waitset;
	int opt, i, need_nested = 0, irqchip = 1, scribbling = 0;
	int qemu_msrs = 0, want_msrs = 0, leader_sig = 0, exec_sig = 0, uffd_sig = 0;
	const char *sig_range = NULL, *sig_mode = NULL;
	char *end;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'v':
			if (vmm.nr_vcpus == MAX_VCPUS)
				die("at most %d vCPUs", MAX_VCPUS);
			if (parse_spec(optarg, &vmm.vcpus[vmm.nr_vcpus]))
				die("bad vCPU spec '%s' (see --help)", optarg);
			vmm.nr_vcpus++;
			break;
		case 'd':
			duration = strtod(optarg, &end);
			if (*end || !(duration > 0) || isinf(duration))
				die("bad duration '%s'", optarg);
			break;
		case 's':
			vmm.stats_path = optarg;
			break;
		case 'f':
			if (!strcmp(optarg, "l2-stall"))
				cfg.faults |= FAULT_L2_STALL;
			else if (!strcmp(optarg, "regs-clobber"))
				cfg.faults |= FAULT_REGS_CLOBBER;
			else
				die("unknown fault '%s'", optarg);
			break;
		case 'H':
		case 'I':
		case 'Q': {
			unsigned long v = strtoul(optarg, &end, 0);

			if (*end || !v || (opt != 'Q' && !power_of_2(v)))
				die("bad value '%s'", optarg);
			*(opt == 'H' ? &cfg.hc_every : opt == 'I' ?
			  &cfg.io_every : &cfg.irq_every) = v;
			break;
		}
		case 'V':
			vmm.verbose = 1;
			break;
		case 'P':
			vmm.io_pause_ms = strtoul(optarg, &end, 0);
			if (*end || vmm.io_pause_ms > 10000)
				die("bad value '%s'", optarg);
			break;
		case 'N':
			irqchip = 0;
			break;
		case 'S':
			scribbling = 1;
			break;
		case 'M':
			qemu_msrs = 1;
			break;
		case 'g':
			sig_range = optarg;
			break;
		case 'G':
			sig_mode = optarg;
			break;
		case 'C':
			capture_init(optarg);
			break;
		case 'L':
			leader_sig = lifecycle_parse_sig("--leader-exit-on", optarg);
			break;
		case 'E':
			exec_sig = lifecycle_parse_sig("--exec-on", optarg);
			break;
		case 'U':
			uffd_sig = lifecycle_parse_sig("--uffd-vmcb-on", optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (signaler_parse(sig_range, sig_mode) || (sig_mode && !sig_range))
		die("bad --signal-every-us/--signal-mode (see --help)");
	if (!vmm.nr_vcpus)
		parse_spec("plain", &vmm.vcpus[vmm.nr_vcpus++]);

	for (i = 0; i < vmm.nr_vcpus; i++)
		want_msrs |= vmm.vcpus[i].workloads & WL_MSR;
	if (want_msrs && !qemu_msrs)
		die("the msr workload needs --qemu-msrs");
	vm_create(&vmm.vm, irqchip);
	if (qemu_msrs)
		vm_setup_qemu_msrs(&vmm.vm);
	for (i = 0; i < vmm.nr_vcpus; i++)
		need_nested |= vmm.vcpus[i].mode != MODE_PLAIN;
	if (need_nested && vmm.vm.vendor == VENDOR_NONE) {
		fprintf(stderr, "nestvmm: KVM offers neither SVM nor VMX to "
			"guests (nested=1 not set?)\n");
		return 4;
	}
	boot_setup_tables(&vmm.vm);
	for (i = 0; i < vmm.nr_vcpus; i++)
		setup_vcpu(&vmm.vcpus[i], i, &cfg);

	lifecycle_set(leader_sig, exec_sig, uffd_sig);
	lifecycle_block();
	signaler_setup();
	start_vcpus(&vmm, &waitset);
	if (scribbling)
		scribble_start();
	signaler_start(&vmm);
	lifecycle_start(&vmm);
	run.waitset = waitset;
	run.duration = duration;
	run.scribbling = scribbling;
	lifecycle_run_main(run_and_judge, &run);
	return 0;	/* not reached: run_and_judge exits */
}
