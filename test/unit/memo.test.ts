// Memoised pass 2 equals a fresh analysis, on random edit sequences of the demo
// tree and of every fixture.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Engine } from '../../server/src/analysis/engine';
import { DEMO, FIXTURES, indexed } from '../helpers';
import { comparable, expectMemoMatchesFresh } from '../memo-property';

function fixtureFiles(): string[] {
	const out: string[] = [];
	for (const rule of readdirSync(FIXTURES, { withFileTypes: true })) {
		if (!rule.isDirectory()) continue;
		for (const kind of ['bad', 'good']) {
			const dir = join(FIXTURES, rule.name, kind);
			try {
				for (const f of readdirSync(dir)) if (f.endsWith('.c')) out.push(join(dir, f));
			} catch {
				// A rule without this kind of fixture.
			}
		}
	}
	return out;
}

describe('function memo', () => {
	it('equals a fresh engine after each random edit of the demo tree', async () => {
		const memoised = await Engine.create();
		try {
			const sources = (await indexed(DEMO)).sources;
			const editable = sources.filter((s) => !s.summariesOnly && /kvm_gpc_/.test(s.read())).map((s) => s.file);
			await expectMemoMatchesFresh(memoised, sources, editable, { steps: 25, seed: 11 });
		} finally {
			memoised.dispose();
		}
	}, 120_000);

	it('equals a fresh engine after each random edit of every fixture', async () => {
		const memoised = await Engine.create();
		try {
			for (const [i, path] of fixtureFiles().entries()) {
				const text = readFileSync(path, 'utf8');
				await expectMemoMatchesFresh(memoised, [{ file: path.slice(FIXTURES.length + 1), read: () => text }], [path.slice(FIXTURES.length + 1)], { steps: 4, seed: i + 1 });
			}
		} finally {
			memoised.dispose();
		}
	}, 120_000);
});

describe('function memo across moved callers', () => {
	it('reuses a function whose calling context only moved, with the chain at its new lines', async () => {
		const file = 'gpc-lock-in-sched-out/bad/runstate-blocking-lock-6.1.c';
		const original = readFileSync(join(FIXTURES, file), 'utf8');
		const options = {};
		const memoised = await Engine.create();
		try {
			const first = memoised.analyze([{ file, read: () => original }], options);
			const chained = first.findings.filter((f) => f.rule === 'gpc-lock-in-sched-out');
			expect(chained.length).toBeGreaterThan(0);
			// Lines added above every function: each one moves, and so do the chain's lines in the answers.
			const moved = `/* one */\n/* two */\n${original}`;
			const counts = memoised['memo'].counts;
			const analysedBefore = counts.analysed;
			const again = memoised.analyze([{ file, read: () => moved }], options);
			expect(counts.relocated).toBeGreaterThan(0);
			expect(counts.analysed).toBe(analysedBefore);
			const fresh = await Engine.create();
			try {
				expect(comparable(again)).toBe(comparable(fresh.analyze([{ file, read: () => moved }], options)));
			} finally {
				fresh.dispose();
			}
			const notes = again.findings.filter((f) => f.rule === 'gpc-lock-in-sched-out').flatMap((f) => f.related.map((r) => r.range.start.line));
			expect(notes).toEqual(chained.flatMap((f) => f.related.map((r) => r.range.start.line + 2)));
		} finally {
			memoised.dispose();
		}
	});
});
