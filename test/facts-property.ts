// Pass-1 facts after an edit inside one function (index/incremental.ts editedFacts), shared
// by the unit and kernel tiers: whenever the splice applies it equals extracting the whole
// edited file, and on real files it applies to most edits inside function bodies.
import { expect } from 'vitest';
import type { Parser } from 'web-tree-sitter';
import { extractFacts } from '../server/src/analysis/facts';
import { editedFacts } from '../server/src/index/incremental';
import { random } from './memo-property';

/** Lines an edit inserts: neutral ones, gpc calls and locks, calls to the file's functions, names of them, an unbalanced brace. */
const INSERTS = [
	'\tint gpcscope_local = 0;',
	'\tmutex_lock(&kvm->lock);',
	'\tread_lock(&gpc->lock);',
	'\tif (!kvm_gpc_check(gpc, PAGE_SIZE))',
	'\tkvm_gpc_refresh(gpc, PAGE_SIZE);',
	'\tkvm_gpc_init(gpc, KVM_HOST_USES_PFN);',
	'\tlist_for_each_entry(pos, head, member)',
	// A gpc user of one of the demo files named outside a call makes it address-taken (a file-wide fact).
	'\tcb = kvm_setup_guest_pvclock;',
	'\tcb = kvm_xen_set_evtchn_fast;',
	'\tcb = hva_to_pfn_retry;',
	// A hard-IRQ entry point registered (another file-wide fact).
	'\tvx->timer.function = xen_timer_callback;',
	'\thrtimer_init(&vcpu->arch.xen.timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_HARD);',
	'\t}',
	'\t{',
	'',
];

/**
 * Runs `steps` random line edits, each applied to the previous text (after one that left a
 * parse error, the next is typed nearby, as when finishing a statement; once errors spread,
 * the walk starts again from `text`); returns how many the splice took, and how many of those
 * with an error in the file.
 */
export function expectEditedFactsMatch(parser: Parser, file: string, text: string, options: { steps: number; seed: number }): { spliced: number; declined: number; withErrors: number } {
	const rand = random(options.seed);
	let oldText = text;
	let tree = parser.parse(oldText)!;
	let oldFacts = extractFacts(file, tree);
	tree.delete();
	const oldTree = () => {
		const t = parser.parse(oldText)!;
		oldFacts = extractFacts(file, t);
		t.delete();
	};
	let spliced = 0;
	let declined = 0;
	let withErrors = 0;
	let near: number | undefined;
	for (let step = 0; step < options.steps; step++) {
		const lines = oldText.split('\n');
		// Mostly inside function bodies (indented lines), as a developer types.
		let at = near !== undefined ? Math.max(0, Math.min(lines.length - 1, near + Math.floor(rand() * 5) - 2)) : Math.floor(rand() * lines.length);
		for (let tries = 0; tries < 20 && !lines[at].startsWith('\t'); tries++) at = Math.floor(rand() * lines.length);
		const kind = Math.floor(rand() * 3);
		if (kind === 0) lines.splice(at, 0, INSERTS[Math.floor(rand() * INSERTS.length)]);
		else if (kind === 1) lines.splice(at, 1);
		else lines[at] = lines[at].replace(/\w+/, 'gpcscope_word');
		const newText = lines.join('\n');
		tree = parser.parse(newText)!;
		try {
			const fresh = extractFacts(file, tree);
			const fast = editedFacts(file, oldText, oldFacts, newText, tree);
			if (fast) {
				spliced++;
				if (fresh.errorNodes || tree.rootNode.hasError) withErrors++;
				expect(JSON.stringify(fast), `step ${step}: line ${at + 1}`).toBe(JSON.stringify(fresh));
			} else declined++;
			// One edit nearby may finish what left an error; if it does not, start again.
			const stillBroken = tree.rootNode.hasError && near !== undefined;
			near = tree.rootNode.hasError && !stillBroken ? at : undefined;
			if (stillBroken) {
				oldText = text;
				oldTree();
			} else {
				oldText = newText;
				// The spliced facts, when there are some: they carry what the next edit checks.
				oldFacts = fast ?? fresh;
			}
		} finally {
			tree.delete();
		}
	}
	return { spliced, declined, withErrors };
}
