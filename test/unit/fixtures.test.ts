// The fixture harness: every `expect:` marker must be reported (right rule,
// right line), and nothing else may be, in bad/ and good/ alike.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IMPLEMENTED_RULES } from '../../server/src/analysis/rules';
import { RULES } from '../../server/src/catalogue';
import { analyzePath, DEMO, expectationMarkers, FIXTURES, indexed } from '../helpers';

const MIN_PER_KIND = 6;
const ruleDirs = existsSync(FIXTURES) ? readdirSync(FIXTURES).filter((d) => statSync(join(FIXTURES, d)).isDirectory()).sort() : [];

async function markersOf(path: string): Promise<string[]> {
	const index = await indexed(path, { allFiles: true });
	return index.sources.flatMap((s) => expectationMarkers(s.file, readFileSync(join(index.root, s.file), 'utf8')));
}

describe('fixtures', () => {
	it('has a fixture directory for every implemented rule', () => {
		for (const rule of IMPLEMENTED_RULES) expect(ruleDirs, rule).toContain(rule);
	});

	for (const rule of ruleDirs) {
		const implemented = IMPLEMENTED_RULES.has(rule as never);
		describe.skipIf(!implemented)(rule, () => {
			for (const kind of ['bad', 'good'] as const) {
				const dir = join(FIXTURES, rule, kind);
				const cases = existsSync(dir) ? readdirSync(dir).sort() : [];
				it(`has at least ${MIN_PER_KIND} ${kind} fixtures`, () => {
					expect(cases.length).toBeGreaterThanOrEqual(MIN_PER_KIND);
				});
				for (const name of cases) {
					it(`${kind}/${name}`, async () => {
						const path = join(dir, name);
						const expected = (await markersOf(path)).filter((m) => IMPLEMENTED_RULES.has(m.split(':')[2] as never)).sort();
						if (kind === 'bad') expect(expected.some((m) => m.endsWith(`:${rule}`)), 'a bad fixture marks its own rule').toBe(true);
						else expect(expected, 'a good fixture has no markers').toEqual([]);
						// A rule behind an engine option (gpc-lock-in-hardirq: --preempt-rt) is checked with it on, and is silent without it.
						const options = RULES.get(rule as never)?.requires === 'preemptRt' ? { preemptRt: true } : {};
						const result = await analyzePath(path, options);
						if (options.preemptRt) expect((await analyzePath(path)).findings.filter((f) => f.rule === rule), 'silent without --preempt-rt').toEqual([]);
						const actual = result.findings
							.filter((f) => IMPLEMENTED_RULES.has(f.rule))
							.map((f) => `${f.file}:${f.range.start.line + 1}:${f.rule}`)
							.sort();
						const detail = result.findings.map((f) => `${f.file}:${f.range.start.line + 1}: ${f.message} [${f.rule}]`).join('\n');
						expect(actual, `findings of ${relative(FIXTURES, path)}:\n${detail}`).toEqual(expected);
					});
				}
			}
		});
	}
});

describe('examples/demo-kernel', () => {
	it('reports exactly its expect: markers, and every implemented rule at least once', async () => {
		const expected = (await markersOf(DEMO)).filter((m) => IMPLEMENTED_RULES.has(m.split(':')[2] as never)).sort();
		const result = await analyzePath(DEMO, { preemptRt: true });
		const actual = result.findings.filter((f) => IMPLEMENTED_RULES.has(f.rule)).map((f) => `${f.file}:${f.range.start.line + 1}:${f.rule}`).sort();
		expect(actual).toEqual(expected);
		expect(new Set(result.findings.map((f) => f.rule))).toEqual(new Set(IMPLEMENTED_RULES));
	});
});
