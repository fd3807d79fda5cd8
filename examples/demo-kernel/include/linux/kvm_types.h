/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef __KVM_TYPES_H__
#define __KVM_TYPES_H__

#include <linux/types.h>
#include <linux/spinlock.h>
#include <linux/mutex.h>
#include <linux/list.h>

struct kvm;
struct kvm_vcpu;
struct kvm_memory_slot;

typedef u64 gpa_t;
typedef u64 gfn_t;
typedef u64 kvm_pfn_t;

enum pfn_cache_usage {	/* expect: gpc-dead-usage-flag */
	KVM_GUEST_USES_PFN = BIT(0),	/* expect: gpc-dead-usage-flag */
	KVM_HOST_USES_PFN  = BIT(1),	/* expect: gpc-dead-usage-flag */
	KVM_GUEST_AND_HOST_USE_PFN = KVM_GUEST_USES_PFN | KVM_HOST_USES_PFN,	/* expect: gpc-dead-usage-flag */
};

struct gfn_to_pfn_cache {
	u64 generation;
	gpa_t gpa;
	unsigned long uhva;
	struct kvm_memory_slot *memslot;
	struct kvm *kvm;
	struct kvm_vcpu *vcpu;	/* expect: gpc-dead-usage-flag */
	struct list_head list;
	rwlock_t lock;
	struct mutex refresh_lock;
	void *khva;
	kvm_pfn_t pfn;
	enum pfn_cache_usage usage;	/* expect: gpc-dead-usage-flag */
	bool active;
	bool valid;
};

#endif /* __KVM_TYPES_H__ */
