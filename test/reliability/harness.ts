// Shared by the reliability tiers (test/unit/robust*.test.ts, test/reliability/*): seed
// corpora, mutations, and the invariants every analysis must keep whatever its input:
//   1. no exception escapes;           2. every range lies inside its document;
//   3. same input → same output;       4. incremental (edited tree) = from-scratch.
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { ApiEra } from '../../server/src/analysis/api';
import type { Engine, EngineOptions, EngineResult } from '../../server/src/analysis/engine';
import type { SourceFile } from '../../server/src/analysis/source';
import type { Finding, Range } from '../../server/src/analysis/findings';
import { DocumentTrees, type TextChange } from '../../server/src/parse/documents';
import { pointAt } from '../../server/src/parse/positions';
import { kernelCacheDir } from '../kernel/trees';

export const REPO = join(__dirname, '..', '..');
export const REGRESSIONS = join(REPO, 'test', 'fixtures', 'regressions');

/** The real kernel files the brief names, from both Debian trees. */
export const KERNEL_SEED_FILES = ['arch/x86/kvm/xen.c', 'arch/x86/kvm/x86.c', 'virt/kvm/pfncache.c', 'include/linux/kvm_host.h'];
export const KERNEL_VERSIONS = ['6.1', '6.12'] as const;

export interface Seed {
	/** Where it came from: "linux-6.12/arch/x86/kvm/xen.c", "fixtures/…", "…#fn_name". */
	name: string;
	text: string;
	era?: ApiEra;
}

/** An extracted kernel tree, if the kernel tier has downloaded it (never downloads). */
export function cachedKernelTree(version: string): string | undefined {
	const tree = join(kernelCacheDir(), `linux-${version}`);
	return existsSync(join(tree, 'virt', 'kvm', 'pfncache.c')) ? tree : undefined;
}

/** Kernel files are decoded as the scanner does: UTF-8, or latin1 when that is not valid. */
export function decodeLikeScanner(bytes: Buffer): string {
	const text = bytes.toString('utf8');
	return text.includes('\uFFFD') ? bytes.toString('latin1') : text;
}

/** The four named files of each cached kernel tree, whole. */
export function kernelSeeds(): Seed[] {
	const out: Seed[] = [];
	for (const v of KERNEL_VERSIONS) {
		const tree = cachedKernelTree(v);
		if (!tree) continue;
		for (const f of KERNEL_SEED_FILES) {
			out.push({ name: `linux-${v}/${f}`, text: decodeLikeScanner(readFileSync(join(tree, f))), era: v === '6.1' ? '6.1' : '6.9+' });
		}
	}
	return out;
}

/** The repository's own kernel-like C: the demo tree and every fixture file (always present). */
export function repoSeeds(): Seed[] {
	const out: Seed[] = [];
	const walk = (dir: string) => {
		for (const name of readdirSync(dir).sort()) {
			const p = join(dir, name);
			if (statSync(p).isDirectory()) walk(p);
			else if (/\.[ch]$/.test(name)) out.push({ name: relative(REPO, p), text: readFileSync(p, 'utf8') });
		}
	};
	walk(join(REPO, 'examples', 'demo-kernel'));
	for (const rule of readdirSync(join(REPO, 'test', 'fixtures')).sort()) {
		if (rule !== 'regressions') walk(join(REPO, 'test', 'fixtures', rule));
	}
	return out;
}

const GPC_MENTION = /\b(gfn_to_pfn_cache|kvm_gpc_\w+|kvm_gfn_to_pfn_cache_\w+|khva)\b|->lock\b/;

