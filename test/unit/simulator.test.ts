// The gpc simulator: upstream is safe everywhere, every historical variant is
// refuted with a shortest counterexample, and the explorer's answers do not
// depend on incidental choices (thread order, repeated runs).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatTrace, listScenarios, listVariants, resolveLines, runMatrix, runScenario, emitPromela, LIVENESS_BOUND } from '../../server/src/simulator';
import { assemble, buildModel } from '../../server/src/simulator/build';
import { explore } from '../../server/src/simulator/explorer';
import { findFunction, locateHint } from '../../server/src/simulator/locations';
import { SCENARIOS, findScenario } from '../../server/src/simulator/scenarios';
import { findVariant, variantFlags } from '../../server/src/simulator/variants';

const SCENARIO_IDS = [
	'reader-vs-invalidation',
	'reader-vs-memslot',
	'two-refreshers',
	'refresh-vs-deactivate',
	'atomic-runstate-vs-invalidation',
	'two-cache-runstate',
	'guest-usage-vs-invalidation',
	'reader-vs-two-invalidations',
];

/** The cell that reproduces each historical bug, and what it breaks. */
const WITNESS: Record<string, { scenario: string; property: string; message: RegExp }> = {
	'valid-before-map': { scenario: 'reader-vs-invalidation', property: 'stale-access', message: /stale page/ },
	'no-refresh-mutex': { scenario: 'two-refreshers', property: 'stale-access', message: /double unmap/ },
	'no-active-flag': { scenario: 'refresh-vs-deactivate', property: 'use-after-deactivate', message: /after kvm_gpc_deactivate/ },
	'lock-init-on-activate': { scenario: 'refresh-vs-deactivate', property: 'deadlock', message: /write_lock_irq/ },
	'runstate-blocking-lock': { scenario: 'atomic-runstate-vs-invalidation', property: 'deadlock', message: /rq->__lock/ },
	'guest-usage-no-request': { scenario: 'guest-usage-vs-invalidation', property: 'stale-access', message: /guest access/ },
	'reader-no-recheck': { scenario: 'reader-vs-two-invalidations', property: 'stale-access', message: /stale page/ },
};

describe('catalogue', () => {
	it('has the eight scenarios and the upstream + seven historical variants, documented', () => {
		expect(listScenarios().map((s) => s.id)).toEqual(SCENARIO_IDS);
		expect(listVariants().map((v) => v.id)).toEqual(['upstream', ...Object.keys(WITNESS)]);
		for (const v of listVariants().filter((x) => x.id !== 'upstream')) {
			expect(v.fix, v.id).not.toBe('');
			expect(v.release, v.id).not.toBe('');
			expect(v.hazard.length, v.id).toBeGreaterThan(30);
		}
		expect(listVariants().find((v) => v.id === 'no-active-flag')!.release).toMatch(/CVE-2022-49882/);
		for (const s of listScenarios()) expect(s.threads.length, s.id).toBeGreaterThanOrEqual(2);
	});
});

describe('upstream', () => {
	it.each(SCENARIO_IDS)('is safe in %s', (id) => {
		const r = runScenario(id, 'upstream', { coverage: true });
		expect(r.verdict, r.message).toBe('safe');
		expect(r.trace).toBeUndefined();
		expect(r.states).toBeGreaterThan(50);
		// Not vacuous: every access of every thread happens in some interleaving.
		expect(r.unreached!.filter((s) => /WRITE_ONCE|memcpy|rs_state|guest accesses/.test(s))).toEqual([]);
	});

	it('exercises the retry paths of hva_to_pfn_retry() somewhere', () => {
		const reached = (id: string, action: RegExp) => !runScenario(id, 'upstream', { coverage: true }).unreached!.some((s) => action.test(s));
		expect(reached('reader-vs-two-invalidations', /gpc_unmap\(new_pfn, new_khva\)/)).toBe(true);
		expect(reached('two-refreshers', /gpc_unmap\(new_pfn, new_khva\)/)).toBe(true);
		expect(reached('guest-usage-vs-invalidation', /KVM_REQUEST_WAIT/)).toBe(true);
		expect(reached('reader-vs-memslot', /synchronize_srcu/)).toBe(true);
	});
});

describe('historical variants', () => {
	it.each(Object.entries(WITNESS))('%s is refuted with a shortest counterexample in under 5 s', (variant, w) => {
		const t0 = performance.now();
		const r = runScenario(w.scenario, variant);
		expect(performance.now() - t0).toBeLessThan(5000);
		expect(r.verdict).toBe('violation');
		expect(r.property).toBe(w.property);
		expect(r.message).toMatch(w.message);
		const trace = r.trace!;
		expect(trace.length).toBeGreaterThan(3);
		expect(trace.at(-1)!.violation).toBe(true);
		expect(trace.filter((s) => s.violation)).toHaveLength(1);
		for (const s of trace) {
			expect(r.threads).toContain(s.thread);
			expect(s.location.file).toMatch(/\.c$/);
			expect(s.location.function).toMatch(/^\w+$/);
			expect(s.location.hint.length).toBeGreaterThan(3);
		}
		// A plain JSON snapshot after every step.
		expect(JSON.parse(JSON.stringify(trace))).toEqual(trace);
	});

	it('every variant other than upstream is refuted somewhere, upstream nowhere', () => {
		const { cells } = runMatrix();
		expect(cells).toHaveLength(SCENARIO_IDS.length * listVariants().length);
		for (const c of cells) expect(Object.keys(c)).toEqual(['scenario', 'variant', 'verdict', 'property', 'states', 'ms']);
		for (const v of listVariants()) {
			const mine = cells.filter((c) => c.variant === v.id);
			if (v.id === 'upstream') expect(mine.every((c) => c.verdict === 'safe')).toBe(true);
			else expect(mine.some((c) => c.verdict === 'violation'), v.id).toBe(true);
		}
	});

	it('the 5.18 refresh loses the race the fix describes: refresh between the gpc invalidation and in_progress++', () => {
		const trace = runScenario('reader-vs-invalidation', 'valid-before-map').trace!;
		const at = (re: RegExp) => trace.findIndex((s) => re.test(s.action));
		expect(at(/valid = false/)).toBeLessThan(at(/placeholders/));
		expect(at(/mmu_notifier_retry_hva/)).toBeLessThan(at(/in_progress\+\+/));
		expect(at(/try_to_migrate_one/)).toBeLessThan(trace.length - 1);
		expect(trace.at(-1)!.state.caches[0].valid).toBe(true);
	});
});

