// SPDX-License-Identifier: GPL-2.0-only
/*
 * demo-kernel: the kvmclock side of x86.c.  Correct gpc users only; the
 * KVM_HOST_USES_PFN argument is the one gpcscope hint expected here.
 */
#include <linux/kvm_host.h>
#include <linux/slab.h>
#include "xen.h"

void smp_wmb(void);

int kvm_arch_vcpu_create(struct kvm_vcpu *vcpu)
{
	kvm_gpc_init(&vcpu->arch.pv_time, vcpu->kvm, vcpu, KVM_HOST_USES_PFN);	/* expect: gpc-dead-usage-flag */
	kvm_xen_init_vcpu(vcpu);
	return 0;
}

void kvm_arch_vcpu_destroy(struct kvm_vcpu *vcpu)
{
	kvm_xen_destroy_vcpu(vcpu);
	kvm_gpc_deactivate(&vcpu->arch.pv_time);
	kfree(vcpu);
}

static void kvm_write_system_time(struct kvm_vcpu *vcpu, u64 system_time)
{
	vcpu->arch.time = system_time;
	kvm_make_request(KVM_REQ_CLOCK_UPDATE, vcpu);

	/* The enable bit lives in bit 0 of the MSR value. */
	if (system_time & 1)
		kvm_gpc_activate(&vcpu->arch.pv_time, system_time & ~1ULL,
				sizeof(struct pvclock_vcpu_time_info));
	else
		kvm_gpc_deactivate(&vcpu->arch.pv_time);
}

int kvm_set_msr_kvmclock(struct kvm_vcpu *vcpu, u64 data)
{
	kvm_write_system_time(vcpu, data);
	return 0;
}

/*
 * Copy the vCPU's pvclock into a guest structure at @offset inside @gpc.
 * Used for the kvmclock page and for the Xen vcpu_info/time_info copies,
 * so the length is only known at run time.
 */
static void kvm_setup_guest_pvclock(struct kvm_vcpu *v,
		struct gfn_to_pfn_cache *gpc, unsigned int offset)
{
	struct pvclock_vcpu_time_info *guest_hv_clock;
	unsigned long flags;

	read_lock_irqsave(&gpc->lock, flags);
	while (!kvm_gpc_check(gpc, offset + sizeof(*guest_hv_clock))) {
		read_unlock_irqrestore(&gpc->lock, flags);

		if (kvm_gpc_refresh(gpc, offset + sizeof(*guest_hv_clock)))
			return;

		read_lock_irqsave(&gpc->lock, flags);
	}

	guest_hv_clock = (void *)((u8 *)gpc->khva + offset);

	/* An odd version tells the guest an update is in progress. */
	guest_hv_clock->version = v->arch.hv_clock.version + 1;
	smp_wmb();
	guest_hv_clock->tsc_timestamp = v->arch.hv_clock.tsc_timestamp;
	guest_hv_clock->system_time = v->arch.hv_clock.system_time;
	guest_hv_clock->tsc_to_system_mul = v->arch.hv_clock.tsc_to_system_mul;
	guest_hv_clock->tsc_shift = v->arch.hv_clock.tsc_shift;
	guest_hv_clock->flags = v->arch.hv_clock.flags;
	smp_wmb();
	guest_hv_clock->version = v->arch.hv_clock.version + 2;

	kvm_gpc_mark_dirty_in_slot(gpc);
	read_unlock_irqrestore(&gpc->lock, flags);
}

void kvm_guest_time_update(struct kvm_vcpu *v)
{
	struct kvm_vcpu_xen *vx = &v->arch.xen;

	v->arch.hv_clock.version += 2;

	if (v->arch.pv_time.active)
		kvm_setup_guest_pvclock(v, &v->arch.pv_time, 0);
	if (vx->vcpu_info_cache.active)
		kvm_setup_guest_pvclock(v, &vx->vcpu_info_cache,
				offsetof(struct vcpu_info, time));
	if (vx->vcpu_time_info_cache.active)
		kvm_setup_guest_pvclock(v, &vx->vcpu_time_info_cache, 0);
}

void demo_pvclock_note_preempted(struct kvm_vcpu *v, bool atomic);

void kvm_arch_vcpu_put(struct kvm_vcpu *vcpu)
{
	kvm_xen_runstate_set_preempted(vcpu);
	demo_pvclock_note_preempted(vcpu, true);
}