/** Declarations a slice needs to look like its tree: the cache type, its fields, the era's API. */
export function preamble(era: ApiEra): string {
	const common = [
		'struct gfn_to_pfn_cache { rwlock_t lock; bool active; bool valid; void *khva; kvm_pfn_t pfn; unsigned long len; };',
		'struct kvm_vcpu_xen { struct gfn_to_pfn_cache vcpu_info_cache; struct gfn_to_pfn_cache vcpu_time_info_cache;',
		'\tstruct gfn_to_pfn_cache runstate_cache; struct gfn_to_pfn_cache runstate2_cache; };',
		'struct kvm_xen { struct gfn_to_pfn_cache shinfo_cache; };',
		'struct kvm_vcpu_arch { struct gfn_to_pfn_cache pv_time; struct kvm_vcpu_xen xen; };',
	];
	const api: Record<ApiEra, string[]> = {
		'5.17-6.0': [
			'int kvm_gfn_to_pfn_cache_init(struct kvm *kvm, struct gfn_to_pfn_cache *gpc, struct kvm_vcpu *vcpu, enum pfn_cache_usage usage, gpa_t gpa, unsigned long len);',
			'bool kvm_gfn_to_pfn_cache_check(struct kvm *kvm, struct gfn_to_pfn_cache *gpc, gpa_t gpa, unsigned long len);',
			'int kvm_gfn_to_pfn_cache_refresh(struct kvm *kvm, struct gfn_to_pfn_cache *gpc, gpa_t gpa, unsigned long len);',
		],
		'6.1': [
			'enum pfn_cache_usage { KVM_GUEST_USES_PFN = 1, KVM_HOST_USES_PFN = 2 };',
			'void kvm_gpc_init(struct gfn_to_pfn_cache *gpc);',
			'int kvm_gpc_activate(struct kvm *kvm, struct gfn_to_pfn_cache *gpc, struct kvm_vcpu *vcpu, enum pfn_cache_usage usage, gpa_t gpa, unsigned long len);',
			'bool kvm_gfn_to_pfn_cache_check(struct kvm *kvm, struct gfn_to_pfn_cache *gpc, gpa_t gpa, unsigned long len);',
			'int kvm_gfn_to_pfn_cache_refresh(struct kvm *kvm, struct gfn_to_pfn_cache *gpc, gpa_t gpa, unsigned long len);',
			'void kvm_gpc_deactivate(struct kvm *kvm, struct gfn_to_pfn_cache *gpc);',
		],
		'6.2-6.8': [
			'enum pfn_cache_usage { KVM_GUEST_USES_PFN = 1, KVM_HOST_USES_PFN = 2 };',
			'void kvm_gpc_init(struct gfn_to_pfn_cache *gpc, struct kvm *kvm, struct kvm_vcpu *vcpu, enum pfn_cache_usage usage);',
			'int kvm_gpc_activate(struct gfn_to_pfn_cache *gpc, gpa_t gpa, unsigned long len);',
			'bool kvm_gpc_check(struct gfn_to_pfn_cache *gpc, unsigned long len);',
			'int kvm_gpc_refresh(struct gfn_to_pfn_cache *gpc, unsigned long len);',
			'void kvm_gpc_deactivate(struct gfn_to_pfn_cache *gpc);',
		],
		'6.9+': [
			'void kvm_gpc_init(struct gfn_to_pfn_cache *gpc, struct kvm *kvm);',
			'int kvm_gpc_activate(struct gfn_to_pfn_cache *gpc, gpa_t gpa, unsigned long len);',
			'bool kvm_gpc_check(struct gfn_to_pfn_cache *gpc, unsigned long len);',
			'int kvm_gpc_refresh(struct gfn_to_pfn_cache *gpc, unsigned long len);',
			'void kvm_gpc_deactivate(struct gfn_to_pfn_cache *gpc);',
			'void kvm_gpc_mark_dirty_in_slot(struct gfn_to_pfn_cache *gpc);',
		],
	};
	return [...common, ...api[era], ''].join('\n');
}

/**
 * Function-sized slices of whole seeds: each gpc-using top-level definition of a file,
 * behind its era's preamble. Analysing a 400 KB x86.c takes seconds; its functions, milliseconds.
 */
