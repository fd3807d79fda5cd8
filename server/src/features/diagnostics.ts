// Findings → LSP diagnostics: rule id as `code`, a link to the rule's page,
// related locations, the Unnecessary tag for dead code, and what a quick fix
// needs in `data` (as vscode-eslint does). The publisher sends a folder's
// diagnostics when they change, and an edited document's always.
import { DiagnosticSeverity, DiagnosticTag, type Diagnostic } from 'vscode-languageserver';
import { URI } from 'vscode-uri';
import { join } from 'node:path';
import { UNPARSED_CODE, type Finding, type UnparsedNotice } from '../analysis/findings';
import { ruleInfo, type RuleId } from '../catalogue';
import { packageRoot } from '../packageRoot';
import type { FolderResult, ResultSink } from '../workspace/workspace';
import { fixData } from './findingFixes';

const SEVERITY = {
	error: DiagnosticSeverity.Error,
	warning: DiagnosticSeverity.Warning,
	information: DiagnosticSeverity.Information,
	hint: DiagnosticSeverity.Hint,
} as const;

export function ruleDocUri(rule: RuleId): string {
	return URI.file(join(packageRoot(), ruleInfo(rule).doc)).toString();
}

/** `uriOf` maps a finding's root-relative file to its document URI. */
export function toDiagnostic(f: Finding, uriOf: (file: string) => string): Diagnostic {
	const d: Diagnostic = {
		range: f.range,
		severity: SEVERITY[f.severity],
		code: f.rule,
		codeDescription: { href: ruleDocUri(f.rule) },
		source: 'gpcscope',
		message: f.message,
		relatedInformation: f.related.map((r) => ({ location: { uri: uriOf(r.file), range: r.range }, message: r.message })),
	};
	if (ruleInfo(f.rule).unnecessary) d.tags = [DiagnosticTag.Unnecessary];
	// Code actions are listed from the diagnostic alone, without planning anything (findingFixes.ts).
	if (f.fix) d.data = fixData(f.fix);
	return d;
}

/**
 * gpc code tree-sitter could not parse, once per file, at the first such function's name: a
 * hint (not a finding of the catalogue) so that silence there is not taken for a clean bill.
 */
export function unparsedDiagnostic(n: UnparsedNotice): Diagnostic {
	return {
		range: n.range,
		severity: DiagnosticSeverity.Hint,
		code: UNPARSED_CODE,
		codeDescription: { href: URI.file(join(packageRoot(), 'docs', 'decisions.md')).toString() },
		source: 'gpcscope',
		message: n.message,
	};
}

/** Publishes each folder's results: only the documents whose diagnostics changed, and every edited one. */
export class DiagnosticsPublisher implements ResultSink {
	/** Per folder: the diagnostics last sent per URI, as JSON. */
	private readonly published = new Map<string, Map<string, string>>();
	/** Documents changed since their diagnostics were last published: they are sent even if unchanged. */
	private readonly edited = new Set<string>();

	constructor(private readonly send: (uri: string, diagnostics: Diagnostic[]) => void) {}

	touched(uri: string): void {
		this.edited.add(uri);
	}

	closed(uri: string): void {
		this.edited.delete(uri);
	}

	clear(uri: string): void {
		this.send(uri, []);
	}

	analysed({ root, result, uriOf, holds }: FolderResult): void {
		const before = this.published.get(root) ?? new Map<string, string>();
		const byUri = new Map<string, Diagnostic[]>();
		for (const f of result.findings) {
			const uri = uriOf(f.file);
			if (!byUri.has(uri)) byUri.set(uri, []);
			byUri.get(uri)!.push(toDiagnostic(f, uriOf));
		}
		for (const n of result.unparsed) {
			const uri = uriOf(n.file);
			if (!byUri.has(uri)) byUri.set(uri, []);
			byUri.get(uri)!.push(unparsedDiagnostic(n));
		}
		const next = new Map<string, string>();
		for (const [uri, diagnostics] of byUri) {
			const key = JSON.stringify(diagnostics);
			next.set(uri, key);
			if (before.get(uri) !== key || this.edited.has(uri)) this.send(uri, diagnostics);
		}
		for (const uri of before.keys()) if (!byUri.has(uri)) this.send(uri, []);
		// An edited document hears back even when nothing changed: its diagnostics are current.
		for (const uri of this.edited) {
			if (holds(uri) && !byUri.has(uri) && !before.has(uri)) this.send(uri, []);
		}
		for (const uri of [...this.edited]) if (holds(uri)) this.edited.delete(uri);
		this.published.set(root, next);
	}
}
