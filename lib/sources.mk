# The library's sources, shared by lib/Makefile and the CRIU plugin's
# Makefile (which compiles them position-independent into the plugin).
NC_LIB_SRCS := device.c host.c criu.c check.c crc32c.c image.c image_state.c \
	       vmcs12.c vmcs12_layout.c svm_state.c capture_dir.c compat.c inspect.c \
	       freeze.c op_batch.c vmm_dump.c vmm_restore.c file_ref.c uring_file.c \
	       vcpu_check.c msr_plan.c cpuid_count.c \
	       safe_file.c msr_filter.c mce.c user_workers.c \
	       fault.c scratch_vm.c
