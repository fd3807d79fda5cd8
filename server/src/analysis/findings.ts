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
