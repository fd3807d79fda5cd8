// The code under test: today's pfncache algorithm, versions of it (or of its
// callers) with one upstream fix taken back out, and reference designs.
import type { VariantInfo } from './types';

/** Changes to the 6.12 model for mutation testing (mutants.ts says what each one is). */
export interface MutantFlags {
	noValidFalse?: boolean;
	retryOnInProgress?: boolean;
	noSeqCompare?: boolean;
	noGenerationCheck?: boolean;
	activeBeforeListAdd?: boolean;
	noActiveInCheck?: boolean;
	noActiveInRefresh?: boolean;
	noRefreshMutex?: boolean;
	alwaysUnmapOld?: boolean;
	listDelBeforeInactive?: boolean;
	noRecheckInInvalidate?: boolean;
}

/** How vcpu_enter_guest() treats a guest-usage cache (KVM_GUEST_USES_PFN; design only, no in-tree user). */
export type GuestEntry =
	/** request check after the IN_GUEST_MODE store, request handling re-checks the cache */
	| 'protocol'
	/** a pending request aborts the entry, but the retry re-enters with the pfn already in hardware */
	| 'no-recheck'
	/** the cache is re-checked before the IN_GUEST_MODE store and requests are not looked at after it */
	| 'check-before-mode'
	/** requests are checked, but before the IN_GUEST_MODE store */
	| 'request-before-mode';

export interface VariantFlags {
	/** 5.18 refresh: placeholder valid=true before mapping, retry on mmu_invalidate_in_progress only */
	validBeforeMap: boolean;
	/** kvm_gpc_refresh() without refresh_lock */
	noRefreshMutex: boolean;
	/** 6.0: check/refresh ignore gpc->active; activate/deactivate in their 6.0 order */
	noActiveFlag: boolean;
	/** activate of an inactive cache re-runs rwlock_init()/mutex_init() */
	lockInitOnActivate: boolean;
	/** the sched-out runstate update blocks on gpc->lock instead of read_trylock() */
	runstateBlockingLock: boolean;
	/** invalidating a guest-usage cache does not kick the vCPU out of guest mode */
	guestUsageNoRequest: boolean;
	guestEntry: GuestEntry;
	/** readers use the cache after refresh + relock without checking again */
	readerNoRecheck: boolean;
	/** the fix of docs/findings/hva-cache-refresh.md: a counter every invalidation moves, checked with the sequence */
	mnInvalidateSeq: boolean;
	/**
	 * The code the steps' lines come from when it is not 6.12's: 6.1's pfncache.c has the same
	 * algorithm in other functions (kvm_gfn_to_pfn_cache_refresh(), an invalidation without the
	 * read-locked peek, activation and deactivation in their 6.1 order). Set from the tree, never a variant.
	 */
	code?: '6.1';
	/** gfn_to_pfn_cache_invalidate_start() write-locks every cache on the list without the read-locked peek (before 6.9); set from the tree */
	noPeek?: boolean;
	mutant?: MutantFlags;
}

export interface Variant extends VariantInfo {
	flags: Partial<VariantFlags>;
	/** the scenario that shows the variant's bug best (the webview's and the tests' witness) */
	witness?: string;
}

