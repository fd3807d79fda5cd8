// Dirty tracking: a write through a cache's mapping not yet followed by
// kvm_gpc_mark_dirty_in_slot() / mark_page_dirty(), and where its hold ended.
// gpc-missing-mark-dirty reads it.
import type { SyntaxNode } from '../../parse/parser';
import type { InstanceState } from '../state';
import { siteKey, type Model } from './types';

export interface DirtyState {
	/** A write through khva not yet marked dirty. */
	dirty?: { write: SyntaxNode; unlock?: SyntaxNode; lock?: SyntaxNode; markedAfterUnlock?: SyntaxNode };
}

/** A write through the mapping under a hold the cache was validated under (the caller says so). */
function onWrite(s: InstanceState, write: SyntaxNode): void {
	s.dirty = { write, lock: s.hold?.site };
}

/** The hold a pending write was made under ends here. */
function onRelease(s: InstanceState, unlock: SyntaxNode): void {
	if (s.dirty && !s.dirty.unlock) s.dirty = { ...s.dirty, unlock };
}

/** Marked while the lock is held: done. Marked after the unlock: noted, the era decides. */
export function markDirty(s: InstanceState, site: SyntaxNode | undefined): void {
	if (!s.dirty) return;
	if (s.held === 'yes' || !s.dirty.unlock) s.dirty = undefined;
	else s.dirty = { ...s.dirty, markedAfterUnlock: site ?? s.dirty.unlock };
}

export const dirty: Model<never, DirtyState> = {
	name: 'dirty',
	instance: {
		join: (x, y) => ({ dirty: x.dirty && y.dirty ? x.dirty : undefined }),
		key: (s) => [siteKey(s.dirty?.write), siteKey(s.dirty?.unlock), siteKey(s.dirty?.markedAfterUnlock)],
	},
	events: {
		wrote: onWrite,
		released: (s, site) => onRelease(s, site),
		gpcCall(s, role, site) {
			if (role === 'markDirty') markDirty(s, site);
		},
	},
};
