#!/usr/bin/env bash
# Boot the test kernel under QEMU with netatop.ko and the project's static
# guest programs, run a shell command line inside as root, print its output
# and return its exit status.
#
#   scripts/vm-run.sh [options] [--] 'command line'
#
# Options:
#   -f, --file HOST[:GUEST]  copy a host file into the guest (default: the
#                            same path); repeatable
#   -t, --timeout SECONDS    kill the VM after this long (default 600)
#   -k, --keep DIR           keep the console log, kernel log and output in DIR
#       --no-build           use the module and guest programs as built
#   -m, --module FILE        the netatop.ko to put in the guest (default: the
#                            one built in the top directory)
#       --tree DIR           copy the tree DIR over the guest's root (e.g. a
#                            'make install DESTDIR=DIR'); repeatable
#       --kernel FILE        boot the kernel image FILE (e.g. a distribution's
#                            vmlinuz) instead of the test kernel; the guest
#                            then gets no netatop.ko of ours: the module comes
#                            with that kernel's module tree (--tree)
#       --systemd            boot with the host's systemd as PID 1 instead of
#                            the busybox /init; the command runs as the
#                            service netatop-vm-job
#       --plugin FILE        load the QEMU TCG plugin FILE (one host thread
#                            for all vCPUs, as its counters need)
#       --disk ROOT          boot a whole system: the directory ROOT (a Debian
#                            root file system with systemd) becomes the
#                            guest's disk, /dev/vda, with the files, trees
#                            and programs above added to the disk only (ROOT
#                            is not changed); the kernel is --kernel, the
#                            initramfs --initrd; the command runs as the
#                            service netatop-vm-job once multi-user.target
#                            is reached
#       --initrd FILE        the initramfs for --disk
#
# With NETATOP_KERNEL=bench the benchmark kernel (scripts/setup.sh --bench)
# boots instead of the test kernel, with NETATOP_KERNEL=lean the lean one
# (give it its module: --module out/lean-module/netatop.ko).
#
# In the guest: netatop.ko is /lib/modules/netatop.ko (not loaded), its
# KUnit test build (scripts/build.sh) /lib/modules/netatop-kunit.ko, the
# project's programs are in /opt/netatop/bin (on PATH), atop is /usr/bin/atop,
# iproute2's ip is /usr/sbin/ip.
#
# Exit status: the command's; 124 if the VM timed out or died without
# reporting one; 125 if the kernel logged a splat (BUG, WARNING, lockdep,
# KASAN, kmemleak, ...) even though the command succeeded. With --keep,
# DIR/splats lists the offending log lines (empty when there are none).
set -euo pipefail
. "$(dirname "$0")/env.sh"

files=()
trees=()
timeout=600
keep=
build=1
module="$NETATOP_TOP/netatop.ko"
kernel=
systemd=0
plugin=()
disk=
initrd=
while [ $# -gt 0 ]; do
	case "$1" in
	-f|--file) files+=("$2"); shift 2 ;;
	-t|--timeout) timeout=$2; shift 2 ;;
	-k|--keep) keep=$2; shift 2 ;;
	--no-build) build=0; shift ;;
	-m|--module) module=$2; shift 2 ;;
	--kernel) kernel=$2; shift 2 ;;
	--tree) trees+=("$2"); shift 2 ;;
	--systemd) systemd=1; shift ;;
	--plugin) plugin=(-plugin "$2"); shift 2 ;;
	--disk) disk=$2; shift 2 ;;
	--initrd) initrd=$2; shift 2 ;;
	-h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	--) shift; break ;;
	-*) die "unknown option $1 (see --help)" ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || die "no command given (see --help)"
if [ -n "$disk" ]; then
	[ -n "$kernel" ] && [ -n "$initrd" ] || die "--disk needs --kernel and --initrd"
	[ -x "$disk/sbin/init" ] || die "$disk has no /sbin/init"
	! mountpoint -q "$disk/proc" || die "$disk/proc is mounted"
fi
command_line="$*"

KDIR=$(kernel_build_dir)
if [ $build -eq 1 ]; then
	"$NETATOP_TOP/scripts/build.sh" >&2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/netatop-vm.XXXXXX")
