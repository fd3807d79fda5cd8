// SARIF 2.1.0 for code scanning: relative paths under a %SRCROOT% base, rule
// metadata with help links, and a fingerprint that survives unrelated edits
// (rule + file + function-independent message + the line's own text).
import { createHash } from 'node:crypto';
import type { Log, ReportingDescriptor, Result } from 'sarif';
import type { Finding } from '../analysis/findings';
import { RULES } from '../analysis/rules';

const LEVEL = { error: 'error', warning: 'warning', information: 'note', hint: 'note' } as const;
export const RULE_HELP_BASE = 'https://gpcscope.invalid/docs/rules/';

export function formatSarif(findings: readonly Finding[], version: string, lineText: (file: string, line: number) => string): string {
	const rules: ReportingDescriptor[] = [...RULES.values()].map((r) => ({
		id: r.id,
		shortDescription: { text: r.summary },
		helpUri: `${RULE_HELP_BASE}${r.id}.md`,
		defaultConfiguration: { level: LEVEL[r.severity] },
	}));
	const results: Result[] = findings.map((f) => ({
		ruleId: f.rule,
		ruleIndex: rules.findIndex((r) => r.id === f.rule),
		level: LEVEL[f.severity],
		message: { text: f.message },
		locations: [location(f.file, f.range)],
		relatedLocations: f.related.map((r, i) => ({ id: i, ...location(r.file, r.range), message: { text: r.message } })),
		partialFingerprints: {
			'gpcscopeLine/v1': createHash('sha256').update(`${f.rule}\0${f.file}\0${lineText(f.file, f.range.start.line).trim()}`).digest('hex').slice(0, 32),
		},
	}));
	const log: Log = {
		version: '2.1.0',
		$schema: 'https://json.schemastore.org/sarif-2.1.0.json',
		runs: [{
			tool: { driver: { name: 'gpcscope', version, informationUri: 'https://gpcscope.invalid/', rules } },
			originalUriBaseIds: { SRCROOT: { description: { text: 'The analysed tree' } } },
			results,
		}],
	};
	return JSON.stringify(log, null, 2) + '\n';
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
