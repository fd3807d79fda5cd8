// `gpcscope simulate` as cli.ts will call it.
import { describe, expect, it } from 'vitest';
import { runSimulateCommand, type SimulateArgs } from '../../server/src/simulator/command';

function run(args: Partial<SimulateArgs>): { code: number; out: string } {
	let out = '';
	const code = runSimulateCommand({ format: 'text', ...args }, (s) => (out += s));
	return { code, out };
}

describe('gpcscope simulate', () => {
	// Upstream 6.12 is refuted by the HVA-cache finding (docs/findings/hva-cache-refresh.md): the matrix exits 1.
	const json = run({ matrix: true, format: 'json' });
	const text = run({ matrix: true });

	it('--matrix --format json prints the documented cells with liveness, and the mutants', () => {
		expect(json.code).toBe(1);
		const doc = JSON.parse(json.out);
		expect(Object.keys(doc)).toEqual(['cells', 'mutants']);
		expect(doc.cells).toHaveLength(18 * 13);
		for (const c of doc.cells) {
			expect(Object.keys(c)).toEqual(['scenario', 'variant', 'verdict', 'property', 'states', 'ms', 'liveness']);
			expect(['safe', 'violation']).toContain(c.verdict);
			expect(['holds', 'violated']).toContain(c.liveness);
			expect(c.property === null).toBe(c.verdict === 'safe');
		}
		const upstreamBad = doc.cells.filter((c: { variant: string; verdict: string }) => c.variant === 'upstream' && c.verdict === 'violation').map((c: { scenario: string }) => c.scenario);
		expect(upstreamBad).toEqual(['hva-refresh-vs-zap', 'hva-refresh-vs-migration']);
		expect(doc.mutants.length).toBeGreaterThanOrEqual(5);
		for (const m of doc.mutants) {
			expect(Object.keys(m)).toEqual(['id', 'description', 'equivalent', 'reason', 'killedBy']);
			expect(m.equivalent || m.killedBy.length > 0).toBe(true);
		}
	});

	it('--matrix as text is a labelled table per variant with the liveness column, a summary and the mutation score', () => {
		expect(text.code).toBe(1);
		expect(text.out).toMatch(/^Each scenario against each algorithm variant: safety \(states explored\), liveness under weak fairness, time\.\nupstream:\n {2}reader-vs-invalidation +safe, \d+ states +terminates/);
		expect(text.out).toMatch(/ {2}refresh-vs-invalidation-storm +safe, \d+ states +LIVELOCK/);
		expect(text.out).toMatch(/^upstream: VIOLATION in hva-refresh-vs-zap, hva-refresh-vs-migration; safe in the other 16 scenarios$/m);
		expect(text.out).toMatch(/^upstream liveness: LIVELOCK in refresh-vs-invalidation-storm \(safety holds there\)$/m);
		expect(text.out).toMatch(/^variants with a known race \(historical or missing a part\): (\d+) of \1 refuted somewhere$/m);
		expect(text.out).toMatch(/^reference designs \(guest-usage-protocol, hva-fix\): safe wherever upstream is$/m);
		expect(text.out).toMatch(/valid-before-map:\n {2}reader-vs-invalidation +VIOLATION stale-access/);
		expect(text.out).toMatch(/^mutation score: 8\/8 non-equivalent mutants of the 6\.12 model killed \(3 equivalent\)$/m);
		expect(text.out).toMatch(/^ {2}active-before-list-add +equivalent: /m);
	});

	it('exits 1 with a trace when a violation is found, 0 when safe', () => {
		const bad = run({ scenario: 'guest-usage-vs-invalidation', variant: 'guest-usage-no-request' });
		expect(bad.code).toBe(1);
		expect(bad.out).toContain('VIOLATION: stale-access');
		const good = run({ scenario: 'guest-usage-vs-invalidation' });
		expect(good.code).toBe(0);
		expect(good.out).toMatch(/upstream: SAFE/);
	});

	it('prints a run as JSON with its trace', () => {
		const { code, out } = run({ scenario: 'two-refreshers', variant: 'no-refresh-mutex', format: 'json' });
		expect(code).toBe(1);
		const r = JSON.parse(out);
		expect(r).toMatchObject({ scenario: 'two-refreshers', variant: 'no-refresh-mutex', verdict: 'violation', property: 'stale-access' });
		expect(r.trace[0]).toHaveProperty('state.caches');
		expect(r.trace[0].location).toHaveProperty('function');
	});

	it('runs a variant against every scenario when no scenario is given', () => {
		const { code, out } = run({ variant: 'reader-no-recheck', format: 'json' });
		expect(code).toBe(1);
		expect(JSON.parse(out).results).toHaveLength(18);
	});

	it('emits Promela', () => {
		const { code, out } = run({ scenario: 'reader-vs-memslot', emitPromela: true });
		expect(code).toBe(0);
		expect(out).toMatch(/^\/\* gpcscope simulator model: scenario reader-vs-memslot, variant upstream/);
		expect(out).toContain('init {');
	});

	it('rejects bad input with exit 2', () => {
		expect(run({ variant: 'nope' })).toMatchObject({ code: 2 });
		expect(run({ scenario: 'nope' }).out).toMatch(/known: reader-vs-invalidation/);
		expect(run({ emitPromela: true }).code).toBe(2);
		expect(run({ matrix: true, variant: 'upstream' }).code).toBe(2);
		expect(run({ format: 'xml' as 'text' }).code).toBe(2);
	});
});