trap 'rm -rf "$work"' EXIT
root="$work/root"

if [ -n "$disk" ]; then
	# --- the disk: ROOT linked, not copied; what is added replaces links ---
	cp -al "$disk" "$root"
	# apt's cache of downloaded packages is no part of the system.
	find "$root/var/cache/apt/archives" -name '*.deb' -delete 2>/dev/null || true
	rm -f "$root/job" "$root/finish" "$root/checks.sh"
	mkdir -p "$root/opt/netatop/bin"
	cp "$NETATOP_TOP/vm/netatop-vm-disk-job.service" "$root/etc/systemd/system/netatop-vm-job.service"
	mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
	ln -sf ../netatop-vm-job.service "$root/etc/systemd/system/multi-user.target.wants/netatop-vm-job.service"
else
# --- the initramfs ---
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,run,root,lib/modules,opt/netatop/bin,usr/bin,usr/sbin,var}
ln -s ../run "$root/var/run"
cp /bin/busybox "$root/bin/busybox"
cp "$NETATOP_TOP/vm/init" "$root/init"
chmod 755 "$root/init"
fi
# Multi-threaded TCG, except for other kernels: Debian's patches its code
# at run time (jump labels), and under multi-threaded TCG a vCPU was seen
# to trap on a breakpoint of a patch in progress ("Oops: int3" in
# ip_local_deliver while netfilter hooks were unregistered under
# traffic); one host thread for all vCPUs keeps SMP without that race.
accel=tcg
paging=
if [ -n "$kernel" ] || [ ${#plugin[@]} -gt 0 ]; then
	accel=tcg,thread=single
fi
if [ -z "$kernel" ]; then
	kernel="$KDIR/arch/x86/boot/bzImage"
	# -cpu max pages with five levels; KASAN's shadow range follows a CPU
	# feature bit that identify_cpu() clears for a moment at boot, and an
	# interrupt in that moment is reported as a wild access. A KASAN
	# kernel pages with four.
	! grep -qx CONFIG_KASAN=y "$KDIR/.config" || paging=no5lvl
	cp "$module" "$root/lib/modules/netatop.ko"
	kunit_module="$NETATOP_TOP/$KUNIT_MODULE_DIR/netatop.ko"
	[ ! -f "$kunit_module" ] || [ "${NETATOP_KERNEL:-test}" != test ] || cp "$kunit_module" "$root/lib/modules/netatop-kunit.ko"
fi
for f in "$NETATOP_TOP"/target/guest/x86_64-unknown-linux-gnu/release/*; do
	[ -f "$f" ] && [ -x "$f" ] && cp "$f" "$root/opt/netatop/bin/"
done
# Host programs with the shared libraries they need.
copy_with_libs() { # GUEST-PATH HOST-PATH
	mkdir -p "$root$(dirname "$1")"
	cp -L "$2" "$root$1"
	copy_libs "$root" "$2"
}
if [ -z "$disk" ]; then
	# Debian's atop and iproute2's ip (network namespaces, veth).
	copy_with_libs /usr/bin/atop /usr/bin/atop
	copy_with_libs /usr/sbin/ip /usr/sbin/ip
	# ethtool, to turn GRO (and so NAPI) on for veth.
	copy_with_libs /usr/sbin/ethtool /usr/sbin/ethtool
fi
cp "$NETATOP_TOP/vm/finish" "$NETATOP_TOP/vm/checks.sh" "$root/"
# Warnings and worse reach the console as they happen (loglevel=5), so a
# splat early in a long boot is seen even when the kernel's log buffer has
# wrapped by the time the final dmesg is read.
append="console=ttyS0 panic=-1 oops=panic loglevel=5 log_buf_len=4M${paging:+ $paging}"
if [ $systemd -eq 1 ]; then
	mkdir -p "$root/lib/systemd/system"
	copy_with_libs /lib/systemd/systemd /lib/systemd/systemd
	copy_with_libs /bin/systemctl /usr/bin/systemctl
	# The targets and slices every unit's default dependencies name, without
	# what the host hangs below them (.wants directories).
	cp /lib/systemd/system/*.target /lib/systemd/system/*.slice "$root/lib/systemd/system/"
	cp "$NETATOP_TOP/vm/netatop-vm-job.service" "$root/lib/systemd/system/"
	# Nobody runs 'busybox --install' here: link every applet.
	"$root/bin/busybox" --list-full | while read -r applet; do
		[ -e "$root/$applet" ] || { mkdir -p "$root/$(dirname "$applet")"; ln -s /bin/busybox "$root/$applet"; }
	done
	echo 6e657461746f70766d00000000000001 >"$root/etc/machine-id"
	append="$append rdinit=/lib/systemd/systemd systemd.unit=netatop-vm-job.service"
fi
if [ -z "$disk" ]; then
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
fi
for spec in "${files[@]}"; do
	src=${spec%%:*}
	dst=${spec#*:}
	[ "$dst" != "$spec" ] || dst=$(realpath "$src")
	mkdir -p "$root$(dirname "$dst")"
	cp -a --remove-destination "$src" "$root$dst"
done
for tree in "${trees[@]}"; do
	cp -a --remove-destination "$tree"/. "$root"/
done
printf '%s\n' "$command_line" >"$root/job"
media=(-initrd "$work/initramfs.cpio.gz")
memory=1024
if [ -n "$disk" ]; then
	size=$(($(du -sm "$root" | cut -f1) * 5 / 4 + 512))
	mkfs.ext4 -q -F -L netatop-vm -d "$root" "$work/disk.img" "${size}M" ||
		die "making the disk image of $disk failed"
	rm -rf "$root"
	media=(-initrd "$initrd" -drive "file=$work/disk.img,if=virtio,format=raw")
	memory=2048
	append="$append root=/dev/vda rw"
else
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initramfs.cpio.gz"
fi

# --- boot ---
console="$work/console.log"
output="$work/output.log"
set +e
timeout --signal=KILL "$timeout" qemu-system-x86_64 \
	-accel "$accel" -cpu max -m "$memory" -smp 2 "${plugin[@]}" \
	-display none -monitor none -no-reboot \
	-kernel "$kernel" \
	"${media[@]}" \
	-append "$append" \
	-serial "file:$console" -serial stdio </dev/null |
	tr -d '\r' | tee "$output" |
	sed -u '/^@@netatop-vm: dmesg$/,$d'
qemu_rc=${PIPESTATUS[0]}
set -e

sed -n '/^@@netatop-vm: dmesg$/,/^@@netatop-vm: exit /p' "$output" | sed '1d;$d' >"$work/dmesg.log"

# Any kernel splat fails the run, whatever the command said.
splat='BUG:|WARNING:|Oops|INFO: |Call Trace:|kernel BUG|Kernel panic|general protection|lockdep is turned off|DEBUG_LOCKS_WARN_ON|circular locking|inconsistent lock state|possible recursive locking|sleeping function called from invalid context|KASAN:|suspected memory leak|unreferenced object|RCU stall|detected stall|soft lockup|hard LOCKUP|hung task|blocked for more than|UBSAN:|list_add corruption|list_del corruption|refcount_t:'
grep -hEn "$splat" "$console" "$work/dmesg.log" >"$work/splats" 2>/dev/null || true
if [ -n "$keep" ]; then
	mkdir -p "$keep"
	cp "$console" "$output" "$work/dmesg.log" "$work/splats" "$keep/"
fi

rc=$(sed -n 's/^@@netatop-vm: exit \([0-9]*\)$/\1/p' "$output")
if [ -z "$rc" ]; then
	echo "vm-run: the guest did not finish (qemu status $qemu_rc); console log tail:" >&2
	tail -n 40 "$console" >&2
	exit 124
fi
if [ -s "$work/splats" ]; then
	echo "vm-run: kernel splat in the guest log:" >&2
	head -n 60 "$work/splats" >&2
	grep -hE -A30 "$splat" "$work/dmesg.log" | head -n 80 >&2 || true
	[ "$rc" -ne 0 ] || rc=125
fi
exit "$rc"
