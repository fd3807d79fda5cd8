// Findings → LSP diagnostics: rule id as `code`, a link to the rule's page,
// related locations, and the Unnecessary tag for dead code.
import { DiagnosticSeverity, DiagnosticTag, type Diagnostic } from 'vscode-languageserver';
import { URI } from 'vscode-uri';
import { join } from 'node:path';
import type { Finding } from '../analysis/findings';
import { ruleInfo, type RuleId } from '../catalogue';
import { packageRoot } from '../packageRoot';

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
	return d;
}
