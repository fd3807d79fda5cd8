// Cross-check of simulate --from: a function's model in a calling context,
// printed as Promela (its undecided branches as one option per way), verified
// by Spin, must get the explorer's verdicts. The deadlock cell is 6.1's
// kvm_xen_update_runstate_guest() in the sched-out context (when the kernel
// tier's tree is cached), with the fixture notifier's blocking and trylock
// updates beside it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EngineResult } from '../../server/src/analysis/engine';
import type { BuiltModel } from '../../server/src/simulator/build';
import { explore } from '../../server/src/simulator/explorer';
import { functionRuns } from '../../server/src/simulator/fromFunction';
import { functionAtRow } from '../../server/src/simulator/fromSource';
import { emitPromelaModel } from '../../server/src/simulator/promela';
import { detectPfncache, treeReader } from '../../server/src/simulator/shape';
import type { RunContext } from '../../server/src/simulator/types';
import { engine, FIXTURES, indexed } from '../helpers';
import { kernelCacheDir } from '../kernel/trees';
import { spinAvailable, verifyLivenessWithSpin, verifyWithSpin } from './spin';

const HAVE_SPIN = spinAvailable();
const TREES = join(FIXTURES, 'simulator-trees');
const cached = (v: string) => (existsSync(join(kernelCacheDir(), `linux-${v}`, 'virt', 'kvm', 'pfncache.c')) ? join(kernelCacheDir(), `linux-${v}`) : undefined);

interface Cell {
	name: string;
	root: string | undefined;
	file: string;
	fn: string;
	kind: RunContext['kind'];
	/** the explorer's expected safety verdict, for the record (the test compares with Spin) */
	expect: 'safe' | 'deadlock' | 'stale-access';
}

const CELLS: Cell[] = [
	{ name: 'linux-6.1 kvm_xen_update_runstate_guest, sched-out', root: cached('6.1'), file: 'arch/x86/kvm/xen.c', fn: 'kvm_xen_update_runstate_guest', kind: 'sched-out', expect: 'deadlock' },
	{ name: 'linux-6.12 kvm_xen_update_runstate_guest, sched-out', root: cached('6.12'), file: 'arch/x86/kvm/xen.c', fn: 'kvm_xen_update_runstate_guest', kind: 'sched-out', expect: 'safe' },
	{ name: 'fixture blocking runstate update, sched-out', root: join(TREES, 'sched-out'), file: 'arch/x86/kvm/xen.c', fn: 'fx_runstate_blocking', kind: 'sched-out', expect: 'deadlock' },
	{ name: 'fixture trylock runstate update, sched-out', root: join(TREES, 'sched-out'), file: 'arch/x86/kvm/xen.c', fn: 'fx_runstate_trylock', kind: 'sched-out', expect: 'safe' },
	{ name: 'fixture two caches through one pointer', root: join(TREES, 'paths'), file: 'arch/x86/kvm/paths.c', fn: 'fx_two_caches_one_pointer', kind: 'process', expect: 'safe' },
	{ name: 'fixture unchecked write on one side', root: join(TREES, 'paths'), file: 'arch/x86/kvm/paths.c', fn: 'fx_unchecked_first', kind: 'process', expect: 'stale-access' },
];

const results = new Map<string, Promise<EngineResult>>();

async function modelOf(c: Cell): Promise<BuiltModel> {
	const root = c.root!;
	if (!results.has(root)) results.set(root, engine().then(async (e) => e.analyze((await indexed(root)).sources)));
	const result = await results.get(root)!;
	const text = readFileSync(join(root, c.file), 'utf8');
	const row = text.split('\n').findIndex((l) => new RegExp(`^\\S.*\\b${c.fn}\\(`).test(l));
	const tree = (await engine()).parser.parse(text)!;
	try {
		const runs = functionRuns(functionAtRow(tree.rootNode, row + 1)!, c.file, result.knowledgeFor(c.file), { pfncache: detectPfncache(treeReader(root)), kinds: [c.kind], adversaries: ['invalidation'] })!;
		expect(runs.runs).toHaveLength(1);
		return runs.runs[0].model;
	} finally {
		tree.delete();
	}
}

describe.skipIf(!HAVE_SPIN)('Spin agrees with the explorer on simulate --from models', () => {
	const models = new Map<string, BuiltModel>();
	beforeAll(async () => {
		for (const c of CELLS) if (c.root) models.set(c.name, await modelOf(c));
	}, 300_000);

	it.each(CELLS)('$name', async (c) => {
		if (!c.root) {
			console.warn(`test/spin: ${c.name} skipped, the kernel tier's tree is not cached`);
			return;
		}
		const model = models.get(c.name)!;
		const ts = explore(model, { trace: false });
		expect(ts.verdict === 'safe' ? 'safe' : ts.property).toBe(c.expect);
		const sp = await verifyWithSpin(emitPromelaModel(model));
		expect(sp.verdict, `spin: ${sp.kind ?? 'no errors'}, ${sp.states} states`).toBe(ts.verdict);
		if (ts.verdict === 'violation') expect(sp.kind).toBe(ts.property === 'deadlock' ? 'invalid end state' : 'assertion');
		const lv = await verifyLivenessWithSpin(emitPromelaModel(model, { liveness: true }));
		expect(lv.verdict === 'violation' ? 'violated' : 'holds', `spin liveness: ${lv.kind ?? 'no errors'}`).toBe(ts.liveness);
	}, 300_000);
});
