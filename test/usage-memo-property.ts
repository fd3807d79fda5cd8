// The usage plan memo's property, shared by the unit and kernel tiers: a plan
// that reuses the parts of earlier plans (per file, and per function within a
// file) equals a fresh plan, findings and the whole-tree rewrite alike, after
// each random edit of the usage files.
import { expect } from 'vitest';
import type { Parser } from 'web-tree-sitter';
import type { ApiEra } from '../server/src/analysis/api';
import type { FileFacts } from '../server/src/analysis/facts';
import { ParsedFiles, type FileSource } from '../server/src/usage/files';
import { gpcDeadUsageFlag } from '../server/src/analysis/rules/gpc-dead-usage-flag';
import type { Finding } from '../server/src/analysis/findings';
import { UsagePlanMemo } from '../server/src/usage/memo';
import { planUsageRemoval, type PlanOptions } from '../server/src/usage/plan';

/** Lines an edit inserts: ones that move code, and ones that change the census, the bodies' decisions or the signatures. */
const INSERTS = [
	'\tint gpcscope_local = 0;',
	'\tgpc->usage = KVM_HOST_USES_PFN;',
	'\tif (gpc->usage & KVM_GUEST_USES_PFN)',
	'\t\tkvm_make_request(KVM_REQ_OUTSIDE_GUEST_MODE, vcpu);',
	'\tkvm_gpc_init(gpc, kvm, NULL, KVM_HOST_USES_PFN);',
	'\tkvm_gpc_init(gpc, kvm, vcpu, KVM_GUEST_USES_PFN);',
	'\tWARN_ON_ONCE(usage & KVM_GUEST_USES_PFN);',
	'\tbool evict_vcpus = false;',
	'enum pfn_cache_usage { KVM_GUEST_USES_PFN = 1, KVM_HOST_USES_PFN = 2 };',
	'int kvm_gpc_activate(struct gfn_to_pfn_cache *gpc, struct kvm_vcpu *vcpu, enum pfn_cache_usage usage, gpa_t gpa, unsigned long len);',
	'\tstruct kvm_vcpu *vcpu;',
	'static void helper(struct kvm *kvm, bool may_block) { }',
	'\t{',
	'\t}',
	'',
];

/** One random line edit: insert, delete or duplicate a line, or undo to the original text. */
function edit(text: string, original: string, rand: () => number): string {
	const lines = text.split('\n');
	const at = Math.floor(rand() * lines.length);
	const kind = Math.floor(rand() * 5);
	if (kind <= 1) lines.splice(at, 0, INSERTS[Math.floor(rand() * INSERTS.length)]);
	else if (kind === 2) lines.splice(at, 1);
	else if (kind === 3) lines.splice(at, 0, lines[at]);
	else return original;
	return lines.join('\n');
}

/** Everything a plan says, as one string. */
function comparable(parser: Parser, sources: FileSource[], options: PlanOptions): string {
	const files = new ParsedFiles(parser);
	try {
		const plan = planUsageRemoval(files, sources, options);
		const maps = (_: string, v: unknown) => (v instanceof Map ? [...v] : v instanceof Set ? [...v] : v);
		return JSON.stringify({ ...plan, texts: [...plan.texts.keys()] }, maps);
	} finally {
		files.dispose();
	}
}

/**
 * Compares memoised and fresh plans of `originals` (file → text) before any edit and
 * after each of `steps` random edits of the files in `editable`.
 */
export function expectUsageMemoMatchesFresh(
	parser: Parser, originals: ReadonlyMap<string, string>, editable: readonly string[],
	options: { steps: number; rand: () => number; era: ApiEra; label: string },
): void {
	const texts = new Map(originals);
	const sources = () => [...texts.keys()].map((file) => ({ file, read: () => texts.get(file)! }));
	const grep = (names: string[]) => sources().filter((s) => new RegExp(`\\b(?:${names.join('|')})\\b`).test(s.read()));
	const facts = [{ hasUsageEnum: true }] as FileFacts[];
	const findingsMode: PlanOptions = { era: options.era, reportsOnly: true };
	const rewriteMode: PlanOptions = { era: options.era, grep };
	const memos = { findings: new UsagePlanMemo(), rewrite: new UsagePlanMemo() };
	// The rule as the engine runs it: one checker across the edits (its plan memo), against a fresh one each step.
	const engineRule = gpcDeadUsageFlag.create(parser);
	const findings = (checker: typeof engineRule) => {
		const out: Omit<Finding, 'severity'>[] = [];
		const notes = checker.check({ sources: sources(), facts, era: options.era, report: (file, range, message, fix) => out.push({ rule: 'gpc-dead-usage-flag', file, range, message, related: [], fix }) });
		return { out, notes };
	};
	for (let step = 0; step <= options.steps; step++) {
		if (step) {
			const file = editable[Math.floor(options.rand() * editable.length)];
			texts.set(file, edit(texts.get(file)!, originals.get(file)!, options.rand));
		}
		const at = `${options.label} step ${step}`;
		expect(comparable(parser, sources(), { ...findingsMode, memo: memos.findings }), at).toBe(comparable(parser, sources(), findingsMode));
		expect(comparable(parser, sources(), { ...rewriteMode, memo: memos.rewrite }), at).toBe(comparable(parser, sources(), rewriteMode));
		expect(findings(engineRule), at).toEqual(findings(gpcDeadUsageFlag.create(parser)));
	}
}