export function sliceSeeds(engine: Engine, seeds: Seed[]): Seed[] {
	const out: Seed[] = [];
	for (const seed of seeds) {
		const tree = engine.parser.parse(seed.text);
		if (!tree) continue;
		const era = seed.era ?? '6.9+';
		for (const node of tree.rootNode.namedChildren) {
			if (node?.type !== 'function_definition' || !GPC_MENTION.test(node.text)) continue;
			const name = node.childForFieldName('declarator')?.text.split('(')[0].replace(/^\W+/, '') ?? 'fn';
			out.push({ name: `${seed.name}#${name}`, text: preamble(era) + node.text + '\n', era });
		}
		tree.delete();
	}
	return out;
}

// ---------------------------------------------------------------------------------------------
// Mutations. Each is an edit of the current text (offsets taken modulo its length, so that
// fast-check can shrink them freely), or a whole-text rewrite (CRLF, non-UTF-8 decoding).

export type Mutation =
	| { kind: 'flip'; at: number; byte: number }
	| { kind: 'truncate'; at: number }
	| { kind: 'deleteBrace'; nth: number }
	| { kind: 'preproc'; line: number; directive: string }
	| { kind: 'nul'; at: number; count: number }
	| { kind: 'insert'; at: number; snippet: string }
	| { kind: 'delete'; at: number; length: number }
	| { kind: 'duplicateLines'; line: number; count: number }
	| { kind: 'nest'; line: number; depth: number }
	| { kind: 'crlf' }
	| { kind: 'nonUtf8'; at: number; bytes: number[] }
	| { kind: 'surrogate'; at: number }
	| { kind: 'bom' };

/** Kernel idioms and C fragments that make tree-sitter recover in interesting ways. */
export const SNIPPETS = [
	'{', '}', '(', ')', ';', '"', "'", '/*', '*/', '//', '\\\n', '\n', '#endif\n', '#else\n', '#if 0\n', '#ifdef CONFIG_X86_64\n',
	'read_lock(&gpc->lock);\n', 'read_unlock(&gpc->lock);\n', 'read_lock_irqsave(&gpc->lock, flags);\n',
	'read_unlock_irqrestore(&gpc->lock, flags);\n', 'if (!read_trylock(&gpc->lock))\n\treturn;\n',
	'while (!kvm_gpc_check(gpc, len)) {\n', 'if (!kvm_gpc_check(gpc, sizeof(*vi)))\n\tgoto out;\n',
	'if (kvm_gpc_refresh(gpc, len))\n\treturn -EFAULT;\n', 'vi = gpc->khva;\n', '*(u64 *)gpc->khva = 1;\n',
	'memcpy(gpc->khva, &x, sizeof(x));\n', 'kvm_gpc_mark_dirty_in_slot(gpc);\n', 'mutex_lock(&kvm->lock);\n',
	'goto out;\n', 'out:\n', 'return 0;\n', 'gpc = &vcpu->arch.xen.vcpu_info_cache;\n', 'local_irq_save(flags);\n',
	'guard(read_lock)(&gpc->lock);\n', 'scoped_guard(read_lock, &gpc->lock) {\n', 'list_for_each_entry(p, &h, list)\n',
	'kvm_for_each_vcpu(i, v, kvm) {\n', 'switch (x) {\ncase 1:\n', 'default:\n', 'do {\n', '} while (0);\n',
	'} else\n#endif\n{\n', 'BUILD_BUG_ON(offsetof(struct shared_info, wc_sec_hi) != 0xc0c);\n',
	'spin_lock(&kvm->arch.lock);\n', 'kvm_gpc_deactivate(gpc);\n', 'kvm_gpc_activate(gpc, gpa, PAGE_SIZE);\n',
	'/* gpcscope-ignore: gpc-use-after-unlock */\n', 'static void f(struct gfn_to_pfn_cache *gpc)\n{\n', '\t', ' ', '\u00e9', '\u{1F600}',
];
const DIRECTIVES = ['#if 0\n', '#if 1\n', '#ifdef CONFIG_KVM_XEN\n', '#else\n', '#elif defined(X)\n', '#endif\n', '#define X(a) {\n', '#include <x.h>\n'];
const INVALID_UTF8 = [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xfe, 0xff], [0xc0, 0xaf], [0xe2, 0x82]];

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
	fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
	fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
	fc.record({ kind: fc.constant('deleteBrace' as const), nth: fc.nat() }),
	fc.record({ kind: fc.constant('preproc' as const), line: fc.nat(), directive: fc.constantFrom(...DIRECTIVES) }),
	fc.record({ kind: fc.constant('nul' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 4 }) }),
	fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), snippet: fc.constantFrom(...SNIPPETS) }),
	fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.nat(300) }),
	fc.record({ kind: fc.constant('duplicateLines' as const), line: fc.nat(), count: fc.integer({ min: 1, max: 12 }) }),
	fc.record({ kind: fc.constant('nest' as const), line: fc.nat(), depth: fc.integer({ min: 1, max: 600 }) }),
	fc.constant({ kind: 'crlf' as const }),
	fc.record({ kind: fc.constant('nonUtf8' as const), at: fc.nat(), bytes: fc.constantFrom(...INVALID_UTF8) }),
	fc.record({ kind: fc.constant('surrogate' as const), at: fc.nat() }),
	fc.constant({ kind: 'bom' as const }),
);

