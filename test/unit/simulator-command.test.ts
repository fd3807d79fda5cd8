// `gpcscope simulate` as cli.ts will call it.
import { describe, expect, it } from 'vitest';
import { runSimulateCommand, type SimulateArgs } from '../../server/src/simulator/command';

function run(args: Partial<SimulateArgs>): { code: number; out: string } {
	let out = '';
	const code = runSimulateCommand({ format: 'text', ...args }, (s) => (out += s));
	return { code, out };
}

describe('gpcscope simulate', () => {
	it('--matrix --format json prints exactly the documented cells', () => {
		const { code, out } = run({ matrix: true, format: 'json' });
		expect(code).toBe(0);
		const doc = JSON.parse(out);
		expect(Object.keys(doc)).toEqual(['cells']);
		expect(doc.cells).toHaveLength(64);
		for (const c of doc.cells) {
			expect(Object.keys(c)).toEqual(['scenario', 'variant', 'verdict', 'property', 'states', 'ms']);
			expect(['safe', 'violation']).toContain(c.verdict);
			expect(c.property === null).toBe(c.verdict === 'safe');
		}
		expect(doc.cells.filter((c: { variant: string }) => c.variant === 'upstream').every((c: { verdict: string }) => c.verdict === 'safe')).toBe(true);
	});

	it('--matrix as text is a table per variant', () => {
		const { code, out } = run({ matrix: true });
		expect(code).toBe(0);
		expect(out).toMatch(/^Each scenario against each algorithm variant: the verdict, the states explored, the time\.\nupstream:\n {2}reader-vs-invalidation +safe, \d+ states +\d+ ms/);
		expect(out).toMatch(/valid-before-map:\n {2}reader-vs-invalidation +VIOLATION stale-access, \d+ states/);
		// A summary closes it: the verdict on upstream, and whether every historical variant was refuted.
		expect(out).toMatch(/\n\nupstream: safe in all \d+ scenarios\nhistorical variants: all \d+ refuted \(each violates a property in at least one scenario\)\n$/);
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
		expect(JSON.parse(out).results).toHaveLength(8);
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
