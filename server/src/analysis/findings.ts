// A finding as the engine reports it; 0-based positions, paths relative to the root.
import type { RuleId, Severity } from '../catalogue';
import type { Range } from '../parse/positions';

export type { Position, Range } from '../parse/positions';

export interface RelatedLocation {
	file: string;
	range: Range;
	message: string;
}

export interface Finding {
	rule: RuleId;
	severity: Severity;
	file: string;
	range: Range;
	message: string;
	related: RelatedLocation[];
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
