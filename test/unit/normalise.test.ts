// The kernel normalisation before parsing (parse/normalise.ts): each shape tree-sitter alone
// cannot parse parses without an error, no byte moves, and node texts are the original's.
import fc from 'fast-check';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Parser } from 'web-tree-sitter';
import { normaliseC, normaliseEdited, normaliseText } from '../../server/src/parse/normalise';
import { createCParser, errorRegions, type SyntaxNode } from '../../server/src/parse/parser';
import { DEMO, FIXTURES } from '../helpers';

let parser: Parser;
let raw: Parser;
beforeAll(async () => {
	parser = await createCParser();
	raw = await createCParser({ raw: true });
});
afterAll(() => {
	parser.delete();
	raw.delete();
});

/** Shapes from 6.1 and 6.12's x86.c, xen.c, pfncache.c and kvm_main.c, cut down. */
const SHAPES: Record<string, string> = {
	'#ifdef inside an if condition (kvm_arch_dy_runnable)': [
		'bool kvm_arch_dy_runnable(struct kvm_vcpu *vcpu)',
		'{',
		'\tif (kvm_test_request(KVM_REQ_NMI, vcpu) ||',
		'#ifdef CONFIG_KVM_SMM',
		'\t\tkvm_test_request(KVM_REQ_SMI, vcpu) ||',
		'#endif',
		'\t\t kvm_test_request(KVM_REQ_EVENT, vcpu))',
		'\t\treturn true;',
		'\treturn false;',
		'}',
		'int kvm_arch_vcpu_create(struct kvm_vcpu *vcpu) { kvm_gpc_init(&vcpu->arch.pv_time, vcpu->kvm); return 0; }',
	].join('\n'),
	'`} else` split by #endif': [
		'static void kvm_xen_shared_info_init(struct kvm *kvm)',
		'{',
		'#ifdef CONFIG_X86_64',
		'\tif (IS_ENABLED(CONFIG_64BIT) && kvm->arch.xen.long_mode) {',
		'\t\twc = &shinfo->wc;',
		'\t} else',
		'#endif',
		'\t{',
		'\t\twc = &compat->wc;',
		'\t}',
		'}',
	].join('\n'),
	'#ifdef before `else {`': [
		'int f(int longmode)',
		'{',
		'\tif (!longmode) {',
		'\t\tparams[0] = 1;',
		'\t}',
		'#ifdef CONFIG_X86_64',
		'\telse {',
		'\t\tparams[0] = 2;',
		'\t}',
		'#endif',
		'\treturn 0;',
		'}',
	].join('\n'),
	'#ifdef holding `} else {` (kvm_vcpu_map)': [
		'int f(void)',
		'{',
		'\tif (pfn_valid(pfn)) {',
		'\t\thva = kmap(page);',
		'#ifdef CONFIG_HAS_IOMEM',
		'\t} else {',
		'\t\thva = memremap(pfn_to_hpa(pfn), PAGE_SIZE, MEMREMAP_WB);',
		'#endif',
		'\t}',
		'\treturn 0;',
		'}',
	].join('\n'),
	'a label before #ifdef (kvm_create_vm)': 'void f(void)\n{\nout_no_coalesced_mmio:\n#ifdef CONFIG_X\n\tif (a)\n\t\tb();\n#endif\n\tc();\n}\n',
	'annotations': 'struct kvm_caps kvm_caps __read_mostly;\nstatic __always_inline int f(void __user *argp) { return 0; }\nnoinstr void g(void) {}\nint __weak h(int x) __must_hold(&kvm->lock) { return x; }\n',
	'type arguments of macros': [
		'void f(struct delayed_work *dwork)',
		'{',
		'\tstruct kvm_arch *ka = container_of(dwork, struct kvm_arch, kvmclock_update_work);',
		'\tBUILD_BUG_ON(sizeof_field(struct vcpu_runstate_info, state) != sizeof(x));',
		'\tr = min_t(unsigned int, num_online_cpus(), KVM_MAX_VCPUS);',
		'\tp = alloc_percpu(struct kvm_user_return_msrs);',
		'}',
		'static DEFINE_PER_CPU(struct kvm_vcpu *, kvm_running_vcpu);',
		'static DEFINE_PER_CPU(unsigned long, cpu_tsc_khz);',
		'static DECLARE_WORK(pvclock_gtod_work, pvclock_gtod_update_fn);',
	].join('\n'),
	'offsetof a member path, alignof an expression': 'void f(void)\n{\n\tBUILD_BUG_ON(offsetof(struct compat_shared_info, arch.wc_sec_hi) != 0x924);\n\tif ((gpa & (__alignof__(hc->ingpa) - 1)))\n\t\treturn;\n}\n',
	'case ranges': 'int f(u32 msr)\n{\n\tswitch (msr) {\n\tcase MSR_IA32_MC0_CTL ... MSR_IA32_MCx_CTL(KVM_MAX_MCE_BANKS) - 1:\n\t\treturn 1;\n\tcase MSR_K7_EVNTSEL0 ...\n\t     MSR_K7_EVNTSEL3:\n\t\treturn 2;\n\t}\n\treturn 0;\n}\n',
	'macro loops': [
		'void f(struct kvm *kvm)',
		'{',
		'\tkvm_for_each_vcpu(i, vcpu, kvm)',
		'\t\tkvm_make_request(KVM_REQ_CLOCK_UPDATE, vcpu);',
		'\tlist_for_each_entry(kvm, &vm_list, vm_list) {',
		'\t\tkvm_for_each_vcpu(i, vcpu, kvm) {',
		'\t\t\tfoo(vcpu);',
		'\t\t}',
		'\t}',
		'\tif (x)',
		'\t\tfor_each_set_bit(i, &mask, n) {',
		'\t\t\tbar(i);',
		'\t\t}',
		'\telse',
		'\t\tidr_for_each_entry(&ports, evtchnfd, i)',
		'\t\t\tn++;',
		'}',
		'int after_the_loops(void) { return 0; }',
	].join('\n'),
	'a macro in an asm template': 'void f(void)\n{\n\tasm volatile("1: xchgb %0, %2\\n"\n\t\t     "2:\\n"\n\t\t     _ASM_EXTABLE_UA(1b, 2b)\n\t\t     : "+q" (st_preempted), "+&r" (err));\n\tif (err)\n\t\treturn;\n}\n',
	'a named variadic macro parameter': '#define X2(x...) x, x\nint a;\n',
};

