#!/bin/sh
# Build arch/x86/kvm/ of a kernel source tree out of tree, the way issue 6 asks:
# defconfig, enable KVM (Intel, AMD, Xen), olddefconfig, make arch/x86/kvm/
# (or the one target given, such as arch/x86/kvm/xen.o).
# Out of tree (O=) so the source tree, possibly a hardlink copy of the cached
# pristine tree, is never written to.
# usage: build-kvm.sh <srctree> <objtree> <log> [target]
set -eu
src=$1 obj=$2 log=$3 target=${4:-arch/x86/kvm/}
jobs=$(nproc)
mkdir -p "$obj"
{
	make -C "$src" O="$obj" defconfig
	"$src/scripts/config" --file "$obj/.config" -e VIRTUALIZATION -e KVM -e KVM_INTEL -e KVM_AMD -e KVM_XEN
	make -C "$src" O="$obj" olddefconfig
	make -C "$src" O="$obj" -j"$jobs" "$target"
} >"$log" 2>&1
