// simulate --from on real code: every function of 6.1's and 6.12's
// arch/x86/kvm/xen.c and x86.c that takes a gpc lock, in each of its calling
// contexts, on the tree's own pfncache algorithm. Every run is safe except
// the bugs Debian's 6.1 still carries, each fixed upstream: the sched-out
// runstate deadlock and the two dirty marks after the unlock. The counts
// (functions, contexts, runs, states) are the ones docs/SIMULATOR.md gives.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EngineResult } from '../../server/src/analysis/engine';
import { resolveLines, type ReaderOp, type RunResult } from '../../server/src/simulator';
import { simulateFunction } from '../../server/src/simulator/fromFunction';
import { extractReader } from '../../server/src/simulator/fromSource';
import { detectPfncache, treeReader } from '../../server/src/simulator/shape';
import { engine, indexed, REPO } from '../helpers';
import { kernelTree, type KernelVersion } from './trees';

const FILES = ['arch/x86/kvm/xen.c', 'arch/x86/kvm/x86.c'];

/** "function|context kind|adversaries" → the property and why it is a real bug. */
const EXPECTED: Record<KernelVersion, Record<string, { property: string; why: string }>> = {
	'6.1': {
		'kvm_xen_update_runstate_guest|sched-out|invalidation': {
			property: 'deadlock',
			why: 'read_lock_irqsave() from kvm_sched_out() with rq->__lock held; fixed in 6.2 by bbe17c625d68 "KVM: x86/xen: Fix potential deadlock in kvm_xen_update_runstate_guest()"',
		},
		'kvm_xen_update_runstate_guest|process|memslot': {
			property: 'stale-access',
			why: 'gpc->memslot and gpc->gpa read after the unlock for mark_page_dirty_in_slot(); fixed in 6.9 by 4438355ec6e1 "KVM: x86/xen: mark guest pages dirty with the pfncache lock held"',
		},
		'kvm_xen_inject_pending_events|process|memslot': { property: 'stale-access', why: 'the same, fixed by the same 4438355ec6e1' },
	},
	'6.12': {},
};

interface TreeRuns {
	/** each function's thread in process context */
	programs: Map<string, ReaderOp[]>;
	functions: string[];
	contexts: number;
	runs: (RunResult & { fn: string; file: string })[];
	ms: number;
}

const measured = new Map<KernelVersion, TreeRuns>();

