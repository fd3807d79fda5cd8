// Cross-check: every scenario × variant cell emitted as Promela, verified by
// Spin (spin -a, gcc, pan), must get the TypeScript explorer's verdict.
import { availableParallelism } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import { emitPromela, listScenarios, listVariants, runScenario } from '../../server/src/simulator';
import { spinAvailable, verifyWithSpin, type SpinVerdict } from './spin';

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
	const spin = new Map<string, SpinVerdict>();

	beforeAll(async () => {
		// Variants that do not touch a scenario emit the same model: verify each text once.
		const byText = new Map<string, string[]>();
		for (const c of cells) {
			const body = emitPromela(c.scenario, c.variant).replace(/^\/\*[\s\S]*?\*\/\n/, '');
			const key = `${c.scenario} ${c.variant}`;
			byText.set(body, [...(byText.get(body) ?? []), key]);
		}
		const texts = [...byText.keys()];
		const verdicts = await pool(
			texts.map((t) => () => verifyWithSpin(t)),
			Math.max(1, Math.min(2, availableParallelism())),
		);
		texts.forEach((t, i) => byText.get(t)!.forEach((k) => spin.set(k, verdicts[i])));
	}, 600_000);

	it.each(cells)('$scenario × $variant', ({ scenario, variant }) => {
		const ts = runScenario(scenario, variant, { trace: false });
		const sp = spin.get(`${scenario} ${variant}`)!;
		expect(sp, 'spin ran').toBeDefined();
		expect(sp.verdict, `spin: ${sp.kind ?? 'no errors'}, ${sp.states} states`).toBe(ts.verdict);
		// A deadlock is Spin's invalid end state; every other property is an assert.
		if (ts.verdict === 'violation' && sp.verdict === 'violation') expect(sp.kind).toBe(ts.property === 'deadlock' ? 'invalid end state' : 'assertion');
	});
});
