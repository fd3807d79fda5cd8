import { displayPath } from '../paths';
import type { FunctionRule } from './types';

export const gpcRefreshInAtomic: FunctionRule = {
	meta: {
		id: 'gpc-refresh-in-atomic',
		severity: 'error',
		summary: 'refresh or activate reachable on an atomic path',
		readerOnly: true,
	},
	create: (ctx) => ({
		observe(o) {
			if (o.kind !== 'gpcCall' || (o.api.role !== 'refresh' && o.api.role !== 'activate') || !o.atomic) return;
			// Under a gpc lock this is gpc-sleep-under-lock's finding (the callers' lock: theirs, at the call).
			if (Object.values(o.world.instances).some((s) => s.held === 'yes' && !s.byCaller)) return;
			ctx.report(
				o.node,
				`${o.api.name}() on ${displayPath(o.instance)} may sleep, but this path may be atomic: ${o.atomic.why}; bail out and let a sleepable path refresh`,
				o.atomic.site ? [{ node: o.atomic.site, file: o.atomic.file, message: 'atomic because of this' }] : [],
			);
		},
	}),
};
