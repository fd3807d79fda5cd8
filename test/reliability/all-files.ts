// The every-file tier for one Debian tree (one test file per tree, so the two run in parallel).
import { expect, it } from 'vitest';
import { kernelTree, type KernelVersion } from '../kernel/trees';
import { everyFile, unexpectedSkips } from './every-file';
import { progress, record } from './tier';

/** Per file and pass; a file over it is skipped with its reason (the engine's default). */
const BUDGET_MS = 20_000;
/** Bounded memory: one file at a time, nothing kept across files. */
const MAX_RSS_MB = 2048;

export function everyFileTest(version: KernelVersion): void {
	it(`parses and analyses every .c and .h of linux-${version} (every function through the dataflow): no crash, no hang, bounded memory`, async () => {
		const tree = kernelTree(version);
		const started = performance.now();
		const report = await everyFile(tree, {
			budgetMs: BUDGET_MS,
			everyFunction: true,
			onProgress: (done, total, r) => {
				if (done % 1000 === 0) progress(`every-file-linux-${version}`, `${done}/${total} files, ${r.failures.length} failures, ${r.functionsAnalysed} functions by the engine, ${r.everyFunction} by the every-function pass, ${Math.round((performance.now() - started) / 1000)} s, rss ${Math.round(process.memoryUsage().rss / 2 ** 20)} MB, peak ${Math.round(r.peakRssMb)} MB`);
			},
		});
		const unexpected = unexpectedSkips(report);
		record(`every-file-linux-${version}`, {
			files: report.files, megabytes: Math.round(report.bytes / 1e6), functionsAnalysed: report.functionsAnalysed, everyFunction: report.everyFunction,
			seconds: Math.round(report.seconds), peakRssMb: report.peakRssMb, failures: report.failures.length,
			declinedTooDeep: report.skipped.length - unexpected.length, overBudget: unexpected, slowest: report.slowest,
		});
		expect(report.failures.slice(0, 20)).toEqual([]);
		expect(report.files).toBeGreaterThan(50_000);
		// A budget skip is the guard working, not a hang; the slowest file stays near the budget.
		expect(report.slowest[0]?.ms ?? 0).toBeLessThan(2 * BUDGET_MS + 5_000);
		expect(report.peakRssMb).toBeLessThan(MAX_RSS_MB);
	}, 4 * 3600_000);
}
