// The usage plan's memo: a plan that reuses the parts of earlier plans (per
// file, and per function within a file) equals a fresh plan, findings and
// the whole-tree rewrite alike, after each random edit of the usage files of
// the demo tree and of every gpc-dead-usage-flag fixture tree.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Parser } from 'web-tree-sitter';
import type { FileFacts } from '../../server/src/analysis/facts';
import { createCParser } from '../../server/src/parse/parser';
import { ParsedFiles, type FileSource } from '../../server/src/usage/files';
import { deadUsageFindings } from '../../server/src/usage/findings';
import { UsagePlanMemo } from '../../server/src/usage/memo';
import { planUsageRemoval, type PlanOptions } from '../../server/src/usage/plan';
import { USAGE_TEXT } from '../../server/src/usage/syntax';
import { FIXTURES } from '../helpers';
import { random } from '../memo-property';

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

function treeFiles(dir: string): string[] {
	return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => /\.[ch]$/.test(f) && statSync(join(dir, f)).isFile()).sort();
}

function trees(): string[] {
	const root = join(FIXTURES, 'gpc-dead-usage-flag');
	const out = [join(FIXTURES, '..', '..', 'examples', 'demo-kernel')];
	for (const kind of ['bad', 'good']) for (const t of readdirSync(join(root, kind))) out.push(join(root, kind, t));
	for (const t of readdirSync(join(root, 'fix'))) out.push(join(root, 'fix', t, 'before'));
	return out;
}

/** Everything a plan says, as one string. */
function comparable(files: ParsedFiles, sources: FileSource[], options: PlanOptions): string {
	try {
		const plan = planUsageRemoval(files, sources, options);
		const maps = (_: string, v: unknown) => (v instanceof Map ? [...v] : v instanceof Set ? [...v] : v);
		return JSON.stringify({ ...plan, texts: [...plan.texts.keys()] }, maps);
	} finally {
		files.dispose();
	}
}

let parser: Parser;
beforeAll(async () => {
	parser = await createCParser();
});

describe('usage plan memo', () => {
	it('equals a fresh plan after each random edit of the demo tree and of every fixture tree', () => {
		const rand = random(23);
		const facts = [{ hasUsageEnum: true }] as FileFacts[];
		let steps = 0;
		for (const dir of trees()) {
			const originals = new Map(treeFiles(dir).map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
			const editable = [...originals].filter(([, t]) => USAGE_TEXT.test(t) || /kvm_gpc_|gfn_to_pfn_cache/.test(t)).map(([f]) => f);
			const texts = new Map(originals);
			const sources = () => [...texts.keys()].map((file) => ({ file, read: () => texts.get(file)! }));
			const grep = (names: string[]) => sources().filter((s) => new RegExp(`\\b(?:${names.join('|')})\\b`).test(s.read()));
			const era = dir.includes('6.1') ? '6.1' : '6.2-6.8';
			const memos = { findings: new UsagePlanMemo(), rewrite: new UsagePlanMemo(), engine: new UsagePlanMemo() };
			for (let step = 0; step < 14; step++) {
				if (step) {
					const file = editable[Math.floor(rand() * editable.length)];
					texts.set(file, edit(texts.get(file)!, originals.get(file)!, rand));
				}
				const at = `${dir} step ${step}`;
				const findingsMode: PlanOptions = { era, reportsOnly: true };
				const rewriteMode: PlanOptions = { era, grep };
				expect(comparable(new ParsedFiles(parser), sources(), { ...findingsMode, memo: memos.findings }), at)
					.toBe(comparable(new ParsedFiles(parser), sources(), findingsMode));
				expect(comparable(new ParsedFiles(parser), sources(), { ...rewriteMode, memo: memos.rewrite }), at)
					.toBe(comparable(new ParsedFiles(parser), sources(), rewriteMode));
				expect(deadUsageFindings(sources(), facts, era, parser, 'hint', memos.engine), at).toEqual(deadUsageFindings(sources(), facts, era, parser, 'hint'));
				steps++;
			}
		}
		expect(steps).toBe(trees().length * 14);
	}, 180_000);
});
