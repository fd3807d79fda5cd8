// Quick fixes that ride on the diagnostic: a finding with a fix carries it as
// the diagnostic's `data` (one shape for every rule), so listing code actions
// re-derives nothing. gpc-lock-in-sched-out's fix has its edits (upstream's
// trylock shape) and the code action replays them; gpc-dead-usage-flag's has
// only its title, its edit being the whole-tree plan (codeActions.ts). A client
// that does not return `data` gets the fix of the same finding in the latest result.
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

/** The fix a gpcscope diagnostic carries, else (a client that dropped `data`) that of the same finding in `result`. */
export function fixOf(d: Diagnostic, file: string, result: EngineResult | undefined): Fix | undefined {
	const data = d.data as Partial<FixData> | undefined;
	if (data?.gpcscope === 'fix' && data.fix && typeof data.fix.title === 'string' && Array.isArray(data.fix.edits)) return data.fix;
	return result?.findings.find((f) => f.file === file && f.rule === d.code && f.range.start.line === d.range.start.line && f.message === d.message)?.fix;
}

/** Quick fixes whose edits the finding carries (gpc-lock-in-sched-out's rewrite). */
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
