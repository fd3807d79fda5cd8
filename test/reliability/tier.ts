// Shared by the slow tiers: gating (they run with GPCSCOPE_RELIABILITY=1, e.g. from
// scripts/fuzz-nightly.sh, not in `npm test`) and a results file per test for the report.
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ENABLED = !!process.env.GPCSCOPE_RELIABILITY;

export function resultsDir(): string {
	const dir = process.env.GPCSCOPE_RELIABILITY_OUT ?? join(tmpdir(), 'gpcscope-reliability');
	mkdirSync(dir, { recursive: true });
	return dir;
}

/** Prints one summary line and keeps the numbers for docs/RELIABILITY.md. */
export function record(name: string, summary: Record<string, unknown>): void {
	console.log(`[reliability] ${name}: ${JSON.stringify(summary)}`);
	writeFileSync(join(resultsDir(), `${name}.json`), JSON.stringify({ name, at: new Date().toISOString(), ...summary }, null, 1) + '\n');
}
