import { displayPath } from '../paths';
import type { FunctionRule, Related } from './types';

export const gpcUseAfterUnlock: FunctionRule = {
	id: 'gpc-use-after-unlock',
	create: (ctx) => ({
		observe(o) {
			if (o.kind !== 'use') return;
			const { state } = o;
			const what = o.derived ? `\`${o.derived.name}\` (derived from ${displayPath(o.instance)}.khva)` : o.node.text.replace(/\s+/g, ' ');
			const related: Related[] = [];
			if (state.dropped) related.push({ node: state.dropped.unlock, message: 'lock dropped here' });
			if (state.dropped?.check) related.push({ node: state.dropped.check, message: 'validated by this check' });
			if (o.derived) {
				if (o.derived.pointer.stale !== 'yes') return;
				related.push({ node: o.derived.pointer.site, message: 'pointer taken here' });
				const why = state.held === 'yes' ? 'after the lock it was taken under was dropped and re-taken; the mapping may have moved' : 'after the lock was dropped';
				ctx.report(o.node, `${what} ${o.access === 'write' ? 'written' : 'read'} ${why}`, related);
				return;
			}
			if (state.held === 'no' && state.dropped) {
				ctx.report(o.node, `${what} ${o.access === 'write' ? 'written' : 'read'} after ${displayPath(o.instance)}.lock was dropped: the mapping may already be invalid`, related);
			}
		},
	}),
};
