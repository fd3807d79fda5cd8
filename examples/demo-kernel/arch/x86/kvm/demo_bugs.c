// SPDX-License-Identifier: GPL-2.0
/*
 * demo-kernel: one deliberately broken gpc user per gpcscope rule.
 *
 * Every function below contains exactly one bug, explained in the comment
 * above it, and an expectation marker on the line gpcscope reports.  The
 * rest of the tree (xen.c, x86.c, pfncache.c) is correct and should only
 * produce gpc-dead-usage-flag hints.  README.md has the function -> rule map.
 */
#include <linux/kvm_host.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include "xen.h"

u64 rdtsc(void);

/*
 * gpc-check-unlocked: "primes" shared_info with a check made without
 * gpc->lock.  An invalidation can land right after it returns true.
 */
int demo_shinfo_prime(struct kvm *kvm)
{
	struct gfn_to_pfn_cache *gpc = &kvm->arch.xen.shinfo_cache;

	if (kvm_gpc_check(gpc, PAGE_SIZE))	/* expect: gpc-check-unlocked */
		return 0;

	return kvm_gpc_refresh(gpc, PAGE_SIZE);
}

/*
 * gpc-use-after-unlock: vi is taken from gpc->khva under the lock, but is
 * dereferenced once more after read_unlock_irqrestore().
 */
bool demo_vcpu_wants_upcall(struct kvm_vcpu *v)
{
	struct gfn_to_pfn_cache *gpc = &v->arch.xen.vcpu_info_cache;
	struct vcpu_info *vi;
	unsigned long flags;
	bool pending;

	read_lock_irqsave(&gpc->lock, flags);
	if (!kvm_gpc_check(gpc, sizeof(struct vcpu_info))) {
		read_unlock_irqrestore(&gpc->lock, flags);
		return false;
	}
	vi = gpc->khva;
	pending = vi->evtchn_upcall_pending;
	read_unlock_irqrestore(&gpc->lock, flags);

	return pending && !vi->evtchn_upcall_mask;	/* expect: gpc-use-after-unlock */
}

/*
 * gpc-use-unchecked: the runstate lock is taken, but the cache is never
 * checked before the read through khva (which may be NULL or stale).
 */
int demo_runstate_peek(struct kvm_vcpu *v)
{
	struct gfn_to_pfn_cache *gpc = &v->arch.xen.runstate_cache;
	unsigned long flags;
	int state;

	read_lock_irqsave(&gpc->lock, flags);
	state = ((struct vcpu_runstate_info *)gpc->khva)->state;	/* expect: gpc-use-unchecked */
	read_unlock_irqrestore(&gpc->lock, flags);

	return state;
}

/*
 * gpc-sleep-under-lock: copy_to_user() may fault and sleep; here it runs
 * with vcpu_info's rwlock held and interrupts off.
 */
int demo_vcpu_info_to_user(struct kvm_vcpu *v, u64 uaddr)
{
	struct gfn_to_pfn_cache *gpc = &v->arch.xen.vcpu_info_cache;
	unsigned long flags;
	int r = 0;

	read_lock_irqsave(&gpc->lock, flags);
	if (!kvm_gpc_check(gpc, sizeof(struct vcpu_info))) {
		r = -EWOULDBLOCK;
		goto out;
	}

	if (copy_to_user(u64_to_user_ptr(uaddr), gpc->khva, sizeof(struct vcpu_info)))	/* expect: gpc-sleep-under-lock */
		r = -EFAULT;
out:
	read_unlock_irqrestore(&gpc->lock, flags);
	return r;
}

/*
 * gpc-lock-imbalance: the stale-cache path returns with read_lock_irq()
 * still held (and interrupts still disabled).
 */
int demo_shinfo_wc_version(struct kvm *kvm)
{
	struct gfn_to_pfn_cache *gpc = &kvm->arch.xen.shinfo_cache;
	int ver;

	read_lock_irq(&gpc->lock);
	if (!kvm_gpc_check(gpc, PAGE_SIZE))
		return -EWOULDBLOCK;	/* expect: gpc-lock-imbalance */

	ver = ((struct shared_info *)gpc->khva)->wc_version;
	read_unlock_irq(&gpc->lock);

	return ver;
}

