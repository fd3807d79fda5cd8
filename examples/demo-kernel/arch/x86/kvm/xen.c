// SPDX-License-Identifier: GPL-2.0
/*
 * demo-kernel: Xen HVM emulation.  Every function here follows the gpc
 * contract; gpcscope should report nothing in this file except the
 * gpc-dead-usage-flag hints on the KVM_HOST_USES_PFN arguments.
 */
#include <linux/kvm_host.h>
#include <linux/slab.h>
#include "xen.h"

int test_bit(long nr, const unsigned long *addr);
int test_and_set_bit(long nr, unsigned long *addr);
void *memset(void *s, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
int in_atomic(void);
int task_is_running_current(void);

#define XEN_RUNSTATE_UPDATE	(1ULL << 63)

/* Clear the event channel state of a newly mapped shared_info page. */
static int kvm_xen_shared_info_init(struct kvm *kvm)
{
	struct gfn_to_pfn_cache *gpc = &kvm->arch.xen.shinfo_cache;
	struct shared_info *shinfo;
	int ret = 0;
	int idx = srcu_read_lock(kvm->srcu);

	read_lock_irq(&gpc->lock);
	while (!kvm_gpc_check(gpc, PAGE_SIZE)) {
		read_unlock_irq(&gpc->lock);

		ret = kvm_gpc_refresh(gpc, PAGE_SIZE);
		if (ret)
			goto out;

		read_lock_irq(&gpc->lock);
	}

	shinfo = gpc->khva;
	memset(shinfo->evtchn_pending, 0, sizeof(shinfo->evtchn_pending));
	memset(shinfo->evtchn_mask, 0, sizeof(shinfo->evtchn_mask));
	shinfo->wc_version = 0;
	read_unlock_irq(&gpc->lock);

out:
	srcu_read_unlock(kvm->srcu, idx);
	return ret;
}

int kvm_xen_hvm_set_attr(struct kvm *kvm, int type, u64 gfn)
{
	struct gfn_to_pfn_cache *gpc = &kvm->arch.xen.shinfo_cache;
	int r = -EINVAL;

	if (type != KVM_XEN_ATTR_TYPE_SHARED_INFO)
		return r;

	mutex_lock(&kvm->arch.xen.xen_lock);
	if (gfn == KVM_XEN_INVALID_GFN) {
		kvm_gpc_deactivate(gpc);
		r = 0;
	} else {
		r = kvm_gpc_activate(gpc, gfn_to_gpa(gfn), PAGE_SIZE);
		if (!r)
			r = kvm_xen_shared_info_init(kvm);
	}
	mutex_unlock(&kvm->arch.xen.xen_lock);

	return r;
}

static int kvm_xen_set_runstate_addr(struct kvm_vcpu *vcpu, gpa_t gpa)
{
	struct kvm_vcpu_xen *vx = &vcpu->arch.xen;
	unsigned long sz = sizeof(struct vcpu_runstate_info);
	unsigned long sz1 = sz, sz2 = 0;
	int r;

	if (gpa == INVALID_GPA) {
		kvm_gpc_deactivate(&vx->runstate_cache);
		kvm_gpc_deactivate(&vx->runstate2_cache);
		return 0;
	}

	/* The area may straddle a page boundary: map the tail separately. */
	if (offset_in_page(gpa) + sz > PAGE_SIZE) {
		sz1 = PAGE_SIZE - offset_in_page(gpa);
		sz2 = sz - sz1;
	}

	r = kvm_gpc_activate(&vx->runstate_cache, gpa, sz1);
	if (r)
		return r;

	if (!sz2) {
		kvm_gpc_deactivate(&vx->runstate2_cache);
		return 0;
	}

	return kvm_gpc_activate(&vx->runstate2_cache, gpa + sz1, sz2);
}

int kvm_xen_vcpu_set_attr(struct kvm_vcpu *vcpu, int type, gpa_t gpa)
{
	struct kvm_vcpu_xen *vx = &vcpu->arch.xen;
	int r;

	mutex_lock(&vcpu->kvm->arch.xen.xen_lock);
	switch (type) {
	case KVM_XEN_VCPU_ATTR_TYPE_VCPU_INFO:
		if (gpa == INVALID_GPA) {
			kvm_gpc_deactivate(&vx->vcpu_info_cache);
			r = 0;
			break;
		}
		r = kvm_gpc_activate(&vx->vcpu_info_cache, gpa,
				sizeof(struct vcpu_info));
		if (!r)
			kvm_make_request(KVM_REQ_CLOCK_UPDATE, vcpu);
		break;

	case KVM_XEN_VCPU_ATTR_TYPE_VCPU_TIME_INFO:
		if (gpa == INVALID_GPA) {
			kvm_gpc_deactivate(&vx->vcpu_time_info_cache);
			r = 0;
			break;
		}
		r = kvm_gpc_activate(&vx->vcpu_time_info_cache, gpa,
				sizeof(struct pvclock_vcpu_time_info));
		if (!r)
			kvm_make_request(KVM_REQ_CLOCK_UPDATE, vcpu);
		break;

	case KVM_XEN_VCPU_ATTR_TYPE_RUNSTATE_ADDR:
		r = kvm_xen_set_runstate_addr(vcpu, gpa);
		if (!r && gpa != INVALID_GPA)
			kvm_xen_update_runstate(vcpu, vx->current_runstate);
		break;

	default:
		r = -EINVAL;
		break;
	}
	mutex_unlock(&vcpu->kvm->arch.xen.xen_lock);

	return r;
}

/*
 * Publish the runstate area, which may be split over two caches.  When
 * called from the sched-out path (@atomic) this must not sleep: take the
 * first lock with read_trylock() and give up rather than refresh.
 */
static void kvm_xen_update_runstate_guest(struct kvm_vcpu *v, bool atomic)
{
	struct kvm_vcpu_xen *vx = &v->arch.xen;
	struct gfn_to_pfn_cache *gpc1 = &vx->runstate_cache;
	struct gfn_to_pfn_cache *gpc2 = &vx->runstate2_cache;
	size_t user_len = sizeof(struct vcpu_runstate_info);
	size_t user_len1, user_len2;
	struct vcpu_runstate_info rs;
	unsigned long flags;

	rs.state = vx->current_runstate;
	rs.state_entry_time = vx->runstate_entry_time | XEN_RUNSTATE_UPDATE;
	memcpy(rs.time, vx->runstate_times, sizeof(rs.time));

	if (offset_in_page(gpc1->gpa) + user_len > PAGE_SIZE) {
		user_len1 = PAGE_SIZE - offset_in_page(gpc1->gpa);
		user_len2 = user_len - user_len1;
	} else {
		user_len1 = user_len;
		user_len2 = 0;
	}

retry:
	if (atomic) {
		local_irq_save(flags);
		if (!read_trylock(&gpc1->lock)) {
			local_irq_restore(flags);
			return;
		}
	} else {
		read_lock_irqsave(&gpc1->lock, flags);
	}

	while (!kvm_gpc_check(gpc1, user_len1)) {
		read_unlock_irqrestore(&gpc1->lock, flags);

		/* From the sched-out path we cannot sleep: try again later. */
		if (atomic)
			return;

		if (kvm_gpc_refresh(gpc1, user_len1))
			return;

		read_lock_irqsave(&gpc1->lock, flags);
	}

	if (!user_len2) {
		memcpy(gpc1->khva, &rs, user_len1);
		kvm_gpc_mark_dirty_in_slot(gpc1);
		read_unlock_irqrestore(&gpc1->lock, flags);
		return;
	}

	/* Same lock class twice: nest the second one as subclass 1. */
	lock_set_subclass(&gpc1->lock.dep_map, 1, _THIS_IP_);
	if (atomic) {
		/* Never wait from the sched-out path: the runqueue lock is held. */
		if (!read_trylock(&gpc2->lock)) {
			read_unlock_irqrestore(&gpc1->lock, flags);
			return;
		}
	} else {
		read_lock(&gpc2->lock);
	}
	if (!kvm_gpc_check(gpc2, user_len2)) {
		read_unlock(&gpc2->lock);
		read_unlock_irqrestore(&gpc1->lock, flags);

		/* The tail page needs a refresh, which may sleep. */
		if (atomic)
			return;

		if (kvm_gpc_refresh(gpc2, user_len2))
			return;

		goto retry;
	}

	memcpy(gpc1->khva, &rs, user_len1);
	memcpy(gpc2->khva, (u8 *)&rs + user_len1, user_len2);
	kvm_gpc_mark_dirty_in_slot(gpc2);
	read_unlock(&gpc2->lock);

	kvm_gpc_mark_dirty_in_slot(gpc1);
	read_unlock_irqrestore(&gpc1->lock, flags);
}

void kvm_xen_update_runstate(struct kvm_vcpu *v, int state)
{
	v->arch.xen.current_runstate = state;
	if (v->arch.xen.runstate_cache.active)
		kvm_xen_update_runstate_guest(v, false);
}

/* Called from kvm_arch_vcpu_put() with preemption disabled. */
void kvm_xen_runstate_set_preempted(struct kvm_vcpu *v)
{
	v->arch.xen.current_runstate = 1;
	if (v->arch.xen.runstate_cache.active)
		kvm_xen_update_runstate_guest(v, true);
}

void kvm_xen_inject_pending_events(struct kvm_vcpu *v)
{
	struct gfn_to_pfn_cache *gpc = &v->arch.xen.vcpu_info_cache;
	unsigned long sel = READ_ONCE(v->arch.xen.evtchn_pending_sel);
	struct vcpu_info *vi;
	unsigned long flags;

	if (!sel)
		return;

	read_lock_irqsave(&gpc->lock, flags);
	while (!kvm_gpc_check(gpc, sizeof(struct vcpu_info))) {
		read_unlock_irqrestore(&gpc->lock, flags);

		if (kvm_gpc_refresh(gpc, sizeof(struct vcpu_info)))
			return;

		read_lock_irqsave(&gpc->lock, flags);
	}

	/* vcpu_info is exempt from dirty tracking: no mark needed. */
	vi = gpc->khva;
	vi->evtchn_pending_sel |= sel;
	WRITE_ONCE(vi->evtchn_upcall_pending, 1);
	read_unlock_irqrestore(&gpc->lock, flags);

	v->arch.xen.evtchn_pending_sel &= ~sel;
}

int __kvm_xen_has_interrupt(struct kvm_vcpu *v)
{
	struct gfn_to_pfn_cache *gpc = &v->arch.xen.vcpu_info_cache;
	unsigned long flags;
	u8 rc;

	read_lock_irqsave(&gpc->lock, flags);
	while (!kvm_gpc_check(gpc, sizeof(struct vcpu_info))) {
		read_unlock_irqrestore(&gpc->lock, flags);

		/* Called with a non-running task from the halt path: no sleeping. */
		if (in_atomic() || !task_is_running_current())
			return 1;

		if (kvm_gpc_refresh(gpc, sizeof(struct vcpu_info)))
			return 1;

		read_lock_irqsave(&gpc->lock, flags);
	}

	rc = ((struct vcpu_info *)gpc->khva)->evtchn_upcall_pending;
	read_unlock_irqrestore(&gpc->lock, flags);
	return rc;
}

/*
 * Deliver an event from any context, including hard IRQ: never sleeps,
 * never refreshes; -EWOULDBLOCK sends the caller to the slow path.
 */
int kvm_xen_set_evtchn_fast(struct kvm_xen_evtchn *xe, struct kvm *kvm)
{
	struct gfn_to_pfn_cache *gpc = &kvm->arch.xen.shinfo_cache;
	struct kvm_vcpu *vcpu = kvm->vcpus[xe->vcpu_idx];
	struct gfn_to_pfn_cache *vgpc = &vcpu->arch.xen.vcpu_info_cache;
	struct shared_info *shinfo;
	unsigned long flags;
	bool kick_vcpu = false;
	int rc = -EWOULDBLOCK;
	long sel_bit;

	local_irq_save(flags);
	if (!read_trylock(&gpc->lock)) {
		local_irq_restore(flags);
		return -EWOULDBLOCK;
	}

	if (!kvm_gpc_check(gpc, PAGE_SIZE))
		goto out;

	shinfo = gpc->khva;
	if (test_and_set_bit(xe->port, shinfo->evtchn_pending)) {
		rc = 0;
		goto out;
	}
	if (test_bit(xe->port, shinfo->evtchn_mask)) {
		rc = -ENOTCONN;
		goto out;
	}

	rc = 1;
	sel_bit = xe->port / 64;
	if (read_trylock(&vgpc->lock)) {
		if (kvm_gpc_check(vgpc, sizeof(struct vcpu_info))) {
			struct vcpu_info *vi = vgpc->khva;

			if (!test_and_set_bit(sel_bit, &vi->evtchn_pending_sel)) {
				WRITE_ONCE(vi->evtchn_upcall_pending, 1);
				kick_vcpu = true;
			}
			read_unlock(&vgpc->lock);
			goto out;
		}
		read_unlock(&vgpc->lock);
	}

	/* vcpu_info is out of reach right now: latch the bit for the vCPU */
	if (!test_and_set_bit(sel_bit, &vcpu->arch.xen.evtchn_pending_sel))
		kick_vcpu = true;

out:
	read_unlock_irqrestore(&gpc->lock, flags);

	if (kick_vcpu) {
		kvm_make_request(KVM_REQ_UNBLOCK, vcpu);
		kvm_vcpu_kick(vcpu);
	}
	return rc;
}

/* Process context (ioctl, eventfd work): may refresh and retry. */
int kvm_xen_set_evtchn(struct kvm_xen_evtchn *xe, struct kvm *kvm)
{
	struct gfn_to_pfn_cache *gpc = &kvm->arch.xen.shinfo_cache;
	int rc, idx;

	for (;;) {
		rc = kvm_xen_set_evtchn_fast(xe, kvm);
		if (rc != -EWOULDBLOCK)
			return rc;

		idx = srcu_read_lock(kvm->srcu);
		rc = kvm_gpc_refresh(gpc, PAGE_SIZE);
		srcu_read_unlock(kvm->srcu, idx);
		if (rc)
			return rc;
	}
}

/* hrtimer callback, hard IRQ context: only the fast path. */
static enum hrtimer_restart xen_timer_callback(struct hrtimer *timer)
{
	struct kvm_vcpu_xen *vx = container_of(timer, struct kvm_vcpu_xen, timer);
	struct kvm_vcpu_arch *arch = container_of(vx, struct kvm_vcpu_arch, xen);
	struct kvm_vcpu *vcpu = container_of(arch, struct kvm_vcpu, arch);
	struct kvm_xen_evtchn xe = {
		.port = vx->timer_port,
		.vcpu_idx = vcpu->vcpu_idx,
	};

	if (kvm_xen_set_evtchn_fast(&xe, vcpu->kvm) == -EWOULDBLOCK)
		kvm_make_request(KVM_REQ_EVENT, vcpu);

	return HRTIMER_NORESTART;
}

void kvm_xen_init_vm(struct kvm *kvm)
{
	mutex_init(&kvm->arch.xen.xen_lock);
	kvm_gpc_init(&kvm->arch.xen.shinfo_cache, kvm, NULL, KVM_HOST_USES_PFN);	/* expect: gpc-dead-usage-flag */
}

void kvm_xen_destroy_vm(struct kvm *kvm)
{
	kvm_gpc_deactivate(&kvm->arch.xen.shinfo_cache);
}

void kvm_xen_init_vcpu(struct kvm_vcpu *vcpu)
{
	struct kvm_vcpu_xen *vx = &vcpu->arch.xen;

	vx->vcpu_id = vcpu->vcpu_id;
	vx->timer.function = xen_timer_callback;

	kvm_gpc_init(&vx->runstate_cache, vcpu->kvm, NULL, KVM_HOST_USES_PFN);	/* expect: gpc-dead-usage-flag */
	kvm_gpc_init(&vx->runstate2_cache, vcpu->kvm, NULL, KVM_HOST_USES_PFN);	/* expect: gpc-dead-usage-flag */
	kvm_gpc_init(&vx->vcpu_info_cache, vcpu->kvm, NULL, KVM_HOST_USES_PFN);	/* expect: gpc-dead-usage-flag */
	kvm_gpc_init(&vx->vcpu_time_info_cache, vcpu->kvm, NULL,
			KVM_HOST_USES_PFN);	/* expect: gpc-dead-usage-flag */
}

void kvm_xen_destroy_vcpu(struct kvm_vcpu *vcpu)
{
	struct kvm_vcpu_xen *vx = &vcpu->arch.xen;

	kvm_gpc_deactivate(&vx->runstate_cache);
	kvm_gpc_deactivate(&vx->runstate2_cache);
	kvm_gpc_deactivate(&vx->vcpu_info_cache);
	kvm_gpc_deactivate(&vx->vcpu_time_info_cache);
}