/** An edit in offsets of the text it applies to; `whole` replaces everything (no range). */
export interface OffsetEdit {
	start: number;
	end: number;
	text: string;
	whole?: boolean;
}

function lineStarts(text: string): number[] {
	const starts = [0];
	for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
	return starts;
}

/** The edit a mutation makes to `text` (undefined when it does not apply, e.g. no brace left). */
export function editFor(m: Mutation, text: string): OffsetEdit | undefined {
	const at = (n: number) => n % (text.length + 1);
	const line = (n: number) => {
		const starts = lineStarts(text);
		return starts[n % starts.length];
	};
	switch (m.kind) {
		case 'flip': {
			if (!text.length) return undefined;
			const i = m.at % text.length;
			return { start: i, end: i + 1, text: String.fromCharCode(m.byte) };
		}
		case 'truncate':
			return { start: at(m.at), end: text.length, text: '' };
		case 'deleteBrace': {
			const braces: number[] = [];
			for (let i = 0; i < text.length; i++) if (text[i] === '{' || text[i] === '}') braces.push(i);
			if (!braces.length) return undefined;
			const i = braces[m.nth % braces.length];
			return { start: i, end: i + 1, text: '' };
		}
		case 'preproc': {
			const i = line(m.line);
			return { start: i, end: i, text: m.directive };
		}
		case 'nul':
			return { start: at(m.at), end: at(m.at), text: '\0'.repeat(m.count) };
		case 'insert':
			return { start: at(m.at), end: at(m.at), text: m.snippet };
		case 'delete':
			return { start: at(m.at), end: Math.min(text.length, at(m.at) + m.length), text: '' };
		case 'duplicateLines': {
			const starts = lineStarts(text);
			const first = m.line % starts.length;
			const from = starts[first];
			const to = starts[Math.min(starts.length - 1, first + m.count)] ?? text.length;
			const chunk = to > from ? text.slice(from, to) : text.slice(from);
			return { start: from, end: from, text: chunk };
		}
		case 'nest': {
			// Wrap one line in `depth` blocks: deep nesting inside a real function.
			const starts = lineStarts(text);
			const first = m.line % starts.length;
			const from = starts[first];
			const to = first + 1 < starts.length ? starts[first + 1] : text.length;
			return { start: from, end: to, text: '{'.repeat(m.depth) + text.slice(from, to).replace(/\n$/, '') + '}'.repeat(m.depth) + '\n' };
		}
		case 'crlf':
			return { start: 0, end: text.length, text: text.replace(/\r?\n/g, '\r\n'), whole: true };
		case 'nonUtf8': {
			// Invalid bytes in the file, then decoded the way the scanner decodes files.
			const bytes = Buffer.from(text, 'utf8');
			const i = m.at % (bytes.length + 1);
			const mutated = Buffer.concat([bytes.subarray(0, i), Buffer.from(m.bytes), bytes.subarray(i)]);
			return { start: 0, end: text.length, text: decodeLikeScanner(mutated), whole: true };
		}
		case 'surrogate':
			return { start: at(m.at), end: at(m.at), text: '\uD800' };
		case 'bom':
			return { start: 0, end: 0, text: '\uFEFF' };
	}
}

