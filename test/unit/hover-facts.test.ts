// A hover reads what the analysis kept (hoverFacts.ts) instead of running the function's
// dataflow again: on every gpc call, lock call and khva use of the demo tree and of the
// fixtures, it says exactly what the dataflow run at hover time says.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzePath, DEMO, FIXTURES } from '../helpers';
import { cFiles, hoversBothWays } from '../hover-facts-property';

describe('hover facts', () => {
	it('give the hover the dataflow gives, on the demo tree and every fixture', async () => {
		let fromFacts = 0;
		let hovers = 0;
		const roots = [DEMO, ...readdirSync(FIXTURES).flatMap((rule) => ['bad', 'good'].map((k) => join(FIXTURES, rule, k))).filter((d) => { try { return statSync(d).isDirectory(); } catch { return false; } })];
		for (const root of roots) {
			const result = await analyzePath(root);
			for (const path of cFiles(root)) {
				const file = relative(root, path);
				const both = await hoversBothWays(root, result, file);
				expect(both.kept, file).toEqual(both.computed);
				fromFacts += both.fromFacts;
				hovers += both.kept.length;
			}
		}
		// Most of them read the kept facts (a function the analysis skipped still runs its dataflow).
		expect(hovers).toBeGreaterThan(100);
		expect(fromFacts).toBeGreaterThan(hovers / 2);
	}, 120_000);
});
