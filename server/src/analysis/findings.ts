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

export function compareFindings(a: Finding, b: Finding): number {
	return (
		a.file.localeCompare(b.file) ||
		a.range.start.line - b.range.start.line ||
		a.range.start.character - b.range.start.character ||
		a.rule.localeCompare(b.rule) ||
		a.message.localeCompare(b.message)
	);
}
