// Findings → LSP diagnostics: rule id as `code`, a link to the rule's page,
// related locations, and the Unnecessary tag for dead code.
import { DiagnosticSeverity, DiagnosticTag, type Diagnostic } from 'vscode-languageserver';
import { URI } from 'vscode-uri';
import { join } from 'node:path';
import { UNPARSED_CODE, type Finding, type UnparsedNotice } from '../analysis/findings';
import { RULES } from '../analysis/rules';
import { packageRoot } from '../packageRoot';
import { fixData } from './findingFixes';

const SEVERITY = {
	error: DiagnosticSeverity.Error,
	warning: DiagnosticSeverity.Warning,
	information: DiagnosticSeverity.Information,
	hint: DiagnosticSeverity.Hint,
} as const;

export function ruleDocUri(rule: string): string {
	return URI.file(join(packageRoot(), 'docs', 'rules', `${rule}.md`)).toString();
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
	if (RULES.get(f.rule)?.unnecessary) d.tags = [DiagnosticTag.Unnecessary];
	// Code actions are listed from the diagnostic alone, without planning anything.
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