describe('explorer', () => {
	it('is deterministic', () => {
		const a = runScenario('two-cache-runstate', 'reader-no-recheck');
		const b = runScenario('two-cache-runstate', 'reader-no-recheck');
		expect({ ...a, ms: 0 }).toEqual({ ...b, ms: 0 });
	});

	it('finds counterexamples whose length does not depend on the order of the threads (BFS is shortest)', () => {
		const cells = [...Object.entries(WITNESS).map(([variant, w]) => ({ variant, scenario: w.scenario })), ...SCENARIO_IDS.map((scenario) => ({ variant: 'upstream', scenario }))];
		fc.assert(
			fc.property(fc.constantFrom(...cells), fc.integer({ min: 0, max: 1000 }), ({ variant, scenario }, seed) => {
				const s = findScenario(scenario)!;
				const v = findVariant(variant)!;
				const flags = variantFlags(v);
				const specs = s.build(flags);
				const order = specs.map((_, i) => i).sort((x, y) => ((x * 7919 + seed) % 13) - ((y * 7919 + seed) % 13) || x - y);
				const base = explore(buildModel(s, v));
				const perm = explore(assemble(s.world, order.map((i) => specs[i]), flags, { scenario, variant }));
				expect(perm.verdict).toBe(base.verdict);
				expect(perm.property).toBe(base.property);
				// A safe run visits the same state space; a violating one stops at the same depth.
				if (base.verdict === 'safe') expect(perm.states).toBe(base.states);
				else expect(perm.trace!.length).toBe(base.trace!.length);
			}),
			{ numRuns: 40 },
		);
	});

	it('checks "refresh terminates" as a bound on retries after the last invalidation', () => {
		expect(LIVENESS_BOUND).toBeGreaterThanOrEqual(2);
		// The bound is tight enough to bite: one fewer retry than upstream needs is reported.
		const tight = explore(buildModel(findScenario('two-cache-runstate')!, findVariant('upstream')!, 1));
		expect(tight.verdict).toBe('violation');
		expect(tight.property).toBe('refresh-terminates');
		for (const s of SCENARIOS) expect(explore(buildModel(s, findVariant('upstream')!, 2)).verdict, s.id).toBe('safe');
	});
});

describe('output', () => {
	it('formats a trace as text with thread, action and kernel location per step', () => {
		const r = runScenario('atomic-runstate-vs-invalidation', 'runstate-blocking-lock');
		const text = formatTrace(r);
		expect(text).toMatch(/^atomic-runstate-vs-invalidation × runstate-blocking-lock: VIOLATION: deadlock/);
		expect(text).toContain('sched-out');
		expect(text).toContain('virt/kvm/pfncache.c gfn_to_pfn_cache_invalidate_start()');
		expect(text).toMatch(/!!\s+\d+\. sched-out\s+blocked:/);
		expect(formatTrace(runScenario('reader-vs-memslot', 'upstream'))).toMatch(/SAFE \(\d+ states/);
	});

	it('emits one Promela proctype per thread, with the properties as asserts', () => {
		const pml = emitPromela('two-cache-runstate', 'upstream');
		expect(pml.match(/^proctype t\d_/gm)).toHaveLength(3);
		expect(pml).toContain('proctype end_check()');
		expect(pml).toMatch(/assert\(.*\); \/\* stale-access/);
		expect(pml).toMatch(/assert\(.*\); \/\* refresh-terminates/);
		expect(pml).toContain('d_step {');
		expect(emitPromela('two-cache-runstate', 'upstream')).toBe(pml);
	});

	it('resolves step hints to lines of a tree', () => {
		const src = ['static int foo(int x);', '', 'static int foo(int x)', '{', '\tread_lock(&gpc->lock);', '\tif (x)', '\t\tread_lock(&gpc->lock);', '\treturn 0;', '}', ''].join('\n');
		expect(findFunction(src, 'foo')).toEqual({ start: 3, end: 9 });
		expect(locateHint(src, 'foo', 'read_lock(&gpc->lock);')).toBe(5);
		expect(locateHint(src, 'foo', 'read_lock(&gpc->lock);', 2)).toBe(7);
		expect(locateHint(src, 'bar', 'x')).toBeUndefined();
		const r = runScenario('reader-vs-invalidation', 'valid-before-map');
		const withLines = resolveLines(r, (f) => (f === 'virt/kvm/pfncache.c' ? 'void gfn_to_pfn_cache_invalidate_start(struct kvm *kvm)\n{\n\tspin_lock(&kvm->gpc_lock);\n}\n' : undefined));
		const spin = withLines.trace!.find((s) => s.action === 'spin_lock(&kvm->gpc_lock)')!;
		expect(spin.location.line).toBe(3);
		// Historical steps keep no line: their code is not in today's tree.
		expect(withLines.trace!.filter((s) => s.location.tree).every((s) => s.location.line === undefined)).toBe(true);
	});
});
