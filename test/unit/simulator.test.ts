// The gpc simulator: upstream is safe everywhere but in the HVA finding, every
// historical variant is refuted with a shortest counterexample that ends in
// the real bug, liveness is checked under weak fairness and reported as a
// lasso, every non-equivalent mutant of the 6.12 model is killed, and the
// explorer's answers do not depend on incidental choices.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatTrace, listScenarios, listVariants, mutationScore, replaySchedule, resolveLines, runMatrix, runMutants, runScenario, emitPromela } from '../../server/src/simulator';
import { assemble, buildModel } from '../../server/src/simulator/build';
import { explore } from '../../server/src/simulator/explorer';
import { checkLiveness } from '../../server/src/simulator/liveness';
import { findFunction, locateHint } from '../../server/src/simulator/locations';
import { MUTANTS } from '../../server/src/simulator/mutants';
import { findScenario } from '../../server/src/simulator/scenarios';
import { findVariant, variantFlags } from '../../server/src/simulator/variants';
import type { MatrixCell } from '../../server/src/simulator';

const SCENARIO_IDS = [
	'reader-vs-invalidation',
	'reader-vs-memslot',
	'two-refreshers',
	'refresh-vs-deactivate',
	'atomic-runstate-vs-invalidation',
	'two-cache-runstate',
	'guest-usage-vs-invalidation',
	'reader-vs-two-invalidations',
	'reader-vs-zap',
	'reader-and-refresher-vs-memslot',
	'two-refreshers-vs-memslot',
	'deactivate-vs-invalidation',
	'refresh-after-deactivate',
	'activate-vs-invalidation',
	'refresh-vs-invalidation-storm',
	'hva-refresh-vs-zap',
	'hva-in-memslot-refresh-vs-zap',
	'hva-refresh-vs-migration',
];

/** Upstream 6.12 is refuted here: an HVA cache outside every memslot (docs/findings/hva-cache-refresh.md). */
const UPSTREAM_FINDING = ['hva-refresh-vs-zap', 'hva-refresh-vs-migration'];

/** The cell that reproduces each variant's bug, and what it breaks: the real consequence, not a proxy. */
const WITNESS: Record<string, { scenario: string; property: string; message: RegExp }> = {
	'valid-before-map': { scenario: 'reader-vs-invalidation', property: 'stale-access', message: /page the host has freed/ },
	'no-refresh-mutex': { scenario: 'two-refreshers-vs-memslot', property: 'stale-access', message: /NULL khva/ },
	'no-active-flag': { scenario: 'refresh-after-deactivate', property: 'stale-access', message: /page the host has freed/ },
	'lock-init-on-activate': { scenario: 'refresh-vs-deactivate', property: 'deadlock', message: /write_lock_irq/ },
	'runstate-blocking-lock': { scenario: 'atomic-runstate-vs-invalidation', property: 'deadlock', message: /rq->__lock/ },
	'guest-usage-no-request': { scenario: 'guest-usage-vs-invalidation', property: 'stale-access', message: /guest access to a page the host has freed/ },
	'guest-usage-no-recheck': { scenario: 'guest-usage-vs-invalidation', property: 'stale-access', message: /guest access to a page the host has freed/ },
	'guest-usage-check-before-mode': { scenario: 'guest-usage-vs-invalidation', property: 'stale-access', message: /guest access to a page the host has freed/ },
	'guest-usage-request-before-mode': { scenario: 'guest-usage-vs-invalidation', property: 'stale-access', message: /guest access to a page the host has freed/ },
	'reader-no-recheck': { scenario: 'reader-vs-two-invalidations', property: 'stale-access', message: /stale page|freed/ },
};
const SAFE_VARIANTS = ['upstream', 'guest-usage-protocol', 'hva-fix'];

let matrix: MatrixCell[] | undefined;
const cells = () => (matrix ??= runMatrix().cells);
const at = (scenario: string, variant: string) => cells().find((c) => c.scenario === scenario && c.variant === variant)!;