async function simulateTree(version: KernelVersion): Promise<TreeRuns> {
	const root = kernelTree(version);
	const e = await engine();
	const result: EngineResult = e.analyze((await indexed(root)).sources);
	const read = treeReader(root);
	const pfncache = detectPfncache(read);
	const t0 = performance.now();
	const out: TreeRuns = { programs: new Map(), functions: [], contexts: 0, runs: [], ms: 0 };
	for (const file of FILES) {
		const users = new Set(result.facts.find((f) => f.file === file)!.functions.filter((f) => f.usesGpc).map((f) => f.name));
		const tree = e.parser.parse(readFileSync(join(root, file), 'utf8'))!;
		try {
			for (const fn of tree.rootNode.descendantsOfType('function_definition')) {
				const name = fn && /\b(\w+)\s*\(/.exec(fn.childForFieldName('declarator')?.text ?? '')?.[1];
				if (!fn || !name || !users.has(name)) continue;
				const knowledge = result.knowledgeFor(file);
				// functions that take a gpc lock themselves
				const x = extractReader(fn, file, knowledge);
				if (!x?.program.ops.some((o) => o.op === 'lock' || o.op === 'trylock')) continue;
				const sim = simulateFunction(fn, file, knowledge, { pfncache })!;
				out.programs.set(name, x.program.ops);
				out.functions.push(`${file}:${name}`);
				out.contexts += new Set(sim.runs.map((r) => r.context!.kind)).size;
				for (const r of sim.runs) out.runs.push({ ...resolveLines(r, read, pfncache.trees), fn: name, file });
			}
		} finally {
			tree.delete();
		}
	}
	out.ms = Math.round(performance.now() - t0);
	return out;
}

const key = (r: RunResult & { fn: string }) => `${r.fn}|${r.context!.kind}|${/memslot/.test(r.scenario) ? 'memslot' : 'invalidation'}`;

describe.each(['6.1', '6.12'] as const)('simulate --from on linux-%s', (version) => {
	beforeAll(async () => {
		measured.set(version, await simulateTree(version));
	}, 600_000);

	it('finds the functions of xen.c and x86.c that take a gpc lock, on the tree\'s own pfncache', () => {
		const m = measured.get(version)!;
		const names = m.functions.map((f) => f.split(':')[1]).sort();
		expect(names).toEqual(['__kvm_xen_has_interrupt', 'kvm_setup_guest_pvclock', 'kvm_xen_inject_pending_events', 'kvm_xen_set_evtchn_fast', 'kvm_xen_shared_info_init', 'kvm_xen_update_runstate_guest', 'wait_pending_event']);
		const pf = m.runs[0].pfncache!;
		expect(pf.variant).toBe('upstream');
		expect(pf.why).toContain(version === '6.1' ? 'kvm_gfn_to_pfn_cache_refresh()' : '__kvm_gpc_refresh()');
	});

	it('runs each in each of its calling contexts: the sched-out notifier\'s runstate update, the hard-IRQ event channel', () => {
		const runs = measured.get(version)!.runs;
		const contexts = (fn: string) => [...new Set(runs.filter((r) => r.fn === fn).map((r) => r.context!.kind))];
		expect(contexts('kvm_xen_update_runstate_guest')).toEqual(['process', 'atomic', 'sched-out']);
		expect(contexts('kvm_xen_set_evtchn_fast')).toEqual(version === '6.12' ? ['process', 'hardirq'] : ['process']);
		const sched = runs.find((r) => r.fn === 'kvm_xen_update_runstate_guest' && r.context!.kind === 'sched-out')!;
		expect(sched.context!.chain!.map((l) => l.fn)).toEqual(
			version === '6.1'
				? ['kvm_sched_out', 'kvm_arch_vcpu_put', 'kvm_xen_runstate_set_preempted', 'kvm_xen_update_runstate_guest']
				: ['kvm_sched_out', 'kvm_arch_vcpu_put', 'kvm_xen_runstate_set_preempted', 'kvm_xen_update_runstate', 'kvm_xen_update_runstate_guest'],
		);
		expect(sched.context!.values).toEqual(version === '6.1' ? { state: 'RUNSTATE_runnable' } : { atomic: 'true' });
	});

	it('follows the paths the C has, and only those', () => {
		const ops = (fn: string) => measured.get(version)!.programs.get(fn)!;
		// kvm_xen_shared_info_init(): 6.1 deactivates when the gfn is invalid, else activates in a loop; both write the wall clock
		const init = ops('kvm_xen_shared_info_init').map((o) => o.op);
		for (const op of ['lock', 'check', 'use', 'unlock', ...(version === '6.1' ? ['deactivate', 'activate'] : ['refresh'])]) expect(init, op).toContain(op);
		if (version === '6.12') {
			// kvm_xen_update_runstate_guest(): a trylock is taken only when atomic, and then a failed check returns: no refresh after it
			const prog = ops('kvm_xen_update_runstate_guest');
			const at = new Map(prog.flatMap((o, i) => (o.op === 'label' ? [[o.name, i] as const] : [])));
			const next = (i: number): number[] => {
				const o = prog[i];
				const to = (l: string) => at.get(l)!;
				if (o.op === 'goto') return [to(o.target)];
				if (o.op === 'return') return [];
				if (o.op === 'choose') return o.ways.map((w) => to(w.target));
				const out = i + 1 < prog.length ? [i + 1] : [];
				return 'else' in o && o.else ? [...out, to(o.else)] : out;
			};
			const starts = prog.flatMap((o, i) => (o.op === 'trylock' ? [i] : []));
			expect(starts.length).toBeGreaterThan(0);
			const seen = new Set<number>();
			const work = [...starts];
			while (work.length) {
				const i = work.pop()!;
				if (seen.has(i)) continue;
				seen.add(i);
				work.push(...next(i));
			}
			expect([...seen].filter((i) => prog[i].op === 'refresh' || prog[i].op === 'activate')).toEqual([]);
		}
		// kvm_xen_set_evtchn_fast(): the unlock at out_rcu is each cache's on the path that reaches it
		const fast = ops('kvm_xen_set_evtchn_fast');
		const outRcu = fast.filter((o) => o.op === 'unlock' && /out_rcu|read_unlock_irqrestore/.test(o.text ?? '')).map((o) => ('cache' in o ? o.cache : -1));
		expect(new Set(outRcu)).toEqual(new Set([0, 1]));
	});

	it(`is safe everywhere but ${version === '6.1' ? 'the three bugs 6.1 still carries' : 'nowhere'}`, () => {
		const runs = measured.get(version)!.runs;
		const bad = Object.fromEntries(runs.filter((r) => r.verdict === 'violation').map((r) => [key(r), r.property]));
		expect(bad).toEqual(Object.fromEntries(Object.entries(EXPECTED[version]).map(([k, v]) => [k, v.property])));
		// Liveness: every run that is safe terminates too.
		for (const r of runs.filter((x) => x.verdict === 'safe')) expect(r.liveness, key(r)).toBe('holds');
	});

	it('gives the counts docs/SIMULATOR.md gives', () => {
		const m = measured.get(version)!;
		const states = m.runs.reduce((n, r) => n + r.states, 0);
		const row = `| ${version} | ${m.functions.length} | ${m.contexts} | ${m.runs.length} | ${states} |`;
		console.log(`simulate --from on linux-${version}: ${row} (${m.ms} ms)`);
		expect(readFileSync(join(REPO, 'docs', 'SIMULATOR.md'), 'utf8')).toContain(row);
	});
});

describe('the 6.1 sched-out deadlock as the CLI prints it', () => {
	it('names every step with its file:line: the scheduler, the runstate update, the invalidation, the waker', () => {
		const tree = kernelTree('6.1');
		const r = spawnSync(process.execPath, [join(REPO, 'dist', 'cli.js'), 'simulate', '--from', join(tree, 'arch/x86/kvm/xen.c:220'), '--context', 'sched-out'], { encoding: 'utf8' });
		expect(r.status).toBe(1);
		const out = r.stdout.split('\nlasso')[0];
		expect(out).toMatch(/^kvm_xen_update_runstate_guest\(\) in sched-out context \(rq lock held\) × upstream: VIOLATION: deadlock/);
		const steps = out.split('\n').filter((l) => /^\s+at /.test(l));
		expect(steps.length).toBeGreaterThanOrEqual(7);
		for (const s of steps) expect(s, s).toMatch(/^\s+at [\w/.-]+\.[ch]:\d+ \w+\(\)/);
		for (const where of ['kernel/sched/core.c:', 'arch/x86/kvm/xen.c:220 kvm_xen_update_runstate_guest()', 'virt/kvm/pfncache.c:', 'kvm_xen_set_evtchn_fast()']) expect(out).toContain(where);
		expect(out).toMatch(/held: rq->__lock by kvm_xen_update_runstate_guest; p->pi_lock by evtchn; v->arch\.xen\.runstate_cache->lock read by evtchn, invalidate queued as the waiting writer/);
	}, 120_000);
});
