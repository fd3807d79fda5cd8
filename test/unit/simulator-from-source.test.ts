// A function as the simulator's thread (simulate --from): every path from its
// entry, caches resolved per path, lock balance, its calling contexts with the
// lock semantics that make 6.1's sched-out runstate update deadlock, and the
// tree's own pfncache algorithm.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EngineResult } from '../../server/src/analysis/engine';
import { pickRun, simulateAt } from '../../server/src/features/simulate';
import { simulateFunction } from '../../server/src/simulator/fromFunction';
import { extractReader, functionAtRow } from '../../server/src/simulator/fromSource';
import { emitPromelaModel } from '../../server/src/simulator/promela';
import { functionRuns } from '../../server/src/simulator/fromFunction';
import { detectPfncache, treeReader } from '../../server/src/simulator/shape';
import type { RunResult } from '../../server/src/simulator';
import { analyzePath, DEMO, engine, FIXTURES } from '../helpers';

const TREES = join(FIXTURES, 'simulator-trees');
const results = new Map<string, Promise<EngineResult>>();
const analysed = (root: string) => {
	if (!results.has(root)) results.set(root, analyzePath(root));
	return results.get(root)!;
};

/** Parse `file` of `root`, find `fn`, and hand its definition to `use`. */
async function withFunction<T>(root: string, file: string, fn: string, use: (def: import('../../server/src/parse/parser').SyntaxNode, result: EngineResult) => T): Promise<T> {
	const result = await analysed(root);
	const text = readFileSync(join(root, file), 'utf8');
	const row = text.split('\n').findIndex((l) => new RegExp(`^\\S.*\\b${fn}\\(`).test(l));
	expect(row, `${fn} in ${file}`).toBeGreaterThanOrEqual(0);
	const tree = (await engine()).parser.parse(text)!;
	try {
		return use(functionAtRow(tree.rootNode, row + 2)!, result);
	} finally {
		tree.delete();
	}
}

async function runs(root: string, file: string, fn: string, variant?: string): Promise<RunResult[]> {
	return withFunction(root, file, fn, (def, result) => {
		const pfncache = variant ? { variant, how: 'given' as const, why: variant } : detectPfncache(treeReader(root));
		return simulateFunction(def, file, result.knowledgeFor(file), { pfncache })!.runs;
	});
}

const PATHS = join(TREES, 'paths');
const P = 'arch/x86/kvm/paths.c';

describe('every path from the entry', () => {
	it.each(['fx_unchecked_second', 'fx_unchecked_first'])('refutes %s: khva used without a check on one side, whichever side it is', async (fn) => {
		const [run] = await runs(PATHS, P, fn);
		expect(run.verdict).toBe('violation');
		expect(run.property).toBe('stale-access');
		// the unchecked write is the one that breaks: the branch taken goes to the side without the check
		const last = run.trace!.at(-1)!;
		expect(last.violation).toBe(true);
		expect(last.action).toMatch(/WRITE_ONCE\(vi->pending, 1\)/);
		expect(run.trace!.some((s) => /fast/.test(s.action) && /→/.test(s.action))).toBe(true);
	});

	it('explores past an early exit: the unchecked write after it is refuted', async () => {
		const [run] = await runs(PATHS, P, 'fx_early_exit_then_unchecked');
		expect(run.property).toBe('stale-access');
		expect(run.trace!.at(-1)!.location).toMatchObject({ file: P, line: 66 });
	});

	it('follows a pointer that names another cache half-way (the event channel fast path): safe, each cache by its own name', async () => {
		const [run] = await runs(PATHS, P, 'fx_two_caches_one_pointer');
		expect(run.verdict, run.message).toBe('safe');
		expect(run.liveness).toBe('holds');
		expect(run.initial.caches.map((c) => c.name)).toEqual(['kvm->arch.xen.shinfo_cache', 'vcpu->arch.xen.vcpu_info_cache']);
		await withFunction(PATHS, P, 'fx_two_caches_one_pointer', (def, result) => {
			const x = extractReader(def, P, result.knowledgeFor(P))!;
			// the unlock at `out:` is emitted once per cache the pointer may name there
			const unlocks = x.program.ops.filter((o) => o.op === 'unlock' && o.line === 103).map((o) => ('cache' in o ? o.cache : -1));
			expect(new Set(unlocks)).toEqual(new Set([0, 1]));
		});
	});

	it('reports a path that returns holding the lock (lock balance)', async () => {
		const [run] = await runs(PATHS, P, 'fx_leaks_lock');
		expect(run.property).toBe('lock-balance');
		expect(run.message).toBe('fx_leaks_lock returns holding v->arch.xen.vcpu_info_cache->lock');
		expect(run.trace!.at(-1)!.location.line).toBe(117);
	});

	it('bounds a loop the model cannot decide: the reader terminates and is safe', async () => {
		const [run] = await runs(PATHS, P, 'fx_count_pending');
		expect(run.verdict).toBe('safe');
		expect(run.liveness).toBe('holds');
	});
});

