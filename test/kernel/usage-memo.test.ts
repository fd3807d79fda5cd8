// The usage plan memo on linux-6.1 (the tree with the usage enum): after each
// random edit of its usage files, a plan that reuses earlier parts equals a fresh one.
import { describe, it } from 'vitest';
import { indexed } from '../helpers';
import { createCParser } from '../../server/src/parse/parser';
import { random } from '../memo-property';
import { expectUsageMemoMatchesFresh } from '../usage-memo-property';
import { kernelTree } from './trees';

describe('usage plan memo on linux-6.1', () => {
	it('equals a fresh plan after each random edit of xen.c, x86.c, pfncache.c and kvm_types.h', async () => {
		const parser = await createCParser();
		try {
			const sources = (await indexed(kernelTree('6.1'))).sources.filter((s) => !s.summariesOnly);
			const originals = new Map(sources.map((s) => [s.file, s.read()]));
			const editable = ['arch/x86/kvm/xen.c', 'arch/x86/kvm/x86.c', 'virt/kvm/pfncache.c', 'include/linux/kvm_types.h'];
			expectUsageMemoMatchesFresh(parser, originals, editable, { steps: 16, rand: random(7), era: '6.1', label: 'linux-6.1' });
		} finally {
			parser.delete();
		}
	});
});
