// The rule catalogue (server/src/catalogue.ts) is the one source of a rule's id,
// severity, summary and page: the registry implements exactly it, and the pages,
// the rules index and package.json's settings agree with it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IMPLEMENTED_RULES } from '../../server/src/analysis/rules';
import { RULE_CATALOGUE, RULE_IDS } from '../../server/src/catalogue';
import { SEVERITY_SETTINGS } from '../../server/src/config';
import { REPO } from '../helpers';

const manifest = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
const ruleSettings = manifest.contributes.configuration.properties['gpcscope.rules'].properties as Record<string, { type: string; enum: string[] }>;

describe('the rule catalogue', () => {
	it('is what the registry implements', () => {
		expect(new Set(IMPLEMENTED_RULES)).toEqual(new Set(RULE_IDS));
	});

	it('names a page for every rule, and the rules index lists each with its default severity', () => {
		const index = readFileSync(join(REPO, 'docs', 'rules', 'README.md'), 'utf8');
		for (const rule of RULE_CATALOGUE) {
			expect(existsSync(join(REPO, rule.doc)), rule.doc).toBe(true);
			expect(rule.doc).toBe(`docs/rules/${rule.id}.md`);
			expect(index).toMatch(new RegExp(`^\\| \\[${rule.id}\\]\\(${rule.id}\\.md\\) \\| ${rule.severity}\\b`, 'm'));
		}
	});

	it('is package.json\'s gpcscope.rules setting, rule by rule, with every severity choice', () => {
		expect(Object.keys(ruleSettings)).toEqual([...RULE_IDS]);
		for (const [id, setting] of Object.entries(ruleSettings)) expect(setting, id).toEqual({ type: 'string', enum: [...SEVERITY_SETTINGS] });
	});

	it('ranks the rules that share a check line once each', () => {
		const ranks = RULE_CATALOGUE.flatMap((r) => ('checkSiteRank' in r ? [r.checkSiteRank] : []));
		expect(new Set(ranks).size).toBe(ranks.length);
	});
});
