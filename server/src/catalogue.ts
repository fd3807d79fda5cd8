// The rule catalogue: every rule's id, default severity, one-line summary and
// page, as data. The engine, the LSP features, the reports, the CLI and the
// extension read it (the extension through protocol.ts); package.json's
// `gpcscope.rules` settings are checked against it by test/unit/settings.test.ts.
// No imports: the extension bundles this file.

export type Severity = 'error' | 'warning' | 'information' | 'hint';

export interface RuleInfo {
	id: string;
	severity: Severity;
	summary: string;
	/** The rule's page, relative to the package root. */
	doc: string;
	/** Reported where the code is unused (the editor fades it). */
	unnecessary?: boolean;
	/** Reader rules do not apply to the cache's implementation (virt/kvm/pfncache.c). */
	readerOnly: boolean;
	/**
	 * About one function's locking and checking: the simulator plays the function out in its
	 * calling contexts, and the rule picks the run that shows the finding (the sched-out
	 * deadlock, the sleep in atomic context, the stale access).
	 */
	interleaving?: boolean;
	/**
	 * Rules that can all fire on one check call rank here (lowest first); only the first
	 * of them is reported at a check line, it explains the others.
	 */
	checkSiteRank?: number;
	/** Runs only with this engine option on (`gpc-lock-in-hardirq`: `preemptRt`). */
	requires?: 'preemptRt';
}

/** In the order of DESIGN.md §2. */
export const RULE_CATALOGUE = [
	{
		id: 'gpc-check-unlocked',
		severity: 'error',
		summary: 'kvm_gpc_check() without the cache\'s lock held',
		doc: 'docs/rules/gpc-check-unlocked.md',
		readerOnly: true,
		interleaving: true,
		checkSiteRank: 1,
	},
	{
		id: 'gpc-use-after-unlock',
		severity: 'error',
		summary: 'khva/pfn, or the memslot/gpa/uhva/generation fields, used after the lock that validated them was dropped',
		doc: 'docs/rules/gpc-use-after-unlock.md',
		readerOnly: true,
		interleaving: true,
	},
	{
		id: 'gpc-use-unchecked',
		severity: 'error',
		summary: 'khva/pfn used without a successful kvm_gpc_check() under the current lock hold',
		doc: 'docs/rules/gpc-use-unchecked.md',
		readerOnly: true,
		interleaving: true,
		checkSiteRank: 0,
	},
	{
		id: 'gpc-sleep-under-lock',
		severity: 'error',
		summary: 'a call that may sleep while a gpc lock is held',
		doc: 'docs/rules/gpc-sleep-under-lock.md',
		readerOnly: false,
		interleaving: true,
	},
	{
		id: 'gpc-lock-imbalance',
		severity: 'error',
		summary: 'gpc lock leaked on a path, released twice or without being taken, or released with the wrong variant',
		doc: 'docs/rules/gpc-lock-imbalance.md',
		readerOnly: false,
		interleaving: true,
	},
	{
		id: 'gpc-refresh-in-atomic',
		severity: 'error',
		summary: 'refresh or activate reachable on an atomic path',
		doc: 'docs/rules/gpc-refresh-in-atomic.md',
		readerOnly: true,
		interleaving: true,
	},
	{
		id: 'gpc-use-before-activate',
		severity: 'warning',
		summary: 'check or use of a cache that on some path was never activated, or was deactivated',
		doc: 'docs/rules/gpc-use-before-activate.md',
		readerOnly: true,
		checkSiteRank: 2,
	},
	{
		id: 'gpc-missing-deactivate',
		severity: 'warning',
		summary: 'a cache activated but never deactivated in its owner\'s teardown',
		doc: 'docs/rules/gpc-missing-deactivate.md',
		readerOnly: true,
	},
	{
		id: 'gpc-missing-mark-dirty',
		severity: 'warning',
		summary: 'guest memory written through khva without marking it dirty',
		doc: 'docs/rules/gpc-missing-mark-dirty.md',
		readerOnly: true,
		interleaving: true,
	},
	{
		id: 'gpc-len-mismatch',
		severity: 'warning',
		summary: 'check/refresh length differs from the other checks or from the activation',
		doc: 'docs/rules/gpc-len-mismatch.md',
		readerOnly: true,
		checkSiteRank: 3,
	},
	{
		id: 'gpc-dead-usage-flag',
		severity: 'hint',
		summary: 'usage argument, field or enum that no caller in the tree needs (no KVM_GUEST_USES_PFN)',
		doc: 'docs/rules/gpc-dead-usage-flag.md',
		unnecessary: true,
		readerOnly: false,
	},
	{
		id: 'gpc-lock-in-sched-out',
		severity: 'error',
		summary: 'a gpc lock taken with a blocking primitive on a path the sched-out preempt notifier reaches (runqueue lock held)',
		doc: 'docs/rules/gpc-lock-in-sched-out.md',
		readerOnly: true,
		interleaving: true,
	},
	{
		id: 'gpc-lock-in-hardirq',
		severity: 'error',
		summary: 'a non-try gpc lock reachable from hard-IRQ context, where PREEMPT_RT\'s rwlock_t would sleep (with --preempt-rt)',
		doc: 'docs/rules/gpc-lock-in-hardirq.md',
		readerOnly: true,
		requires: 'preemptRt',
	},
] as const satisfies readonly RuleInfo[];

export type RuleId = (typeof RULE_CATALOGUE)[number]['id'];

export const RULE_IDS: readonly RuleId[] = RULE_CATALOGUE.map((r) => r.id);

/** Catalogue entries by id. */
export const RULES: ReadonlyMap<RuleId, RuleInfo & { id: RuleId }> = new Map(RULE_CATALOGUE.map((r) => [r.id, r]));

export function ruleInfo(id: RuleId): RuleInfo & { id: RuleId } {
	return RULES.get(id)!;
}
