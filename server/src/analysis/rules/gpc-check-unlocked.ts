import { displayPath } from '../paths';
import type { FunctionRule } from './types';

export const gpcCheckUnlocked: FunctionRule = {
	id: 'gpc-check-unlocked',
	create: (ctx) => ({
		observe(o) {
			if (o.kind !== 'gpcCall' || o.api.role !== 'check' || o.state.held !== 'no') return;
			const related = o.state.dropped ? [{ node: o.state.dropped.unlock, message: 'the lock was dropped here' }] : [];
			ctx.report(
				o.node,
				`${o.api.name}() on ${displayPath(o.instance)} without holding ${displayPath(o.instance)}.lock: an invalidation can clear the cache right after the check`,
				related,
			);
		},
	}),
};
