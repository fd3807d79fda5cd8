import { contextLabel } from '../contexts';
import { displayPath } from '../paths';
import { blockingLockIn, chainRelated, chainText, lockName } from './contextLock';
import type { FunctionRule } from './types';

export const gpcLockInHardirq: FunctionRule = {
	id: 'gpc-lock-in-hardirq',
	create: (ctx) => ({
		observe(o) {
			const hit = blockingLockIn(o, 'hardirq');
			if (!hit) return;
			const { lock, context } = hit;
			ctx.report(
				lock.node,
				`${lockName(lock.node)}() of ${displayPath(lock.instance)}.lock is not a trylock, but this path runs in ${contextLabel('hardirq')} via ${chainText(context.chain)}: ` +
					'on PREEMPT_RT rwlock_t is a sleeping lock, and sleeping in hard-IRQ context is a bug (lockdep with CONFIG_PROVE_RAW_LOCK_NESTING: invalid wait context); ' +
					'use read_trylock() there and leave a contended or invalid cache to a sleepable path',
				chainRelated(context),
			);
		},
	}),
};
