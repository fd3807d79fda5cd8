import { contextLabel } from '../contexts';
import { displayPath } from '../paths';
import { blockingLockIn, chainRelated, chainText, lockName, trylockFix } from './contextLock';
import type { FunctionRule } from './types';

export const gpcLockInSchedOut: FunctionRule = {
	id: 'gpc-lock-in-sched-out',
	create: (ctx) => ({
		observe(o) {
			const hit = blockingLockIn(o, 'sched-out');
			if (!hit) return;
			const { lock, context } = hit;
			ctx.report(
				lock.node,
				`${lockName(lock.node)}() of ${displayPath(lock.instance)}.lock may wait, but this path runs in ${contextLabel('sched-out')} via ${chainText(context.chain)}: ` +
					'a writer queued on the lock makes this reader spin with rq->__lock held, while the lock\'s holders may need that runqueue to wake a task ' +
					'(lockdep: &gpc->lock --> &p->pi_lock --> &rq->__lock); take it with read_trylock() there and bail out when it is contended',
				chainRelated(context),
				trylockFix(lock, context),
			);
		},
	}),
};
