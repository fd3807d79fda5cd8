// The code under test: today's pfncache algorithm, and versions of it (or of
// its callers) with one upstream fix taken back out.
import type { VariantInfo } from './types';

export interface VariantFlags {
	/** 5.18 refresh: placeholder valid=true before mapping, retry on mmu_invalidate_in_progress only */
	validBeforeMap: boolean;
	/** kvm_gpc_refresh() without refresh_lock */
	noRefreshMutex: boolean;
	/** kvm_gpc_check()/refresh() do not test gpc->active */
	noActiveFlag: boolean;
	/** activate of an inactive cache re-runs rwlock_init()/mutex_init() */
	lockInitOnActivate: boolean;
	/** the sched-out runstate update blocks on gpc->lock instead of read_trylock() */
	runstateBlockingLock: boolean;
	/** invalidating a guest-usage cache does not kick the vCPU out of guest mode */
	guestUsageNoRequest: boolean;
	/** readers use the cache after refresh + relock without checking again */
	readerNoRecheck: boolean;
}

export interface Variant extends VariantInfo {
	flags: Partial<VariantFlags>;
}

export const VARIANTS: Variant[] = [
	{
		id: 'upstream',
		title: 'Current upstream algorithm (Linux 6.12 virt/kvm/pfncache.c)',
		fix: '',
		release: '6.12',
		description:
			'hva_to_pfn_retry() clears valid, drops gpc->lock to map, re-takes it and retries while mn_active_invalidate_count is elevated or mmu_invalidate_seq moved; refresh is serialised by refresh_lock; check/refresh reject inactive caches; locks are initialised once in kvm_gpc_init(); the sched-out runstate update only uses read_trylock(). Guest-usage caches use the 6.1 eviction (KVM_REQ_OUTSIDE_GUEST_MODE with KVM_REQUEST_WAIT) and a request check on guest entry.',
		hazard: 'none known',
		flags: {},
	},
	{
		id: 'valid-before-map',
		title: 'Refresh marks the cache valid before the new mapping exists',
		fix: 'KVM: Fix multiple races in gfn=>pfn cache refresh',
		release: '6.0-rc1',
		description:
			'The 5.18 refresh: under gpc->lock it sets valid=true with placeholder pfn/khva, drops the lock, resolves hva→pfn retrying only on mmu_invalidate_in_progress/mmu_invalidate_seq (elevated after the gpc invalidation), maps, and stores pfn/khva without re-checking.',
		hazard:
			'A refresh that runs between gfn_to_pfn_cache_invalidate_start() and mmu_invalidate_in_progress++ keeps the about-to-be-freed page, and a concurrent check() sees valid with a NULL khva: access through a stale or freed mapping.',
		flags: { validBeforeMap: true },
	},
	{
		id: 'no-refresh-mutex',
		title: 'Refresh not serialised by refresh_lock',
		fix: 'KVM: Fully serialize gfn=>pfn cache refresh via mutex',
		release: '6.0-rc1',
		description:
			'kvm_gpc_refresh() without mutex_lock(&gpc->refresh_lock): two refreshers run hva_to_pfn_retry() at once, each with its own snapshot of old_pfn/old_khva.',
		hazard:
			'The second refresher trusts a pfn/khva the first one already replaced: it reuses or unmaps the other\'s mapping (double unmap, freed khva published) or leaks one. In 5.18, where refresh also marked valid early, the second refresher skipped the hva→pfn step altogether.',
		flags: { noRefreshMutex: true },
	},
	{
		id: 'no-active-flag',
		title: 'check/refresh accept an inactive cache',
		fix: 'KVM: Reject attempts to consume or refresh inactive gfn_to_pfn_cache',
		release: '6.1 (CVE-2022-49882)',
		description: 'kvm_gpc_check() and kvm_gpc_refresh() do not test gpc->active.',
		hazard:
			'A refresh racing kvm_gpc_deactivate() makes a deactivated cache valid again, off the invalidation list: use after deactivate, and the mapping is no longer invalidated by the MMU notifier.',
		flags: { noActiveFlag: true },
	},
	{
		id: 'lock-init-on-activate',
		title: 'Locks re-initialised when an inactive cache is activated',
		fix: 'KVM: Initialize gfn_to_pfn_cache locks in dedicated helper',
		release: '6.1',
		description:
			'kvm_gfn_to_pfn_cache_init() (6.0) ran rwlock_init(&gpc->lock) and mutex_init(&gpc->refresh_lock) whenever the cache was inactive, even while another task held the lock.',
		hazard:
			'A reader that took gpc->lock before the re-init unlocks a freshly initialised lock: the reader count goes negative and the next write_lock_irq() spins forever (deadlock).',
		flags: { lockInitOnActivate: true },
	},
	{
		id: 'runstate-blocking-lock',
		title: 'Sched-out runstate update blocks on gpc->lock',
		fix: 'KVM: x86/xen: Fix potential deadlock in kvm_xen_update_runstate_guest()',
		release: '6.2',
		description:
			'kvm_xen_update_runstate_guest(v, atomic=true), called from kvm_sched_out() with rq->__lock held, takes gpc->lock with read_lock_irqsave() instead of read_trylock().',
		hazard:
			'When an invalidation or refresh holds gpc->lock for write, the contended reader enters the lock slow path whose priority-inheritance walk takes rq->__lock, already held by this CPU: deadlock (lockdep: &gpc->lock --> &p->pi_lock --> &rq->__lock).',
		flags: { runstateBlockingLock: true },
	},
	{
		id: 'guest-usage-no-request',
		title: 'Guest-usage cache invalidated without forcing the vCPU out of guest mode',
		fix: 'KVM: Reinstate gfn_to_pfn_cache with invalidation support (the KVM_GUEST_USES_PFN eviction; removed with the usage flags in 6.9, "KVM: pfncache: remove KVM_GUEST_USES_PFN usage")',
		release: '5.17',
		description:
			'gfn_to_pfn_cache_invalidate_start() clears valid but does not send KVM_REQ_OUTSIDE_GUEST_MODE to the vCPU that programmed the pfn into hardware, so vcpu_enter_guest() has no reason to re-check the cache.',
		hazard: 'The vCPU keeps running the guest on a pfn the host has migrated and freed: guest access to a freed page.',
		flags: { guestUsageNoRequest: true },
	},
	{
		id: 'reader-no-recheck',
		title: 'Reader does not re-check after refresh',
		fix: 'reader-side contract (DESIGN.md §2): while (!kvm_gpc_check()) { unlock; refresh; lock; }',
		release: '-',
		description: 'The reader uses `if (!kvm_gpc_check(...)) { unlock; kvm_gpc_refresh(); lock; }` and then uses khva without checking again.',
		hazard: 'An invalidation that lands between the refresh and the re-lock leaves the reader using a page that has been migrated and freed.',
		flags: { readerNoRecheck: true },
	},
];

export function variantFlags(v: Variant): VariantFlags {
	return {
		validBeforeMap: false,
		noRefreshMutex: false,
		noActiveFlag: false,
		lockInitOnActivate: false,
		runstateBlockingLock: false,
		guestUsageNoRequest: false,
		readerNoRecheck: false,
		...v.flags,
	};
}

export function findVariant(id: string): Variant | undefined {
	return VARIANTS.find((v) => v.id === id);
}
