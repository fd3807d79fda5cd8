// Every rule of the catalogue, in catalogue order.
import { gpcCheckUnlocked } from './gpc-check-unlocked';
import { gpcLenMismatch, gpcLenMismatchTree } from './gpc-len-mismatch';
import { gpcLockImbalance } from './gpc-lock-imbalance';
import { gpcMissingMarkDirty } from './gpc-missing-mark-dirty';
import { gpcRefreshInAtomic } from './gpc-refresh-in-atomic';
import { gpcSleepUnderLock } from './gpc-sleep-under-lock';
import { gpcUseAfterUnlock } from './gpc-use-after-unlock';
import { gpcUseBeforeActivate, gpcUseBeforeActivateTree } from './gpc-use-before-activate';
import { gpcUseUnchecked } from './gpc-use-unchecked';
import { gpcMissingDeactivate } from './gpc-missing-deactivate';
import { gpcLockInSchedOut } from './gpc-lock-in-sched-out';
import { gpcLockInHardirq } from './gpc-lock-in-hardirq';
import type { FunctionRule, RuleId, RuleMeta } from './types';

export const FUNCTION_RULES: readonly FunctionRule[] = [
	gpcCheckUnlocked,
	gpcUseAfterUnlock,
	gpcUseUnchecked,
	gpcSleepUnderLock,
	gpcLockImbalance,
	gpcRefreshInAtomic,
	gpcUseBeforeActivate,
	gpcMissingMarkDirty,
	gpcLenMismatch,
	gpcLockInSchedOut,
	gpcLockInHardirq,
];

export const TREE_RULES = [gpcMissingDeactivate, gpcLenMismatchTree, gpcUseBeforeActivateTree] as const;

const DEAD_USAGE_FLAG: RuleMeta = {
	id: 'gpc-dead-usage-flag',
	severity: 'hint',
	summary: 'usage argument, field or enum that no caller in the tree needs (no KVM_GUEST_USES_PFN)',
	unnecessary: true,
	readerOnly: false,
};

export const RULES: ReadonlyMap<RuleId, RuleMeta> = new Map(
	[...FUNCTION_RULES.map((r) => r.meta), ...TREE_RULES.map((r) => r.meta), DEAD_USAGE_FLAG].map((m) => [m.id, m]),
);

/** Rules the engine implements today; the fixture harness checks exactly these. */
export const IMPLEMENTED_RULES: ReadonlySet<RuleId> = new Set([
	...FUNCTION_RULES.map((r) => r.meta.id),
	...TREE_RULES.map((r) => r.meta.id),
	DEAD_USAGE_FLAG.id,
]);
