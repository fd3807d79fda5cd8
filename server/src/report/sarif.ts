// SARIF 2.1.0 for code scanning: relative paths under a %SRCROOT% base, rule
// metadata with help links, and a fingerprint that survives unrelated edits
// (rule + file + the line's own text; see fingerprint.ts).
import type { Log, Notification, ReportingDescriptor, Result } from 'sarif';
import { UNPARSED_CODE, type Finding, type UnparsedNotice } from '../analysis/findings';
import { RULES } from '../analysis/rules';
import { FINGERPRINT_KEY, fingerprintFindings } from './fingerprint';

const LEVEL = { error: 'error', warning: 'warning', information: 'note', hint: 'note' } as const;
export const RULE_HELP_BASE = 'https://gpcscope.invalid/docs/rules/';

export function formatSarif(findings: readonly Finding[], version: string, lineText: (file: string, line: number) => string, extra: SarifExtra = {}): string {
	const rules: ReportingDescriptor[] = [...RULES.values()].map((r) => ({
		id: r.id,
		shortDescription: { text: r.summary },
		helpUri: `${RULE_HELP_BASE}${r.id}.md`,
		defaultConfiguration: { level: LEVEL[r.severity] },
	}));
	const fingerprints = extra.fingerprints ?? fingerprintFindings(findings, lineText);
	const results: Result[] = findings.map((f, i) => ({
		ruleId: f.rule,
		ruleIndex: rules.findIndex((r) => r.id === f.rule),
		level: LEVEL[f.severity],
		message: { text: f.message },
		locations: [location(f.file, f.range)],
		relatedLocations: f.related.map((r, i) => ({ id: i, ...location(r.file, r.range), message: { text: r.message } })),
		partialFingerprints: { [FINGERPRINT_KEY]: fingerprints[i] },
		...(extra.baselineState ? { baselineState: extra.baselineState } : {}),
	}));
	const log: Log = {
		version: '2.1.0',
		$schema: 'https://json.schemastore.org/sarif-2.1.0.json',
		runs: [{
			tool: { driver: { name: 'gpcscope', version, informationUri: 'https://gpcscope.invalid/', rules } },
			originalUriBaseIds: { SRCROOT: { description: { text: 'The analysed tree' } } },
			// Code the tool could not analyse is a notification about the run, not a result.
			...(extra.notices?.length ? { invocations: [{ executionSuccessful: true, toolExecutionNotifications: extra.notices.map(notification) }] } : {}),
			results,
		}],
	};
	return JSON.stringify(log, null, 2) + '\n';
}

/** For `review`: results that a series introduced are `new` against its base. */
export interface SarifExtra {
	baselineState?: Result['baselineState'];
	/** Precomputed, index for index: a subset's occurrence counts would differ from the whole tree's. */
	fingerprints?: readonly string[];
	/** gpc code tree-sitter could not parse (one per file). */
	notices?: readonly UnparsedNotice[];
}

function notification(n: UnparsedNotice): Notification {
	return { descriptor: { id: UNPARSED_CODE }, level: 'note', message: { text: n.message }, locations: [location(n.file, n.range)] };
}

function location(file: string, range: Finding['range']) {
	return {
		physicalLocation: {
			artifactLocation: { uri: file.split('/').map(encodeURIComponent).join('/'), uriBaseId: 'SRCROOT' },
			region: {
				startLine: range.start.line + 1,
				startColumn: range.start.character + 1,
				endLine: range.end.line + 1,
				endColumn: range.end.character + 1,
			},
		},
	};
}
