// The every-file tier for one Debian tree (one test file per tree, so the two run in parallel):
// the engine file by file with every function through the dataflow, then the CLI's
// `check --all-files` on the whole tree at once.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { REPO } from './harness';
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

interface CheckReport {
	diagnostics: { file: string; line: number; rule: string }[];
	stats: { filesScanned: number; filesParsed: number; filesSkipped: number; functionsAnalysed: number };
}

/** `gpcscope check` as a user runs it, with the process's peak RSS (workers included: they are its threads). */
async function checkWithPeakRss(args: string[]): Promise<{ status: number | null; report: CheckReport; stderr: string; seconds: number; peakRssMb: number }> {
	const started = performance.now();
	const child = spawn(process.execPath, [join(REPO, 'dist', 'cli.js'), 'check', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
	let stdout = '';
	let stderr = '';
	child.stdout.on('data', (d: Buffer) => (stdout += d));
	child.stderr.on('data', (d: Buffer) => (stderr += d));
	let peakKb = 0;
	const sample = () => {
		try {
			const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
			if (m) peakKb = Math.max(peakKb, Number(m[1]));
		} catch {
			// Exited between two samples: the last one stands.
		}
	};
	const timer = setInterval(sample, 500);
	const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
	clearInterval(timer);
	return { status, report: JSON.parse(stdout) as CheckReport, stderr, seconds: (performance.now() - started) / 1000, peakRssMb: peakKb / 1024 };
}

export function wholeTreeCheckTest(version: KernelVersion): void {
	it(`gpcscope check --all-files on the whole of linux-${version}: every file parsed, bounded memory, every finding of a normal check (those beyond it are recorded)`, async () => {
		const tree = kernelTree(version);
		const all = await checkWithPeakRss(['--all-files', '--no-cache', '--jobs', '2', '--format', 'json', tree]);
		const normal = await checkWithPeakRss(['--no-cache', '--jobs', '2', '--format', 'json', tree]);
		const key = (d: CheckReport['diagnostics'][number]) => `${d.file}:${d.line}:${d.rule}`;
		const inAll = new Set(all.report.diagnostics.map(key));
		const inNormal = new Set(normal.report.diagnostics.map(key));
		const beyond = all.report.diagnostics.filter((d) => !inNormal.has(key(d)));
		record(`check-all-files-linux-${version}`, {
			files: all.report.stats.filesScanned, parsed: all.report.stats.filesParsed, skipped: all.report.stats.filesSkipped,
			functionsAnalysed: all.report.stats.functionsAnalysed, seconds: Math.round(all.seconds), peakRssMb: Math.round(all.peakRssMb),
			findings: all.report.diagnostics.length, normalFindings: normal.report.diagnostics.length, normalSeconds: Math.round(normal.seconds),
			beyondNormal: beyond.map(key),
		});
		expect([0, 1]).toContain(all.status);
		expect(all.report.stats.filesScanned).toBeGreaterThan(50_000);
		expect(all.report.stats.filesParsed + all.report.stats.filesSkipped).toBe(all.report.stats.filesScanned);
		expect(normal.report.diagnostics.map(key).filter((k) => !inAll.has(k))).toEqual([]);
		expect(all.peakRssMb).toBeLessThan(MAX_RSS_MB);
	}, 2 * 3600_000);
}
