// The contract between the engine and one rule.
import type { SyntaxNode } from '../../parse/parser';
import type { ApiEra } from '../api';
import type { Fix } from '../findings';
import type { Observation } from '../observations';

export const RULE_IDS = [
	'gpc-check-unlocked',
	'gpc-use-after-unlock',
	'gpc-use-unchecked',
	'gpc-sleep-under-lock',
	'gpc-lock-imbalance',
	'gpc-refresh-in-atomic',
	'gpc-use-before-activate',
	'gpc-missing-deactivate',
	'gpc-missing-mark-dirty',
	'gpc-len-mismatch',
	'gpc-dead-usage-flag',
	'gpc-lock-in-sched-out',
	'gpc-lock-in-hardirq',
] as const;
export type RuleId = (typeof RULE_IDS)[number];

export type Severity = 'error' | 'warning' | 'information' | 'hint';

export interface RuleMeta {
	id: RuleId;
	severity: Severity;
	summary: string;
	/** Reported where the code is unused (the editor fades it). */
	unnecessary?: boolean;
	/** Reader rules do not apply to the cache's implementation (virt/kvm/pfncache.c). */
	readerOnly: boolean;
	/** Runs only with this engine option on (`gpc-lock-in-hardirq`: `preemptRt`). */
	requires?: 'preemptRt';
}

export type Related =
	| {
			node: SyntaxNode;
			message: string;
			/** Another file than the finding's, relative to the root. */
			file?: string;
	  }
	/** A place known by its row only (a call site of a calling context's chain, in another function). */
	| { line: number; file: string; message: string };

export interface FunctionRuleContext {
	file: string;
	era: ApiEra;
	functionName: string;
	report(node: SyntaxNode, message: string, related?: Related[], fix?: Fix): void;
	/** The function is annotated `__acquires(...)`: returning with the lock held is its contract. */
	acquiresLock: boolean;
	/** The tree has kvm_gpc_mark_dirty_in_slot(): mark-dirty before unlock is the contract. */
	hasMarkDirtyHelper: boolean;
	/** Why writes through this instance need no mark-dirty, if they need none. */
	dirtyExemption(instance: string): string | undefined;
}

export interface FunctionRule {
	meta: RuleMeta;
	/** One checker per analysed function: observations arrive in replay order. */
	create(ctx: FunctionRuleContext): { observe(o: Observation): void; finish?(): void };
}
