// gpc-dead-usage-flag pieces: the census and its wording, the hover
// explanation, the condition folding, and the kernel layout of re-flowed lists.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Parser } from 'web-tree-sitter';
import { createCParser, type SyntaxNode } from '../../server/src/parse/parser';
import { usageCensusExplanation } from '../../server/src/usage/explain';
import { evaluate, type EvalEnv } from '../../server/src/usage/evaluate';
import { relayoutList, render } from '../../server/src/usage/layout';
import { analyzePath, FIXTURES } from '../helpers';

const TREES = join(FIXTURES, 'gpc-dead-usage-flag');
let parser: Parser;
beforeAll(async () => {
	parser = await createCParser();
});

describe('census', () => {
	it('counts every usage argument and names the count in each message', async () => {
		const result = await analyzePath(join(TREES, 'bad', 'no-guest-user-6.2'));
		const census = result.notes.usageCensus!;
		expect(census.dead).toBe(true);
		expect(census.sites.map((s) => `${s.file}:${s.line + 1}`)).toEqual([
			'arch/x86/kvm/x86.c:7', 'arch/x86/kvm/xen.c:11', 'arch/x86/kvm/xen.c:17',
		]);
		const messages = result.findings.filter((f) => f.rule === 'gpc-dead-usage-flag').map((f) => f.message);
		expect(messages.length).toBeGreaterThan(5);
		for (const m of messages) expect(m).toMatch(/none of the 3 calls of kvm_gpc_init\(\) passes KVM_GUEST_USES_PFN/);
		expect(usageCensusExplanation(census)).toMatch(/^\*\*pfncache usage flags are dead:\*\* none of the 3 calls of kvm_gpc_init\(\) passes `KVM_GUEST_USES_PFN`.*`arch\/x86\/kvm\/x86\.c:7`/);
	});

	it('counts the callers of a helper that passes its usage parameter on, not the helper', async () => {
		const census = (await analyzePath(join(TREES, 'bad', 'wrapper-forwards-usage-6.2'))).notes.usageCensus!;
		expect(census.sites.map((s) => s.callee)).toEqual(['xen_gpc_init', 'xen_gpc_init', 'xen_gpc_init']);
		const guest = (await analyzePath(join(TREES, 'good', 'wrapper-forwards-guest-6.1'))).notes.usageCensus!;
		expect(guest.dead).toBe(false);
		expect(guest.guest.map((s) => `${s.file}:${s.line + 1}`)).toEqual(['arch/x86/kvm/vmx/nested.c:17']);
	});

	it('one guest caller (KVM_GUEST_AND_HOST_USE_PFN counts) silences the rule, and the hover says who', async () => {
		const result = await analyzePath(join(TREES, 'good', 'guest-and-host-user-6.2'));
		expect(result.findings.filter((f) => f.rule === 'gpc-dead-usage-flag')).toEqual([]);
		const text = usageCensusExplanation(result.notes.usageCensus!);
		expect(text).toMatch(/usage flags are live/);
		expect(text).toMatch(/arch\/x86\/kvm\/vmx\/nested\.c:\d+.*KVM_GUEST_AND_HOST_USE_PFN/);
	});

	it('a value it cannot evaluate silences the rule too', async () => {
		const result = await analyzePath(join(TREES, 'good', 'unknown-usage-value-6.2'));
		const census = result.notes.usageCensus!;
		expect(census.unknown.map((s) => s.value)).toEqual(['vcpu->kvm->arch.xen.vcpu_info_usage']);
		expect(usageCensusExplanation(census)).toMatch(/cannot evaluate the usage value/);
	});

	it('says there is nothing to remove in a 6.9+ tree', async () => {
		const census = (await analyzePath(join(TREES, 'good', 'no-usage-api-6.12'))).notes.usageCensus!;
		expect(census.usageEnum).toBeUndefined();
		expect(usageCensusExplanation(census)).toMatch(/no `enum pfn_cache_usage`/);
	});

	it('reports with hint severity, and the rule can be turned off', async () => {
		const path = join(TREES, 'bad', 'no-guest-user-6.1');
		const on = await analyzePath(path);
		expect(new Set(on.findings.filter((f) => f.rule === 'gpc-dead-usage-flag').map((f) => f.severity))).toEqual(new Set(['hint']));
		const off = await analyzePath(path, { severity: { 'gpc-dead-usage-flag': 'off' } });
		expect(off.findings.filter((f) => f.rule === 'gpc-dead-usage-flag')).toEqual([]);
	});
});

function firstOf(text: string, type: string): { node: SyntaxNode; text: string } {
	const tree = parser.parse(text)!;
	return { node: tree.rootNode.descendantsOfType(type)[0]!, text };
}

