// Cross-check: every scenario × variant cell emitted as Promela, verified by
// Spin (spin -a, gcc, pan), must get the TypeScript explorer's verdicts: the
// safety verdict (assertions, invalid end states) and the liveness verdict
// (the LTL formula <> done under weak fairness, pan -a -f).
import { availableParallelism } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import { emitPromela, listScenarios, listVariants, runScenario } from '../../server/src/simulator';
import { spinAvailable, verifyLivenessWithSpin, verifyWithSpin, type SpinVerdict } from './spin';

const cells = listScenarios().flatMap((s) => listVariants().map((v) => ({ scenario: s.id, variant: v.id })));
const HAVE_SPIN = spinAvailable();
if (!HAVE_SPIN) console.warn('test/spin: skipped, `spin` (Debian package spin) or gcc is not installed');

/** Runs jobs with at most `n` in flight. */
async function pool<T>(jobs: (() => Promise<T>)[], n: number): Promise<T[]> {
	const out: T[] = new Array(jobs.length);
	let next = 0;
	await Promise.all(
		Array.from({ length: Math.min(n, jobs.length) }, async () => {
			while (next < jobs.length) {
				const i = next++;
				out[i] = await jobs[i]();
			}
		}),
	);
	return out;
}

describe.skipIf(!HAVE_SPIN)('Spin agrees with the explorer on the scenario × variant matrix', () => {
	const safety = new Map<string, SpinVerdict>();
	const liveness = new Map<string, SpinVerdict>();

	beforeAll(async () => {
		// Variants that do not touch a scenario emit the same model: verify each text once.
		const jobs: { text: string; keys: string[]; live: boolean }[] = [];
		for (const live of [false, true]) {
			const byText = new Map<string, string[]>();
			for (const c of cells) {
				const body = emitPromela(c.scenario, c.variant, { liveness: live }).replace(/^\/\*[\s\S]*?\*\/\n/, '');
				byText.set(body, [...(byText.get(body) ?? []), `${c.scenario} ${c.variant}`]);
			}
			for (const [text, keys] of byText) jobs.push({ text, keys, live });
		}
		const t0 = performance.now();
		const verdicts = await pool(
			jobs.map((j) => () => (j.live ? verifyLivenessWithSpin(j.text) : verifyWithSpin(j.text))),
			Math.max(1, Math.min(2, availableParallelism())),
		);
		jobs.forEach((j, i) => j.keys.forEach((k) => (j.live ? liveness : safety).set(k, verdicts[i])));
		console.log(`test/spin: ${jobs.filter((j) => !j.live).length} safety and ${jobs.filter((j) => j.live).length} liveness models for ${cells.length} cells in ${Math.round((performance.now() - t0) / 1000)} s`);
	}, 900_000);

	it.each(cells)('$scenario × $variant', ({ scenario, variant }) => {
		const ts = runScenario(scenario, variant, { trace: false });
		const sp = safety.get(`${scenario} ${variant}`)!;
		expect(sp, 'spin ran').toBeDefined();
		expect(sp.verdict, `spin safety: ${sp.kind ?? 'no errors'}, ${sp.states} states`).toBe(ts.verdict);
		// A deadlock is Spin's invalid end state; every other property is an assert. Where both kinds are
		// reachable pan may report either first: the explorer must then find Spin's kind too.
		if (ts.verdict === 'violation' && sp.verdict === 'violation') {
			expect(['assertion', 'invalid end state']).toContain(sp.kind);
			const kind = ts.property === 'deadlock' ? 'invalid end state' : 'assertion';
			if (sp.kind !== kind) {
				const only = runScenario(scenario, variant, { trace: false, liveness: false, ...(sp.kind === 'assertion' ? { deadlocks: false } : { asserts: false }) });
				expect(only.verdict, `explorer finds a violation of Spin's kind (${sp.kind}) too`).toBe('violation');
			}
		}
		const lv = liveness.get(`${scenario} ${variant}`)!;
		expect(lv.verdict === 'violation' ? 'violated' : 'holds', `spin liveness: ${lv.kind ?? 'no errors'}, ${lv.states} states`).toBe(ts.liveness);
		if (lv.verdict === 'violation') expect(lv.kind).toBe('acceptance cycle');
	});
});
