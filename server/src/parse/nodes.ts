// Node helpers: walking and navigating tree-sitter's C trees, and reading calls.
import { dispatchedCallee } from './dispatch';
import type { SyntaxNode } from './parser';

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

/** Whether the syntax tree under `node` is more than `limit` levels deep (an iterative walk: no recursion). */
export function deeperThan(node: SyntaxNode, limit: number): boolean {
	const cursor = node.walk();
	try {
		for (let depth = 0; ; ) {
			if (cursor.gotoFirstChild()) {
				if (++depth > limit) return true;
				continue;
			}
			while (!cursor.gotoNextSibling()) {
				if (depth === 0 || !cursor.gotoParent()) return false;
				depth--;
			}
		}
	} finally {
		cursor.delete();
	}
}

export function isInside(node: SyntaxNode, start: number, end: number): boolean {
	return node.startIndex >= start && node.endIndex <= end;
}

/** The nearest proper ancestor of this type. */
export function ancestor(node: SyntaxNode, type: string): SyntaxNode | undefined {
	for (let p = node.parent; p; p = p.parent) if (p.type === type) return p;
	return undefined;
}

/** The expression inside parentheses and casts: `((struct x *)p)` → `p`. */
export function stripParens(node: SyntaxNode): SyntaxNode {
	let cur = node;
	for (;;) {
		if (cur.type === 'parenthesized_expression' && cur.namedChildCount === 1) cur = cur.namedChild(0)!;
		else if (cur.type === 'cast_expression' && cur.childForFieldName('value')) cur = cur.childForFieldName('value')!;
		else return cur;
	}
}

/** The called function's name, through parentheses and casts, or "kvm_x86_ops.member" for a call through a vendor ops table (dispatch.ts). */
export function calleeName(call: SyntaxNode): string | undefined {
	const fn = call.childForFieldName('function');
	if (!fn) return undefined;
	const e = stripParens(fn);
	return e.type === 'identifier' ? e.text : dispatchedCallee(e);
}

/** The called function's name where the call spells it as a plain identifier (what a rewrite of the call edits). */
export function calleeIdentifier(call: SyntaxNode): string | undefined {
	const fn = call.childForFieldName('function');
	return fn?.type === 'identifier' ? fn.text : undefined;
}

export function callArguments(call: SyntaxNode): SyntaxNode[] {
	const args = call.childForFieldName('arguments');
	return args ? listItems(args) : [];
}

/** Items of an argument or parameter list, without comments. */
export function listItems(list: SyntaxNode): SyntaxNode[] {
	return list.namedChildren.filter((c): c is SyntaxNode => !!c && c.type !== 'comment');
}
