// A finding as the engine reports it; 0-based positions, paths relative to the root.
import type { RuleId, Severity } from './rules/types';

export interface Position {
	line: number;
	character: number;
}

export interface Range {
	start: Position;
	end: Position;
}

export interface RelatedLocation {
	file: string;
	range: Range;
	message: string;
}

/** A rewrite that removes a finding, in the finding's file (a code action, `gpcscope fix`). */
export interface Fix {
	title: string;
	/** Empty when the rule computes the rewrite as the action is applied (the usage flags' tree-wide one). */
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
