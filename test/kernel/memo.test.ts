// Memoised pass 2 on real kernel code: after each random edit of the 6.12 gpc
// files, the engine that remembers earlier analyses equals a fresh one.
import { describe, it } from 'vitest';
import { Engine } from '../../server/src/analysis/engine';
import { indexed } from '../helpers';
import { expectMemoMatchesFresh } from '../memo-property';
import { kernelTree } from './trees';

describe('function memo on linux-6.12', () => {
	it('equals a fresh engine after each random edit of xen.c, x86.c and pfncache.c', async () => {
		const memoised = await Engine.create();
		try {
			const sources = (await indexed(kernelTree('6.12'))).sources;
			await expectMemoMatchesFresh(memoised, sources, ['arch/x86/kvm/xen.c', 'arch/x86/kvm/x86.c', 'virt/kvm/pfncache.c'], { steps: 8, seed: 3 });
		} finally {
			memoised.dispose();
		}
	});
});
