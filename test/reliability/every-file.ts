// Every .c and .h of a tree through parse and analysis, one file at a time, as the engine
// runs on an open document: the file's own tree (parsed once, under the time budget),
// pass 1 facts, then the dataflow of every function that takes a lock or touches a gpc.
// Measures files, seconds and peak RSS; collects crashes, hangs (budget skips) and
// ranges outside the document.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Engine } from '../../server/src/analysis/engine';
import { MAX_FUNCTION_DEPTH } from '../../server/src/analysis/filePass';
import { deeperThan } from '../../server/src/parse/nodes';
import { analyzeFunction } from '../../server/src/analysis/flow';
import { decodeLikeScanner, rangeProblems } from './harness';

export interface EveryFileReport {
	tree: string;
	files: number;
	bytes: number;
	functionsAnalysed: number;
	/** With everyFunction: every function definition through the CFG builder and the dataflow. */
	everyFunction: number;
	/** Files or functions the engine declined, with why (depth, budget). */
	skipped: { file: string; reason: string }[];
	failures: string[];
	seconds: number;
	peakRssMb: number;
	slowest: { file: string; ms: number }[];
}

/** Every .c/.h under root, sorted; symlinks are not followed (as the scanner). */
export function cSources(root: string): string[] {
	const out: string[] = [];
	const walk = (dir: string, rel: string) => {
		const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
		for (const e of entries) {
			if (e.isSymbolicLink()) continue;
			const r = rel ? `${rel}/${e.name}` : e.name;
			if (e.isDirectory()) {
				if (e.name !== '.git') walk(join(dir, e.name), r);
			} else if (e.isFile() && /\.[ch]$/.test(e.name)) out.push(r);
		}
	};
	walk(root, '');
	return out;
}

export async function everyFile(root: string, options: { budgetMs: number; everyFunction?: boolean; shard?: [number, number]; onProgress?(done: number, total: number, report: EveryFileReport): void }): Promise<EveryFileReport> {
	const engine = await Engine.create();
	const started = performance.now();
	const report: EveryFileReport = { tree: root, files: 0, bytes: 0, functionsAnalysed: 0, everyFunction: 0, skipped: [], failures: [], seconds: 0, peakRssMb: 0, slowest: [] };
	let files = cSources(root);
	if (options.shard) files = files.filter((_, i) => i % options.shard![1] === options.shard![0]);
	try {
		for (const [i, file] of files.entries()) {
			const t = performance.now();
			let text: string;
			try {
				text = decodeLikeScanner(readFileSync(join(root, file)));
			} catch (e) {
				report.failures.push(`${file}: unreadable: ${(e as Error).message}`);
				continue;
			}
			report.files++;
			report.bytes += text.length;
			const deadline = performance.now() + options.budgetMs;
			const tree = engine.parser.parse(text, null, { progressCallback: () => performance.now() > deadline });
			if (!tree) {
				engine.parser.reset();
				report.skipped.push({ file, reason: `parsing over the ${options.budgetMs} ms budget` });
				continue;
			}
			try {
				const result = engine.analyze([{ file, read: () => text, tree: () => tree }], { fileBudgetMs: options.budgetMs });
				report.functionsAnalysed += result.stats.functionsAnalysed;
				report.skipped.push(...result.skipped);
				for (const p of rangeProblems(result.findings, new Map([[file, text]]))) report.failures.push(`${file}: ${p}`);
				// Beyond the engine's choice of relevant functions: every definition, with the file's knowledge.
				if (options.everyFunction) {
					for (const fn of tree.rootNode.descendantsOfType('function_definition')) {
						if (!fn || deeperThan(fn, MAX_FUNCTION_DEPTH)) continue;
						const f0 = performance.now();
						analyzeFunction(fn, result.knowledge);
						report.everyFunction++;
						const fms = performance.now() - f0;
						if (fms > options.budgetMs) report.failures.push(`${file}: function at line ${fn.startPosition.row + 1} took ${Math.round(fms)} ms`);
					}
				}
			} catch (e) {
				report.failures.push(`${file}: exception ${(e as Error).stack ?? e}`);
			} finally {
				tree.delete();
			}
			const ms = performance.now() - t;
			report.slowest.push({ file, ms: Math.round(ms) });
			if (report.slowest.length > 20) report.slowest = report.slowest.sort((a, b) => b.ms - a.ms).slice(0, 10);
			if (i % 500 === 0) {
				report.peakRssMb = Math.max(report.peakRssMb, process.memoryUsage().rss / 2 ** 20);
				options.onProgress?.(i, files.length, report);
			}
		}
	} finally {
		engine.dispose();
	}
	report.slowest = report.slowest.sort((a, b) => b.ms - a.ms).slice(0, 5);
	report.seconds = (performance.now() - started) / 1000;
	report.peakRssMb = Math.round(Math.max(report.peakRssMb, process.resourceUsage().maxRSS / 1024));
	return report;
}

/** Skips that are not failures: a function nested past the engine's limit is declined by design. */
export function unexpectedSkips(report: EveryFileReport): { file: string; reason: string }[] {
	return report.skipped.filter((s) => !new RegExp(`nested more than ${MAX_FUNCTION_DEPTH} levels deep`).test(s.reason));
}
