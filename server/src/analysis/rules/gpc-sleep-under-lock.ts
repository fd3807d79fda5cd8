import { displayPath } from '../paths';
import type { FunctionRule } from './types';

export const gpcSleepUnderLock: FunctionRule = {
	id: 'gpc-sleep-under-lock',
	create: (ctx) => ({
		observe(o) {
			if (o.kind !== 'sleep') return;
			const held = Object.entries(o.world.instances).find(([, s]) => s.held === 'yes');
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