function parse(p: Parser, text: string) {
	const tree = p.parse(text)!;
	return { tree, errors: errorRegions(tree.rootNode) };
}

describe('normaliseC', () => {
	it.each(Object.entries(SHAPES))('%s: parses without an error, with the original positions and texts', (_name, text) => {
		// tree-sitter alone cannot parse it (so this test would fail without the normalisation).
		const before = parse(raw, text);
		expect(before.tree.rootNode.hasError).toBe(true);
		before.tree.delete();

		const n = normaliseC(text);
		expect(n.text.length).toBe(text.length);
		expect([...n.text.matchAll(/\n/g)].map((m) => m.index)).toEqual([...text.matchAll(/\n/g)].map((m) => m.index));
		const { tree, errors } = parse(parser, text);
		expect(tree.rootNode.hasError, tree.rootNode.toString()).toBe(false);
		expect(errors).toEqual([]);
		// Every node's text is the original's slice at its offsets.
		const visit = (node: SyntaxNode): void => {
			expect(node.text).toBe(text.slice(node.startIndex, node.endIndex));
			for (const c of node.children) if (c) visit(c);
		};
		visit(tree.rootNode);
		tree.delete();
	});

	it('finds every function of x86.c after the #ifdef inside kvm_arch_dy_runnable()', () => {
		const { tree } = parse(parser, SHAPES['#ifdef inside an if condition (kvm_arch_dy_runnable)']);
		const names = tree.rootNode.descendantsOfType('function_definition').map((f) => f?.childForFieldName('declarator')?.childForFieldName('declarator')?.text);
		expect(names).toEqual(['kvm_arch_dy_runnable', 'kvm_arch_vcpu_create']);
		tree.delete();
	});

	it('reads a macro loop as a loop whose condition is the macro\'s arguments, named in the original text', () => {
		const { tree } = parse(parser, SHAPES['macro loops']);
		const loops = tree.rootNode.descendantsOfType('while_statement');
		expect(loops.map((l) => l!.text.split('(')[0].trim())).toEqual(['kvm_for_each_vcpu', 'list_for_each_entry', 'kvm_for_each_vcpu', 'for_each_set_bit', 'idr_for_each_entry']);
		expect(loops[0]!.childForFieldName('condition')!.text).toBe('(i, vcpu, kvm)');
		tree.delete();
	});

	it('keeps the first branch of an #if/#else inside an expression and reports the other as unparsed', () => {
		const text = 'int f(void)\n{\n\treturn a +\n#ifdef CONFIG_X\n\t\tb(1)\n#else\n\t\tc(2)\n#endif\n\t\t;\n}\n';
		const n = normaliseC(text);
		expect(n.text).toBe('int f(void)\n{\n\treturn a +\n               \n\t\tb(1)\n     \n      \n      \n\t\t;\n}\n');
		expect(n.hidden).toEqual([[text.indexOf('c(2)'), text.indexOf('c(2)') + 4]]);
		const { tree, errors } = parse(parser, text);
		expect(tree.rootNode.hasError).toBe(false);
		// Nothing is reported from the hidden branch, and no rewrite touches it.
		expect(errors).toEqual(n.hidden);
		tree.delete();
	});

	it('keeps the #else branch of an #if 0', () => {
		const n = normaliseC('int x = a +\n#if 0\n\told(1)\n#else\n\tnew(2)\n#endif\n\t;\n');
		expect(n.text).toContain('\tnew(2)');
		expect(n.text).not.toContain('old');
	});

	it('leaves a group alone when the branch it would hide uses a lock or the gpc API (an unparsed region, as before)', () => {
		const text = 'void f(void)\n{\n\tif (a ||\n#ifdef CONFIG_X\n\t    b)\n#else\n\t    read_trylock(&gpc->lock))\n#endif\n\t\treturn;\n}\n';
		expect(normaliseC(text).text).toBe(text);
	});

	it('leaves conditional groups between statements and declarations to tree-sitter', () => {
		const text = 'struct s {\n\tint a;\n#ifdef CONFIG_X\n\tint b;\n#else\n\tlong b;\n#endif\n};\nvoid f(void)\n{\n\ta();\n#ifdef CONFIG_X\n\tb();\n#endif\n}\n#ifdef CONFIG_Y\nint g(void) { return 1; }\n#else\nint g(void) { return 0; }\n#endif\n';
		expect(normaliseC(text).text).toBe(text);
	});

	it('does not touch function declarations, definitions named like loops, sizeof, or directives other than #if and #define', () => {
		const text = 'int f(unsigned int, struct kvm *);\nvoid kvm_for_each_thing(struct kvm *kvm) {}\nint g(void) { return sizeof(struct kvm) + list_for_each_count(a, b); }\n#include <linux/kvm_host.h>\n#define __user\n';
		expect(normaliseC(text).text).toBe(text);
	});

	it('keeps length and line breaks on any text (fixture files, mutated)', () => {
		const files: string[] = [];
		const walk = (dir: string) => {
			for (const e of readdirSync(dir)) {
				const abs = join(dir, e);
				if (statSync(abs).isDirectory()) walk(abs);
				else if (/\.[ch]$/.test(e)) files.push(readFileSync(abs, 'utf8'));
			}
		};
		walk(FIXTURES);
		walk(DEMO);
		const pieces = ['#ifdef X\n', '#else\n', '#endif\n', '||', '}', '{', '(', ')', 'list_for_each_entry(a, b, c)', '__user', '/*', '"', "'", '\\\n', 'case 1 ...', '\r\n', '\u00e9', '\ud83d\ude00'];
		fc.assert(
			fc.property(fc.nat(files.length - 1), fc.array(fc.tuple(fc.nat(), fc.constantFrom(...pieces)), { maxLength: 6 }), (which, edits) => {
				let text = files[which];
				for (const [at, piece] of edits) {
					const i = at % (text.length + 1);
					text = text.slice(0, i) + piece + text.slice(i);
				}
				const n = normaliseC(text).text;
				expect(n.length).toBe(text.length);
				for (let i = 0; i < text.length; i++) {
					const c = text.charCodeAt(i);
					if (c === 10 || c === 13) expect(n.charCodeAt(i)).toBe(c);
					else if (n.charCodeAt(i) === 10) throw new Error(`a newline made at ${i}`);
				}
			}),
			{ numRuns: 200, seed: 7 },
		);
	});
});

