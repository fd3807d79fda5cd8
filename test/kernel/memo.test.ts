// Memoised pass 2 on real kernel code: after each random edit of the gpc files, the
// engine that remembers earlier analyses equals a fresh one. 6.1 has calling-context
// findings (the sched-out chain) whose notes point into other functions, and 6.12 with
// PREEMPT_RT the hard-IRQ chain: edits above those functions move them, which the memo
// follows without analysing again (relocate.ts).
import { describe, expect, it } from 'vitest';
import { Engine, type EngineOptions } from '../../server/src/analysis/engine';
import { indexed } from '../helpers';
import { expectMemoMatchesFresh } from '../memo-property';
import { kernelTree, type KernelVersion } from './trees';

const CASES: [KernelVersion, EngineOptions][] = [
	['6.12', {}],
	['6.12', { preemptRt: true }],
	['6.1', {}],
];

describe.each(CASES)('function memo on linux-%s %o', (version, engine) => {
	it('equals a fresh engine after each random edit of xen.c, x86.c and pfncache.c', async () => {
		const memoised = await Engine.create();
		try {
			const sources = (await indexed(kernelTree(version))).sources;
			await expectMemoMatchesFresh(memoised, sources, ['arch/x86/kvm/xen.c', 'arch/x86/kvm/x86.c', 'virt/kvm/pfncache.c'], { steps: 8, seed: 3, engine });
			if (version === '6.1' || engine.preemptRt) expect(memoised['memo'].counts.relocated).toBeGreaterThan(0);
		} finally {
			memoised.dispose();
		}
	});
});
