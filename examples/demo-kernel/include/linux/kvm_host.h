/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * demo-kernel: a small KVM host header in the 6.2-6.8 API shape (usage
 * passed to kvm_gpc_init()), with the kvm_gpc_mark_dirty_in_slot() helper
 * that 6.8 added.
 */
#ifndef __KVM_HOST_H
#define __KVM_HOST_H

#include <linux/types.h>
#include <linux/bug.h>
#include <linux/errno.h>
#include <linux/page.h>
#include <linux/spinlock.h>
#include <linux/mutex.h>
#include <linux/list.h>
#include <linux/hrtimer.h>
#include <linux/kvm_types.h>

#define KVM_REQ_EVENT		1
#define KVM_REQ_UNBLOCK		2
#define KVM_REQ_CLOCK_UPDATE	3
#define KVM_REQ_GPC_INVALIDATE	4

#define INVALID_GPA		(~(gpa_t)0)
#define KVM_HVA_ERR_BAD		(~0UL)
#define KVM_PFN_ERR_FAULT	(~(kvm_pfn_t)0)

#define gfn_to_gpa(gfn)		((gpa_t)(gfn) << PAGE_SHIFT)
#define gpa_to_gfn(gpa)		((gfn_t)((gpa) >> PAGE_SHIFT))

/* Guest ABI structures the demo maps through gfn_to_pfn caches. */
struct pvclock_vcpu_time_info {
	u32 version;
	u32 pad0;
	u64 tsc_timestamp;
	u64 system_time;
	u32 tsc_to_system_mul;
	s8 tsc_shift;
	u8 flags;
	u8 pad[2];
};

struct vcpu_info {
	u8 evtchn_upcall_pending;
	u8 evtchn_upcall_mask;
	unsigned long evtchn_pending_sel;
	struct pvclock_vcpu_time_info time;
};

struct shared_info {
	unsigned long evtchn_pending[64];
	unsigned long evtchn_mask[64];
	u32 wc_version;
	u32 wc_sec;
	u32 wc_nsec;
};

struct vcpu_runstate_info {
	int state;
	u64 state_entry_time;
	u64 time[4];
};

struct kvm_memory_slot {
	gfn_t base_gfn;
	unsigned long npages;
	unsigned long userspace_addr;
};

struct kvm_memslots {
	u64 generation;
};

struct kvm_vcpu_xen {
	u32 vcpu_id;
	int current_runstate;
	u64 runstate_entry_time;
	u64 runstate_times[4];
	unsigned long evtchn_pending_sel;
	struct hrtimer timer;
	int timer_port;
	struct gfn_to_pfn_cache vcpu_info_cache;
	struct gfn_to_pfn_cache vcpu_time_info_cache;
	struct gfn_to_pfn_cache runstate_cache;
	struct gfn_to_pfn_cache runstate2_cache;
};

struct kvm_vcpu_arch {
	u64 time;
	struct pvclock_vcpu_time_info hv_clock;
	struct gfn_to_pfn_cache pv_time;
	struct kvm_vcpu_xen xen;
};

struct kvm_vcpu {
	struct kvm *kvm;
	int vcpu_id;
	int vcpu_idx;
	struct kvm_vcpu_arch arch;
};

struct kvm_xen {
	struct mutex xen_lock;
	bool long_mode;
	struct gfn_to_pfn_cache shinfo_cache;
};

struct kvm_arch {
	struct kvm_xen xen;
};

struct kvm {
	struct srcu_struct *srcu;
	struct mutex slots_lock;
	spinlock_t gpc_lock;
	struct list_head gpc_list;
	unsigned long mmu_invalidate_seq;
	long mn_active_invalidate_count;
	struct kvm_vcpu *vcpus[8];
	int nr_vcpus;
	struct kvm_arch arch;
};

#define kvm_for_each_vcpu(idx, vcpup, kvm) \
	for (idx = 0; idx < (kvm)->nr_vcpus && ((vcpup) = (kvm)->vcpus[idx]); idx++)

void kvm_make_request(int req, struct kvm_vcpu *vcpu);
void kvm_vcpu_kick(struct kvm_vcpu *vcpu);
struct kvm_memslots *kvm_memslots(struct kvm *kvm);
void mark_page_dirty_in_slot(struct kvm *kvm, const struct kvm_memory_slot *memslot,
		gfn_t gfn);
int kvm_write_guest(struct kvm *kvm, gpa_t gpa, const void *data, unsigned long len);
int kvm_read_guest(struct kvm *kvm, gpa_t gpa, void *data, unsigned long len);
int srcu_read_lock(struct srcu_struct *ssp);
void srcu_read_unlock(struct srcu_struct *ssp, int idx);

/* gfn_to_pfn_cache API (virt/kvm/pfncache.c) */
void kvm_gpc_init(struct gfn_to_pfn_cache *gpc, struct kvm *kvm,
		struct kvm_vcpu *vcpu, enum pfn_cache_usage usage);
int kvm_gpc_activate(struct gfn_to_pfn_cache *gpc, gpa_t gpa, unsigned long len);
bool kvm_gpc_check(struct gfn_to_pfn_cache *gpc, unsigned long len);
int kvm_gpc_refresh(struct gfn_to_pfn_cache *gpc, unsigned long len);
void kvm_gpc_deactivate(struct gfn_to_pfn_cache *gpc);
void gfn_to_pfn_cache_invalidate_start(struct kvm *kvm, unsigned long start,
		unsigned long end);

/* Writes through gpc->khva must be marked while gpc->lock is held. */
static inline void kvm_gpc_mark_dirty_in_slot(struct gfn_to_pfn_cache *gpc)
{
	lockdep_assert_held(&gpc->lock);

	if (gpc->memslot)
		mark_page_dirty_in_slot(gpc->kvm, gpc->memslot, gpa_to_gfn(gpc->gpa));
}

#endif /* __KVM_HOST_H */
