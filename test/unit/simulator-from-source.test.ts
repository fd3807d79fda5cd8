// The reader extracted from real code: a buggy demo function is refuted with a
// trace through its own lines; correct ones are safe against invalidation.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { simulateAt } from '../../server/src/features/simulate';
import { extractReader, functionAtRow } from '../../server/src/simulator/fromSource';
import { runReader } from '../../server/src/simulator';
import { analyzePath, DEMO, engine } from '../helpers';

async function simulate(file: string, functionName: string) {
	const result = await analyzePath(DEMO);
	const text = readFileSync(join(DEMO, file), 'utf8');
	const row = text.split('\n').findIndex((l) => new RegExp(`^\\S.*\\b${functionName}\\(`).test(l));
	const tree = (await engine()).parser.parse(text)!;
	try {
		const reader = extractReader(functionAtRow(tree.rootNode, row + 2)!, file, result.knowledge)!;
		return { reader, run: runReader(reader.program, { threads: ['invalidate'], caches: reader.instances.length }) };
	} finally {
		tree.delete();
	}
}

describe('simulating the function at the cursor', () => {
	it('refutes a read through khva after the unlock, with the reader\'s own lines', async () => {
		const { reader, run } = await simulate('arch/x86/kvm/demo_bugs.c', 'demo_vcpu_wants_upcall');
		expect(reader.instances).toEqual(['v.arch.xen.vcpu_info_cache']);
		expect(run.verdict).toBe('violation');
		expect(run.property).toBe('stale-access');
		const own = run.trace!.filter((s) => s.location.file === 'arch/x86/kvm/demo_bugs.c').map((s) => s.location.line);
		expect(own).toContain(51);
	});

	it('finds the correct retry-loop reader safe', async () => {
		const { run } = await simulate('arch/x86/kvm/xen.c', 'kvm_xen_inject_pending_events');
		expect(run.verdict).toBe('safe');
		expect(run.states).toBeGreaterThan(10);
	});

	it('finds the two-cache runstate update safe', async () => {
		const { reader, run } = await simulate('arch/x86/kvm/xen.c', 'kvm_xen_update_runstate_guest');
		expect(reader.instances.length).toBe(2);
		expect(run.verdict).toBe('safe');
	});
});

describe('a function nested beyond the engine\'s limit', () => {
	it('is declined with the reason, not a stack overflow', async () => {
		const text = 'int deep(struct gfn_to_pfn_cache *gpc)\n{\n\tread_lock(&gpc->lock);\n' + '{'.repeat(2000) + 'x = *(int *)gpc->khva;' + '}'.repeat(2000) + '\n\tread_unlock(&gpc->lock);\n\treturn 0;\n}\n';
		const result = await analyzePath(DEMO);
		const tree = (await engine()).parser.parse(text)!;
		try {
			expect(simulateAt({ tree, file: 'deep.c', result }, 3)).toEqual({ error: 'deep() at line 1 is nested more than 400 levels deep; it is neither analysed nor simulated.' });
		} finally {
			tree.delete();
		}
	});
});
