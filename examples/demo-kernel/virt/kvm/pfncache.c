// SPDX-License-Identifier: GPL-2.0-only
/*
 * demo-kernel implementation.  No cache in this tree is initialised with
 * KVM_GUEST_USES_PFN, so the usage tests below are dead code that
 * gpcscope reports as gpc-dead-usage-flag hints.
 *
 * A gfn_to_pfn_cache keeps a kernel mapping of (part of) one guest page
 * and drops it when an MMU notifier invalidation covers the page.  Readers
 * take gpc->lock for read and check; this file is the writer side.
 */
#include <linux/kvm_host.h>
#include <linux/highmem.h>

struct page *pfn_to_page(kvm_pfn_t pfn);
kvm_pfn_t hva_to_pfn(unsigned long addr, bool atomic, bool *async, bool write_fault, bool *writable);
void kvm_release_pfn_clean(kvm_pfn_t pfn);
bool is_error_noslot_pfn(kvm_pfn_t pfn);
bool kvm_is_error_hva(unsigned long addr);
struct kvm_memory_slot *__gfn_to_memslot(struct kvm_memslots *slots, gfn_t gfn);
unsigned long gfn_to_hva_memslot(struct kvm_memory_slot *slot, gfn_t gfn);
void cond_resched(void);
void smp_rmb(void);

void gfn_to_pfn_cache_invalidate_start(struct kvm *kvm, unsigned long start,
		unsigned long end)
{
	struct gfn_to_pfn_cache *gpc;

	spin_lock(&kvm->gpc_lock);
	list_for_each_entry(gpc, &kvm->gpc_list, list) {
		write_lock_irq(&gpc->lock);
		if (gpc->valid && !is_error_noslot_pfn(gpc->pfn) &&
		    gpc->uhva >= start && gpc->uhva < end) {
			gpc->valid = false;

			/* the CPU may be using the page in guest mode: kick it out */
			if (gpc->usage & KVM_GUEST_USES_PFN) {	/* expect: gpc-dead-usage-flag */
				kvm_make_request(KVM_REQ_GPC_INVALIDATE, gpc->vcpu);
				kvm_vcpu_kick(gpc->vcpu);
			}
		}
		write_unlock_irq(&gpc->lock);
	}
	spin_unlock(&kvm->gpc_lock);
}

bool kvm_gpc_check(struct gfn_to_pfn_cache *gpc, unsigned long len)
{
	struct kvm_memslots *slots = kvm_memslots(gpc->kvm);

	if (!gpc->active)
		return false;
	if (offset_in_page(gpc->gpa) + len > PAGE_SIZE)
		return false;
	if (gpc->generation != slots->generation || kvm_is_error_hva(gpc->uhva))
		return false;

	return gpc->valid;
}

static void gpc_unmap(kvm_pfn_t pfn, void *khva)
{
	if (!is_error_noslot_pfn(pfn) && khva)
		kunmap(pfn_to_page(pfn));
}

/* Did an invalidation start, or complete, since @mmu_seq was sampled? */
static bool gpc_invalidation_raced(struct kvm *kvm, unsigned long mmu_seq)
{
	if (kvm->mn_active_invalidate_count)
		return true;

	smp_rmb();
	return kvm->mmu_invalidate_seq != mmu_seq;
}

/* Get a kernel address for @pfn; called with gpc->lock dropped. */
static int gpc_map(struct gfn_to_pfn_cache *gpc, kvm_pfn_t pfn,
		void *old_khva, void **khva)
{
	*khva = NULL;
	if (!(gpc->usage & KVM_HOST_USES_PFN))	/* expect: gpc-dead-usage-flag */
		return 0;

	if (pfn == gpc->pfn)
		*khva = old_khva;
	else
		*khva = kmap(pfn_to_page(pfn));

	return *khva ? 0 : -EFAULT;
}

static int hva_to_pfn_retry(struct gfn_to_pfn_cache *gpc)
{
	void *old_khva = gpc->khva - offset_in_page(gpc->khva);
	kvm_pfn_t new_pfn = KVM_PFN_ERR_FAULT;
	void *new_khva = NULL;
	unsigned long mmu_seq;

	lockdep_assert_held(&gpc->refresh_lock);
	lockdep_assert_held_write(&gpc->lock);

	/* the new uhva is visible already, so readers must not pass check() */
	gpc->valid = false;

	do {
		mmu_seq = gpc->kvm->mmu_invalidate_seq;
		smp_rmb();

		write_unlock_irq(&gpc->lock);

		/* a previous attempt lost a race: drop what it mapped */
		if (new_pfn != KVM_PFN_ERR_FAULT) {
			if (new_khva != old_khva)
				gpc_unmap(new_pfn, new_khva);
			kvm_release_pfn_clean(new_pfn);
			cond_resched();
		}

		new_pfn = hva_to_pfn(gpc->uhva, false, NULL, true, NULL);
		if (is_error_noslot_pfn(new_pfn))
			goto out_error;

		if (gpc_map(gpc, new_pfn, old_khva, &new_khva)) {
			kvm_release_pfn_clean(new_pfn);
			goto out_error;
		}

		write_lock_irq(&gpc->lock);
	} while (gpc_invalidation_raced(gpc->kvm, mmu_seq));

	gpc->valid = true;
	gpc->pfn = new_pfn;
	gpc->khva = new_khva + offset_in_page(gpc->uhva);
	kvm_release_pfn_clean(new_pfn);
	return 0;

out_error:
	write_lock_irq(&gpc->lock);
	return -EFAULT;
}