describe('catalogue', () => {
	it('has the scenarios and the variants, documented', () => {
		expect(listScenarios().map((s) => s.id)).toEqual(SCENARIO_IDS);
		expect(listVariants().map((v) => v.id).sort()).toEqual([...SAFE_VARIANTS, ...Object.keys(WITNESS)].sort());
		for (const v of listVariants().filter((x) => x.id !== 'upstream')) {
			expect(v.fix, v.id).not.toBe('');
			expect(v.release, v.id).not.toBe('');
			expect(v.hazard.length, v.id).toBeGreaterThan(30);
			expect(v.expect, v.id).toBe(SAFE_VARIANTS.includes(v.id) ? 'safe' : 'refuted');
		}
		expect(listVariants().find((v) => v.id === 'no-active-flag')!.release).toMatch(/CVE-2022-49882/);
		for (const s of listScenarios()) expect(s.threads.length, s.id).toBeGreaterThanOrEqual(2);
		expect(SCENARIO_IDS.filter((s) => s.includes('hva'))).toHaveLength(3);
	});
});

describe('upstream', () => {
	it.each(SCENARIO_IDS.filter((s) => !UPSTREAM_FINDING.includes(s)))('is safe in %s', (id) => {
		const r = runScenario(id, 'upstream', { coverage: true });
		expect(r.verdict, r.message).toBe('safe');
		expect(r.trace).toBeUndefined();
		expect(r.states).toBeGreaterThan(20);
		// Not vacuous: every access of every thread happens in some interleaving (a deactivated cache is never used).
		if (id !== 'refresh-after-deactivate') expect(r.unreached!.filter((s) => /WRITE_ONCE|memcpy|rs_state|guest accesses|wc_version/.test(s))).toEqual([]);
	});

	it('exercises the retry paths of hva_to_pfn_retry() and the page reference somewhere', () => {
		const reached = (id: string, action: RegExp) => !runScenario(id, 'upstream', { coverage: true }).unreached!.some((s) => action.test(s));
		expect(reached('reader-vs-two-invalidations', /gpc_unmap\(new_pfn, new_khva\)/)).toBe(true);
		expect(reached('two-refreshers', /gpc_unmap\(new_pfn, new_khva\)/)).toBe(true);
		expect(reached('guest-usage-vs-invalidation', /KVM_REQUEST_WAIT/)).toBe(true);
		expect(reached('reader-vs-memslot', /synchronize_srcu/)).toBe(true);
		expect(reached('refresh-after-deactivate', /out_unlock|write_lock_irq\(&gpc->lock\); active\?/)).toBe(true);
	});

	it('keeps an HVA cache outside every memslot safe against nothing but the same race the seq compare closes for memslots', () => {
		// In a memslot the zap runs kvm_mmu_invalidate_end(): mmu_invalidate_seq moves and the refresh retries.
		expect(runScenario('hva-in-memslot-refresh-vs-zap').verdict).toBe('safe');
		for (const id of UPSTREAM_FINDING) {
			const r = runScenario(id);
			expect(r.verdict, id).toBe('violation');
			expect(r.property).toBe('stale-access');
			const trace = r.trace!;
			const i = (re: RegExp) => trace.findIndex((s) => re.test(s.action));
			// The refresh resolved the pfn before the invalidation started, the invalidation ended before the
			// re-check, and no sequence moved: the re-check passes and publishes the page being unmapped.
			expect(i(/hva_to_pfn\(gpc->uhva\)/)).toBeLessThan(i(/mn_active_invalidate_count\+\+/));
			expect(i(/--kvm->mn_active_invalidate_count/)).toBeLessThan(i(/mmu_notifier_retry_cache/));
			expect(trace.every((s) => s.state.vm.mmuInvalidateSeq === 0)).toBe(true);
			expect(trace.at(-1)!.state.caches[0].valid).toBe(true);
		}
		// The proposed fix closes both.
		for (const id of UPSTREAM_FINDING) expect(runScenario(id, 'hva-fix').verdict, id).toBe('safe');
	});
});

