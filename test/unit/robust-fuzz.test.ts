// Reliability, fast tier: a seeded fuzz run of the engine (the nightly run is the same
// properties with ≥100,000 cases: scripts/fuzz-nightly.sh). Every case must keep the
// invariants of test/reliability/harness.ts: no exception, ranges inside the document,
// same input → same output, incremental = from scratch.
import { describe, expect, it } from 'vitest';
import { runFuzz } from '../reliability/fuzz';

const SEED = Number(process.env.GPCSCOPE_FUZZ_SEED ?? 20261125);

describe('engine fuzzing (seeded, fast)', () => {
	it('keeps every invariant on mutated fixtures, real kernel functions, whole files and generated readers', async () => {
		const { reports, corpus } = await runFuzz({ seed: SEED, fixtures: 150, slices: 100, wholeFiles: 8, generated: 25 });
		for (const r of reports) {
			console.log(`robust-fuzz ${r.family}: ${r.cases} cases, ${r.edits} edits, ${r.seconds.toFixed(1)} s, ${r.failures.length} failures` +
				` (seed ${SEED}; corpus: ${corpus.kernel ? 'linux-6.1 + linux-6.12' : 'repository C only, no kernel tree cached'})`);
		}
		expect(reports.flatMap((r) => r.failures)).toEqual([]);
	}, 240_000);
});