export const VARIANTS: Variant[] = [
	{
		id: 'upstream',
		title: 'Current upstream algorithm (Linux 6.12 virt/kvm/pfncache.c)',
		fix: '',
		release: '6.12',
		description:
			'hva_to_pfn_retry() clears valid, drops gpc->lock to map, re-takes it and retries while mn_active_invalidate_count is elevated or mmu_invalidate_seq moved; refresh is serialised by refresh_lock; check/refresh reject inactive caches; locks are initialised once in kvm_gpc_init(); the sched-out runstate update only uses read_trylock(). Guest-usage caches use the complete request protocol (see guest-usage-protocol).',
		hazard: 'An HVA-based cache outside every memslot can be refreshed to a page a concurrent MADV_DONTNEED/munmap() is zapping: no memslot, no mmu_invalidate_seq bump, so the retry check passes (docs/findings/hva-cache-refresh.md).',
		expect: 'safe',
		flags: {},
	},
	{
		id: 'valid-before-map',
		title: 'Refresh marks the cache valid before the new mapping exists',
		fix: 'KVM: Fix multiple races in gfn=>pfn cache refresh (58cd407ca4c6)',
		release: '6.0-rc1',
		description:
			'The 5.18 refresh: under gpc->lock it sets valid=true with placeholder pfn/khva, drops the lock, resolves hva→pfn retrying only on mmu_invalidate_in_progress/mmu_invalidate_seq (elevated after the gpc invalidation), maps, and stores pfn/khva without re-checking.',
		hazard:
			'A refresh that runs between gfn_to_pfn_cache_invalidate_start() and mmu_invalidate_in_progress++ keeps the page that is about to be migrated and freed, so the next check() passes on a freed page.',
		expect: 'refuted',
		witness: 'reader-vs-invalidation',
		flags: { validBeforeMap: true },
	},
	{
		id: 'no-refresh-mutex',
		title: 'Refresh not serialised by refresh_lock (the 5.18 refresh)',
		fix: 'KVM: Fully serialize gfn=>pfn cache refresh via mutex (93984f19e7bc)',
		release: '6.0-rc1',
		description:
			'The 5.18 kvm_gfn_to_pfn_cache_refresh() without mutex_lock(&gpc->refresh_lock): after a memslot update, the first refresher stores the new uhva and generation, sets the placeholder valid = true and drops gpc->lock to resolve the pfn; a second refresher sees a fresh generation, the same uhva and valid, skips the hva→pfn step and returns success.',
		hazard:
			'The second refresher returns success while the first is still resolving the pfn ("a false negative on the memslot generation"), so its caller checks a cache that is valid with placeholder pfn/khva and writes through a NULL khva.',
		expect: 'refuted',
		witness: 'two-refreshers-vs-memslot',
		flags: { validBeforeMap: true, noRefreshMutex: true },
	},
	{
		id: 'no-active-flag',
		title: 'check/refresh accept an inactive cache (6.0)',
		fix: 'KVM: Reject attempts to consume or refresh inactive gfn_to_pfn_cache (ecbcf030b456)',
		release: '6.1 (CVE-2022-49882)',
		description:
			'6.0: kvm_gpc_check() and kvm_gpc_refresh() do not test gpc->active; kvm_gpc_deactivate() takes the cache off kvm->gpc_list, unmaps it and only then clears active; kvm_gpc_activate() resets the cache without locks and marks it active before list_add().',
		hazard:
			'A refresh after kvm_gpc_deactivate() makes the cache valid again while it is off kvm->gpc_list, so the next invalidation misses it, the page is migrated and freed, and the next check() passes on the freed page.',
		expect: 'refuted',
		witness: 'refresh-after-deactivate',
		flags: { noActiveFlag: true },
	},
	{
		id: 'lock-init-on-activate',
		title: 'Locks re-initialised when an inactive cache is activated',
		fix: 'KVM: Initialize gfn_to_pfn_cache locks in dedicated helper (52491a38b2c2)',
		release: '6.1',
		description:
			'kvm_gfn_to_pfn_cache_init() (6.0) ran rwlock_init(&gpc->lock) and mutex_init(&gpc->refresh_lock) whenever the cache was inactive, even while another task held the lock.',
		hazard:
			'A reader that took gpc->lock before the re-init unlocks a freshly initialised lock: the reader count goes negative and the next write_lock_irq() spins forever (deadlock).',
		expect: 'refuted',
		witness: 'refresh-vs-deactivate',
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
			'A writer queued on gpc->lock (the invalidation waiting for a reader to leave) makes the sched-out reader spin with rq->__lock held; the reader it waits for holds gpc->lock while it wakes a task onto that CPU, and try_to_wake_up() needs p->pi_lock and then that rq->__lock: a three-party deadlock (lockdep: &gpc->lock --> &p->pi_lock --> &rq->__lock).',
		expect: 'refuted',
		witness: 'atomic-runstate-vs-invalidation',
		flags: { runstateBlockingLock: true },
	},
	{
		id: 'guest-usage-protocol',
		title: 'Guest-usage cache with the complete vCPU request protocol (reference design)',
		fix: 'design: what "KVM: pfncache: remove KVM_GUEST_USES_PFN usage" (6.9) left for whoever writes the code',
		release: 'design',
		description:
			'The invalidation clears valid, makes KVM_REQ_OUTSIDE_GUEST_MODE pending and, when kvm_vcpu_exiting_guest_mode() finds the vCPU not OUTSIDE_GUEST_MODE, kicks it and waits (KVM_REQUEST_WAIT); vcpu_enter_guest() stores IN_GUEST_MODE, then checks for requests, and handling the request re-checks (and refreshes) the cache before the pfn goes back into hardware.',
		hazard:
			'None: either the vCPU stored IN_GUEST_MODE before the invalidation looked (it is kicked and waited for) or the request is set before the vCPU looks for requests (the entry is aborted and the cache re-checked).',
		expect: 'safe',
		witness: 'guest-usage-vs-invalidation',
		flags: { guestEntry: 'protocol' },
	},
	{
		id: 'guest-usage-no-request',
		title: 'Guest-usage cache invalidated without forcing the vCPU out of guest mode',
		fix: 'the KVM_GUEST_USES_PFN eviction of "KVM: Reinstate gfn_to_pfn_cache with invalidation support" (removed with the usage flags in 6.9)',
		release: '5.17',
		description:
			'gfn_to_pfn_cache_invalidate_start() clears valid but does not send KVM_REQ_OUTSIDE_GUEST_MODE to the vCPU that programmed the pfn into hardware, so vcpu_enter_guest() has no reason to re-check the cache.',
		hazard: 'Without a request the vCPU is never told: it keeps running the guest on a pfn the host has migrated and freed.',
		expect: 'refuted',
		witness: 'guest-usage-vs-invalidation',
		flags: { guestUsageNoRequest: true },
	},
	{
		id: 'guest-usage-no-recheck',
		title: 'Guest entry aborts on the request but does not re-check the cache',
		fix: 'design: the request handler must re-check (refresh) the cache and reload the pfn',
		release: 'design',
		description: 'kvm_vcpu_exit_request() sees the request and aborts the entry, but the retry goes straight back to IN_GUEST_MODE with the pfn still in hardware.',
		hazard: 'The request only delays the entry: the retry re-enters with the pfn the invalidation has just migrated and freed.',
		expect: 'refuted',
		witness: 'guest-usage-vs-invalidation',
		flags: { guestEntry: 'no-recheck' },
	},
	{
		id: 'guest-usage-check-before-mode',
		title: 'Guest entry re-checks the cache before setting IN_GUEST_MODE',
		fix: 'design: the re-check must come after smp_store_release(&vcpu->mode, IN_GUEST_MODE), as kvm_vcpu_exit_request() does',
		release: 'design',
		description: 'vcpu_enter_guest() checks the cache, loads the pfn and then stores IN_GUEST_MODE, without looking for requests after the store.',
		hazard: 'An invalidation between the re-check and the IN_GUEST_MODE store finds the vCPU OUTSIDE_GUEST_MODE, so it neither kicks nor waits, and the vCPU enters the guest on the freed page.',
		expect: 'refuted',
		witness: 'guest-usage-vs-invalidation',
		flags: { guestEntry: 'check-before-mode' },
	},
	{
		id: 'guest-usage-request-before-mode',
		title: 'Guest entry checks for requests before the IN_GUEST_MODE store',
		fix: 'design: "We should set ->mode before checking ->requests" (the comment in vcpu_enter_guest() on kvm_vcpu_exiting_guest_mode())',
		release: 'design',
		description: 'vcpu_enter_guest() looks for pending requests and only then stores IN_GUEST_MODE.',
		hazard: 'A request made after the vCPU looked but before its IN_GUEST_MODE store is seen by neither side: the invalidation finds OUTSIDE_GUEST_MODE and does not wait, the vCPU does not look again and enters the guest on the freed page.',
		expect: 'refuted',
		witness: 'guest-usage-vs-invalidation',
		flags: { guestEntry: 'request-before-mode' },
	},
	{
		id: 'reader-no-recheck',
		title: 'Reader does not re-check after refresh',
		fix: 'reader-side contract (DESIGN.md §2): while (!kvm_gpc_check()) { unlock; refresh; lock; }',
		release: '-',
		description: 'The reader uses `if (!kvm_gpc_check(...)) { unlock; kvm_gpc_refresh(); lock; }` and then uses khva without checking again.',
		hazard: 'An invalidation that lands between the refresh and the re-lock leaves the reader using a page that has been migrated and freed.',
		expect: 'refuted',
		witness: 'reader-vs-two-invalidations',
		flags: { readerNoRecheck: true },
	},
	{
		id: 'hva-fix',
		title: 'Proposed fix: every invalidation, memslot or not, moves a counter the refresh checks',
		fix: 'proposal of docs/findings/hva-cache-refresh.md (not upstream)',
		release: 'proposal',
		description:
			'kvm_mmu_notifier_invalidate_range_end() increments kvm->mn_invalidate_seq for every range before dropping mn_active_invalidate_count; hva_to_pfn_retry() snapshots it with mmu_invalidate_seq and mmu_notifier_retry_cache() retries when either moved.',
		hazard: 'None: an invalidation that ends between the snapshot and the re-check moves the counter even when no memslot covers the range.',
		expect: 'safe',
		witness: 'hva-refresh-vs-zap',
		flags: { mnInvalidateSeq: true },
	},
];

export function variantFlags(v: Pick<Variant, 'flags'>): VariantFlags {
	return {
		validBeforeMap: false,
		noRefreshMutex: false,
		noActiveFlag: false,
		lockInitOnActivate: false,
		runstateBlockingLock: false,
		guestUsageNoRequest: false,
		guestEntry: 'protocol',
		readerNoRecheck: false,
		mnInvalidateSeq: false,
		...v.flags,
	};
}

export function findVariant(id: string): Variant | undefined {
	return VARIANTS.find((v) => v.id === id);
}