const SCHED = join(TREES, 'sched-out');
const X = 'arch/x86/kvm/xen.c';

describe('calling contexts and lock semantics', () => {
	it('refutes the blocking runstate update in the sched-out context with the three-party cycle, and keeps the process context safe', async () => {
		const all = await runs(SCHED, X, 'fx_runstate_blocking');
		expect(all.map((r) => r.context!.kind)).toEqual(['process', 'sched-out']);
		const [proc, sched] = all;
		expect(proc.verdict).toBe('safe');
		expect(sched.verdict).toBe('violation');
		expect(sched.property).toBe('deadlock');
		expect(sched.context!.values).toEqual({ state: 'RUNSTATE_runnable' });
		const end = sched.trace!.at(-1)!;
		// the sched-out reader holds rq->__lock and waits behind the queued writer; the writer waits for
		// the waker's read hold; the waker holds p->pi_lock and waits for rq->__lock
		expect(end.state.vm.rqLock).toBe('fx_runstate_blocking');
		expect(end.state.vm.piLock).toBe('evtchn');
		expect(end.state.caches[0].lock).toMatchObject({ readers: ['evtchn'], queued: 'invalidate' });
		expect(sched.message).toMatch(/held: rq->__lock by fx_runstate_blocking; p->pi_lock by evtchn; v->arch\.xen\.runstate_cache->lock read by evtchn, invalidate queued as the waiting writer/);
		expect(end.location).toMatchObject({ file: X, line: 14 });
	});

	it('finds the trylock version safe in the same context', async () => {
		const all = await runs(SCHED, X, 'fx_runstate_trylock');
		expect(all.map((r) => [r.context!.kind, r.verdict])).toEqual([['process', 'safe'], ['sched-out', 'safe']]);
		expect(all[1].liveness).toBe('holds');
	});

	it('shows the finding\'s run: the sched-out deadlock for gpc-lock-in-sched-out, else the first violation', async () => {
		const all = await runs(SCHED, X, 'fx_runstate_blocking');
		expect(pickRun(all, { rule: 'gpc-lock-in-sched-out' })).toBe(1);
		expect(pickRun(all, { context: 'process' })).toBe(0);
		expect(pickRun(all, {})).toBe(1);
		expect(pickRun(all, { run: 0 })).toBe(0);
	});

	it('prints the sched-out model as Promela with its waker and the queued writer', async () => {
		const pml = await withFunction(SCHED, X, 'fx_runstate_blocking', (def, result) => emitPromelaModel(functionRuns(def, X, result.knowledgeFor(X), { kinds: ['sched-out'] })!.runs[0].model));
		expect(pml.match(/^proctype t\d_/gm)).toHaveLength(3);
		expect(pml).toContain('g_wq[0]');
		expect(pml).toContain('g_pi');
	});

	it('answers gpcscope/simulate with every run and the one a finding asks for', async () => {
		const result = await analysed(SCHED);
		const text = readFileSync(join(SCHED, X), 'utf8');
		const tree = (await engine()).parser.parse(text)!;
		try {
			const r = simulateAt({ tree, file: X, result, root: SCHED }, 14, { rule: 'gpc-lock-in-sched-out' });
			expect(r.error).toBeUndefined();
			expect(r.runs!.map((x) => `${x.kind}:${x.verdict}`)).toEqual(['process:safe', 'sched-out:violation']);
			expect(r.shown).toBe(1);
			expect((r.result as RunResult).context!.chain!.map((l) => l.fn)).toEqual(['kvm_arch_vcpu_put', 'fx_runstate_blocking']);
		} finally {
			tree.delete();
		}
	});
});

