// Recall on real code: each injection (one to three lines, applied in memory to
// a downloaded tree, never committed) must be reported with its rule within 3
// lines of the injected text, and nothing else may appear.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../server/src/analysis/findings';
import type { IndexResult } from '../../server/src/index/indexer';
import { engine, indexed } from '../helpers';
import { kernelTree, type KernelVersion } from './trees';

interface Injection {
	id: string;
	tree: KernelVersion;
	file: string;
	function: string;
	bug: string;
	expect: string[];
	original: string;
	replacement: string;
	/** Measured and explained misses: the test fails if one starts passing, so the list stays true. */
	knownMiss?: string;
}

const INJECTIONS: Injection[] = JSON.parse(readFileSync(join(__dirname, 'injections.json'), 'utf8'));
const key = (f: Finding) => `${f.file}:${f.rule}:${f.message}`;

const scans = new Map<KernelVersion, IndexResult>();

async function analyse(version: KernelVersion, override?: { file: string; text: string }) {
	if (!scans.has(version)) scans.set(version, await indexed(kernelTree(version)));
	const sources = scans.get(version)!.sources.map((s) => (override && s.file === override.file ? { file: s.file, read: () => override.text } : s));
	return (await engine()).analyze(sources);
}

const baseline = new Map<KernelVersion, Set<string>>();
beforeAll(async () => {
	for (const v of ['6.12', '6.1'] as const) baseline.set(v, new Set((await analyse(v)).findings.map(key)));
});

const recall = new Map<string, { hit: number; total: number }>();

describe('bug injections', () => {
	for (const inj of INJECTIONS) {
		const test = inj.knownMiss ? it.fails : it;
		test(`${inj.id} ${inj.tree} ${inj.function}: ${inj.bug}${inj.knownMiss ? ` (known miss: ${inj.knownMiss})` : ''}`, async () => {
			const tree = kernelTree(inj.tree);
			const text = readFileSync(join(tree, inj.file), 'latin1');
			const at = text.indexOf(inj.original);
			expect(at, 'original text is in the tree').toBeGreaterThanOrEqual(0);
			expect(text.indexOf(inj.original, at + 1), 'original text is unique').toBe(-1);
			const injected = text.slice(0, at) + inj.replacement + text.slice(at + inj.original.length);
			const firstLine = text.slice(0, at).split('\n').length - 1;
			const lastLine = firstLine + inj.replacement.split('\n').length - 1;
			const result = await analyse(inj.tree, { file: inj.file, text: injected });
			const fresh = result.findings.filter((f) => !baseline.get(inj.tree)!.has(key(f)));
			const near = (f: Finding) => f.file === inj.file && f.range.start.line >= firstLine - 3 && f.range.start.line <= lastLine + 3;
			const detail = fresh.map((f) => `${f.file}:${f.range.start.line + 1}: ${f.message} [${f.rule}]`).join('\n');
			for (const rule of inj.expect) {
				const hit = fresh.some((f) => f.rule === rule && near(f));
				const r = recall.get(rule) ?? { hit: 0, total: 0 };
				recall.set(rule, { hit: r.hit + (hit ? 1 : 0), total: r.total + 1 });
				expect(hit, `expected ${rule} near line ${firstLine + 1}; new findings:\n${detail}`).toBe(true);
			}
			const extra = fresh.filter((f) => !(inj.expect.includes(f.rule) && near(f)));
			expect(extra.map((f) => `${f.file}:${f.range.start.line + 1}: ${f.message} [${f.rule}]`), 'nothing else new').toEqual([]);
		});
	}

	it('prints recall per rule', () => {
		for (const [rule, r] of [...recall].sort()) console.log(`recall ${rule}: ${r.hit}/${r.total}`);
	});
});
