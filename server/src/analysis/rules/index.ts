// The rule registry: every rule's check, in the order the engine runs them.
// What a rule is (severity, summary, page) is data in the catalogue (catalogue.ts).
import type { RuleId } from '../../catalogue';
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
import { gpcDeadUsageFlag } from './gpc-dead-usage-flag';
import type { FunctionRule, SourceRule } from './types';

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

export const SOURCE_RULES: readonly SourceRule[] = [gpcDeadUsageFlag];

/** Rules the engine implements, in the order it registers them (SARIF and `gpcscope rules` list them so); the fixture harness checks exactly these. */
export const IMPLEMENTED_RULES: ReadonlySet<RuleId> = new Set([
	...FUNCTION_RULES.map((r) => r.id),
	...TREE_RULES.map((r) => r.id),
	...SOURCE_RULES.map((r) => r.id),
]);
