// Hovers on real kernel code read the facts the analysis kept: on every gpc call, lock
// call and khva use of xen.c and x86.c they say what the dataflow run at hover time says
// (6.1 has the sched-out chain on a lock, 6.12 with PREEMPT_RT the hard-IRQ one).
import { describe, expect, it } from 'vitest';
import type { EngineOptions } from '../../server/src/analysis/engine';
import { analyzePath } from '../helpers';
import { hoversBothWays } from '../hover-facts-property';
import { kernelTree, type KernelVersion } from './trees';

const CASES: [KernelVersion, EngineOptions][] = [['6.1', {}], ['6.12', { preemptRt: true }]];

describe.each(CASES)('hover facts on linux-%s %o', (version, options) => {
	it('give the hover the dataflow gives in xen.c and x86.c', async () => {
		const root = kernelTree(version);
		const result = await analyzePath(root, options);
		for (const file of ['arch/x86/kvm/xen.c', 'arch/x86/kvm/x86.c']) {
			const both = await hoversBothWays(root, result, file);
			expect(both.kept, file).toEqual(both.computed);
			expect(both.fromFacts).toBeGreaterThan(both.kept.length / 4);
		}
	});
});
