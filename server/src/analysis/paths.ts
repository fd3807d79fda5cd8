// Canonical access paths: `&vx->runstate_cache` with `vx = &v->arch.xen`
// and `gpc1 = &vx->runstate_cache` all name "v.arch.xen.runstate_cache".
import type { SyntaxNode } from '../parse/parser';
import { dispatchedCallee } from './ops';

export function stripParens(node: SyntaxNode): SyntaxNode {
	let cur = node;
	for (;;) {
		if (cur.type === 'parenthesized_expression' && cur.namedChildCount === 1) cur = cur.namedChild(0)!;
		else if (cur.type === 'cast_expression' && cur.childForFieldName('value')) cur = cur.childForFieldName('value')!;
		else return cur;
	}
}

/** The canonical path of an lvalue-ish expression, or undefined for anything else. */
export function canonicalPath(node: SyntaxNode, aliases: Record<string, string>): string | undefined {
	const e = stripParens(node);
	switch (e.type) {
		case 'identifier':
			return aliases[e.text] ?? e.text;
		case 'field_expression': {
			const base = e.childForFieldName('argument');
			const field = e.childForFieldName('field')?.text;
			if (!base || !field) return undefined;
			const path = canonicalPath(base, aliases);
			return path === undefined ? undefined : `${path}.${field}`;
		}
		case 'pointer_expression': {
			const arg = e.childForFieldName('argument');
			return arg ? canonicalPath(arg, aliases) : undefined;
		}
		case 'subscript_expression': {
			const arg = e.childForFieldName('argument');
			const index = e.childForFieldName('index');
			if (!arg) return undefined;
			const path = canonicalPath(arg, aliases);
			return path === undefined ? undefined : `${path}[${index?.text.replace(/\s+/g, '') ?? ''}]`;
		}
		default:
			return undefined;
	}
}

/** "v.arch.xen.runstate_cache" → "v->arch.xen.runstate_cache", as a kernel developer writes it. */
export function displayPath(path: string): string {
	return path.replace(/^(\w+)\./, '$1->');
}

export function lastSegment(path: string): string {
	const i = path.lastIndexOf('.');
	return i < 0 ? path : path.slice(i + 1);
}

export function baseIdentifier(path: string): string {
	return path.split(/[.[]/, 1)[0];
}

/** The called function's name, or "kvm_x86_ops.member" for a call through a vendor ops table (ops.ts). */
export function calleeName(call: SyntaxNode): string | undefined {
	const fn = call.childForFieldName('function');
	if (!fn) return undefined;
	const e = stripParens(fn);
	return e.type === 'identifier' ? e.text : dispatchedCallee(e);
}

export function callArguments(call: SyntaxNode): SyntaxNode[] {
	const args = call.childForFieldName('arguments');
	return args ? (args.namedChildren.filter((c) => c && c.type !== 'comment') as SyntaxNode[]) : [];
}

/** The declared name of a declarator (`*gpc`, `gpc = ...`, `buf[4]`). */
export function declaratorName(d: SyntaxNode | null): string | undefined {
	let cur = d;
	while (cur) {
		if (cur.type === 'identifier' || cur.type === 'field_identifier') return cur.text;
		cur = cur.childForFieldName('declarator');
	}
	return undefined;
}

export function isPointerDeclarator(d: SyntaxNode | null): boolean {
	let cur = d;
	while (cur) {
		if (cur.type === 'pointer_declarator') return true;
		cur = cur.childForFieldName('declarator');
	}
	return false;
}

/** `struct kvm_vcpu` → "kvm_vcpu"; other types → their text. */
export function typeName(type: SyntaxNode | null): string | undefined {
	if (!type) return undefined;
	if (type.type === 'struct_specifier' || type.type === 'union_specifier') return type.childForFieldName('name')?.text;
	return type.text;
}