describe('condition folding', () => {
	const members = new Map([['KVM_GUEST_USES_PFN', 1], ['KVM_HOST_USES_PFN', 2], ['KVM_GUEST_AND_HOST_USE_PFN', 3]]);
	const env: EvalEnv = {
		identifier: (n) => members.get(n.text) ?? (n.text === 'usage' ? 2 : undefined),
		field: (n) => (n.text === 'gpc->usage' ? 2 : undefined),
		isAtom: (n) => members.has(n.text) || n.text === 'usage' || n.text === 'gpc->usage',
	};
	const fold = (cond: string) => {
		const v = evaluate(firstOf(`int f(void) { if (${cond}) return 1; }`, 'parenthesized_expression').node, env);
		return v.kind === 'const' ? v.value : v.kind === 'residual' ? v.text : 'unknown';
	};

	it('decides the usage tests of 6.1–6.8', () => {
		expect(fold('gpc->usage & KVM_GUEST_USES_PFN')).toBe(0);
		expect(fold('gpc->usage & KVM_HOST_USES_PFN')).toBe(2);
		expect(fold('!(gpc->usage & KVM_HOST_USES_PFN)')).toBe(0);
		expect(fold('!usage || (usage & KVM_GUEST_AND_HOST_USE_PFN) != usage')).toBe(0);
		expect(fold('(usage & KVM_GUEST_USES_PFN) && !vcpu')).toBe(0);
	});

	it('keeps what does not depend on usage, and gives up on what it cannot decide', () => {
		expect(fold('ready && (gpc->usage & KVM_HOST_USES_PFN)')).toBe('ready');
		expect(fold('(a || b) && (gpc->usage & KVM_HOST_USES_PFN)')).toBe('(a || b)');
		expect(fold('!(x && (gpc->usage & KVM_HOST_USES_PFN))')).toBe('!x');
		expect(fold('foo(gpc) || (gpc->usage & KVM_HOST_USES_PFN)')).toBe('unknown');
		expect(fold('gpc->usage + n')).toBe('unknown');
	});
});

describe('layout', () => {
	const relayout = (src: string, drop: number[], type = 'argument_list') => {
		const { node, text } = firstOf(src, type);
		const out = relayoutList(text, node, new Set(drop))!;
		return text.slice(0, node.startIndex) + out + text.slice(node.endIndex);
	};

	it('joins a call that now fits on one line', () => {
		expect(relayout('void f(void)\n{\n\tkvm_gpc_init(&vcpu->arch.xen.runstate_cache, vcpu->kvm, NULL,\n\t\t     KVM_HOST_USES_PFN);\n}\n', [2, 3]))
			.toBe('void f(void)\n{\n\tkvm_gpc_init(&vcpu->arch.xen.runstate_cache, vcpu->kvm);\n}\n');
	});

	it('re-fills a wrapped call to 80 columns under the open parenthesis', () => {
		const src = [
			'void f(void)', '{', '\t\tr = kvm_gpc_activate(vcpu->kvm,', '\t\t\t\t     &vcpu->arch.xen.vcpu_info_cache, NULL,',
			'\t\t\t\t     KVM_HOST_USES_PFN, data->u.gpa,', '\t\t\t\t     sizeof(struct vcpu_info));', '}', '',
		].join('\n');
		expect(relayout(src, [2, 3])).toBe([
			'void f(void)', '{', '\t\tr = kvm_gpc_activate(vcpu->kvm, &vcpu->arch.xen.vcpu_info_cache,',
			'\t\t\t\t     data->u.gpa, sizeof(struct vcpu_info));', '}', '',
		].join('\n'));
	});

	it('keeps the original breaks when re-filling would not save a line (the smaller diff)', () => {
		const src = 'int kvm_gpc_activate(struct kvm *kvm, struct gfn_to_pfn_cache *gpc,\n\t\t     struct kvm_vcpu *vcpu, enum pfn_cache_usage usage,\n\t\t     gpa_t gpa, unsigned long len);\n';
		expect(relayout(src, [2, 3], 'parameter_list'))
			.toBe('int kvm_gpc_activate(struct kvm *kvm, struct gfn_to_pfn_cache *gpc,\n\t\t     gpa_t gpa, unsigned long len);\n');
	});

	it('keeps one parameter per line, and the closing parenthesis moves up', () => {
		const src = 'void g(struct kvm *kvm,\n       unsigned long start,\n       unsigned long end,\n       bool may_block);\n';
		expect(relayout(src, [3], 'parameter_list')).toBe('void g(struct kvm *kvm,\n       unsigned long start,\n       unsigned long end);\n');
	});

	it('drops items in place around comments', () => {
		const src = 'void f(void)\n{\n\tfoo(a, vcpu,\n\t    USAGE, b,\t/* note */\n\t    c);\n}\n';
		expect(relayout(src, [1, 2])).toBe('void f(void)\n{\n\tfoo(a,\n\t    b,\t/* note */\n\t    c);\n}\n');
	});

	it('tidies the blank lines a deletion leaves', () => {
		const text = '{\n\tA;\n\n\tB;\n\n\tC;\n}\n';
		const at = (s: string) => text.indexOf(s);
		// Deleting B (its line) must not leave two blank lines; deleting C must not leave a blank before }.
		expect(render(text, [{ start: at('\tB'), end: at('\tB') + 4, text: '', lines: true }]).text).toBe('{\n\tA;\n\n\tC;\n}\n');
		expect(render(text, [{ start: at('\tC'), end: at('\tC') + 4, text: '', lines: true }]).text).toBe('{\n\tA;\n\n\tB;\n}\n');
		expect(render(text, [{ start: at('\tA'), end: at('\tA') + 4, text: '', lines: true }]).text).toBe('{\n\tB;\n\n\tC;\n}\n');
	});
});
