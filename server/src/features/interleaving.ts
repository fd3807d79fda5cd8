// "Show interleaving": on a finding the simulator can play out (the catalogue's
// `interleaving` rules), a code action that opens the simulator on the function
// around it, on the run the finding's rule asks for.
import type { CodeAction, Diagnostic } from 'vscode-languageserver';
import { RULES, type RuleId } from '../catalogue';

export function interleavingActions(uri: string, diagnostics: readonly Diagnostic[]): CodeAction[] {
	return diagnostics
		.filter((d) => d.source === 'gpcscope' && RULES.get(d.code as RuleId)?.interleaving)
		.map((d) => ({
			title: `Show interleaving for ${d.code} (gpcscope simulator)`,
			diagnostics: [d],
			command: { title: 'Show interleaving', command: 'gpcscope.showInterleaving', arguments: [uri, d.range.start.line, d.code] },
		}));
}