export function applyEdit(text: string, e: OffsetEdit): string {
	return e.whole ? e.text : text.slice(0, e.start) + e.text + text.slice(e.end);
}

/** An LSP position in the '\n' line model the server uses (UTF-16 code units, as LSP). */
export function positionOf(text: string, offset: number): { line: number; character: number } {
	const { row, column } = pointAt(text, offset);
	return { line: row, character: column };
}

/** The LSP content change for an edit of `text`. */
export function lspChange(text: string, e: OffsetEdit): TextChange {
	if (e.whole) return { text: e.text };
	return { range: { start: positionOf(text, e.start), end: positionOf(text, e.end) }, text: e.text };
}

/** Applies mutations in order: the final text and the edits that lead there. */
export function mutate(base: string, mutations: readonly Mutation[]): { text: string; edits: OffsetEdit[] } {
	let text = base;
	const edits: OffsetEdit[] = [];
	for (const m of mutations) {
		const e = editFor(m, text);
		if (!e) continue;
		edits.push(e);
		text = applyEdit(text, e);
	}
	return { text, edits };
}

// ---------------------------------------------------------------------------------------------
// Generated functions: random but well-formed-ish gpc readers, to push the dataflow itself
// (locks, checks, refreshes, uses, gotos, loops, switch, guards, aliases, two caches).

const STATEMENTS = [
	'read_lock(&gpc->lock);', 'read_unlock(&gpc->lock);', 'read_lock_irqsave(&gpc->lock, flags);',
	'read_unlock_irqrestore(&gpc->lock, flags);', 'read_lock_irq(&gpc->lock);', 'read_unlock_irq(&gpc->lock);',
	'write_lock(&gpc->lock);', 'write_unlock(&gpc->lock);', 'read_lock(&gpc2->lock);', 'read_unlock(&gpc2->lock);',
	'kvm_gpc_check(gpc, len);', 'ok = kvm_gpc_check(gpc, len);', 'kvm_gpc_refresh(gpc, len);', 'ret = kvm_gpc_refresh(gpc2, 8);',
	'x = *(u64 *)gpc->khva;', '*(u64 *)gpc->khva = x;', 'vi = gpc->khva;', 'vi->flags = 1;', 'y = vi->flags;',
	'memcpy(gpc->khva, &x, sizeof(x));', 'p = gpc->pfn;', 'kvm_gpc_mark_dirty_in_slot(gpc);',
	'mark_page_dirty_in_slot(kvm, gpc->memslot, gpc->gpa >> PAGE_SHIFT);', 'mutex_lock(&m);', 'mutex_unlock(&m);',
	'spin_lock(&s);', 'spin_unlock(&s);', 'local_irq_save(flags);', 'local_irq_restore(flags);', 'might_sleep();',
	'kvm_gpc_activate(gpc, gpa, len);', 'kvm_gpc_deactivate(gpc);', 'kvm_gpc_init(gpc, kvm);',
	'gpc = &vcpu->arch.xen.vcpu_info_cache;', 'gpc = &vcpu->arch.xen.runstate_cache;', 'gpc2 = gpc;',
	'helper(gpc);', 'x = kzalloc(8, GFP_KERNEL);', 'goto out;', 'return -EFAULT;', 'return 0;', 'break;', 'continue;',
	'guard(read_lock)(&gpc->lock);', 'lockdep_assert_held(&gpc->lock);', 'x++;', 'atomic = false;',
];
const CONDITIONS = [
	'!kvm_gpc_check(gpc, len)', 'kvm_gpc_check(gpc, len)', 'ok', '!ok', 'atomic', '!read_trylock(&gpc->lock)',
	'read_trylock(&gpc->lock)', 'kvm_gpc_refresh(gpc, len)', 'x', 'in_atomic() || !task_is_running(current)',
	'!kvm_gpc_check(gpc2, 8) || !kvm_gpc_check(gpc, len)', 'gpc->valid', 'likely(x)', '1', '0',
];

