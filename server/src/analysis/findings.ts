// A finding as the engine reports it; 0-based positions, paths relative to the root.
import { ruleInfo, type RuleId, type Severity } from '../catalogue';
import type { Range } from '../parse/positions';

export type { Position, Range } from '../parse/positions';

export interface RelatedLocation {
	file: string;
	range: Range;
	message: string;
}

/**
 * A rewrite that removes a finding (a quick fix, `gpcscope fix`). The LSP diagnostic
 * carries it as `data` (features/findingFixes.ts), so listing code actions re-derives nothing.
 */
export interface Fix {
	title: string;
	/** Edits in the finding's file; empty when the rule computes the rewrite as the action is applied (the usage flags' tree-wide one). */
	edits: { range: Range; newText: string }[];
}

export interface Finding {
	rule: RuleId;
	severity: Severity;
	file: string;
	range: Range;
	message: string;
	related: RelatedLocation[];
	/** The quick fix this finding offers. Not part of the JSON or SARIF reports: the LSP diagnostic carries it as `data`. */
	fix?: Fix;
}

/**
 * Not a finding: gpc code tree-sitter could not parse (an ERROR region over a function that
 * uses the gpc API, or gpc calls in no function at all), said once per file so that silence
 * there is never taken for a clean bill. Code `gpc-unparsed`, hint level; no rule of the catalogue.
 */
export interface UnparsedNotice {
	file: string;
	/** The first such function's name (or the first such call), where the editor shows the hint. */
	range: Range;
	/** The functions (or `<no function>` for calls outside any) and their 0-based first line. */
	functions: { name: string; line: number }[];
	message: string;
}

export const UNPARSED_CODE = 'gpc-unparsed';

export function compareFindings(a: Finding, b: Finding): number {
	return (
		a.file.localeCompare(b.file) ||
		a.range.start.line - b.range.start.line ||
		a.range.start.character - b.range.start.character ||
		a.rule.localeCompare(b.rule) ||
		a.message.localeCompare(b.message)
	);
}

/** One finding per check line: a check of the wrong cache is also unlocked and has the wrong length. */
export function onePerCheckSite(findings: Finding[]): Finding[] {
	const best = new Map<string, number>();
	const rank = (f: Finding) => ruleInfo(f.rule).checkSiteRank ?? -1;
	for (const f of findings) {
		if (rank(f) < 0) continue;
		const key = `${f.file}:${f.range.start.line}`;
		best.set(key, Math.min(best.get(key) ?? Infinity, rank(f)));
	}
	return findings.filter((f) => rank(f) < 0 || best.get(`${f.file}:${f.range.start.line}`) === rank(f));
}

export function dedupe(findings: Finding[]): Finding[] {
	const out: Finding[] = [];
	let last = '';
	for (const f of findings) {
		const key = `${f.file}:${f.range.start.line}:${f.range.start.character}:${f.rule}:${f.message}`;
		if (key !== last) out.push(f);
		last = key;
	}
	return out;
}