describe('the demo tree', () => {
	it('refutes a read through khva after the unlock, with the reader\'s own lines', async () => {
		const all = await runs(DEMO, 'arch/x86/kvm/demo_bugs.c', 'demo_vcpu_wants_upcall');
		const bad = all.find((r) => r.verdict === 'violation')!;
		expect(bad.property).toBe('stale-access');
		expect(bad.trace!.filter((s) => s.location.file === 'arch/x86/kvm/demo_bugs.c').map((s) => s.location.line)).toContain(51);
	});

	it.each([
		['gpc-use-after-unlock', 'demo_vcpu_wants_upcall', 'process', 'stale-access'],
		['gpc-refresh-in-atomic', 'demo_time_info_stamp', 'process', 'sleep-under-lock'],
		['gpc-lock-in-sched-out', 'demo_pvclock_note_preempted', 'sched-out', 'deadlock'],
	])('Show interleaving on a %s finding opens %s in its %s context, refuted (%s)', async (rule, fn, kind, property) => {
		const file = 'arch/x86/kvm/demo_bugs.c';
		const result = await analysed(DEMO);
		expect(result.findings.some((f) => f.rule === rule && f.file === file), `${rule} is a finding of the demo`).toBe(true);
		const text = readFileSync(join(DEMO, file), 'utf8');
		const row = text.split('\n').findIndex((l) => new RegExp(`^\\S.*\\b${fn}\\(`).test(l));
		const tree = (await engine()).parser.parse(text)!;
		try {
			const r = simulateAt({ tree, file, result, root: DEMO }, row + 3, { rule });
			const run = r.result as RunResult;
			expect(run.context!.kind).toBe(kind);
			expect(run.property).toBe(property);
			expect(r.runs![r.shown!].verdict).toBe('violation');
		} finally {
			tree.delete();
		}
	});

	it.each(['kvm_xen_inject_pending_events', 'kvm_xen_update_runstate_guest'])('finds %s safe in every context', async (fn) => {
		const all = await runs(DEMO, 'arch/x86/kvm/xen.c', fn);
		for (const r of all) expect(r.verdict, `${r.scenario}: ${r.message}`).toBe('safe');
		expect(all[0].states).toBeGreaterThan(10);
	});
});

describe('the tree\'s own pfncache', () => {
	const OLD = join(TREES, 'pfncache-valid-before-map');

	it('recognises the refresh that marks the cache valid before it maps the page, and the other marks of that era', () => {
		const choice = detectPfncache(treeReader(OLD));
		expect(choice.variant).toBe('valid-before-map+no-active-flag+lock-init-on-activate');
		expect(choice.how).toBe('detected');
		expect(choice.why).toMatch(/kvm_gfn_to_pfn_cache_refresh\(\) sets gpc->valid = true before hva_to_pfn\(\)/);
		expect(choice.noPeek).toBe(true);
		// each mark alone
		const only = (pfncache: string) => detectPfncache((f) => (f === 'virt/kvm/pfncache.c' ? pfncache : undefined));
		const refresh612 = 'static int __kvm_gpc_refresh(struct gfn_to_pfn_cache *gpc)\n{\n\tgpc->valid = false;\n\tnew_pfn = hva_to_pfn(&kfp);\n}\n';
		const check612 = 'bool kvm_gpc_check(struct gfn_to_pfn_cache *gpc, unsigned long len)\n{\n\tif (!gpc->active)\n\t\treturn false;\n}\n';
		expect(only(refresh612 + check612).variant).toBe('upstream');
		expect(only(refresh612 + check612.replace('\tif (!gpc->active)\n\t\treturn false;\n', '')).variant).toBe('no-active-flag');
		const refresh518 = 'int kvm_gfn_to_pfn_cache_refresh(struct kvm *kvm, struct gfn_to_pfn_cache *gpc)\n{\n\tgpc->valid = true;\n\tnew_pfn = hva_to_pfn_retry(kvm, uhva);\n}\n';
		expect(only(refresh518 + check612).variant).toBe('no-refresh-mutex');
		expect(detectPfncache(() => undefined)).toMatchObject({ variant: 'upstream', how: 'default' });
	});

	it('refutes a correct reader on that algorithm, with the tree\'s own lines, and not on today\'s', async () => {
		const [run] = await runs(OLD, X, 'fixture_raise_upcall');
		expect(run.pfncache!.variant).toMatch(/^valid-before-map/);
		expect(run.verdict).toBe('violation');
		expect(run.property).toBe('stale-access');
		expect(run.message).toMatch(/page the host has freed/);
		expect(run.trace!.some((s) => /gpc->valid = true/.test(s.action))).toBe(true);
		const [today] = await runs(OLD, X, 'fixture_raise_upcall', 'upstream');
		expect(today.verdict).toBe('safe');
	});

	it('recognises the demo tree as today\'s algorithm', () => {
		expect(detectPfncache(treeReader(DEMO)).variant).toBe('upstream');
	});
});
