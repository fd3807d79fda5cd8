// Small tree-sitter and text helpers shared by the census, the findings and the rewrite.
import type { SyntaxNode, Tree } from '../parse/parser';
import type { Param } from '../parse/declarations';
import { calleeIdentifier, descendants } from '../parse/nodes';
import { lineEndIncl, lineStart } from '../parse/positions';
import { USAGE_ENUM } from '../vocabulary';

export const TAB_WIDTH = 8;
export const MAX_COLUMNS = 80;

export const isUsageParam = (p: Param) => p.type === `enum ${USAGE_ENUM}` && !p.pointer;
export const isVcpuParam = (p: Param) => p.type === 'struct kvm_vcpu' && p.pointer;

/** Expressions that can be dropped without losing a side effect. */
export function sideEffectFree(node: SyntaxNode): boolean {
	for (const n of descendants(node)) {
		if (n.type === 'assignment_expression' || n.type === 'update_expression') return false;
		if (n.type === 'call_expression' && !/^(BIT|BIT_ULL|sizeof|offsetof|READ_ONCE)$/.test(calleeIdentifier(n) ?? '')) return false;
	}
	return true;
}

// ---- text and lines ----

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
