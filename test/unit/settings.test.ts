import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { engineOptions, parseSettings, SETTINGS } from '../../server/src/config';
import { RULE_IDS } from '../../server/src/catalogue';
import { REPO } from '../helpers';

const manifest = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
const contributed = manifest.contributes.configuration.properties as Record<string, { default: unknown; enum?: string[]; properties?: Record<string, unknown> }>;

describe('settings schema and package.json', () => {
	it('declare the same keys', () => {
		expect(Object.keys(contributed).sort()).toEqual(Object.keys(SETTINGS).map((k) => `gpcscope.${k}`).sort());
	});

	it('declare the same defaults', () => {
		for (const [key, schema] of Object.entries(SETTINGS)) {
			expect(contributed[`gpcscope.${key}`].default, key).toEqual(schema.parse(undefined));
		}
	});

	it('offer the same choices', () => {
		expect(contributed['gpcscope.apiEra'].enum).toEqual(SETTINGS.apiEra._def.innerType.options);
		expect(Object.keys(contributed['gpcscope.rules'].properties!)).toEqual([...RULE_IDS]);
	});
});

describe('parseSettings', () => {
	it('accepts nested VS Code sections', () => {
		const { settings, warnings } = parseSettings({ apiEra: '6.1', rules: { 'gpc-len-mismatch': 'off' }, markDirty: { exemptInstances: ['shinfo_cache'] } });
		expect(warnings).toEqual([]);
		expect(settings.apiEra).toBe('6.1');
		expect(settings.rules).toEqual({ 'gpc-len-mismatch': 'off' });
		expect(settings.markDirtyExemptInstances).toEqual(['shinfo_cache']);
	});

	it('warns about a bad value and uses the default for that key only', () => {
		const { settings, warnings } = parseSettings({ apiEra: '7.0', rules: { 'gpc-nope': 'error' }, diagnostics: { debounceMs: 50 } });
		expect(settings.apiEra).toBe('auto');
		expect(settings.rules).toEqual({});
		expect(settings.debounceMs).toBe(50);
		expect(warnings).toHaveLength(2);
		expect(warnings[0]).toMatch(/^gpcscope\.apiEra: .*using the default/);
	});

	it('turns PREEMPT_RT checking on for the engine (gpc-lock-in-hardirq), off by default', () => {
		expect(parseSettings({}).settings.preemptRt).toBe(false);
		const { settings, warnings } = parseSettings({ preemptRt: true });
		expect(warnings).toEqual([]);
		expect(engineOptions(settings).preemptRt).toBe(true);
		expect(parseSettings({ preemptRt: 'yes' }).warnings[0]).toMatch(/^gpcscope\.preemptRt: .*using the default/);
	});

	it('survives garbage', () => {
		expect(parseSettings(42).settings.apiEra).toBe('auto');
		expect(parseSettings(null).warnings).toEqual([]);
	});
});
