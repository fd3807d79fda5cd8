// Canonical access paths: `&vx->runstate_cache` with `vx = &v->arch.xen`
// and `gpc1 = &vx->runstate_cache` all name "v.arch.xen.runstate_cache".
import type { SyntaxNode } from '../parse/parser';
import { stripParens } from '../parse/nodes';

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