describe('historical variants and reference designs', () => {
	it.each(Object.entries(WITNESS))('%s is refuted with a shortest counterexample in under 5 s', (variant, w) => {
		const t0 = performance.now();
		const r = runScenario(w.scenario, variant);
		expect(performance.now() - t0).toBeLessThan(5000);
		expect(r.verdict).toBe('violation');
		expect(r.property).toBe(w.property);
		expect(r.message).toMatch(w.message);
		expect(r.explanation).toBe(findVariant(variant)!.hazard);
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
		expect(JSON.parse(JSON.stringify(trace))).toEqual(trace);
	});

	it('every variant expected to fail is refuted somewhere; the safe ones nowhere (upstream but for its finding)', () => {
		expect(cells()).toHaveLength(SCENARIO_IDS.length * listVariants().length);
		for (const c of cells()) expect(Object.keys(c)).toEqual(['scenario', 'variant', 'verdict', 'property', 'states', 'ms', 'liveness']);
		for (const v of listVariants()) {
			const bad = cells().filter((c) => c.variant === v.id && c.verdict === 'violation').map((c) => c.scenario);
			if (v.id === 'upstream') expect(bad).toEqual(UPSTREAM_FINDING);
			// a reference design runs upstream's code wherever it does not differ: it may share upstream's finding
			else if (v.expect === 'safe') expect(bad.filter((s) => !UPSTREAM_FINDING.includes(s)), v.id).toEqual([]);
			else expect(bad.length, v.id).toBeGreaterThan(0);
		}
	});

	it('the 5.18 refresh loses the race the fix describes: refresh between the gpc invalidation and in_progress++', () => {
		const trace = runScenario('reader-vs-invalidation', 'valid-before-map').trace!;
		const i = (re: RegExp) => trace.findIndex((s) => re.test(s.action));
		expect(i(/->valid = false/)).toBeLessThan(i(/placeholders/));
		expect(i(/mmu_notifier_retry_hva/)).toBeLessThan(i(/in_progress\+\+/));
		expect(i(/migrate_folio_move/)).toBe(trace.length - 2);
		expect(trace.at(-1)!.state.caches[0].valid).toBe(true);
	});

	it('no-refresh-mutex shows 93984f19e7bc: the second refresher finds a fresh generation and valid, skips hva→pfn and returns', () => {
		const r = runScenario('two-refreshers-vs-memslot', 'no-refresh-mutex');
		const trace = r.trace!;
		const [first, second] = [trace[0].thread, trace.find((s) => s.thread !== trace[0].thread)!.thread];
		// the first refresher stored the new uhva and generation and dropped the lock with placeholders
		expect(trace[0].action).toMatch(/placeholders/);
		expect(trace[0].state.caches[0]).toMatchObject({ valid: true, uhva: 'B', generation: 2, khva: null });
		// the second never resolves a pfn: its refresh returns at once, and it writes through the placeholder
		expect(trace.some((s) => s.thread === second && /hva_to_pfn/.test(s.action))).toBe(false);
		expect(trace.filter((s) => s.thread === first && /hva_to_pfn/.test(s.action))).toHaveLength(0);
		expect(trace.at(-1)!.thread).toBe(second);
		// With the mutex (the 5.18 refresh otherwise unchanged) the same workload is safe.
		expect(runScenario('two-refreshers-vs-memslot', 'valid-before-map').verdict).toBe('safe');
	});

	it('takes the refresh\'s error path where the 6.0 activation resets uhva under a running refresh (hva_to_pfn(KVM_HVA_ERR_BAD))', () => {
		const r = runScenario('activate-vs-invalidation', 'no-active-flag', { coverage: true, liveness: false });
		expect(r.unreached!.some((s) => /^reader: out_error/.test(s))).toBe(false);
		expect(runScenario('activate-vs-invalidation', 'upstream', { coverage: true, liveness: false }).unreached!.some((s) => /out_error/.test(s))).toBe(true);
	});

	it('no-active-flag (CVE-2022-49882) revives a deactivated cache off the list: the invalidation misses it, the page is freed and used', () => {
		const trace = runScenario('refresh-after-deactivate', 'no-active-flag').trace!;
		const publish = trace.findIndex((s) => /publish/.test(s.action));
		expect(trace[publish].state.caches[0]).toMatchObject({ active: false, valid: true, onList: false });
		const walk = trace.findIndex((s) => /list_for_each_entry/.test(s.action));
		expect(walk).toBeGreaterThan(publish);
		// missed: nothing clears valid, the page goes away, the reader writes to it
		expect(trace.some((s) => s.thread === 'invalidate' && /->valid = false/.test(s.action))).toBe(false);
		expect(trace.at(-2)!.action).toMatch(/migrate_folio_move/);
		expect(trace.at(-1)!.state.caches[0].valid).toBe(true);
	});

	it('the guest-usage protocol is safe and each missing part is refuted by its own interleaving', () => {
		expect(runScenario('guest-usage-vs-invalidation', 'guest-usage-protocol').verdict).toBe('safe');
		const steps = (v: string) => runScenario('guest-usage-vs-invalidation', v).trace!.map((s) => `${s.thread}: ${s.action}`);
		const request = /kvm_make_vcpus_request_mask/;
		const mode = /IN_GUEST_MODE\);$/;
		const exit = /kvm_vcpu_exit_request/;
		// no request: the invalidation never asks the vCPU to leave
		expect(steps('guest-usage-no-request').some((s) => request.test(s))).toBe(false);
		// no re-check: the entry is aborted by the request, then re-entered without kvm_gpc_check()
		const noRecheck = steps('guest-usage-no-recheck');
		const abort = noRecheck.findIndex((s) => exit.test(s));
		expect(noRecheck.slice(abort).some((s) => /kvm_gpc_check/.test(s))).toBe(false);
		expect(noRecheck.slice(abort + 1).some((s) => mode.test(s))).toBe(true);
		// check before the mode store / request before the mode store: the request lands in between
		for (const v of ['guest-usage-check-before-mode', 'guest-usage-request-before-mode']) {
			const t = steps(v);
			expect(t.findIndex((s) => request.test(s)), v).toBeLessThan(t.findIndex((s) => mode.test(s)));
			expect(t.findIndex((s) => /kvm_gpc_check/.test(s)), v).toBeLessThan(t.findIndex((s) => request.test(s)));
		}
	});
});

