#!/bin/sh
# 40-image: a checkpoint image of real KVM state, and the capability check
# against this machine's KVM. nestvmm (an L2 and an L1 vCPU) is captured
# in-process, turned into an image (nestckptctl image-from-capture), shown
# (inspect, inspect --json, diff), and found compatible with this host; then
# KVM's vendor module is reloaded without a feature the image relies on
# (SVM: npt=0, VMX: ept=0) and without nested virtualization, and
# `nestckptctl compat` must refuse, naming the missing feature. Everything is
# put back and compat passes again.
# Environment: NC_VENDOR, NC_EMU. Exit: 0 pass, 77 skip.

. /opt/nestckpt/lib/common.sh
. /opt/nestckpt/lib/capture.sh

[ -c /dev/kvm ] || { note "no /dev/kvm"; exit 77; }
case $NC_VENDOR in
svm) vmod=kvm_amd feature=npt want_missing="SVM feature: NPT (nested paging)"
	want_nested="does not offer SVM to guests" ;;
vmx) vmod=kvm_intel feature=ept want_missing="secondary exec control: enable EPT"
	want_nested="offers no VMX capability MSRs" ;;
*) note "NC_VENDOR must be svm or vmx"; exit 1 ;;
esac
vko=$(grep -E "/kvm-(amd|intel)\.ko" /etc/nc-modules | awk '{print $1}')
if [ "${NC_EMU:-qemu}" = bochs ]; then
	dur=300 wait_max=300
else
	dur=60 wait_max=60
fi

out=/tmp/image-vmm.out
capture_start /tmp/image-cap "$dur" "$out"
capture_take
kill -HUP "$pid"	# release; nestvmm runs on and judges itself
sleep 1
kill -TERM "$pid"
wait "$pid" || { fail "nestvmm failed after the capture"; tail -n 20 "$out" | indent; }

ckpt=/tmp/ckpt
rm -rf "$ckpt"
img=$(nestckptctl image-from-capture "$cap" "$ckpt") || fail "image-from-capture failed"
note "image $img: $(wc -c <"$img") bytes"

show=$(nestckptctl inspect "$ckpt") || fail "inspect failed"
echo "$show" | grep -E '^(format|vendor|size|components|vm0\.vcpu[01]\.mode|vm0\.vcpu0\.nested\.(flags|kvm_size|vmx\.vmcs12_pa|svm\.vmcb12_pa))' | indent
echo "$show" | grep -q "^vendor: $NC_VENDOR$" || fail "inspect: vendor is not $NC_VENDOR"
echo "$show" | grep -q '^vm0.vcpu0.mode: L2 (guest mode)$' || fail "inspect: vcpu0 not shown in L2"
echo "$show" | grep -q '^vm0.vcpu1.mode: L1' || fail "inspect: vcpu1 not shown as an L1"
json=$(nestckptctl inspect --json "$ckpt") || fail "inspect --json failed"
case $json in '{"format":"1.0"'*) ;; *) fail "inspect --json: unexpected start: $(echo "$json" | head -c 60)" ;; esac
nestckptctl diff "$ckpt" "$img" >/dev/null || fail "diff of an image with itself found differences"

# expect_compat WANT_EXIT [REGEX]
expect_compat() {
	res=$(nestckptctl compat "$ckpt" 2>&1)
	rc=$?
	echo "$res" | indent
	[ $rc = "$1" ] || fail "compat exited $rc, expected $1"
	[ -z "${2:-}" ] || echo "$res" | grep "^missing: " | grep -q -F "$2" || fail "compat did not name '$2'"
}
reload() { # module parameters...
	rmmod "$vmod" || fail "rmmod $vmod"
	# shellcheck disable=SC2068 # parameters are separate words
	insmod "$vko" $@ || fail "insmod $vko $*"
}

note "compat on the host the image came from"
expect_compat 0
note "reload $vmod nested=1 $feature=0"
reload nested=1 "$feature=0"
expect_compat 1 "$want_missing"
note "reload $vmod nested=0"
reload nested=0
expect_compat 1 "$want_nested"
note "put back: $vmod nested=1"
reload nested=1
expect_compat 0

[ $failures -eq 0 ] || { note "$failures failure(s)"; exit 1; }
exit 0
