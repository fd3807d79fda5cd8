// What a whole-tree plan amounts to: nothing to do, a refusal (with why), or the
// new file contents. The fix command and the editor's tree-wide action say the same.
import { usageCensusExplanation } from './explain';
import { renderPlan, type FileChange } from './diff';
import type { Refusal, UsagePlan } from './plan';
import { USAGE_TEXT } from '../vocabulary';

export type Outcome =
	| { kind: 'nothing'; message: string }
	| { kind: 'refused'; refusals: Refusal[]; explanation?: string }
	| { kind: 'changes'; changes: FileChange[] };

/** What a plan amounts to for the whole tree: nothing to do, a refusal, or the new file contents. */
export function outcomeOf(plan: UsagePlan): Outcome {
	const census = plan.census;
	if (!census.usageEnum) return { kind: 'nothing', message: 'no enum pfn_cache_usage in the tree: no usage flags to remove' };
	if (!census.dead) {
		const at = census.guest[0] ?? census.unknown[0];
		return {
			kind: 'refused',
			refusals: [{ file: at.file, line: at.line, message: census.guest.length ? 'passes KVM_GUEST_USES_PFN: the usage flags are live' : `cannot evaluate the usage value \`${at.value}\`` }],
			explanation: plainText(usageCensusExplanation(census)),
		};
	}
	if (plan.refusals.length) return { kind: 'refused', refusals: plan.refusals };
	const { changes, conflicts } = renderPlan(plan);
	const leftovers = changes.flatMap((c) => leftoverMentions(c));
	if (conflicts.length || leftovers.length) return { kind: 'refused', refusals: [...conflicts, ...leftovers] };
	if (!changes.length) return { kind: 'nothing', message: 'the usage flags are already gone' };
	return { kind: 'changes', changes };
}

/** Code (not comments) that still names the machinery after the rewrite. */
function leftoverMentions(c: FileChange): Refusal[] {
	const code = c.after.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, (m) => m.replace(/[^\n]/g, ' '));
	const out: Refusal[] = [];
	code.split('\n').forEach((line, i) => {
		if (USAGE_TEXT.test(line)) out.push({ file: c.file, line: i, message: 'the rewritten file still names the usage machinery here' });
	});
	return out;
}

function plainText(markdown: string): string {
	return markdown.replace(/\*\*|`|\*/g, '');
}
