// Mutation testing of the 6.12 model: each mutant takes one thing out of (or
// moves one thing in) today's pfncache.c. A scenario kills a mutant when the
// mutant breaks a property there that upstream keeps. Every mutant that some
// interleaving could tell apart must be killed by a scenario of the matrix;
// the equivalent ones say why no scenario can.
import type { MutantFlags } from './variants';

export interface Mutant {
	id: string;
	description: string;
	flags: MutantFlags;
	/** why no workload can tell it from 6.12 (only for equivalent mutants) */
	equivalent?: string;
}

export const MUTANTS: Mutant[] = [
	{
		id: 'drop-valid-false',
		description: 'hva_to_pfn_retry() does not set gpc->valid = false before write_unlock_irq() (pfncache.c:172)',
		flags: { noValidFalse: true },
	},
	{
		id: 'retry-on-in-progress',
		description: 'mmu_notifier_retry_cache() tests mmu_invalidate_in_progress instead of mn_active_invalidate_count (pfncache.c:141)',
		flags: { retryOnInProgress: true },
	},
	{
		id: 'drop-seq-compare',
		description: 'mmu_notifier_retry_cache() does not compare mmu_invalidate_seq with the snapshot (pfncache.c:152)',
		flags: { noSeqCompare: true },
	},
	{
		id: 'drop-generation-check',
		description: 'kvm_gpc_check() does not compare gpc->generation with the memslot generation (pfncache.c:84)',
		flags: { noGenerationCheck: true },
	},
	{
		id: 'active-before-list-add',
		description: '__kvm_gpc_activate() sets gpc->active before list_add() to kvm->gpc_list (pfncache.c:404-413 swapped)',
		flags: { activeBeforeListAdd: true },
		equivalent:
			'__kvm_gpc_activate() holds refresh_lock from before list_add() until its own refresh returns, so no kvm_gpc_refresh() can run between the two, and kvm_gpc_check() fails in that window because valid is false (KVM_BUG_ON(gpc->valid) just before). The order mattered in 6.1, whose activate did not hold refresh_lock.',
	},
	{
		id: 'drop-active-check-in-check',
		description: 'kvm_gpc_check() does not test gpc->active (pfncache.c:77)',
		flags: { noActiveInCheck: true },
		equivalent:
			'valid implies active: kvm_gpc_deactivate() clears valid in the same write-locked section that clears active, __kvm_gpc_refresh() refuses an inactive cache before it could set valid, and activation finds valid false (KVM_BUG_ON). The active test is defence in depth.',
	},
	{
		id: 'drop-active-check-in-refresh',
		description: '__kvm_gpc_refresh() does not refuse an inactive cache (pfncache.c:266)',
		flags: { noActiveInRefresh: true },
	},
	{
		id: 'drop-refresh-mutex',
		description: 'kvm_gpc_refresh() does not take refresh_lock (pfncache.c:362)',
		flags: { noRefreshMutex: true },
	},
	{
		id: 'always-unmap-old',
		description: '__kvm_gpc_refresh() unmaps the old mapping even when the new pfn is the old one (pfncache.c:347: unmap_old = true)',
		flags: { alwaysUnmapOld: true },
	},
	{
		id: 'list-del-before-inactive',
		description: 'kvm_gpc_deactivate() takes the cache off kvm->gpc_list before clearing active/valid (pfncache.c:453-472 swapped)',
		flags: { listDelBeforeInactive: true },
	},
	{
		id: 'drop-recheck-in-invalidate',
		description: 'gfn_to_pfn_cache_invalidate_start() clears valid under the write lock without checking again (pfncache.c:48)',
		flags: { noRecheckInInvalidate: true },
		equivalent:
			'Clearing valid is always safe: a cache that was refreshed between the read-locked peek and the write lock only gets refreshed once more. It costs a refresh, never a stale access, and no workload keeps it from finishing.',
	},
];

export function findMutant(id: string): Mutant | undefined {
	return MUTANTS.find((m) => m.id === id);
}
