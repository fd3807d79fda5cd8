// gpcscope's settings: one schema, shared by the language server and the CLI.
// package.json `contributes.configuration` mirrors it; a test keeps the two in step.
import { z } from 'zod';
import { API_ERAS, type ApiEra } from './analysis/api';
import { DIRTY_EXEMPTIONS } from './analysis/exemptions';
import { RULE_IDS, type RuleId, type Severity } from './catalogue';
import type { EngineOptions } from './analysis/engine';

export const SEVERITY_SETTINGS = ['off', 'hint', 'information', 'warning', 'error'] as const;
const severity = z.enum(SEVERITY_SETTINGS);

/** Keys are the dotted names under `gpcscope.` as VS Code shows them. */
export const SETTINGS = {
	apiEra: z.enum(['auto', ...API_ERAS] as [string, ...string[]]).default('auto'),
	rules: z.record(z.enum(RULE_IDS as [RuleId, ...RuleId[]]), severity).default({}),
	preemptRt: z.boolean().default(false),
	'markDirty.exemptInstances': z.array(z.string().regex(/^\w+$/)).default(DIRTY_EXEMPTIONS.map((e) => e.field)),
	'diagnostics.debounceMs': z.number().int().min(0).max(5000).default(200),
	'trace.server': z.enum(['off', 'messages', 'verbose']).default('off'),
	'index.include': z.array(z.string().min(1)).default([]),
	'index.exclude': z.array(z.string().min(1)).default([]),
	'index.maxFileSizeKB': z.number().int().min(1).max(1024 * 1024).default(4096),
} as const;

export type SettingKey = keyof typeof SETTINGS;

export interface Settings {
	apiEra: ApiEra | 'auto';
	rules: Partial<Record<RuleId, Severity | 'off'>>;
	/** rwlock_t sleeps, as on PREEMPT_RT: enables gpc-lock-in-hardirq. */
	preemptRt: boolean;
	markDirtyExemptInstances: string[];
	debounceMs: number;
	/** gitignore-syntax patterns relative to a workspace folder: only matching files are indexed (all when empty). */
	indexInclude: string[];
	/** gitignore-syntax patterns relative to a workspace folder: never indexed. */
	indexExclude: string[];
	/** Files above this size are not searched (generated headers). */
	indexMaxFileSizeKB: number;
}

export interface SettingsResult {
	settings: Settings;
	/** One line per invalid value; the default is used instead. */
	warnings: string[];
}

/** Validates raw settings (the `gpcscope` section) key by key: a bad value falls back to its default. */
export function parseSettings(raw: unknown): SettingsResult {
	const section = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
	const warnings: string[] = [];
	const value = <K extends SettingKey>(key: K): z.infer<(typeof SETTINGS)[K]> => {
		const schema = SETTINGS[key];
		const input = lookup(section, key);
		const parsed = schema.safeParse(input);
		if (parsed.success) return parsed.data as z.infer<(typeof SETTINGS)[K]>;
		warnings.push(`gpcscope.${key}: ${parsed.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ` : '') + i.message).join('; ')} — using the default`);
		return schema.parse(undefined) as z.infer<(typeof SETTINGS)[K]>;
	};
	return {
		settings: {
			apiEra: value('apiEra') as ApiEra | 'auto',
			rules: value('rules'),
			preemptRt: value('preemptRt'),
			markDirtyExemptInstances: value('markDirty.exemptInstances'),
			debounceMs: value('diagnostics.debounceMs'),
			indexInclude: value('index.include'),
			indexExclude: value('index.exclude'),
			indexMaxFileSizeKB: value('index.maxFileSizeKB'),
		},
		warnings,
	};
}

/** Settings arrive nested (`markDirty: { exemptInstances }`) from VS Code, or flat from other clients. */
function lookup(section: Record<string, unknown>, key: string): unknown {
	if (key in section) return section[key];
	let cur: unknown = section;
	for (const part of key.split('.')) {
		if (!cur || typeof cur !== 'object') return undefined;
		cur = (cur as Record<string, unknown>)[part];
	}
	return cur;
}

export function engineOptions(settings: Settings): EngineOptions {
	return {
		era: settings.apiEra === 'auto' ? undefined : settings.apiEra,
		severity: settings.rules,
		dirtyExemptions: settings.markDirtyExemptInstances,
		preemptRt: settings.preemptRt,
	};
}