static int __kvm_gpc_refresh(struct gfn_to_pfn_cache *gpc, gpa_t gpa,
		unsigned long len)
{
	struct kvm *kvm = gpc->kvm;
	struct kvm_memslots *slots = kvm_memslots(kvm);
	unsigned long old_uhva;
	kvm_pfn_t old_pfn = KVM_PFN_ERR_FAULT;
	void *old_khva = NULL;
	bool unmap_old = false;
	int ret = 0;

	if (offset_in_page(gpa) + len > PAGE_SIZE)
		return -EINVAL;

	/* refreshes are serialised; readers only wait for the write lock */
	mutex_lock(&gpc->refresh_lock);
	write_lock_irq(&gpc->lock);

	if (!gpc->active) {
		ret = -EINVAL;
		goto out_unlock;
	}

	old_pfn = gpc->pfn;
	old_khva = gpc->khva - offset_in_page(gpc->khva);
	old_uhva = gpc->uhva;

	if (gpc->gpa != gpa || gpc->generation != slots->generation ||
	    kvm_is_error_hva(gpc->uhva)) {
		gfn_t gfn = gpa_to_gfn(gpa);

		gpc->gpa = gpa;
		gpc->generation = slots->generation;
		gpc->memslot = __gfn_to_memslot(slots, gfn);
		gpc->uhva = gfn_to_hva_memslot(gpc->memslot, gfn) + offset_in_page(gpa);
		if (kvm_is_error_hva(gpc->uhva)) {
			ret = -EFAULT;
			goto out;
		}
	}

	if (!gpc->valid || old_uhva != gpc->uhva)
		ret = hva_to_pfn_retry(gpc);
	else
		gpc->khva = old_khva + offset_in_page(gpc->uhva);

out:
	if (ret) {
		gpc->valid = false;
		gpc->pfn = KVM_PFN_ERR_FAULT;
		gpc->khva = NULL;
	}
	unmap_old = old_pfn != gpc->pfn;

out_unlock:
	write_unlock_irq(&gpc->lock);
	mutex_unlock(&gpc->refresh_lock);

	/* kunmap() may sleep: only after both locks are gone */
	if (unmap_old)
		gpc_unmap(old_pfn, old_khva);

	return ret;
}

int kvm_gpc_refresh(struct gfn_to_pfn_cache *gpc, unsigned long len)
{
	return __kvm_gpc_refresh(gpc, gpc->gpa, len);
}

void kvm_gpc_init(struct gfn_to_pfn_cache *gpc, struct kvm *kvm,
		struct kvm_vcpu *vcpu, enum pfn_cache_usage usage)
{
	WARN_ON_ONCE(!usage || (usage & KVM_GUEST_AND_HOST_USE_PFN) != usage);	/* expect: gpc-dead-usage-flag */

	rwlock_init(&gpc->lock);
	mutex_init(&gpc->refresh_lock);

	gpc->kvm = kvm;
	gpc->vcpu = vcpu;	/* expect: gpc-dead-usage-flag */
	gpc->usage = usage;	/* expect: gpc-dead-usage-flag */
	gpc->pfn = KVM_PFN_ERR_FAULT;
	gpc->uhva = KVM_HVA_ERR_BAD;
}

int kvm_gpc_activate(struct gfn_to_pfn_cache *gpc, gpa_t gpa, unsigned long len)
{
	struct kvm *kvm = gpc->kvm;

	if (!gpc->active) {

		spin_lock(&kvm->gpc_lock);
		list_add(&gpc->list, &kvm->gpc_list);
		spin_unlock(&kvm->gpc_lock);

		/* become active only once invalidations can find the cache */
		write_lock_irq(&gpc->lock);
		gpc->active = true;
		write_unlock_irq(&gpc->lock);
	}

	return __kvm_gpc_refresh(gpc, gpa, len);
}

void kvm_gpc_deactivate(struct gfn_to_pfn_cache *gpc)
{
	struct kvm *kvm = gpc->kvm;
	kvm_pfn_t old_pfn;
	void *old_khva;

	mutex_lock(&gpc->refresh_lock);
	if (gpc->active) {
		/* stall invalidations until readers are gone, then unlink */
		write_lock_irq(&gpc->lock);
		gpc->active = false;
		gpc->valid = false;
		old_khva = gpc->khva - offset_in_page(gpc->khva);
		old_pfn = gpc->pfn;
		gpc->khva = NULL;
		gpc->pfn = KVM_PFN_ERR_FAULT;
		write_unlock_irq(&gpc->lock);

		spin_lock(&kvm->gpc_lock);
		list_del(&gpc->list);
		spin_unlock(&kvm->gpc_lock);

		gpc_unmap(old_pfn, old_khva);
	}
	mutex_unlock(&gpc->refresh_lock);
}
