/* SPDX-License-Identifier: GPL-2.0 */
/*
 * demo-kernel: Xen HVM emulation, the part that maps guest pages with
 * gfn_to_pfn caches.
 */
#ifndef __ARCH_X86_KVM_XEN_H__
#define __ARCH_X86_KVM_XEN_H__

#include <linux/kvm_host.h>

#define KVM_XEN_ATTR_TYPE_SHARED_INFO		0
#define KVM_XEN_VCPU_ATTR_TYPE_VCPU_INFO	1
#define KVM_XEN_VCPU_ATTR_TYPE_VCPU_TIME_INFO	2
#define KVM_XEN_VCPU_ATTR_TYPE_RUNSTATE_ADDR	3

#define KVM_XEN_INVALID_GFN	(~0ULL)

struct kvm_xen_evtchn {
	u32 port;
	int vcpu_idx;
};

void kvm_xen_init_vm(struct kvm *kvm);
void kvm_xen_destroy_vm(struct kvm *kvm);
void kvm_xen_init_vcpu(struct kvm_vcpu *vcpu);
void kvm_xen_destroy_vcpu(struct kvm_vcpu *vcpu);
int kvm_xen_hvm_set_attr(struct kvm *kvm, int type, u64 gfn);
int kvm_xen_vcpu_set_attr(struct kvm_vcpu *vcpu, int type, gpa_t gpa);
void kvm_xen_update_runstate(struct kvm_vcpu *v, int state);
void kvm_xen_runstate_set_preempted(struct kvm_vcpu *v);
void kvm_xen_inject_pending_events(struct kvm_vcpu *v);
int __kvm_xen_has_interrupt(struct kvm_vcpu *v);
int kvm_xen_set_evtchn_fast(struct kvm_xen_evtchn *xe, struct kvm *kvm);
int kvm_xen_set_evtchn(struct kvm_xen_evtchn *xe, struct kvm *kvm);

#endif /* __ARCH_X86_KVM_XEN_H__ */