describe('liveness', () => {
	it('holds wherever the invalidations stop, and upstream livelocks under a storm of unrelated invalidations', () => {
		for (const c of cells().filter((x) => x.variant === 'upstream')) expect(c.liveness, c.scenario).toBe(c.scenario === 'refresh-vs-invalidation-storm' ? 'violated' : 'holds');
		for (const c of cells().filter((x) => x.scenario === 'refresh-vs-invalidation-storm')) expect(c.liveness, c.variant).toBe('violated');
		// A deadlock is a liveness violation too (nothing can move: the last state repeats).
		expect(at('refresh-vs-deactivate', 'lock-init-on-activate').liveness).toBe('violated');
	});

	it('reports the livelock as a lasso: a fair cycle in which hva_to_pfn_retry() retries every time', () => {
		const r = runScenario('refresh-vs-invalidation-storm');
		expect(r.verdict).toBe('safe');
		expect(r.liveness).toBe('violated');
		const { stem, cycle, threads, message } = r.lasso!;
		expect(threads).toEqual(['vcpu']);
		expect(message).toMatch(/retries hva_to_pfn_retry\(\) forever/);
		expect(stem.length).toBeGreaterThan(0);
		// the cycle ends where it starts, both threads move in it, and the re-check fails in it
		const same = (st: typeof cycle[number]['state']) => JSON.stringify({ ...st, vm: { ...st.vm, mmuInvalidateSeq: 0 } });
		expect(same(cycle.at(-1)!.state)).toBe(same(stem.at(-1)!.state));
		// mmu_invalidate_seq keeps counting round the cycle
		expect(cycle.at(-1)!.state.vm.mmuInvalidateSeq).toBeGreaterThan(stem.at(-1)!.state.vm.mmuInvalidateSeq);
		expect(new Set(cycle.map((s) => s.thread))).toEqual(new Set(['vcpu', 'mm']));
		expect(cycle.some((s) => /mmu_notifier_retry_cache/.test(s.action))).toBe(true);
		expect(cycle.every((s) => !s.state.threads.vcpu.done)).toBe(true);
		expect(formatTrace(r)).toMatch(/↻ cycle/);
	});

	it('is not fooled by a lock a writer holds for a moment: a bounded invalidation always lets the refresh finish', () => {
		for (const id of ['reader-vs-invalidation', 'two-refreshers', 'two-cache-runstate', 'reader-vs-two-invalidations']) expect(at(id, 'upstream').liveness, id).toBe('holds');
	});

	it('checks liveness apart from safety: a model whose assertions fail still runs on', () => {
		const s = findScenario('reader-vs-invalidation')!;
		expect(checkLiveness(buildModel(s, findVariant('valid-before-map')!)).liveness).toBe('holds');
	});
});

describe('mutation testing of the 6.12 model', () => {
	const mutants = runMutants();

	it('kills every non-equivalent mutant, and no scenario tells an equivalent one apart', () => {
		expect(mutants.map((m) => m.id)).toEqual(MUTANTS.map((m) => m.id));
		for (const id of ['drop-valid-false', 'retry-on-in-progress', 'drop-seq-compare', 'drop-generation-check', 'active-before-list-add']) expect(mutants.map((m) => m.id)).toContain(id);
		for (const m of mutants) {
			if (m.equivalent) {
				expect(m.killedBy, m.id).toEqual([]);
				expect(m.reason.length, m.id).toBeGreaterThan(40);
			} else expect(m.killedBy.length, `${m.id} survives every scenario`).toBeGreaterThan(0);
		}
		expect(mutationScore(mutants)).toEqual({ killed: 8, total: 8, equivalent: 3 });
	});

	it('needs the reader + refresher + memslot-move workload to kill drop-valid-false', () => {
		expect(mutants.find((m) => m.id === 'drop-valid-false')!.killedBy).toEqual(['reader-and-refresher-vs-memslot']);
	});
});

