// Shared by the slow tiers: gating (they run with GPCSCOPE_RELIABILITY=1, e.g. from
// scripts/fuzz-nightly.sh, not in `npm test`) and a results file per test for the report.
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
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

/**
 * Appends a progress line to `<name>.progress` in the results directory. Written
 * synchronously: the tiers' loops are synchronous, so console output would only appear
 * at the end, and a run stopped early must still say how far it got.
 */
export function progress(name: string, line: string): void {
	appendFileSync(join(resultsDir(), `${name}.progress`), `${new Date().toISOString()} ${line}\n`);
}