/*
 * gpc-refresh-in-atomic: the refresh that "makes sure the page is mapped"
 * runs before local_irq_restore(), with interrupts disabled.
 */
void demo_time_info_stamp(struct kvm_vcpu *v)
{
	struct gfn_to_pfn_cache *gpc = &v->arch.xen.vcpu_time_info_cache;
	unsigned long flags;
	u64 now;

	local_irq_save(flags);
	now = rdtsc();
	if (kvm_gpc_refresh(gpc, sizeof(struct pvclock_vcpu_time_info))) {	/* expect: gpc-refresh-in-atomic */
		local_irq_restore(flags);
		return;
	}
	local_irq_restore(flags);

	read_lock_irqsave(&gpc->lock, flags);
	if (kvm_gpc_check(gpc, sizeof(struct pvclock_vcpu_time_info))) {
		((struct pvclock_vcpu_time_info *)gpc->khva)->tsc_timestamp = now;
		kvm_gpc_mark_dirty_in_slot(gpc);
	}
	read_unlock_irqrestore(&gpc->lock, flags);
}

/*
 * gpc-use-before-activate: a new event page is only activated when a gpa
 * was supplied, but the priming read below runs on both paths.
 */
struct demo_evtchn_page {
	struct kvm *kvm;
	bool pending;
	struct gfn_to_pfn_cache gpc;
};

struct demo_evtchn_page *demo_evtchn_page_create(struct kvm *kvm, gpa_t gpa)
{
	struct demo_evtchn_page *p;
	struct gfn_to_pfn_cache *gpc;
	unsigned long flags;

	p = kzalloc(sizeof(*p), GFP_KERNEL_ACCOUNT);
	if (!p)
		return NULL;

	p->kvm = kvm;
	gpc = &p->gpc;
	kvm_gpc_init(gpc, kvm, NULL, KVM_HOST_USES_PFN);	/* expect: gpc-dead-usage-flag */
	if (gpa != INVALID_GPA && kvm_gpc_activate(gpc, gpa, PAGE_SIZE)) {
		kvm_gpc_deactivate(gpc);
		kfree(p);
		return NULL;
	}

	read_lock_irqsave(&gpc->lock, flags);
	if (kvm_gpc_check(gpc, PAGE_SIZE))	/* expect: gpc-use-before-activate */
		p->pending = ((struct shared_info *)gpc->khva)->evtchn_pending[0] != 0;
	read_unlock_irqrestore(&gpc->lock, flags);

	return p;
}

void demo_evtchn_page_free(struct demo_evtchn_page *p)
{
	kvm_gpc_deactivate(&p->gpc);
	kfree(p);
}

/*
 * gpc-missing-deactivate: the hypercall page object is kfree()d without
 * kvm_gpc_deactivate(), leaving a freed cache on kvm->gpc_list for the
 * MMU notifier to walk.
 */
struct demo_hcall_page {
	struct kvm *kvm;
	bool mapped;
	struct gfn_to_pfn_cache gpc;
};

struct demo_hcall_page *demo_hcall_page_create(struct kvm *kvm, gpa_t gpa)
{
	struct demo_hcall_page *hp = kzalloc(sizeof(*hp), GFP_KERNEL_ACCOUNT);

	if (!hp)
		return NULL;

	hp->kvm = kvm;
	kvm_gpc_init(&hp->gpc, kvm, NULL, KVM_HOST_USES_PFN);	/* expect: gpc-dead-usage-flag */
	/* a failed activation is retried by later refreshes */
	hp->mapped = !kvm_gpc_activate(&hp->gpc, gpa, PAGE_SIZE);	/* expect: gpc-missing-deactivate */
	return hp;
}

void demo_hcall_page_free(struct demo_hcall_page *hp)
{
	kfree(hp);
}

