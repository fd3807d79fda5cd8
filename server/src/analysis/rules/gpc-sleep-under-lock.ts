import { displayPath } from '../paths';
import type { FunctionRule } from './types';

export const gpcSleepUnderLock: FunctionRule = {
	meta: {
		id: 'gpc-sleep-under-lock',
		severity: 'error',
		summary: 'a call that may sleep while a gpc lock is held',
		readerOnly: false,
	},
	create: (ctx) => ({
		observe(o) {
			if (o.kind !== 'sleep') return;
			// A lock only the callers hold is reported at their call, through this function's may-sleep summary.
			const held = Object.entries(o.world.instances).find(([, s]) => s.held === 'yes' && !s.byCaller);
			if (!held) return;
			const [inst, s] = held;
			ctx.report(
				o.node,
				`${o.why}, but ${displayPath(inst)}.lock (an rwlock, spinning) is held`,
				s.hold ? [{ node: s.hold.site, message: 'lock taken here' }] : [],
			);
		},
	}),
};