export type Stmt = { s: string } | { if: string; then: Stmt[]; else?: Stmt[] } | { loop: 'while' | 'do' | 'for' | 'iter' | 'scoped'; cond: string; body: Stmt[] } | { switch: Stmt[][] } | { ifdef: Stmt[]; else: Stmt[] } | { block: Stmt[] };

export const stmtArb: fc.Arbitrary<Stmt[]> = fc.letrec<{ stmt: Stmt; list: Stmt[] }>((tie) => ({
	stmt: fc.oneof(
		{ depthSize: 'small', withCrossShrink: true },
		fc.record({ s: fc.constantFrom(...STATEMENTS) }),
		fc.record({ s: fc.constantFrom(...STATEMENTS) }),
		fc.record({ s: fc.constantFrom(...STATEMENTS) }),
		fc.record({ if: fc.constantFrom(...CONDITIONS), then: tie('list'), else: fc.option(tie('list'), { nil: undefined }) }),
		fc.record({ loop: fc.constantFrom('while' as const, 'do' as const, 'for' as const, 'iter' as const, 'scoped' as const), cond: fc.constantFrom(...CONDITIONS), body: tie('list') }),
		fc.record({ switch: fc.array(tie('list'), { minLength: 1, maxLength: 3 }) }),
		fc.record({ ifdef: tie('list'), else: tie('list') }),
		fc.record({ block: tie('list') }),
	),
	list: fc.array(tie('stmt'), { maxLength: 4 }),
})).list;

export function renderStmts(stmts: Stmt[], indent = '\t'): string {
	const out: string[] = [];
	for (const st of stmts) {
		if ('s' in st) out.push(indent + st.s);
		else if ('if' in st) {
			out.push(`${indent}if (${st.if}) {`, renderStmts(st.then, indent + '\t'), `${indent}}`);
			if (st.else) out.push(`${indent}else {`, renderStmts(st.else, indent + '\t'), `${indent}}`);
		} else if ('loop' in st) {
			const body = renderStmts(st.body, indent + '\t');
			if (st.loop === 'while') out.push(`${indent}while (${st.cond}) {`, body, `${indent}}`);
			else if (st.loop === 'do') out.push(`${indent}do {`, body, `${indent}} while (${st.cond});`);
			else if (st.loop === 'for') out.push(`${indent}for (i = 0; ${st.cond}; i++) {`, body, `${indent}}`);
			else if (st.loop === 'iter') out.push(`${indent}kvm_for_each_vcpu(i, v, kvm) {`, body, `${indent}}`);
			else out.push(`${indent}scoped_guard(read_lock, &gpc->lock) {`, body, `${indent}}`);
		} else if ('switch' in st) {
			out.push(`${indent}switch (x) {`);
			st.switch.forEach((c, i) => out.push(i === st.switch.length - 1 ? `${indent}default:` : `${indent}case ${i}:`, renderStmts(c, indent + '\t')));
			out.push(`${indent}}`);
		} else if ('ifdef' in st) {
			out.push('#ifdef CONFIG_X', renderStmts(st.ifdef, indent), '#else', renderStmts(st.else, indent), '#endif');
		} else out.push(`${indent}{`, renderStmts(st.block, indent + '\t'), `${indent}}`);
	}
	return out.filter((l) => l.length).join('\n');
}