/*
 * gpc-missing-mark-dirty: the kvmclock flags are written through khva and
 * the lock is dropped without kvm_gpc_mark_dirty_in_slot(), so dirty
 * logging (live migration) misses the update.
 */
void demo_pvclock_set_flags(struct kvm_vcpu *v, u8 flags_bits)
{
	struct gfn_to_pfn_cache *gpc = &v->arch.pv_time;
	unsigned long flags;

	read_lock_irqsave(&gpc->lock, flags);
	if (kvm_gpc_check(gpc, sizeof(struct pvclock_vcpu_time_info)))
		((struct pvclock_vcpu_time_info *)gpc->khva)->flags = flags_bits;
	read_unlock_irqrestore(&gpc->lock, flags);	/* expect: gpc-missing-mark-dirty */
}

/*
 * gpc-len-mismatch: vcpu_info is activated with sizeof(struct vcpu_info)
 * but checked here with PAGE_SIZE, which fails whenever the structure is
 * not at the start of its page.
 */
int demo_vcpu_info_mask(struct kvm_vcpu *v)
{
	struct gfn_to_pfn_cache *gpc = &v->arch.xen.vcpu_info_cache;
	unsigned long flags;
	int mask = -EWOULDBLOCK;

	read_lock_irqsave(&gpc->lock, flags);
	if (kvm_gpc_check(gpc, PAGE_SIZE))	/* expect: gpc-len-mismatch */
		mask = ((struct vcpu_info *)gpc->khva)->evtchn_upcall_mask;
	read_unlock_irqrestore(&gpc->lock, flags);

	return mask;
}

/*
 * gpc-lock-in-sched-out: kvm_arch_vcpu_put() calls this with atomic == true on
 * every put, including from the sched-out preempt notifier, which runs with
 * the runqueue lock held.  read_lock_irqsave() may wait behind a queued writer
 * there, and the lock's holders may need that runqueue to wake a task: when
 * atomic, take it with read_trylock() and skip the update when it is
 * contended (the quick fix does that).
 */
void demo_pvclock_note_preempted(struct kvm_vcpu *v, bool atomic)
{
	struct gfn_to_pfn_cache *gpc = &v->arch.pv_time;
	unsigned long flags;

	read_lock_irqsave(&gpc->lock, flags);	/* expect: gpc-lock-in-sched-out */
	if (kvm_gpc_check(gpc, sizeof(struct pvclock_vcpu_time_info))) {
		((struct pvclock_vcpu_time_info *)gpc->khva)->flags |= 2;
		kvm_gpc_mark_dirty_in_slot(gpc);
	}
	read_unlock_irqrestore(&gpc->lock, flags);
}

/*
 * gpc-lock-in-hardirq (reported with --preempt-rt): an HRTIMER_MODE_REL_HARD
 * timer runs its callback in hard-IRQ context even on PREEMPT_RT, where
 * rwlock_t is a sleeping lock.  Only a trylock is allowed there.
 */
struct demo_upcall_timer {
	struct hrtimer timer;
	struct kvm_vcpu *vcpu;
};

static enum hrtimer_restart demo_upcall_timer_fn(struct hrtimer *timer)
{
	struct demo_upcall_timer *t = container_of(timer, struct demo_upcall_timer, timer);
	struct gfn_to_pfn_cache *gpc = &t->vcpu->arch.xen.vcpu_info_cache;
	unsigned long flags;

	read_lock_irqsave(&gpc->lock, flags);	/* expect: gpc-lock-in-hardirq */
	if (kvm_gpc_check(gpc, sizeof(struct vcpu_info)))
		WRITE_ONCE(((struct vcpu_info *)gpc->khva)->evtchn_upcall_pending, 1);
	read_unlock_irqrestore(&gpc->lock, flags);

	return HRTIMER_NORESTART;
}

void demo_upcall_timer_init(struct demo_upcall_timer *t, struct kvm_vcpu *vcpu)
{
	t->vcpu = vcpu;
	hrtimer_init(&t->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	t->timer.function = demo_upcall_timer_fn;
}
