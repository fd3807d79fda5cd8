// Every minimised failing case ever found (test/fixtures/regressions/*.json) stays fixed:
// it keeps every invariant of the fuzzer, and declines (skips with a reason) or reports
// exactly as its fixture says.
import { describe, expect, it } from 'vitest';
import { Engine } from '../../server/src/analysis/engine';
import { expandText, loadRegressions, violations, type FuzzCase } from '../reliability/harness';
import { fuzzEngines } from '../reliability/fuzz';

const cases = loadRegressions();

describe('regression fixtures', () => {
	it('has fixtures', () => {
		expect(cases.length).toBeGreaterThan(0);
	});

	for (const { name, c } of cases) {
		it(name, async () => {
			const engines = await fuzzEngines();
			const fuzz: FuzzCase = { file: c.file, text: expandText(c.text), era: c.era, base: c.base === undefined ? undefined : expandText(c.base), edits: c.edits };
			expect(violations(engines, fuzz, c.options ?? {})).toEqual([]);
			const result = (engines[0] as Engine).analyze([{ file: fuzz.file, read: () => fuzz.text }], { era: c.era, ...c.options });
			for (const pattern of c.expectSkip ?? []) {
				expect(result.skipped.map((s) => s.reason), `${name}: skip /${pattern}/`).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(pattern))]));
			}
			if (!c.expectSkip) expect(result.skipped, `${name}: nothing skipped`).toEqual([]);
			if (c.expectFinding) expect(result.findings.map((f) => f.rule)).toContain(c.expectFinding);
			if (c.expectRelatedText) {
				// Several runs: a stale node reads whatever the wasm heap holds by then.
				for (let i = 0; i < 5; i++) {
					const again = i ? (engines[i % 2] as Engine).analyze([{ file: fuzz.file, read: () => fuzz.text }], { era: c.era, ...c.options }) : result;
					const lines = fuzz.text.split('\n');
					const texts = again.findings.flatMap((f) => f.related).map((r) => (r.range.start.line === r.range.end.line ? lines[r.range.start.line].slice(r.range.start.character, r.range.end.character) : '<multi-line>'));
					expect(texts).toEqual(c.expectRelatedText);
				}
			}
		}, 60_000);
	}
});