/** A translation unit of generated functions (a reader, a helper it calls) behind a 6.9+ preamble. */
export function renderProgram(fns: Stmt[][]): string {
	const parts = [preamble('6.9+'), 'static void helper(struct gfn_to_pfn_cache *gpc)\n{\n\tmight_sleep();\n}\n'];
	fns.forEach((body, i) => {
		parts.push(
			`static int gen${i}(struct kvm_vcpu *vcpu, struct gfn_to_pfn_cache *gpc, bool atomic)\n{\n` +
				'\tstruct gfn_to_pfn_cache *gpc2 = &vcpu->arch.xen.runstate2_cache;\n\tstruct vcpu_info *vi;\n\tunsigned long flags;\n\tint ok, ret, i, x, y, p;\n\n' +
				renderStmts(body) + '\nout:\n\treturn 0;\n}\n',
		);
	});
	return parts.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Invariants.

export interface FuzzCase {
	file: string;
	text: string;
	era?: ApiEra;
	/** The text the document had before `edits` (which lead to `text`), for the incremental check. */
	base?: string;
	edits?: OffsetEdit[];
}

/** Findings as comparable text: everything a user sees (rule, place, message, related places). */
export function serialize(findings: readonly Finding[]): string {
	return JSON.stringify(findings.map((f) => [f.rule, f.severity, f.file, f.range, f.message, f.related]));
}

/** LSP lines: "\r\n" and "\n" end a line (a lone "\r" is content, as for tree-sitter and VS Code's EOL normalisation). */
export function documentLines(text: string): string[] {
	return text.split(/\r?\n/);
}

export function rangeProblem(range: Range, lines: string[]): string | undefined {
	const { start, end } = range;
	for (const p of [start, end]) {
		if (!Number.isInteger(p.line) || !Number.isInteger(p.character) || p.line < 0 || p.character < 0) return `bad position ${JSON.stringify(p)}`;
		if (p.line >= lines.length) return `line ${p.line} past the last line ${lines.length - 1}`;
		if (p.character > lines[p.line].length) return `character ${p.character} past the end of line ${p.line} (length ${lines[p.line].length})`;
	}
	if (end.line < start.line || (end.line === start.line && end.character < start.character)) return `end before start ${JSON.stringify(range)}`;
	return undefined;
}

/** Every reported range (and related range) inside its document. */
export function rangeProblems(findings: readonly Finding[], texts: ReadonlyMap<string, string>): string[] {
	const problems: string[] = [];
	const lines = new Map<string, string[]>();
	const check = (file: string, range: Range, what: string): void => {
		const text = texts.get(file);
		if (text === undefined) {
			problems.push(`${what} in unknown file ${file}`);
			return;
		}
		if (!lines.has(file)) lines.set(file, documentLines(text));
		const p = rangeProblem(range, lines.get(file)!);
		if (p) problems.push(`${what} ${file}:${JSON.stringify(range)}: ${p}`);
	};
	for (const f of findings) {
		check(f.file, f.range, `${f.rule}`);
		for (const r of f.related) check(r.file, r.range, `${f.rule} related`);
	}
	return problems;
}

/** Budget large enough never to trigger on a healthy case: a skip for time is a hang. */
export const FUZZ_BUDGET_MS = 15_000;

/**
 * Runs one case through every invariant; returns the violations (empty: all held).
 * `engines` are two independent engines. Engine A analyses the text from scratch; engine B
 * analyses the tree DocumentTrees built by applying the case's edits to its base (or the
 * text from scratch when there are none). Equal results prove both "same input, same output"
 * (across engines with different histories) and "incremental = from scratch" in two runs;
 * when they differ, a third run tells which one broke.
 */
export function violations(engines: readonly [Engine, Engine], c: FuzzCase, options: EngineOptions = {}): string[] {
	const out: string[] = [];
	const opts: EngineOptions = { era: c.era, fileBudgetMs: FUZZ_BUDGET_MS, ...options };
	const scratch: SourceFile[] = [{ file: c.file, read: () => c.text }];
	const run = (label: string, engine: Engine, src: SourceFile[]): EngineResult | undefined => {
		try {
			return engine.analyze(src, opts);
		} catch (e) {
			out.push(`${label}: exception ${(e as Error).stack ?? e}`);
			return undefined;
		}
	};
	const first = run('analysis', engines[0], scratch);
	if (!first) return out;
	for (const s of first.skipped) if (/time budget/.test(s.reason)) out.push(`hang: ${s.file}: ${s.reason}`);
	out.push(...rangeProblems(first.findings, new Map([[c.file, c.text]])));
	if (c.base === undefined || !c.edits?.length) {
		const again = run('second analysis', engines[1], scratch);
		if (again && serialize(again.findings) !== serialize(first.findings)) out.push(`nondeterministic: ${diffHint(first.findings, again.findings)}`);
		return out;
	}
	const docs = new DocumentTrees(engines[1].parser);
	const uri = 'file:///fuzz/' + c.file;
	try {
		let text = c.base;
		docs.open(uri, text);
		for (const e of c.edits) {
			docs.change(uri, [lspChange(text, e)]);
			text = applyEdit(text, e);
		}
		const doc = docs.get(uri)!;
		if (doc.text !== c.text) out.push('incremental: the edited document text differs from the expected text');
		const incremental = run('incremental analysis', engines[1], [{ file: c.file, read: () => doc.text, tree: () => doc.tree }]);
		if (incremental && serialize(incremental.findings) !== serialize(first.findings)) {
			const again = run('second analysis', engines[1], scratch);
			if (again && serialize(again.findings) !== serialize(first.findings)) out.push(`nondeterministic: ${diffHint(first.findings, again.findings)}`);
			else out.push(`incremental ≠ from scratch: ${diffHint(first.findings, incremental.findings)}`);
		}
	} catch (e) {
		out.push(`incremental: exception ${(e as Error).stack ?? e}`);
	} finally {
		docs.dispose();
	}
	return out;
}

function diffHint(a: readonly Finding[], b: readonly Finding[]): string {
	const as = new Set(a.map((f) => serialize([f])));
	const bs = new Set(b.map((f) => serialize([f])));
	const onlyA = [...as].filter((x) => !bs.has(x));
	const onlyB = [...bs].filter((x) => !as.has(x));
	return `only in the first: ${onlyA.slice(0, 2).join(' ')}; only in the second: ${onlyB.slice(0, 2).join(' ')}`;
}

// ---------------------------------------------------------------------------------------------
// Regression fixtures: a failing case, minimised by fast-check, saved as JSON.

export interface RegressionCase {
	description: string;
	/** What found it and what fixed it (file + one line). */
	foundBy?: string;
	fixedIn?: string;
	file: string;
	era?: ApiEra;
	/** The text; `@@REPEAT(n,s)@@` expands to `s` repeated n times (5,000 braces without a 10 KB file). */
	text: string;
	base?: string;
	edits?: OffsetEdit[];
	/** Extra engine options (e.g. a tiny budget). */
	options?: { fileBudgetMs?: number };
	/** Expected skip reasons (regexes), when the case is one the engine must decline. */
	expectSkip?: string[];
	/** A rule that must still be reported (the fix must not have silenced the case). */
	expectFinding?: string;
	/** The text under each related location of the findings, exactly (ranges read from the right tree). */
	expectRelatedText?: string[];
}

export function expandText(text: string): string {
	return text.replace(/@@REPEAT\((\d+),(.*?)\)@@/gs, (_, n: string, s: string) => s.repeat(Number(n)));
}

export function loadRegressions(): { name: string; c: RegressionCase }[] {
	if (!existsSync(REGRESSIONS)) return [];
	return readdirSync(REGRESSIONS)
		.filter((n) => n.endsWith('.json'))
		.sort()
		.map((name) => ({ name, c: JSON.parse(readFileSync(join(REGRESSIONS, name), 'utf8')) as RegressionCase }));
}

/** Saves a minimised failing case (nightly runs set GPCSCOPE_SAVE_REGRESSIONS=1). */
export function saveRegression(c: FuzzCase, problems: string[], foundBy: string): string | undefined {
	if (!process.env.GPCSCOPE_SAVE_REGRESSIONS) return undefined;
	mkdirSync(REGRESSIONS, { recursive: true });
	const hash = createHash('sha256').update(c.text).digest('hex').slice(0, 10);
	const path = join(REGRESSIONS, `fuzz-${hash}.json`);
	const reg: RegressionCase = { description: `minimised by fast-check: ${problems[0]?.split('\n')[0] ?? ''}`, foundBy, file: c.file, era: c.era, text: c.text, base: c.base, edits: c.edits };
	writeFileSync(path, JSON.stringify(reg, null, '\t') + '\n');
	return path;
}
