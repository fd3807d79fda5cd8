// "Show interleaving": on a finding whose race the simulator can play out,
// a code action that opens the simulator on the function around it.
import type { CodeAction, Diagnostic } from 'vscode-languageserver';
import type { RuleId } from '../analysis/rules/types';

/** Rules about one reader's locking and checking: the simulator can replay them against an invalidation. */
const RACE_RULES: ReadonlySet<RuleId> = new Set([
	'gpc-use-after-unlock', 'gpc-use-unchecked', 'gpc-check-unlocked', 'gpc-sleep-under-lock',
	'gpc-refresh-in-atomic', 'gpc-lock-imbalance', 'gpc-missing-mark-dirty',
]);

export function interleavingActions(uri: string, diagnostics: readonly Diagnostic[]): CodeAction[] {
	return diagnostics
		.filter((d) => d.source === 'gpcscope' && RACE_RULES.has(d.code as RuleId))
		.map((d) => ({
			title: `Show interleaving for ${d.code} (gpcscope simulator)`,
			diagnostics: [d],
			command: { title: 'Show interleaving', command: 'gpcscope.showInterleaving', arguments: [uri, d.range.start.line] },
		}));
}
