// Quick fixes that ride on the diagnostic: a finding whose rule computed a
// rewrite (gpc-lock-in-sched-out's upstream trylock shape) carries it as the
// diagnostic's `data`, and the code action replays it. A client that does not
// return `data` gets the fix of the same finding in the latest result.
import { CodeActionKind, type CodeAction, type Diagnostic, type WorkspaceEdit } from 'vscode-languageserver';
import type { EngineResult } from '../analysis/engine';
import type { Fix } from '../analysis/findings';

/** What a diagnostic's `data` holds when its finding has a fix. */
export interface FixData {
	gpcscope: 'fix';
	fix: Fix;
}

export function fixData(fix: Fix): FixData {
	return { gpcscope: 'fix', fix };
}

function fixOf(d: Diagnostic, file: string, result: EngineResult | undefined): Fix | undefined {
	const data = d.data as Partial<FixData> | undefined;
	if (data?.gpcscope === 'fix' && data.fix && Array.isArray(data.fix.edits)) return data.fix;
	return result?.findings.find((f) => f.file === file && f.rule === d.code && f.range.start.line === d.range.start.line && f.message === d.message)?.fix;
}

export function findingFixActions(uri: string, diagnostics: readonly Diagnostic[], file: string, result: EngineResult | undefined): CodeAction[] {
	const out: CodeAction[] = [];
	for (const d of diagnostics) {
		if (d.source !== 'gpcscope') continue;
		const fix = fixOf(d, file, result);
		if (!fix?.edits.length) continue;
		const edit: WorkspaceEdit = { changes: { [uri]: fix.edits.map((e) => ({ range: e.range, newText: e.newText })) } };
		out.push({ title: `${fix.title} (gpcscope)`, kind: CodeActionKind.QuickFix, diagnostics: [d], isPreferred: true, edit });
	}
	return out;
}
