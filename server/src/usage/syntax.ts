// Small tree-sitter and text helpers shared by the census, the findings and the rewrite.
import type { SyntaxNode, Tree } from '../parse/parser';
import { isFunctionDefinition } from '../parse/definitions';
import { declaratorName } from '../analysis/paths';

export const TAB_WIDTH = 8;
export const MAX_COLUMNS = 80;

/** The identifiers of the usage machinery, as `grep` would look for them. */
export const USAGE_TEXT = /\b(?:pfn_cache_usage|KVM_GUEST_USES_PFN|KVM_HOST_USES_PFN|KVM_GUEST_AND_HOST_USE_PFN)\b/;
export const USAGE_ENUM = 'pfn_cache_usage';

/** Every descendant (including `node`), depth first, in source order. */
export function* descendants(node: SyntaxNode): Generator<SyntaxNode> {
	const cursor = node.walk();
	try {
		let reached = false;
		while (!reached) {
			yield cursor.currentNode;
			if (cursor.gotoFirstChild()) continue;
			while (!cursor.gotoNextSibling()) {
				if (!cursor.gotoParent() || cursor.currentNode.id === node.id) {
					reached = true;
					break;
				}
			}
		}
	} finally {
		cursor.delete();
	}
}

export function isInside(node: SyntaxNode, start: number, end: number): boolean {
	return node.startIndex >= start && node.endIndex <= end;
}

export function ancestor(node: SyntaxNode, type: string): SyntaxNode | undefined {
	for (let p = node.parent; p; p = p.parent) if (p.type === type) return p;
	return undefined;
}

/** The function declarator inside a declarator chain (`*foo(...)`, `foo(...)`). */
export function functionDeclarator(d: SyntaxNode | null): SyntaxNode | undefined {
	for (let cur = d; cur; cur = cur.childForFieldName('declarator')) {
		if (cur.type === 'function_declarator') return cur;
	}
	return undefined;
}

export interface Param {
	node: SyntaxNode;
	name: string;
	/** `enum pfn_cache_usage`, `struct kvm_vcpu`, `bool`... (pointer-ness in `pointer`). */
	type: string;
	pointer: boolean;
}

export function parametersOf(fnDecl: SyntaxNode): Param[] {
	const out: Param[] = [];
	for (const p of fnDecl.childForFieldName('parameters')?.namedChildren ?? []) {
		if (p?.type !== 'parameter_declaration') continue;
		const t = p.childForFieldName('type');
		const d = p.childForFieldName('declarator');
		out.push({ node: p, name: declaratorName(d) ?? '', type: typeText(t), pointer: !!d && /^\s*\*/.test(d.text) });
	}
	return out;
}

/** `enum pfn_cache_usage` / `struct kvm_vcpu` / `bool`, whitespace normalised. */
export function typeText(t: SyntaxNode | null): string {
	return t ? t.text.replace(/\s+/g, ' ').trim() : '';
}

export const isUsageParam = (p: Param) => p.type === `enum ${USAGE_ENUM}` && !p.pointer;
export const isVcpuParam = (p: Param) => p.type === 'struct kvm_vcpu' && p.pointer;

/** Name and declarator of a function definition or a declaration of one (never of a statement tree-sitter misread as a definition). */
export function declaredFunction(node: SyntaxNode): { name: string; declarator: SyntaxNode } | undefined {
	if (node.type === 'function_definition' && !isFunctionDefinition(node)) return undefined;
	const candidates = node.type === 'function_definition' ? [node.childForFieldName('declarator')] : node.childrenForFieldName('declarator');
	for (const c of candidates) {
		const fd = functionDeclarator(c);
		const name = fd && declaratorName(fd.childForFieldName('declarator'));
		if (fd && name) return { name, declarator: fd };
	}
	return undefined;
}

/** Items of an argument or parameter list, without comments. */
export function listItems(list: SyntaxNode): SyntaxNode[] {
	return list.namedChildren.filter((c): c is SyntaxNode => !!c && c.type !== 'comment');
}

export function calleeIdentifier(call: SyntaxNode): string | undefined {
	const fn = call.childForFieldName('function');
	return fn?.type === 'identifier' ? fn.text : undefined;
}

/** Expressions that can be dropped without losing a side effect. */
export function sideEffectFree(node: SyntaxNode): boolean {
	for (const n of descendants(node)) {
		if (n.type === 'assignment_expression' || n.type === 'update_expression') return false;
		if (n.type === 'call_expression' && !/^(BIT|BIT_ULL|sizeof|offsetof|READ_ONCE)$/.test(calleeIdentifier(n) ?? '')) return false;
	}
	return true;
}

// ---- text and lines ----

export function lineStart(text: string, offset: number): number {
	return text.lastIndexOf('\n', offset - 1) + 1;
}

/** Offset just past the newline that ends the line holding `offset` (or the text end). */
export function lineEndIncl(text: string, offset: number): number {
	const nl = text.indexOf('\n', offset);
	return nl < 0 ? text.length : nl + 1;
}

export function lineOf(text: string, offset: number): number {
	let n = 0;
	for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) n++;
	return n;
}

export function isBlank(line: string): boolean {
	return line.trim() === '';
}

/** Display width with kernel tabs. */
export function columns(s: string, from = 0): number {
	let col = from;
	for (const ch of s) col = ch === '\t' ? col + TAB_WIDTH - (col % TAB_WIDTH) : col + 1;
	return col;
}

/** Tabs then spaces reaching `col`, the way kernel continuation lines are indented. */
export function indentTo(col: number): string {
	return '\t'.repeat(Math.floor(col / TAB_WIDTH)) + ' '.repeat(col % TAB_WIDTH);
}

/** Only blanks between the start of its line and `offset`. */
export function startsLine(text: string, offset: number): boolean {
	return text.slice(lineStart(text, offset), offset).trim() === '';
}

/** Only blanks, or a trailing comment, between `offset` and the end of its line. */
export function endsLine(text: string, offset: number): boolean {
	const rest = text.slice(offset, lineEndIncl(text, offset)).trim();
	return rest === '' || /^\/\*.*\*\/$/.test(rest) || rest.startsWith('//');
}

/** One indentation level less: a tab, or eight spaces; preprocessor lines stay at column 0. */
export function unindent(line: string): string {
	if (line.startsWith('\t')) return line.slice(1);
	if (line.startsWith(' '.repeat(TAB_WIDTH))) return line.slice(TAB_WIDTH);
	return line;
}

/**
 * The identifier nodes spelled as one of `names`, in document order: found in
 * the text, then looked up (a file has far too many identifiers to visit all).
 */
export function identifiersNamed(f: { text: string; tree: Tree }, names: string[]): SyntaxNode[] {
	if (!names.length) return [];
	const out: SyntaxNode[] = [];
	for (const m of f.text.matchAll(new RegExp(`\\b(?:${names.join('|')})\\b`, 'g'))) {
		const n = f.tree.rootNode.descendantForIndex(m.index, m.index + m[0].length);
		if (n?.type === 'identifier' && n.text === m[0]) out.push(n);
	}
	return out;
}

/** Calls whose callee is one of `names` itself (what `calleeIdentifier` names), in document order. */
export function callsOf(f: { text: string; tree: Tree }, names: string[]): SyntaxNode[] {
	const out: SyntaxNode[] = [];
	for (const id of identifiersNamed(f, names)) {
		const call = id.parent;
		if (call?.type === 'call_expression' && call.childForFieldName('function')?.id === id.id) out.push(call);
	}
	return out;
}