describe('explorer', () => {
	it('is deterministic', () => {
		const a = runScenario('two-cache-runstate', 'reader-no-recheck');
		const b = runScenario('two-cache-runstate', 'reader-no-recheck');
		expect({ ...a, ms: 0 }).toEqual({ ...b, ms: 0 });
	});

	it('finds counterexamples whose length, and liveness verdicts that, do not depend on the order of the threads', () => {
		const pick = [...Object.entries(WITNESS).map(([variant, w]) => ({ variant, scenario: w.scenario })), ...SCENARIO_IDS.map((scenario) => ({ variant: 'upstream', scenario }))];
		fc.assert(
			fc.property(fc.constantFrom(...pick), fc.integer({ min: 0, max: 1000 }), ({ variant, scenario }, seed) => {
				const s = findScenario(scenario)!;
				const v = findVariant(variant)!;
				const flags = variantFlags(v);
				const specs = s.build(flags);
				const order = specs.map((_, i) => i).sort((x, y) => ((x * 7919 + seed) % 13) - ((y * 7919 + seed) % 13) || x - y);
				const base = explore(buildModel(s, v));
				const perm = explore(assemble(s.world, order.map((i) => specs[i]), flags, { scenario, variant }));
				expect(perm.verdict).toBe(base.verdict);
				expect(perm.property).toBe(base.property);
				expect(perm.liveness).toBe(base.liveness);
				if (base.verdict === 'safe') expect(perm.states).toBe(base.states);
				else expect(perm.trace!.length).toBe(base.trace!.length);
				if (base.lasso) expect(perm.lasso!.stem.length).toBe(base.lasso.stem.length);
			}),
			{ numRuns: 30 },
		);
	});

	it('replays a counterexample\'s schedule on upstream, skipping the steps upstream cannot take', () => {
		const bad = runScenario('reader-vs-invalidation', 'valid-before-map');
		const same = replaySchedule('reader-vs-invalidation', 'upstream', bad.trace!.map((s) => s.thread));
		expect(same.verdict).toBe('safe');
		expect(same.replayed!.steps).toBe(bad.trace!.length);
		expect(same.trace!.length + same.replayed!.skipped).toBe(bad.trace!.length);
		// the replay's threads are the schedule's, in order, with the skipped steps left out
		let i = 0;
		for (const s of same.trace!) {
			while (bad.trace![i].thread !== s.thread) i++;
			i++;
		}
		expect(i).toBeLessThanOrEqual(bad.trace!.length);
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
		expect(text).toMatch(/^why: /m);
		expect(formatTrace(runScenario('reader-vs-memslot', 'upstream'))).toMatch(/SAFE \(\d+ states[\s\S]*liveness: holds/);
	});

	it('emits one Promela proctype per thread, with the properties as asserts, and the liveness model with its LTL formula', () => {
		const pml = emitPromela('two-cache-runstate', 'upstream');
		expect(pml.match(/^proctype t\d_/gm)).toHaveLength(3);
		expect(pml).toContain('proctype end_check()');
		expect(pml).toMatch(/assert\(.*\); \/\* stale-access/);
		expect(pml).toContain('d_step {');
		expect(pml).not.toContain('g_mmu_seq');
		expect(emitPromela('two-cache-runstate', 'upstream')).toBe(pml);
		const live = emitPromela('refresh-vs-invalidation-storm', 'upstream', { liveness: true });
		expect(live).toContain('ltl live { <> (g_fin[0] == 1) }');
		expect(live).not.toMatch(/assert\(/);
		expect(live).not.toContain('end_check');
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
		// Historical steps keep no line from today's tree; they link to the version they come from.
		const old = withLines.trace!.filter((s) => s.location.tree);
		expect(old.length).toBeGreaterThan(0);
		for (const s of old) {
			expect(s.location.line).toBeUndefined();
			expect(s.location.url).toMatch(/^https:\/\/git\.kernel\.org\/.*\?h=v5\.18/);
		}
	});
});