describe('normaliseEdited', () => {
	it('equals normalising the edited text afresh, after each random edit of the demo files and fixtures', () => {
		const texts = ['arch/x86/kvm/x86.c', 'arch/x86/kvm/xen.c', 'virt/kvm/pfncache.c'].map((f) => readFileSync(join(DEMO, f), 'utf8'));
		const pieces = ['}\n', '};\n', '\n}\n', '#ifdef CONFIG_X\n', '#else\n', '#endif\n', ' ||\n', 'list_for_each_entry(a, b, c)\n', '__user ', 'x', '\n', ''];
		fc.assert(
			fc.property(fc.nat(texts.length - 1), fc.array(fc.tuple(fc.nat(), fc.nat(30), fc.constantFrom(...pieces)), { minLength: 1, maxLength: 8 }), (which, edits) => {
				let text = texts[which];
				let n = normaliseText(text);
				for (const [at, length, insert] of edits) {
					const start = at % (text.length + 1);
					const end = Math.min(text.length, start + length);
					text = text.slice(0, start) + insert + text.slice(end);
					n = normaliseEdited(n, text, start, end, start + insert.length);
					const fresh = normaliseText(text);
					expect(n.text).toBe(fresh.text);
					expect(n.hidden).toEqual(fresh.hidden);
					expect(n.chunks).toEqual(fresh.chunks);
				}
			}),
			{ numRuns: 300, seed: 3 },
		);
	});
});
