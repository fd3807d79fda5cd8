// "Show interleaving": on a finding whose race the simulator can play out,
// a code action that opens the simulator on the function around it.
import type { CodeAction, Diagnostic } from 'vscode-languageserver';
import type { RuleId } from '../analysis/rules/types';

/**
 * Rules about one function's locking and checking: the simulator plays the function out in its
 * calling contexts, and the rule picks the run that shows the finding (the sched-out deadlock,
 * the sleep in atomic context, the stale access).
 */
const RACE_RULES: ReadonlySet<RuleId> = new Set([
	'gpc-use-after-unlock', 'gpc-use-unchecked', 'gpc-check-unlocked', 'gpc-sleep-under-lock',
	'gpc-refresh-in-atomic', 'gpc-lock-imbalance', 'gpc-missing-mark-dirty', 'gpc-lock-in-sched-out',
]);

export function interleavingActions(uri: string, diagnostics: readonly Diagnostic[]): CodeAction[] {
	return diagnostics
		.filter((d) => d.source === 'gpcscope' && RACE_RULES.has(d.code as RuleId))
		.map((d) => ({
			title: `Show interleaving for ${d.code} (gpcscope simulator)`,
			diagnostics: [d],
			command: { title: 'Show interleaving', command: 'gpcscope.showInterleaving', arguments: [uri, d.range.start.line, d.code] },
		}));
}
