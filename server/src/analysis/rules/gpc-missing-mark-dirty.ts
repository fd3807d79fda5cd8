import { displayPath, lastSegment } from '../paths';
import type { FunctionRule } from './types';

export const gpcMissingMarkDirty: FunctionRule = {
	id: 'gpc-missing-mark-dirty',
	create: (ctx) => ({
		observe(o) {
			// Before the helper (6.1: mark_page_dirty_in_slot() after the unlock) the contract differs.
			if (o.kind !== 'exit' || !ctx.hasMarkDirtyHelper) return;
			for (const [inst, s] of Object.entries(o.world.instances)) {
				if (!s.dirty || ctx.dirtyExemption(lastSegment(inst))) continue;
				const at = s.dirty.unlock ?? o.node;
				const related = [{ node: s.dirty.write, message: 'written here' }];
				if (s.dirty.markedAfterUnlock) {
					related.push({ node: s.dirty.markedAfterUnlock, message: 'marked dirty only here, after the unlock' });
					ctx.report(at, `guest memory behind ${displayPath(inst)} is marked dirty only after the lock is dropped: by then the cache may point at another page; mark it with kvm_gpc_mark_dirty_in_slot() before unlocking`, related);
					continue;
				}
				ctx.report(
					at,
					`guest memory behind ${displayPath(inst)} was written without a mark-dirty before the lock was dropped: dirty logging (live migration) will miss it`,
					related,
				);
			}
		},
	}),
};
