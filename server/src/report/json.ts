// The JSON report of DESIGN.md §6 (version 1); positions are 1-based.
import type { EngineResult } from '../analysis/engine';
import type { Finding } from '../analysis/findings';

export interface JsonDiagnostic {
	file: string;
	line: number;
	column: number;
	endLine: number;
	endColumn: number;
	rule: string;
	severity: string;
	message: string;
	related: { file: string; line: number; message: string }[];
}

export interface JsonReport {
	version: 1;
	root: string;
	apiEra: string;
	diagnostics: JsonDiagnostic[];
	stats: Record<string, number | string>;
}

export function toJsonDiagnostic(f: Finding): JsonDiagnostic {
	return {
		file: f.file,
		line: f.range.start.line + 1,
		column: f.range.start.character + 1,
		endLine: f.range.end.line + 1,
		endColumn: f.range.end.character + 1,
		rule: f.rule,
		severity: f.severity,
		message: f.message,
		related: f.related.map((r) => ({ file: r.file, line: r.range.start.line + 1, message: r.message })),
	};
}

export function formatJson(root: string, result: EngineResult, stats: Record<string, number | string>): string {
	const report: JsonReport = {
		version: 1,
		root,
		apiEra: result.era.era,
		diagnostics: result.findings.map(toJsonDiagnostic),
		stats,
	};
	return JSON.stringify(report, null, 2) + '\n';
}
